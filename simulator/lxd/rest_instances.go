package lxd

import (
	"cmp"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/scenarios"
	"github.com/eventsim/eventsim/world"
)

// REST requests that change instances: create, state changes, update,
// restore, rename, delete, and snapshots. Each validates the request
// against the world, answers 202 with an operation whose run emits the
// lifecycle event the real daemon emits; the world changes only by folding
// that event. See docs/lxd-server.md.

type instanceSource struct {
	Type        string `json:"type"`
	Alias       string `json:"alias"`
	Fingerprint string `json:"fingerprint"`
}

type instancesPost struct {
	Name         string                       `json:"name"`
	Type         string                       `json:"type"`
	Architecture string                       `json:"architecture"`
	Description  string                       `json:"description"`
	Config       map[string]string            `json:"config"`
	Devices      map[string]map[string]string `json:"devices"`
	Profiles     []string                     `json:"profiles"`
	Ephemeral    bool                         `json:"ephemeral"`
	Stateful     bool                         `json:"stateful"`
	Source       instanceSource               `json:"source"`
	// Start asks Incus (extension instance_create_start, which incus
	// launch uses) to start the instance in the create operation; LXD's
	// InstancesPost has no such field and ignores it.
	Start bool `json:"start"`
}

type instancePut struct {
	Architecture string                       `json:"architecture"`
	Config       map[string]string            `json:"config"`
	Devices      map[string]map[string]string `json:"devices"`
	Ephemeral    *bool                        `json:"ephemeral"`
	Profiles     []string                     `json:"profiles"`
	Stateful     *bool                        `json:"stateful"`
	Description  *string                      `json:"description"`
	Restore      string                       `json:"restore"`
}

type statePut struct {
	Action   string `json:"action"`
	Timeout  int    `json:"timeout"`
	Force    bool   `json:"force"`
	Stateful bool   `json:"stateful"`
}

// decodeRaw reads the request's JSON body as LXD's instance handlers do:
// a decoding error is a 400 with encoding/json's own message.
func (c *call) decodeRaw(v any) error {
	if err := json.Unmarshal(c.body, v); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || strings.HasPrefix(err.Error(), "unexpected end of JSON input") {
			return badRequest("unexpected EOF")
		}
		return badRequest("%s", err.Error())
	}
	return nil
}

// noInstance is the daemon's 404 for an instance that does not exist.
func (s *Server) noInstance(project, name string) error {
	if s.flavor == catalog.Incus {
		return &apiError{http.StatusNotFound, fmt.Sprintf("Failed to fetch instance %q in project %q: Instance not found", name, project)}
	}
	return notFound("Instance")
}

// noSnapshot is the daemon's 404 for a snapshot that does not exist.
func (s *Server) noSnapshot(project, instance, snap string) error {
	what := "InstanceSnapshot"
	if s.flavor == catalog.Incus {
		what = "Instance_snapshot"
	}
	return &apiError{http.StatusNotFound, fmt.Sprintf("Failed to fetch snapshot %q of instance %q in project %q: %s not found", snap, instance, project, what)}
}

// failing is an operation that starts and then fails with err, as the
// daemon answers requests it refuses only once their operation runs; the
// refusal comes at once, not after the work the operation would do.
func (s *Server) failing(action, project string, names map[string]string, err error) *reply {
	return &reply{op: s.startAction(action, project, names), took: refusalTook, run: func() error { return err }}
}

// refusalTook is how long an operation that refuses its request runs.
const refusalTook = 5 * time.Millisecond

// validInstanceName checks a name as LXD checks instance names: a valid
// hostname label of at most 63 characters.
func validInstanceName(name string) error {
	if why := hostnameProblem(name); why != "" {
		return badRequest("Invalid instance name: %s", why)
	}
	return nil
}

// instanceNow returns a copy of an instance as the world has it, or nil.
func (s *Server) instanceNow(project, name string) *world.Object {
	var out *world.Object
	s.withWorld(func(w *world.World) {
		if o := w.Instance(project, name); o != nil {
			c := *o
			c.Detail = detail(o)
			out = &c
		}
	})
	return out
}

