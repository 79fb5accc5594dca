package lxd

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// The REST objects the fake keeps (projects, profiles, storage pools, custom
// volumes and their snapshots) and the requests that change them. Each
// request emits what LXD 5.0.2 emits for it; see docs/lxd-server.md.

// restState is the server's objects. mu serialises every change, so the
// events of one request are never interleaved with those of another change;
// it is taken before s.seqMu and s.mu, never after.
type restState struct {
	mu       sync.Mutex
	projects map[string]*projectInfo        // config of projects; absent means the defaults
	profiles map[string]map[string]*profile // project -> name -> profile
	pools    []*pool
	volumes  map[volKey]*volume
}

type projectInfo struct {
	config      map[string]string
	description string
}

type volKey struct{ pool, project, name string }

// profile is the object GET /1.0/profiles/NAME answers.
type profile struct {
	Config      map[string]string            `json:"config"`
	Description string                       `json:"description"`
	Devices     map[string]map[string]string `json:"devices"`
	Name        string                       `json:"name"`
	UsedBy      []string                     `json:"used_by"`
}

// pool is the object GET /1.0/storage-pools/NAME answers.
type pool struct {
	Config      map[string]string `json:"config"`
	Description string            `json:"description"`
	Name        string            `json:"name"`
	Driver      string            `json:"driver"`
	UsedBy      []string          `json:"used_by"`
	Status      string            `json:"status"`
	Locations   []string          `json:"locations"`
}

// volume is the object GET …/volumes/custom/NAME answers.
type volume struct {
	Config      map[string]string `json:"config"`
	Description string            `json:"description"`
	Name        string            `json:"name"`
	Type        string            `json:"type"`
	UsedBy      []string          `json:"used_by"`
	Location    string            `json:"location"`
	ContentType string            `json:"content_type"`
	Project     string            `json:"project"`
	CreatedAt   time.Time         `json:"created_at"`
	snapshots   []*volumeSnapshot
}

// volumeSnapshot is the object GET …/snapshots/NAME answers.
type volumeSnapshot struct {
	Config      map[string]string `json:"config"`
	Description string            `json:"description"`
	Name        string            `json:"name"`
	ContentType string            `json:"content_type"`
	CreatedAt   time.Time         `json:"created_at"`
	ExpiresAt   *time.Time        `json:"expires_at"`
}

// Default configuration of projects, as LXD 5.0.2 sets it on creation.
var defaultProjectConfig = map[string]string{
	"features.images": "true", "features.networks": "true", "features.profiles": "true",
	"features.storage.buckets": "true", "features.storage.volumes": "true",
}

// newRestState makes the objects a fresh server has: the default profile and
// the given ones in the default project, and the given storage pools
// ("default" when none).
func newRestState(pools, profiles []string, loc string) *restState {
	st := &restState{projects: map[string]*projectInfo{}, profiles: map[string]map[string]*profile{}, volumes: map[volKey]*volume{}}
	if len(pools) == 0 {
		pools = []string{"default"}
	}
	for _, p := range pools {
		if p == "" || slices.ContainsFunc(st.pools, func(x *pool) bool { return x.Name == p }) {
			continue
		}
		st.pools = append(st.pools, &pool{
			Config: map[string]string{"source": "/var/lib/lxd/storage-pools/" + p}, Name: p, Driver: "dir",
			UsedBy: []string{}, Status: "Created", Locations: []string{loc},
		})
	}
	m := st.profilesOf("default")
	for _, p := range profiles {
		if p != "" && m[p] == nil {
			m[p] = &profile{Config: map[string]string{}, Devices: map[string]map[string]string{}, Name: p, UsedBy: []string{}}
		}
	}
	return st
}

// info returns a project's configuration. st.mu must be held.
func (st *restState) info(project string) *projectInfo {
	if pi := st.projects[project]; pi != nil {
		return pi
	}
	pi := &projectInfo{config: maps.Clone(defaultProjectConfig)}
	if project == "default" {
		pi.description = "Default LXD project"
	}
	st.projects[project] = pi
	return pi
}

