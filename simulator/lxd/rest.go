package lxd

import (
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/world"
)

// The REST objects the fake keeps beside the world (project configuration,
// storage pools, custom volumes and their snapshots) and the requests that change them. Each
// request emits what LXD 5.0.2 emits for it; see docs/lxd-server.md.

// restState is the server's objects. mu serialises every change, so the
// events of one request are never interleaved with those of another change;
// it is taken before s.seqMu and s.mu, never after.
type restState struct {
	flavor catalog.Flavor
	// product names the daemon in the default project's description:
	// "LXD", or "Incus" for the incus flavour.
	product  string
	mu       sync.Mutex
	projects map[string]*projectInfo // config of projects; absent means the defaults
	pools    []*pool
	volumes  map[volKey]*volume
}

type projectInfo struct {
	config      map[string]string
	description string
}

type volKey struct{ pool, project, name string }

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

// scenarioProjectConfig is the configuration of a project a scenario
// names (Options.Projects, AddProject): every feature, so that the objects
// its events name in that project are the project's own.
var scenarioProjectConfig = map[string]string{
	"features.images": "true", "features.networks": "true", "features.profiles": "true",
	"features.storage.buckets": "true", "features.storage.volumes": "true",
}

// projectDefaults is the configuration a daemon of flavour f gives its
// default project (isDefault) or a project made without features, as
// recorded from real LXD 5.0.2 and Incus 6.0.4 (TestProjectsMatchRealDaemons);
// LXD 6.1's, from its source (ProjectFeatures), is Incus's.
func projectDefaults(f catalog.Flavor, isDefault bool) map[string]string {
	on := []string{"features.images", "features.profiles", "features.storage.volumes"}
	switch {
	case f == catalog.LXD50 && isDefault:
		on = append(on, "features.networks")
	case f == catalog.LXD50:
	case isDefault:
		on = append(on, "features.storage.buckets", "features.networks", "features.networks.zones")
	default:
		on = append(on, "features.storage.buckets")
	}
	out := make(map[string]string, len(on))
	for _, k := range on {
		out[k] = "true"
	}
	return out
}

// newRestState makes the objects a fresh server has: the given storage
// pools ("default" when none).
func newRestState(pools []string, loc string, f catalog.Flavor) *restState {
	st := &restState{flavor: f, product: world.Product(f), projects: map[string]*projectInfo{}, volumes: map[volKey]*volume{}}
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
	return st
}

// info returns a project's configuration. st.mu must be held.
func (st *restState) info(project string) *projectInfo {
	if pi := st.projects[project]; pi != nil {
		return pi
	}
	pi := &projectInfo{config: maps.Clone(scenarioProjectConfig)}
	if project == "default" {
		pi.config = projectDefaults(st.flavor, true)
		pi.description = "Default " + st.product + " project"
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

// featureProjectLocked is featureProject for callers not holding st.mu.
func (st *restState) featureProjectLocked(project, feature string) string {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.featureProject(project, feature)
}

// hasPool reports whether a storage pool exists; st.mu must not be held.
func (st *restState) hasPool(name string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.pool(name) != nil
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
// st.mu must be held; it takes s.worldMu.
func (s *Server) emptyProject(project string) bool {
	for k := range s.rest.volumes {
		if k.project == project {
			return false
		}
	}
	empty := true
	s.withWorld(func(w *world.World) {
		for _, kind := range []string{"profile", "instance", "image", "network", "network-acl", "network-zone", "storage-bucket"} {
			for _, o := range w.List(kind, project) {
				if kind != "profile" || o.Name != "default" {
					empty = false
				}
			}
		}
	})
	return empty
}