// petNames make the names LXD gives unnamed instances.
var petAdjectives = []string{"able", "brave", "calm", "eager", "fair", "glad", "happy", "keen", "lucky", "proud", "quick", "wise"}
var petNouns = []string{"badger", "crow", "eagle", "fox", "gecko", "heron", "ibex", "koala", "lynx", "otter", "raven", "wolf"}

func randomName() string {
	pick := func(l []string) string {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(l))))
		return l[n.Int64()]
	}
	return pick(petAdjectives) + "-" + pick(petNouns)
}

// postInstances answers POST /1.0/instances: an empty instance or one from
// a local image (alias or fingerprint), "Creating instance", instance-created.
func (s *Server) postInstances(c *call) (*reply, error) {
	var req instancesPost
	if err := c.decodeRaw(&req); err != nil {
		return nil, err
	}
	p, err := c.project()
	if err != nil {
		return nil, err
	}
	if req.Name == "" {
		req.Name = randomName()
	}
	if err := validInstanceName(req.Name); err != nil {
		return nil, err
	}
	if req.Type == "" {
		req.Type = "container"
	}
	if req.Type != "container" && req.Type != "virtual-machine" {
		return nil, badRequest("Invalid instance type %q", req.Type)
	}
	d := &world.Detail{Description: req.Description, Config: orEmpty(req.Config), Devices: map[string]map[string]string{},
		Profiles: req.Profiles, Ephemeral: req.Ephemeral, Stateful: req.Stateful, Type: req.Type, Architecture: req.Architecture, Extra: map[string]string{}}
	for k, v := range req.Devices {
		d.Devices[k] = maps.Clone(v)
	}
	if d.Profiles == nil {
		d.Profiles = []string{"default"}
	}
	var failed, opErr error
	size := int64(-1) // of the image the instance is made from; -1 for none
	profProject := s.rest.featureProjectLocked(p, "profiles")
	s.withWorld(func(w *world.World) {
		switch req.Source.Type {
		case "none", "":
		case "image":
			fp := req.Source.Fingerprint
			if req.Source.Alias != "" {
				a := w.Get(world.Key{Kind: "image-alias", Project: p, Path: req.Source.Alias})
				if a == nil && s.flavor == catalog.Incus {
					// Incus answers 202 and fails the operation.
					opErr = errors.New("Image alias not found")
					return
				}
				if a == nil {
					failed = notFound("Image alias")
					return
				}
				fp = aliasTarget(a)
			}
			img := s.findImage(p, fp)
			if fp == "" || img == nil {
				opErr = errors.New("Image not provided for instance creation")
				return
			}
			d.Extra["image"] = img.Name
			d.Config["volatile.base_image"] = img.Name
			id := detail(img)
			size, _ = strconv.ParseInt(id.Extra["size"], 10, 64)
			if d.Architecture == "" {
				d.Architecture = id.Architecture
			}
			for k, v := range id.Config {
				d.Config["image."+k] = v
			}
		default:
			failed = badRequest("Unknown source type %s", req.Source.Type)
			return
		}
		for _, pr := range d.Profiles {
			if w.Get(profileKey(profProject, pr)) == nil {
				failed = &apiError{http.StatusInternalServerError, fmt.Sprintf("Requested profile %q doesn't exist", pr)}
				return
			}
		}
	})
	if failed != nil {
		return nil, failed
	}
	names := map[string]string{"name": req.Name}
	if opErr != nil {
		return s.failing("instance-created", p, names, opErr), nil
	}
	pool := d.Devices["root"]["pool"]
	if pool == "" {
		pool = "default"
		for _, pr := range d.Profiles {
			if pd := s.existing(profileKey(profProject, pr)); pd != nil && pd.Devices["root"]["pool"] != "" {
				pool = pd.Devices["root"]["pool"]
			}
		}
	}
	op := s.startAction("instance-created", p, names)
	rep := &reply{op: op, took: emptyCreateTook, run: func() error {
		if s.instanceNow(p, req.Name) != nil {
			if s.flavor == catalog.Incus {
				return errors.New(`Failed creating instance record: Add instance info to the database: Failed to create "instances" entry: UNIQUE constraint failed: instances.project_id, instances.name`)
			}
			return errors.New(`Failed creating instance record: Add instance info to the database: This "instances" entry already exists`)
		}
		if !s.rest.hasPool(pool) {
			return errors.New("Failed creating instance record: Failed initialising instance: Failed loading storage pool: Storage pool not found")
		}
		s.lifecycleWith("instance-created", map[string]string{"name": req.Name}, p,
			map[string]any{"type": req.Type, "storage-pool": pool}, c.rq, d)
		if req.Start && s.flavor == catalog.Incus {
			// Incus's instanceCreateFinish starts it in the same operation.
			s.lifecycle("instance-started", map[string]string{"name": req.Name}, p, nil, c.rq)
		}
		return nil
	}}
	if size >= 0 {
		// From an image: unpacking it takes the verb's time, with progress.
		rep.took, rep.progress = 0, scenarios.LXDUnpackProgress(cmp.Or(size, scenarios.LXDImageSize))
	}
	return rep, nil
}

