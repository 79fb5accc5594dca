package lxd

import (
	"maps"
	"net/http"
	"net/url"

	"github.com/eventsim/eventsim/world"
)

// REST requests that change networks: create, update, rename, delete, each
// answered synchronously with the lifecycle event LXD emits. See
// docs/lxd-server.md.

type networkPut struct {
	Config      map[string]string `json:"config"`
	Description *string           `json:"description"`
}

func networkKey(project, name string) world.Key {
	return world.Key{Kind: "network", Project: project, Path: name}
}

// networkScope returns the project whose networks a request works on.
func (s *Server) networkScope(c *call) (string, error) {
	p, err := c.project()
	if err != nil {
		return "", err
	}
	return s.rest.featureProjectLocked(p, "networks"), nil
}

// postNetworks answers POST /1.0/networks: network-created, 201.
func (s *Server) postNetworks(c *call) (*reply, error) {
	var req struct {
		Name        string            `json:"name"`
		Type        string            `json:"type"`
		Description string            `json:"description"`
		Config      map[string]string `json:"config"`
	}
	if err := c.decodeRaw(&req); err != nil {
		return nil, err
	}
	p, err := s.networkScope(c)
	if err != nil {
		return nil, err
	}
	if req.Name == "" {
		return nil, badRequest("No name provided")
	}
	if err := validInterfaceName(req.Name); err != nil {
		return nil, err
	}
	if req.Type == "" {
		req.Type = "bridge"
	}
	switch req.Type {
	case "bridge", "macvlan", "sriov", "ovn", "physical":
	default:
		return nil, badRequest("Unrecognised network type %q", req.Type)
	}
	if s.existing(networkKey(p, req.Name)) != nil {
		return nil, conflict("The network already exists")
	}
	d := &world.Detail{Description: req.Description, Config: orEmpty(req.Config), Type: req.Type}
	if req.Type == "bridge" {
		for _, k := range []string{"ipv4.address", "ipv6.address"} {
			if d.Config[k] == "" {
				d.Config[k] = "auto"
			}
		}
	}
	s.lifecycleWith("network-created", map[string]string{"name": req.Name}, p, nil, c.rq, d)
	return created(withProject("/1.0/networks/"+url.PathEscape(req.Name), p)), nil
}

// validInterfaceName checks a network name as LXD does: a valid Linux
// interface name.
func validInterfaceName(name string) error {
	if len(name) > 15 {
		return badRequest("Network name too long")
	}
	for _, r := range name {
		if r == '/' || r == ':' || r == ' ' || r == '\t' || r == '\n' || r == '.' && (name == "." || name == "..") {
			return badRequest("Invalid network name %q", name)
		}
	}
	return nil
}

// putNetwork answers PUT and PATCH /1.0/networks/NAME: network-updated.
func (s *Server) putNetwork(c *call) (*reply, error) {
	var req networkPut
	if err := c.decodeRaw(&req); err != nil {
		return nil, err
	}
	p, err := s.networkScope(c)
	if err != nil {
		return nil, err
	}
	name := c.r.PathValue("name")
	d := s.existing(networkKey(p, name))
	if d == nil {
		return nil, notFound("Network")
	}
	cfg := map[string]string{}
	if c.r.Method == http.MethodPatch {
		maps.Copy(cfg, d.Config)
	} else {
		d.Description = ""
	}
	maps.Copy(cfg, req.Config)
	d.Config = cfg
	if req.Description != nil {
		d.Description = *req.Description
	}
	s.lifecycleWith("network-updated", map[string]string{"name": name}, p, nil, c.rq, d)
	return emptyOK(), nil
}

// postNetwork answers POST /1.0/networks/NAME {"name": NEW}: network-renamed.
func (s *Server) postNetwork(c *call) (*reply, error) {
	var req struct {
		Name string `json:"name"`
	}
	if err := c.decodeRaw(&req); err != nil {
		return nil, err
	}
	p, err := s.networkScope(c)
	if err != nil {
		return nil, err
	}
	name := c.r.PathValue("name")
	if s.existing(networkKey(p, name)) == nil {
		return nil, notFound("Network")
	}
	if req.Name == "" {
		return nil, badRequest("No name provided")
	}
	if err := validInterfaceName(req.Name); err != nil {
		return nil, err
	}
	if s.existing(networkKey(p, req.Name)) != nil {
		return nil, conflict("Network %q already exists", req.Name)
	}
	s.lifecycle("network-renamed", map[string]string{"name": req.Name}, p, map[string]any{"old_name": name}, c.rq)
	return created(withProject("/1.0/networks/"+url.PathEscape(req.Name), p)), nil
}

// deleteNetwork answers DELETE /1.0/networks/NAME: network-deleted.
func (s *Server) deleteNetwork(c *call) (*reply, error) {
	p, err := s.networkScope(c)
	if err != nil {
		return nil, err
	}
	name := c.r.PathValue("name")
	if s.existing(networkKey(p, name)) == nil {
		return nil, notFound("Network")
	}
	s.lifecycle("network-deleted", map[string]string{"name": name}, p, nil, c.rq)
	return emptyOK(), nil
}
