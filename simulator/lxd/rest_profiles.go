package lxd

import (
	"maps"
	"net/http"
	"net/url"
	"slices"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/world"
)

// REST requests on profiles, answered from and made through the world: the
// requests and their events are described in docs/lxd-server.md.

type profilePut struct {
	Config      map[string]string            `json:"config"`
	Description *string                      `json:"description"`
	Devices     map[string]map[string]string `json:"devices"`
}

type profilesPost struct {
	Name        string                       `json:"name"`
	Config      map[string]string            `json:"config"`
	Description *string                      `json:"description"`
	Devices     map[string]map[string]string `json:"devices"`
}

// profile is the object GET /1.0/profiles/NAME answers.
type profile struct {
	Config      map[string]string            `json:"config"`
	Description string                       `json:"description"`
	Devices     map[string]map[string]string `json:"devices"`
	Name        string                       `json:"name"`
	UsedBy      []string                     `json:"used_by"`
	Project     string                       `json:"project,omitempty"` // Incus's (projectField)
}

// profileScope returns the project whose profiles a request works on.
// s.rest.mu must be held.
func (s *Server) profileScope(c *call) (string, error) {
	p, err := c.project()
	if err != nil {
		return "", err
	}
	return s.rest.featureProject(p, "profiles"), nil
}

func profileKey(project, name string) world.Key {
	return world.Key{Kind: "profile", Project: project, Path: name}
}

// profileOf builds a profile's answer. s.worldMu must be held.
func (s *Server) profileOf(o *world.Object) *profile {
	d := detail(o)
	used := []string{}
	for _, in := range s.world.List("instance", o.Project) {
		if slices.Contains(instanceProfiles(in), o.Name) {
			used = append(used, instanceURL(in.Project, in.Name))
		}
	}
	devices := map[string]map[string]string{}
	for k, v := range d.Devices {
		devices[k] = maps.Clone(v)
	}
	return &profile{Config: orEmpty(d.Config), Description: d.Description, Devices: devices, Name: o.Name, UsedBy: used, Project: s.projectField(o.Project)}
}

// instanceProfiles are the profiles an instance uses.
func instanceProfiles(o *world.Object) []string {
	if o.Detail != nil && o.Detail.Profiles != nil {
		return o.Detail.Profiles
	}
	return []string{"default"}
}

// getProfiles answers GET /1.0/profiles: the profiles of the request's
// project, or on incus with all-projects=true (extension
// profiles_all_projects) of every project.
func (s *Server) getProfiles(c *call) (*reply, error) {
	var p string
	var err error
	if all := c.r.URL.Query().Get("all-projects"); s.flavor == catalog.Incus && (all == "true" || all == "1") {
		p, err = c.scope() // "" for every project; 400 with project= too
	} else {
		s.rest.mu.Lock()
		p, err = s.profileScope(c)
		s.rest.mu.Unlock()
	}
	if err != nil {
		return nil, err
	}
	rec := c.recursion()
	objs := []*profile{}
	urls := []string{}
	s.withWorld(func(w *world.World) {
		for _, o := range w.List("profile", p) {
			if rec {
				objs = append(objs, s.profileOf(o))
			} else {
				urls = append(urls, withProject("/1.0/profiles/"+url.PathEscape(o.Name), o.Project))
			}
		}
	})
	if rec {
		return ok(objs), nil
	}
	return ok(urls), nil
}

// getProfile answers GET /1.0/profiles/NAME.
func (s *Server) getProfile(c *call) (*reply, error) {
	s.rest.mu.Lock()
	p, err := s.profileScope(c)
	s.rest.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return s.oneOf(c, profileKey(p, c.r.PathValue("name")), "Profile", func(o *world.Object) any { return s.profileOf(o) })
}

// existing returns a copy of an object's detail, or nil when the object
// does not exist.
func (s *Server) existing(k world.Key) *world.Detail {
	var d *world.Detail
	s.withWorld(func(w *world.World) {
		if o := w.Get(k); o != nil {
			c := *detail(o)
			d = &c
		}
	})
	return d
}

// postProfiles answers POST /1.0/profiles: profile-created.
func (s *Server) postProfiles(c *call) (*reply, error) {
	var req profilesPost
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if err := validName("profile", req.Name); err != nil {
		return nil, err
	}
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	p, err := s.profileScope(c)
	if err != nil {
		return nil, err
	}
	if s.existing(profileKey(p, req.Name)) != nil {
		return nil, conflict("Profile %q already exists", req.Name)
	}
	d := &world.Detail{}
	applyProfile(d, profilePut{Config: req.Config, Description: req.Description, Devices: req.Devices}, false)
	s.lifecycleWith("profile-created", map[string]string{"name": req.Name}, p, nil, c.rq, d)
	return created(withProject("/1.0/profiles/"+url.PathEscape(req.Name), p)), nil
}

// applyProfile sets a profile's detail from a PUT body, or merges a PATCH
// body into it.
func applyProfile(d *world.Detail, req profilePut, patch bool) {
	cfg, dev := map[string]string{}, map[string]map[string]string{}
	if patch {
		maps.Copy(cfg, d.Config)
		for k, v := range d.Devices {
			dev[k] = maps.Clone(v)
		}
	} else {
		d.Description = ""
	}
	maps.Copy(cfg, req.Config)
	for k, v := range req.Devices {
		dev[k] = maps.Clone(v)
	}
	d.Config, d.Devices = cfg, dev
	if req.Description != nil {
		d.Description = *req.Description
	}
}

// putProfile answers PUT and PATCH /1.0/profiles/NAME: profile-updated.
func (s *Server) putProfile(c *call) (*reply, error) {
	var req profilePut
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	p, err := s.profileScope(c)
	if err != nil {
		return nil, err
	}
	name := c.r.PathValue("name")
	d := s.existing(profileKey(p, name))
	if d == nil {
		return nil, notFound("Profile")
	}
	applyProfile(d, req, c.r.Method == http.MethodPatch)
	s.lifecycleWith("profile-updated", map[string]string{"name": name}, p, nil, c.rq, d)
	return emptyOK(), nil
}

// postProfile answers POST /1.0/profiles/NAME {"name": NEW}: profile-renamed.
func (s *Server) postProfile(c *call) (*reply, error) {
	newName, err := c.newName("profile")
	if err != nil {
		return nil, err
	}
	name := c.r.PathValue("name")
	if name == "default" {
		return nil, forbidden("The \"default\" profile cannot be renamed")
	}
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	p, err := s.profileScope(c)
	if err != nil {
		return nil, err
	}
	if s.existing(profileKey(p, name)) == nil {
		return nil, notFound("Profile")
	}
	if s.existing(profileKey(p, newName)) != nil {
		return nil, conflict("Profile %q already exists", newName)
	}
	s.lifecycle("profile-renamed", map[string]string{"name": newName}, p, map[string]any{"old_name": name}, c.rq)
	return created(withProject("/1.0/profiles/"+url.PathEscape(newName), p)), nil
}

// deleteProfile answers DELETE /1.0/profiles/NAME: profile-deleted.
func (s *Server) deleteProfile(c *call) (*reply, error) {
	name := c.r.PathValue("name")
	if name == "default" {
		return nil, forbidden("The \"default\" profile cannot be deleted")
	}
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	p, err := s.profileScope(c)
	if err != nil {
		return nil, err
	}
	if s.existing(profileKey(p, name)) == nil {
		return nil, notFound("Profile")
	}
	s.lifecycle("profile-deleted", map[string]string{"name": name}, p, nil, c.rq)
	return emptyOK(), nil
}