// emptyCreateTook is how long creating an empty instance runs: a record in
// the database and an empty volume (about 50 ms on a real LXD 5.0.2).
const emptyCreateTook = 50 * time.Millisecond

// stateActions are the state changes PUT …/state knows: the statuses the
// instance may be in, the operation and the lifecycle action.
var stateActions = map[string]struct {
	from    []string
	action  string // its operation is the catalogue's for this action
	refusal string
}{
	"start":    {[]string{"Stopped"}, "instance-started", "The instance is already running"},
	"stop":     {[]string{"Running", "Frozen"}, "instance-stopped", "The instance is already stopped"},
	"restart":  {[]string{"Running"}, "instance-restarted", "The instance isn't running"},
	"freeze":   {[]string{"Running"}, "instance-paused", "The container isn't running"},
	"unfreeze": {[]string{"Frozen"}, "instance-resumed", "The container is not frozen"},
}

// putInstanceState answers PUT /1.0/instances/NAME/state: an unknown
// action is a 400; a change the instance's status does not allow fails its
// operation, as LXD's does.
func (s *Server) putInstanceState(c *call) (*reply, error) {
	var req statePut
	k, o, err := s.instanceRequest(c, &req)
	if err != nil {
		return nil, err
	}
	sa, known := stateActions[req.Action]
	if !known {
		return nil, badRequest("Unknown action: '%s'", req.Action)
	}
	names := map[string]string{"name": k.Path}
	if !slices.Contains(sa.from, o.Status) {
		return s.failing(sa.action, k.Project, names, errors.New(sa.refusal)), nil
	}
	action := sa.action
	if req.Action == "stop" && !req.Force {
		action = "instance-shutdown" // a graceful stop: the instance shuts itself down
	}
	// A graceful stop runs as "Stopping instance" too.
	op := s.startAction(sa.action, k.Project, names)
	return &reply{op: op, run: func() error {
		if s.instanceNow(k.Project, k.Path) == nil {
			return errors.New("Instance not found")
		}
		s.lifecycle(action, map[string]string{"name": k.Path}, k.Project, nil, c.rq)
		return nil
	}}, nil
}

// putInstance answers PUT and PATCH /1.0/instances/NAME: an update
// ("Updating instance", instance-updated) or, with "restore", a restore
// from a snapshot ("Restoring snapshot", instance-restored).
func (s *Server) putInstance(c *call) (*reply, error) {
	var req instancePut
	k, o, err := s.instanceRequest(c, &req)
	if err != nil {
		return nil, err
	}
	names := map[string]string{"name": k.Path}
	if req.Restore != "" {
		// LXD takes "SNAP" or "INSTANCE/SNAP" (as lxc sends it).
		req.Restore = strings.TrimPrefix(req.Restore, k.Path+"/")
		if !s.hasSnapshot(k, req.Restore) {
			return s.failing("instance-restored", k.Project, names, fmt.Errorf("Snapshot %s/%s does not exist", k.Path, req.Restore)), nil
		}
		op := s.startAction("instance-restored", k.Project, names)
		return &reply{op: op, run: func() error {
			// The snapshot as LXD names it (its instance's Name()):
			// INSTANCE/SNAP.
			s.lifecycle("instance-restored", names, k.Project, map[string]any{"snapshot": k.Path + "/" + req.Restore}, c.rq)
			return nil
		}}, nil
	}
	d := *o.Detail
	patch := c.r.Method == http.MethodPatch
	if !patch {
		d.Config, d.Devices, d.Description = map[string]string{}, map[string]map[string]string{}, ""
	} else {
		d.Config = orEmpty(d.Config)
		d.Devices = orEmpty(d.Devices)
	}
	maps.Copy(d.Config, req.Config)
	for name, dev := range req.Devices {
		d.Devices[name] = maps.Clone(dev)
	}
	if req.Profiles != nil {
		d.Profiles = slices.Clone(req.Profiles)
	}
	if req.Description != nil {
		d.Description = *req.Description
	}
	if req.Ephemeral != nil {
		d.Ephemeral = *req.Ephemeral
	}
	if req.Stateful != nil {
		d.Stateful = *req.Stateful
	}
	op := s.startAction("instance-updated", k.Project, names)
	return &reply{op: op, run: func() error {
		s.lifecycleWith("instance-updated", map[string]string{"name": k.Path}, k.Project, nil, c.rq, &d)
		return nil
	}}, nil
}