// featureProject is the project whose objects of a feature ("profiles",
// "storage.volumes") a project uses: its own, or default's when the
// feature is off. st.mu must be held.
func (st *restState) featureProject(project, feature string) string {
	if project == "default" || st.info(project).config["features."+feature] == "false" {
		return "default"
	}
	return project
}

// profilesOf returns a project's profiles, made with its default profile on
// first use. st.mu must be held.
func (st *restState) profilesOf(project string) map[string]*profile {
	m := st.profiles[project]
	if m == nil {
		m = map[string]*profile{"default": {
			Config: map[string]string{}, Description: "Default LXD profile", Devices: map[string]map[string]string{},
			Name: "default", UsedBy: []string{},
		}}
		if project != "default" {
			m["default"].Description = "Default LXD profile for project " + project
		}
		st.profiles[project] = m
	}
	return m
}

func (st *restState) pool(name string) *pool {
	for _, p := range st.pools {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// empty reports whether a project holds nothing but its default profile.
// st.mu must be held.
func (st *restState) empty(project string) bool {
	for name := range st.profiles[project] {
		if name != "default" {
			return false
		}
	}
	for k := range st.volumes {
		if k.project == project {
			return false
		}
	}
	return true
}

// ---- projects ----

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
	for _, n := range slices.Sorted(maps.Keys(st.profilesOf(st.featureProject(name, "profiles")))) {
		if st.featureProject(name, "profiles") == name {
			p.UsedBy = append(p.UsedBy, withProject("/1.0/profiles/"+url.PathEscape(n), name))
		}
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
	pi := &projectInfo{config: maps.Clone(defaultProjectConfig)}
	maps.Copy(pi.config, req.Config)
	if req.Description != nil {
		pi.description = *req.Description
	}
	s.rest.projects[req.Name] = pi
	s.AddProject(req.Name)
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
		pi.config = maps.Clone(defaultProjectConfig)
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
	var req struct {
		Name string `json:"name"`
	}
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if err := validName("project", req.Name); err != nil {
		return nil, err
	}
	if name == "default" {
		return nil, forbidden("The 'default' project cannot be renamed")
	}
	if !s.hasProject(name) {
		return nil, errNoProject
	}
	op := s.startOperation("Renaming project", "", nil)
	return &reply{op: op, run: func() error {
		s.rest.mu.Lock()
		defer s.rest.mu.Unlock()
		switch {
		case !s.hasProject(name):
			return errors.New("Project not found")
		case !s.rest.empty(name):
			return errors.New("Only empty projects can be renamed")
		case s.hasProject(req.Name):
			return fmt.Errorf("A project named %q already exists", req.Name)
		}
		s.renameProject(name, req.Name)
		s.lifecycle("project-renamed", map[string]string{"name": req.Name}, "", map[string]any{"old_name": name}, c.rq)
		return nil
	}}, nil
}

// renameProject moves a project and its objects to a new name. s.rest.mu
// must be held.
func (s *Server) renameProject(from, to string) {
	s.mu.Lock()
	if i := slices.Index(s.projects, from); i >= 0 {
		s.projects[i] = to
	}
	s.mu.Unlock()
	st := s.rest
	if pi, ok := st.projects[from]; ok {
		st.projects[to] = pi
		delete(st.projects, from)
	}
	if m, ok := st.profiles[from]; ok {
		st.profiles[to] = m
		delete(st.profiles, from)
		if d := m["default"]; d != nil {
			d.Description = "Default LXD profile for project " + to
		}
	}
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
	if !s.rest.empty(name) {
		return nil, badRequest("Only empty projects can be removed")
	}
	s.mu.Lock()
	s.projects = slices.DeleteFunc(s.projects, func(p string) bool { return p == name })
	s.mu.Unlock()
	delete(s.rest.projects, name)
	delete(s.rest.profiles, name)
	s.lifecycle("project-deleted", map[string]string{"name": name}, "", nil, c.rq)
	return emptyOK(), nil
}

// ---- profiles ----

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
	var req struct {
		Name string `json:"name"`
	}
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if err := validName("profile", req.Name); err != nil {
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
	if m[req.Name] != nil {
		return nil, conflict("Profile %q already exists", req.Name)
	}
	delete(m, name)
	pr.Name = req.Name
	m[req.Name] = pr
	s.lifecycle("profile-renamed", map[string]string{"name": req.Name}, p, map[string]any{"old_name": name}, c.rq)
	return created(withProject("/1.0/profiles/"+url.PathEscape(req.Name), p)), nil
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

// ---- storage pools ----

// getPools answers GET /1.0/storage-pools.
func (s *Server) getPools(c *call) (*reply, error) {
	if _, err := c.project(); err != nil {
		return nil, err
	}
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	if c.recursion() {
		out := make([]pool, len(s.rest.pools))
		for i, p := range s.rest.pools {
			out[i] = *p
		}
		return ok(out), nil
	}
	out := make([]string, len(s.rest.pools))
	for i, p := range s.rest.pools {
		out[i] = "/1.0/storage-pools/" + url.PathEscape(p.Name)
	}
	return ok(out), nil
}

// getPool answers GET /1.0/storage-pools/NAME.
func (s *Server) getPool(c *call) (*reply, error) {
	if _, err := c.project(); err != nil {
		return nil, err
	}
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	p := s.rest.pool(c.r.PathValue("pool"))
	if p == nil {
		return nil, notFound("Storage pool")
	}
	return ok(*p), nil
}

// ---- custom storage volumes ----

// volumeTypes are the volume types of LXD's paths; only custom volumes can
// be made through the API.
var volumeTypes = []string{"custom", "container", "virtual-machine", "image"}

// volScope resolves the pool and project of a volume request. s.rest.mu
// must be held.
func (s *Server) volScope(c *call) (poolName, project string, err error) {
	p, err := c.project()
	if err != nil {
		return "", "", err
	}
	poolName = c.r.PathValue("pool")
	if s.rest.pool(poolName) == nil {
		return "", "", notFound("Storage pool")
	}
	if t := c.r.PathValue("type"); t != "" && !slices.Contains(volumeTypes, t) {
		return "", "", badRequest("Invalid storage volume type %q, must be one of %s", t, strings.Join(volumeTypes, ", "))
	}
	return poolName, s.rest.featureProject(p, "storage.volumes"), nil
}

// customOnly refuses changes to volumes other than custom ones.
func customOnly(c *call) error {
	if t := c.r.PathValue("type"); t != "custom" {
		return badRequest("Storage volumes of type %q cannot be changed through this API; only custom volumes can", t)
	}
	return nil
}

func volumeURL(pool, typ, name, project string) string {
	return withProject("/1.0/storage-pools/"+url.PathEscape(pool)+"/volumes/"+typ+"/"+url.PathEscape(name), project)
}

// volNames are the names a volume's lifecycle source is built from: LXD
// 5.0.2 names a custom volume by its storage name PROJECT_NAME.
func (s *Server) volNames(action, pool, project, name, snap string) map[string]string {
	stored := name
	if a := s.catalog().Action(action); a != nil && a.PrefixVolume {
		stored = project + "_" + name
	}
	if snap != "" {
		return map[string]string{"pool": pool, "type": "custom", "volume": stored, "name": snap}
	}
	return map[string]string{"pool": pool, "type": "custom", "name": stored}
}

// volumes lists a project's volumes on a pool, by name. s.rest.mu must be held.
func (s *Server) volumes(pool, project string) []*volume {
	var out []*volume
	for k, v := range s.rest.volumes {
		if k.pool == pool && k.project == project {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// getVolumes answers GET /1.0/storage-pools/POOL/volumes[/TYPE].
func (s *Server) getVolumes(c *call) (*reply, error) {
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	pl, p, err := s.volScope(c)
	if err != nil {
		return nil, err
	}
	var vols []*volume
	if t := c.r.PathValue("type"); t == "" || t == "custom" {
		vols = s.volumes(pl, p)
	}
	if c.recursion() {
		out := make([]volume, len(vols))
		for i, v := range vols {
			out[i] = *v
		}
		return ok(out), nil
	}
	out := make([]string, len(vols))
	for i, v := range vols {
		out[i] = volumeURL(pl, "custom", v.Name, p)
	}
	return ok(out), nil
}

// volume finds the volume a request names. s.rest.mu must be held.
func (s *Server) volume(c *call) (pl, p string, v *volume, err error) {
	if pl, p, err = s.volScope(c); err != nil {
		return "", "", nil, err
	}
	if c.r.PathValue("type") == "custom" {
		v = s.rest.volumes[volKey{pl, p, c.r.PathValue("vol")}]
	}
	if v == nil {
		return "", "", nil, notFound("Storage volume")
	}
	return pl, p, v, nil
}

// getVolume answers GET …/volumes/TYPE/NAME.
func (s *Server) getVolume(c *call) (*reply, error) {
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	_, _, v, err := s.volume(c)
	if err != nil {
		return nil, err
	}
	return ok(*v), nil
}

type volumePut struct {
	Config      map[string]string `json:"config"`
	Description *string           `json:"description"`
	Restore     string            `json:"restore"`
}

type volumesPost struct {
	Name        string            `json:"name"`
	Type        string            `json:"type"`
	Config      map[string]string `json:"config"`
	Description string            `json:"description"`
	ContentType string            `json:"content_type"`
}

// postVolumes answers POST /1.0/storage-pools/POOL/volumes[/custom]:
// synchronous, 200 with metadata {} as in LXD; storage-volume-created
// between the driver's "CreateCustomVolume started" and "finished" logs.
func (s *Server) postVolumes(c *call) (*reply, error) {
	var req volumesPost
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	typ := c.r.PathValue("type")
	if typ == "" {
		typ = req.Type
	}
	if req.Type != "" && req.Type != typ {
		return nil, badRequest("Volume type %q in the body differs from %q in the URL", req.Type, typ)
	}
	if typ == "" {
		typ = "custom"
	}
	if typ != "custom" {
		return nil, badRequest("Currently not allowed to create storage volumes of type %q", typ)
	}
	if err := validName("storage volume", req.Name); err != nil {
		return nil, err
	}
	switch req.ContentType {
	case "":
		req.ContentType = "filesystem"
	case "filesystem", "block":
	default:
		return nil, badRequest("Invalid content type %q, must be filesystem or block", req.ContentType)
	}
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	pl, p, err := s.volScope(c)
	if err != nil {
		return nil, err
	}
	k := volKey{pl, p, req.Name}
	if s.rest.volumes[k] != nil {
		return nil, conflict("Volume by that name already exists")
	}
	v := &volume{
		Config: maps.Clone(req.Config), Description: req.Description, Name: req.Name, Type: "custom",
		UsedBy: []string{}, Location: s.location(), ContentType: req.ContentType, Project: p, CreatedAt: s.clock(),
	}
	if v.Config == nil {
		v.Config = map[string]string{}
	}
	s.rest.volumes[k] = v
	logCtx := map[string]string{"config": fmt.Sprint(v.Config), "contentType": v.ContentType, "desc": v.Description, "project": p, "volName": v.Name}
	s.logEvent("debug", "CreateCustomVolume started", logCtx)
	s.lifecycle("storage-volume-created", s.volNames("storage-volume-created", pl, p, v.Name, ""), p, map[string]any{"type": "custom"}, c.rq)
	s.logEvent("debug", "CreateCustomVolume finished", logCtx)
	return emptyOK(), nil
}

// putVolume answers PUT and PATCH …/volumes/custom/NAME: storage-volume-updated,
// or with "restore" storage-volume-restored.
func (s *Server) putVolume(c *call) (*reply, error) {
	if err := customOnly(c); err != nil {
		return nil, err
	}
	var req volumePut
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	pl, p, v, err := s.volume(c)
	if err != nil {
		return nil, err
	}
	if req.Restore != "" {
		if !slices.ContainsFunc(v.snapshots, func(sn *volumeSnapshot) bool { return sn.Name == req.Restore }) {
			return nil, notFound("Storage volume snapshot")
		}
		logCtx := map[string]string{"project": p, "snapshotName": req.Restore, "volName": v.Name}
		s.logEvent("debug", "RestoreCustomVolume started", logCtx)
		s.lifecycle("storage-volume-restored", s.volNames("storage-volume-restored", pl, p, v.Name, ""), p, map[string]any{"snapshot": req.Restore}, c.rq)
		s.logEvent("debug", "RestoreCustomVolume finished", logCtx)
		return emptyOK(), nil
	}
	if c.r.Method == http.MethodPut {
		v.Config, v.Description = map[string]string{}, ""
	}
	maps.Copy(v.Config, req.Config)
	if req.Description != nil {
		v.Description = *req.Description
	}
	s.lifecycle("storage-volume-updated", s.volNames("storage-volume-updated", pl, p, v.Name, ""), p, nil, c.rq)
	return emptyOK(), nil
}

// postVolume answers POST …/volumes/custom/NAME {"name": NEW}: synchronous,
// 201; storage-volume-renamed names the new volume, old_name the bare old name.
func (s *Server) postVolume(c *call) (*reply, error) {
	if err := customOnly(c); err != nil {
		return nil, err
	}
	var req struct {
		Name string `json:"name"`
		Pool string `json:"pool"`
	}
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if err := validName("storage volume", req.Name); err != nil {
		return nil, err
	}
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	pl, p, v, err := s.volume(c)
	if err != nil {
		return nil, err
	}
	if req.Pool != "" && req.Pool != pl {
		return nil, badRequest("Moving a volume to another pool is not supported by eventsim")
	}
	to := volKey{pl, p, req.Name}
	if s.rest.volumes[to] != nil {
		return nil, conflict("Volume by that name already exists")
	}
	old := v.Name
	delete(s.rest.volumes, volKey{pl, p, old})
	v.Name = req.Name
	s.rest.volumes[to] = v
	logCtx := map[string]string{"newVolName": req.Name, "project": p, "volName": old}
	s.logEvent("debug", "RenameCustomVolume started", logCtx)
	s.lifecycle("storage-volume-renamed", s.volNames("storage-volume-renamed", pl, p, req.Name, ""), p, map[string]any{"old_name": old}, c.rq)
	s.logEvent("debug", "RenameCustomVolume finished", logCtx)
	return created(volumeURL(pl, "custom", req.Name, p)), nil
}

// deleteVolume answers DELETE …/volumes/custom/NAME: synchronous; one
// storage-volume-snapshot-deleted per snapshot, then storage-volume-deleted.
func (s *Server) deleteVolume(c *call) (*reply, error) {
	if err := customOnly(c); err != nil {
		return nil, err
	}
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	pl, p, v, err := s.volume(c)
	if err != nil {
		return nil, err
	}
	delete(s.rest.volumes, volKey{pl, p, v.Name})
	logCtx := map[string]string{"project": p, "volName": v.Name}
	s.logEvent("debug", "DeleteCustomVolume started", logCtx)
	for _, sn := range v.snapshots {
		sctx := map[string]string{"project": p, "volName": v.Name + "/" + sn.Name}
		s.logEvent("debug", "DeleteCustomVolumeSnapshot started", sctx)
		s.lifecycle("storage-volume-snapshot-deleted", s.volNames("storage-volume-snapshot-deleted", pl, p, v.Name, sn.Name), p, nil, c.rq)
		s.logEvent("debug", "DeleteCustomVolumeSnapshot finished", sctx)
	}
	s.lifecycle("storage-volume-deleted", s.volNames("storage-volume-deleted", pl, p, v.Name, ""), p, nil, c.rq)
	s.logEvent("debug", "DeleteCustomVolume finished", logCtx)
	return emptyOK(), nil
}

// ---- custom volume snapshots ----

func snapshotURL(pool, vol, snap, project string) string {
	return withProject("/1.0/storage-pools/"+url.PathEscape(pool)+"/volumes/custom/"+url.PathEscape(vol)+"/snapshots/"+url.PathEscape(snap), project)
}

// getSnapshots answers GET …/volumes/custom/NAME/snapshots.
func (s *Server) getSnapshots(c *call) (*reply, error) {
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	pl, p, v, err := s.volume(c)
	if err != nil {
		return nil, err
	}
	if c.recursion() {
		out := make([]volumeSnapshot, len(v.snapshots))
		for i, sn := range v.snapshots {
			out[i] = *sn
		}
		return ok(out), nil
	}
	out := make([]string, len(v.snapshots))
	for i, sn := range v.snapshots {
		out[i] = snapshotURL(pl, v.Name, sn.Name, p)
	}
	return ok(out), nil
}

func (v *volume) snapshot(name string) *volumeSnapshot {
	for _, sn := range v.snapshots {
		if sn.Name == name {
			return sn
		}
	}
	return nil
}

// getSnapshot answers GET …/snapshots/NAME.
func (s *Server) getSnapshot(c *call) (*reply, error) {
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	_, _, v, err := s.volume(c)
	if err != nil {
		return nil, err
	}
	sn := v.snapshot(c.r.PathValue("snap"))
	if sn == nil {
		return nil, notFound("Storage volume snapshot")
	}
	return ok(*sn), nil
}

// postSnapshots answers POST …/volumes/custom/NAME/snapshots: an operation
// "Creating storage volume snapshot" whose run emits
// storage-volume-snapshot-created.
func (s *Server) postSnapshots(c *call) (*reply, error) {
	if err := customOnly(c); err != nil {
		return nil, err
	}
	var req struct {
		Name      string     `json:"name"`
		ExpiresAt *time.Time `json:"expires_at"`
	}
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	pl, p, v, err := s.volume(c)
	if err != nil {
		return nil, err
	}
	if req.Name == "" {
		for i := 0; ; i++ {
			if n := fmt.Sprintf("snap%d", i); v.snapshot(n) == nil {
				req.Name = n
				break
			}
		}
	}
	if err := validName("snapshot", req.Name); err != nil {
		return nil, err
	}
	if v.snapshot(req.Name) != nil {
		return nil, conflict("Snapshot %q already in use", req.Name)
	}
	op := s.startOperation("Creating storage volume snapshot", p, map[string][]string{"storage_volumes": {"/1.0/storage_volumes/" + v.Name}})
	return &reply{op: op, run: func() error {
		s.rest.mu.Lock()
		defer s.rest.mu.Unlock()
		if s.rest.volumes[volKey{pl, p, v.Name}] != v {
			return errors.New("Storage volume not found")
		}
		if v.snapshot(req.Name) != nil {
			return fmt.Errorf("Snapshot %q already in use", req.Name)
		}
		expiry := "0001-01-01 00:00:00 +0000 UTC"
		if req.ExpiresAt != nil {
			expiry = req.ExpiresAt.String()
		}
		logCtx := map[string]string{"newExpiryDate": expiry, "newSnapshotName": req.Name, "project": p, "volName": v.Name}
		s.logEvent("debug", "CreateCustomVolumeSnapshot started", logCtx)
		v.snapshots = append(v.snapshots, &volumeSnapshot{
			Config: maps.Clone(v.Config), Description: v.Description, Name: req.Name, ContentType: v.ContentType,
			CreatedAt: s.clock(), ExpiresAt: req.ExpiresAt,
		})
		s.lifecycle("storage-volume-snapshot-created", s.volNames("storage-volume-snapshot-created", pl, p, v.Name, req.Name), p, map[string]any{"type": "custom"}, c.rq)
		s.logEvent("debug", "CreateCustomVolumeSnapshot finished", logCtx)
		return nil
	}}, nil
}

// postSnapshot answers POST …/snapshots/NAME {"name": NEW}: an operation
// "Renaming storage volume snapshot"; storage-volume-snapshot-renamed.
func (s *Server) postSnapshot(c *call) (*reply, error) {
	if err := customOnly(c); err != nil {
		return nil, err
	}
	var req struct {
		Name string `json:"name"`
	}
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if err := validName("snapshot", req.Name); err != nil {
		return nil, err
	}
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	pl, p, v, err := s.volume(c)
	if err != nil {
		return nil, err
	}
	old := c.r.PathValue("snap")
	sn := v.snapshot(old)
	if sn == nil {
		return nil, notFound("Storage volume snapshot")
	}
	if v.snapshot(req.Name) != nil {
		return nil, conflict("Snapshot %q already in use", req.Name)
	}
	op := s.startOperation("Renaming storage volume snapshot", p, map[string][]string{"storage_volume_snapshots": {"/1.0/storage_volume_snapshots/" + v.Name}})
	return &reply{op: op, run: func() error {
		s.rest.mu.Lock()
		defer s.rest.mu.Unlock()
		if v.snapshot(old) != sn || v.snapshot(req.Name) != nil {
			return fmt.Errorf("Snapshot %q cannot be renamed to %q", old, req.Name)
		}
		sn.Name = req.Name
		s.lifecycle("storage-volume-snapshot-renamed", s.volNames("storage-volume-snapshot-renamed", pl, p, v.Name, req.Name), p, map[string]any{"old_name": old}, c.rq)
		return nil
	}}, nil
}

// deleteSnapshot answers DELETE …/snapshots/NAME: an operation "Deleting
// storage volume snapshot" whose resources name the parent volume, as in
// LXD; storage-volume-snapshot-deleted.
func (s *Server) deleteSnapshot(c *call) (*reply, error) {
	if err := customOnly(c); err != nil {
		return nil, err
	}
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	pl, p, v, err := s.volume(c)
	if err != nil {
		return nil, err
	}
	name := c.r.PathValue("snap")
	if v.snapshot(name) == nil {
		return nil, notFound("Storage volume snapshot")
	}
	op := s.startOperation("Deleting storage volume snapshot", p, map[string][]string{"storage_volume_snapshots": {"/1.0/storage_volume_snapshots/" + v.Name}})
	return &reply{op: op, run: func() error {
		s.rest.mu.Lock()
		defer s.rest.mu.Unlock()
		if v.snapshot(name) == nil {
			return errors.New("Storage volume snapshot not found")
		}
		logCtx := map[string]string{"project": p, "volName": v.Name + "/" + name}
		s.logEvent("debug", "DeleteCustomVolumeSnapshot started", logCtx)
		v.snapshots = slices.DeleteFunc(v.snapshots, func(sn *volumeSnapshot) bool { return sn.Name == name })
		s.lifecycle("storage-volume-snapshot-deleted", s.volNames("storage-volume-snapshot-deleted", pl, p, v.Name, name), p, nil, c.rq)
		s.logEvent("debug", "DeleteCustomVolumeSnapshot finished", logCtx)
		return nil
	}}, nil
}
