package lxd

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
)

// REST requests on profiles: the requests and their events are
// described in docs/lxd-server.md.

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

// profileScope returns the project whose profiles a request works on.
// s.rest.mu must be held.
func (s *Server) profileScope(c *call) (string, error) {
	p, err := c.project()
	if err != nil {
		return "", err
	}
	return s.rest.featureProject(p, "profiles"), nil
}

func cloneProfile(p *profile) *profile {
	q := *p
	q.Config = maps.Clone(p.Config)
	q.Devices = map[string]map[string]string{}
	for k, v := range p.Devices {
		q.Devices[k] = maps.Clone(v)
	}
	q.UsedBy = slices.Clone(p.UsedBy)
	return &q
}

// getProfiles answers GET /1.0/profiles.
func (s *Server) getProfiles(c *call) (*reply, error) {
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	p, err := s.profileScope(c)
	if err != nil {
		return nil, err
	}
	m := s.rest.profilesOf(p)
	names := slices.Sorted(maps.Keys(m))
	if c.recursion() {
		out := make([]*profile, len(names))
		for i, n := range names {
			out[i] = cloneProfile(m[n])
		}
		return ok(out), nil
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = withProject("/1.0/profiles/"+url.PathEscape(n), p)
	}
	return ok(out), nil
}

// getProfile answers GET /1.0/profiles/NAME.
func (s *Server) getProfile(c *call) (*reply, error) {
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	p, err := s.profileScope(c)
	if err != nil {
		return nil, err
	}
	pr := s.rest.profilesOf(p)[c.r.PathValue("name")]
	if pr == nil {
		return nil, notFound("Profile")
	}
	return ok(cloneProfile(pr)), nil
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
	m := s.rest.profilesOf(p)
	if m[req.Name] != nil {
		return nil, conflict("Profile %q already exists", req.Name)
	}
	pr := &profile{Config: map[string]string{}, Devices: map[string]map[string]string{}, Name: req.Name, UsedBy: []string{}}
	applyProfile(pr, profilePut{Config: req.Config, Description: req.Description, Devices: req.Devices}, false)
	m[req.Name] = pr
	s.lifecycle("profile-created", map[string]string{"name": req.Name}, p, nil, c.rq)
	return created(withProject("/1.0/profiles/"+url.PathEscape(req.Name), p)), nil
}

// applyProfile sets a profile from a PUT body, or merges a PATCH body.
func applyProfile(pr *profile, req profilePut, patch bool) {
	if !patch {
		pr.Config, pr.Devices, pr.Description = map[string]string{}, map[string]map[string]string{}, ""
	}
	maps.Copy(pr.Config, req.Config)
	for k, v := range req.Devices {
		pr.Devices[k] = maps.Clone(v)
	}
	if req.Description != nil {
		pr.Description = *req.Description
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
	pr := s.rest.profilesOf(p)[name]
	if pr == nil {
		return nil, notFound("Profile")
	}
	applyProfile(pr, req, c.r.Method == http.MethodPatch)
	s.lifecycle("profile-updated", map[string]string{"name": name}, p, nil, c.rq)
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
	m := s.rest.profilesOf(p)
	pr := m[name]
	if pr == nil {
		return nil, notFound("Profile")
	}
	if m[newName] != nil {
		return nil, conflict("Profile %q already exists", newName)
	}
	delete(m, name)
	pr.Name = newName
	m[newName] = pr
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
	m := s.rest.profilesOf(p)
	if m[name] == nil {
		return nil, notFound("Profile")
	}
	delete(m, name)
	s.lifecycle("profile-deleted", map[string]string{"name": name}, p, nil, c.rq)
	return emptyOK(), nil
}