// postInstance answers POST /1.0/instances/NAME {"name": NEW}: "Renaming
// instance", instance-renamed.
func (s *Server) postInstance(c *call) (*reply, error) {
	var req struct {
		Name      string `json:"name"`
		Migration bool   `json:"migration"`
	}
	if err := c.decodeRaw(&req); err != nil {
		return nil, err
	}
	k, err := c.instanceKey()
	if err != nil {
		return nil, err
	}
	if req.Migration {
		return nil, &apiError{http.StatusNotImplemented, "not implemented: eventsim does not migrate instances"}
	}
	o := s.instanceNow(k.Project, k.Path)
	if o == nil {
		return nil, s.noInstance(k.Project, k.Path)
	}
	if err := validInstanceName(req.Name); err != nil {
		return nil, err
	}
	if s.instanceNow(k.Project, req.Name) != nil {
		return nil, conflict("Name %q already in use", req.Name)
	}
	if o.Status != "Stopped" {
		return nil, badRequest("Renaming of running instance not allowed")
	}
	op := s.startAction("instance-renamed", k.Project, map[string]string{"name": k.Path})
	return &reply{op: op, run: func() error {
		if s.instanceNow(k.Project, req.Name) != nil {
			return fmt.Errorf("Name %q already in use", req.Name)
		}
		s.lifecycle("instance-renamed", map[string]string{"name": req.Name}, k.Project, map[string]any{"old_name": k.Path}, c.rq)
		return nil
	}}, nil
}

// deleteInstance answers DELETE /1.0/instances/NAME: "Deleting instance",
// instance-deleted; a running instance is refused.
func (s *Server) deleteInstance(c *call) (*reply, error) {
	k, o, err := s.instanceRequest(c, nil)
	if err != nil {
		return nil, err
	}
	if o.Status != "Stopped" {
		return nil, badRequest("Instance is running")
	}
	var snaps []string
	s.withWorld(func(w *world.World) {
		if io := w.Get(k); io != nil {
			for _, sn := range w.Children(io, "instance-snapshot") {
				snaps = append(snaps, sn.Name)
			}
		}
	})
	slices.Sort(snaps)
	op := s.startAction("instance-deleted", k.Project, map[string]string{"name": k.Path})
	return &reply{op: op, run: func() error {
		for _, sn := range snaps {
			s.lifecycle(catalog.LXDCascade("instance-deleted"), map[string]string{"instance": k.Path, "name": sn}, k.Project, nil, c.rq)
		}
		s.lifecycle("instance-deleted", map[string]string{"name": k.Path}, k.Project, nil, c.rq)
		return nil
	}}, nil
}

// instanceRequest reads a request on one instance: its JSON body into req
// (nil for none), then the instance, which must exist.
func (s *Server) instanceRequest(c *call, req any) (world.Key, *world.Object, error) {
	if req != nil {
		if err := c.decodeRaw(req); err != nil {
			return world.Key{}, nil, err
		}
	}
	k, err := c.instanceKey()
	if err != nil {
		return k, nil, err
	}
	o := s.instanceNow(k.Project, k.Path)
	if o == nil {
		return k, nil, s.noInstance(k.Project, k.Path)
	}
	return k, o, nil
}

