package lxd

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"

	"github.com/eventsim/eventsim/world"
)

// REST requests on projects: the requests and their events are
// described in docs/lxd-server.md.

type projectPut struct {
	Config      map[string]string `json:"config"`
	Description *string           `json:"description"`
}

type projectsPost struct {
	Name        string            `json:"name"`
	Config      map[string]string `json:"config"`
	Description *string           `json:"description"`
}

type projectObj struct {
	Config      map[string]string `json:"config"`
	Description string            `json:"description"`
	Name        string            `json:"name"`
	UsedBy      []string          `json:"used_by"`
}

// projectObject builds GET /1.0/projects/NAME's answer. st.mu must be held.
func (s *Server) projectObject(name string) projectObj {
	st := s.rest
	pi := st.info(name)
	p := projectObj{Config: maps.Clone(pi.config), Description: pi.description, Name: name, UsedBy: []string{}}
	if st.featureProject(name, "profiles") == name {
		s.withWorld(func(w *world.World) {
			for _, o := range w.List("profile", name) {
				p.UsedBy = append(p.UsedBy, withProject("/1.0/profiles/"+url.PathEscape(o.Name), name))
			}
		})
	}
	return p
}

// getProjects answers GET /1.0/projects: URLs, or objects with recursion=1.
func (s *Server) getProjects(c *call) (*reply, error) {
	names := s.projectList()
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	if c.recursion() {
		out := make([]projectObj, len(names))
		for i, n := range names {
			out[i] = s.projectObject(n)
		}
		return ok(out), nil
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "/1.0/projects/" + url.PathEscape(n)
	}
	return ok(out), nil
}

// getProject answers GET /1.0/projects/NAME.
func (s *Server) getProject(c *call) (*reply, error) {
	name := c.r.PathValue("name")
	if !s.hasProject(name) {
		return nil, errNoProject
	}
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	return ok(s.projectObject(name)), nil
}

// postProjects answers POST /1.0/projects: project-created, sent to the
// new project itself.
func (s *Server) postProjects(c *call) (*reply, error) {
	var req projectsPost
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if err := validName("project", req.Name); err != nil {
		return nil, err
	}
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	if s.hasProject(req.Name) {
		return nil, conflict("Project %q already exists", req.Name)
	}
	pi := &projectInfo{config: projectDefaults(s.flavor, false)}
	maps.Copy(pi.config, req.Config)
	if req.Description != nil {
		pi.description = *req.Description
	}
	s.rest.projects[req.Name] = pi
	s.lifecycle("project-created", map[string]string{"name": req.Name}, "", nil, c.rq)
	return created("/1.0/projects/" + url.PathEscape(req.Name)), nil
}

// putProject answers PUT and PATCH /1.0/projects/NAME: project-updated.
func (s *Server) putProject(c *call) (*reply, error) {
	name := c.r.PathValue("name")
	var req projectPut
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	if !s.hasProject(name) {
		return nil, errNoProject
	}
	pi := s.rest.info(name)
	if c.r.Method == http.MethodPut {
		pi.config = projectDefaults(s.flavor, name == "default")
		pi.description = ""
	}
	maps.Copy(pi.config, req.Config)
	if req.Description != nil {
		pi.description = *req.Description
	}
	s.lifecycle("project-updated", map[string]string{"name": name}, "", nil, c.rq)
	return emptyOK(), nil
}

// postProject answers POST /1.0/projects/NAME {"name": NEW}: an operation
// "Renaming project" without a project, whose run emits project-renamed
// (sent to the renamed project) or fails as LXD's does.
func (s *Server) postProject(c *call) (*reply, error) {
	name := c.r.PathValue("name")
	newName, err := c.newName("project")
	if err != nil {
		return nil, err
	}
	if name == "default" {
		return nil, forbidden("The 'default' project cannot be renamed")
	}
	if !s.hasProject(name) {
		return nil, errNoProject
	}
	op := s.startAction("project-renamed", "", map[string]string{"name": name})
	return &reply{op: op, run: func() error {
		s.rest.mu.Lock()
		defer s.rest.mu.Unlock()
		switch {
		case !s.hasProject(name):
			return errors.New("Project not found")
		case !s.emptyProject(name):
			return errors.New("Only empty projects can be renamed")
		case s.hasProject(newName):
			return fmt.Errorf("A project named %q already exists", newName)
		}
		s.renameProject(name, newName)
		s.lifecycle("project-renamed", map[string]string{"name": newName}, "", map[string]any{"old_name": name}, c.rq)
		return nil
	}}, nil
}

// renameProject moves a project's configuration and volumes to a new name;
// the world moves the rest when it folds project-renamed. s.rest.mu must be
// held.
func (s *Server) renameProject(from, to string) {
	st := s.rest
	if pi, ok := st.projects[from]; ok {
		st.projects[to] = pi
		delete(st.projects, from)
	}
	for k, v := range st.volumes {
		if k.project == from {
			delete(st.volumes, k)
			k.project = to
			v.Project = to
			st.volumes[k] = v
		}
	}
}

// forgetProject removes a project's configuration and volumes, so that a
// project created later under its name starts empty; the world forgets the
// rest when it folds project-deleted. s.rest.mu must be held.
func (s *Server) forgetProject(name string) {
	delete(s.rest.projects, name)
	maps.DeleteFunc(s.rest.volumes, func(k volKey, _ *volume) bool { return k.project == name })
}

// deleteProject answers DELETE /1.0/projects/NAME: project-deleted, sent
// to the deleted project.
func (s *Server) deleteProject(c *call) (*reply, error) {
	name := c.r.PathValue("name")
	if name == "default" {
		return nil, forbidden("The 'default' project cannot be deleted")
	}
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	if !s.hasProject(name) {
		return nil, errNoProject
	}
	if !s.emptyProject(name) {
		return nil, badRequest("Only empty projects can be removed")
	}
	s.forgetProject(name)
	s.lifecycle("project-deleted", map[string]string{"name": name}, "", nil, c.rq)
	return emptyOK(), nil
}