// hasSnapshot reports whether an instance has a snapshot.
func (s *Server) hasSnapshot(k world.Key, snap string) bool {
	ok := false
	s.withWorld(func(w *world.World) {
		ok = w.Get(world.Key{Kind: "instance-snapshot", Project: k.Project, Path: k.Path + "/" + snap}) != nil
	})
	return ok
}

// nextSnapshotName is the name LXD gives an unnamed snapshot: snapN for
// the smallest N above every snapN the instance has.
func (s *Server) nextSnapshotName(k world.Key) string {
	n := 0
	s.withWorld(func(w *world.World) {
		o := w.Get(k)
		if o == nil {
			return
		}
		for _, sn := range w.Children(o, "instance-snapshot") {
			var i int
			if _, err := fmt.Sscanf(sn.Name, "snap%d", &i); err == nil && "snap"+itoa(i) == sn.Name && i+1 > n {
				n = i + 1
			}
		}
	})
	return "snap" + itoa(n)
}

// postSnapshots answers POST /1.0/instances/NAME/snapshots: "Snapshotting
// instance", instance-snapshot-created; unnamed, the server picks snapN.
func (s *Server) postInstanceSnapshots(c *call) (*reply, error) {
	var req struct {
		Name     string `json:"name"`
		Stateful bool   `json:"stateful"`
	}
	k, _, err := s.instanceRequest(c, &req)
	if err != nil {
		return nil, err
	}
	if req.Name == "" {
		req.Name = s.nextSnapshotName(k)
	}
	if strings.Contains(req.Name, "/") {
		return nil, badRequest("Snapshot names may not contain slashes")
	}
	names := map[string]string{"instance": k.Path, "name": req.Name}
	if s.hasSnapshot(k, req.Name) {
		return s.failing("instance-snapshot-created", k.Project, names, fmt.Errorf(`Failed creating instance snapshot record %q: Add snapshot info to the database: This "instances_snapshots" entry already exists`, req.Name)), nil
	}
	op := s.startAction("instance-snapshot-created", k.Project, names)
	return &reply{op: op, run: func() error {
		s.lifecycleWith("instance-snapshot-created", map[string]string{"instance": k.Path, "name": req.Name}, k.Project, nil, c.rq,
			&world.Detail{Stateful: req.Stateful})
		return nil
	}}, nil
}

// postInstanceSnapshot answers POST …/snapshots/SNAP {"name": NEW}:
// "Renaming snapshot", instance-snapshot-renamed.
func (s *Server) postInstanceSnapshot(c *call) (*reply, error) {
	var req struct {
		Name string `json:"name"`
	}
	if err := c.decodeRaw(&req); err != nil {
		return nil, err
	}
	k, err := c.instanceKey()
	if err != nil {
		return nil, err
	}
	snap := c.r.PathValue("child")
	if !s.hasSnapshot(k, snap) {
		return nil, s.noSnapshot(k.Project, k.Path, snap)
	}
	if req.Name == "" || strings.Contains(req.Name, "/") {
		return nil, badRequest("Invalid snapshot name %q", req.Name)
	}
	if s.hasSnapshot(k, req.Name) {
		return nil, conflict("Name of instance snapshot %q already in use", req.Name)
	}
	op := s.startAction("instance-snapshot-renamed", k.Project, map[string]string{"instance": k.Path, "name": snap})
	return &reply{op: op, run: func() error {
		s.lifecycle("instance-snapshot-renamed", map[string]string{"instance": k.Path, "name": req.Name}, k.Project, map[string]any{"old_name": snap}, c.rq)
		return nil
	}}, nil
}

// deleteInstanceSnapshot answers DELETE …/snapshots/SNAP: "Deleting
// snapshot", instance-snapshot-deleted.
func (s *Server) deleteInstanceSnapshot(c *call) (*reply, error) {
	k, err := c.instanceKey()
	if err != nil {
		return nil, err
	}
	snap := c.r.PathValue("child")
	if !s.hasSnapshot(k, snap) {
		return nil, s.noSnapshot(k.Project, k.Path, snap)
	}
	op := s.startAction("instance-snapshot-deleted", k.Project, map[string]string{"instance": k.Path, "name": snap})
	return &reply{op: op, run: func() error {
		s.lifecycle("instance-snapshot-deleted", map[string]string{"instance": k.Path, "name": snap}, k.Project, nil, c.rq)
		return nil
	}}, nil
}
