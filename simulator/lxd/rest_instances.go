package lxd

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/eventsim/eventsim/catalog"
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

// resources are an instance operation's resources as the flavour lists
// them: LXD 5.0 names the instance under containers and instances, Incus
// under instances only; snapshot operations name the snapshot too (Incus)
// or, when deleting one, in place of the instance (LXD 5.0's quirk).
func (s *Server) resources(project, name, snap string, deleting bool) map[string][]string {
	if s.flavor == catalog.Incus {
		r := map[string][]string{"instances": {instanceURL(project, name)}}
		if snap != "" {
			r["instances_snapshots"] = []string{withProject("/1.0/instances/"+url.PathEscape(name)+"/snapshots/"+url.PathEscape(snap), project)}
		}
		return r
	}
	if snap != "" && deleting {
		return map[string][]string{
			"containers": {withProject("/1.0/containers/"+url.PathEscape(name)+"/"+url.PathEscape(snap), project)},
			"instances":  {withProject("/1.0/instances/"+url.PathEscape(name)+"/"+url.PathEscape(snap), project)},
		}
	}
	return instanceResources(project, name)
}

// failing is an operation that starts and then fails with err, as the
// daemon answers requests it refuses only once their operation runs; the
// refusal comes at once, not after the work the operation would do.
func (s *Server) failing(description, project string, res map[string][]string, err error) *reply {
	return &reply{op: s.startOperation(description, project, res), took: refusalTook, run: func() error { return err }}
}

// refusalTook is how long an operation that refuses its request runs.
const refusalTook = 5 * time.Millisecond

// validInstanceName checks a name as LXD checks instance names: a valid
// hostname label of at most 63 characters.
func validInstanceName(name string) error {
	bad := func(why string) error { return badRequest("Invalid instance name: %s", why) }
	switch {
	case name == "" || len(name) > 63:
		return bad("Name must be 1-63 characters long")
	case name[0] == '-' || name[len(name)-1] == '-':
		return bad("Name must not start or end with a hyphen")
	case name[0] >= '0' && name[0] <= '9':
		return bad("Name must not start with a digit")
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return bad("Name can only contain alphanumeric and hyphen characters")
		}
	}
	return nil
}

// instanceResources are an instance operation's resources as LXD 5.0 lists
// them: the instance under both containers and instances.
func instanceResources(project, name string) map[string][]string {
	return map[string][]string{
		"containers": {withProject("/1.0/containers/"+url.PathEscape(name), project)},
		"instances":  {instanceURL(project, name)},
	}
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
	res := s.resources(p, req.Name, "", false)
	if opErr != nil {
		return s.failing("Creating instance", p, res, opErr), nil
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
	op := s.startOperation("Creating instance", p, res)
	rep := &reply{op: op, took: emptyCreateTook, run: func() error {
		if s.instanceNow(p, req.Name) != nil {
			return errors.New(`Failed creating instance record: Add instance info to the database: This "instances" entry already exists`)
		}
		if !s.rest.hasPool(pool) {
			return errors.New("Failed creating instance record: Failed initialising instance: Failed loading storage pool: Storage pool not found")
		}
		s.lifecycleWith("instance-created", map[string]string{"name": req.Name}, p,
			map[string]any{"type": req.Type, "storage-pool": pool}, c.rq, d)
		return nil
	}}
	if size >= 0 {
		// From an image: unpacking it takes the verb's time, with progress.
		rep.took, rep.progress = 0, unpackProgress(size)
	}
	return rep, nil
}

// emptyCreateTook is how long creating an empty instance runs: a record in
// the database and an empty volume (about 50 ms on a real LXD 5.0.2).
const emptyCreateTook = 50 * time.Millisecond

// stateActions are the state changes PUT …/state knows: the statuses the
// instance may be in, the operation and the lifecycle action.
var stateActions = map[string]struct {
	from        []string
	description string
	action      string
	refusal     string
}{
	"start":    {[]string{"Stopped"}, "Starting instance", "instance-started", "The instance is already running"},
	"stop":     {[]string{"Running", "Frozen"}, "Stopping instance", "instance-stopped", "The instance is already stopped"},
	"restart":  {[]string{"Running"}, "Restarting instance", "instance-restarted", "The instance isn't running"},
	"freeze":   {[]string{"Running"}, "Freezing instance", "instance-paused", "The container isn't running"},
	"unfreeze": {[]string{"Frozen"}, "Unfreezing instance", "instance-resumed", "The container is not frozen"},
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
	res := map[string][]string{"instances": {instanceURL(k.Project, k.Path)}}
	if !slices.Contains(sa.from, o.Status) {
		return s.failing(sa.description, k.Project, res, errors.New(sa.refusal)), nil
	}
	action := sa.action
	if req.Action == "stop" && !req.Force {
		action = "instance-shutdown" // a graceful stop: the instance shuts itself down
	}
	op := s.startOperation(sa.description, k.Project, res)
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
	res := s.resources(k.Project, k.Path, "", false)
	if req.Restore != "" {
		// LXD takes "SNAP" or "INSTANCE/SNAP" (as lxc sends it).
		req.Restore = strings.TrimPrefix(req.Restore, k.Path+"/")
		if !s.hasSnapshot(k, req.Restore) {
			return s.failing("Restoring snapshot", k.Project, res, fmt.Errorf("Snapshot %s/%s does not exist", k.Path, req.Restore)), nil
		}
		op := s.startOperation("Restoring snapshot", k.Project, res)
		return &reply{op: op, run: func() error {
			s.lifecycle("instance-restored", map[string]string{"name": k.Path}, k.Project, map[string]any{"snapshot": req.Restore}, c.rq)
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
	op := s.startOperation("Updating instance", k.Project, res)
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
	op := s.startOperation("Renaming instance", k.Project, s.resources(k.Project, k.Path, "", false))
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
	op := s.startOperation("Deleting instance", k.Project, s.resources(k.Project, k.Path, "", false))
	return &reply{op: op, run: func() error {
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
	res := s.resources(k.Project, k.Path, req.Name, false)
	if s.hasSnapshot(k, req.Name) {
		return s.failing("Snapshotting instance", k.Project, res, fmt.Errorf(`Failed creating instance snapshot record %q: Add snapshot info to the database: This "instances_snapshots" entry already exists`, req.Name)), nil
	}
	op := s.startOperation("Snapshotting instance", k.Project, res)
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
	op := s.startOperation("Renaming snapshot", k.Project, s.resources(k.Project, k.Path, snap, false))
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
	op := s.startOperation("Deleting snapshot", k.Project, s.resources(k.Project, k.Path, snap, true))
	return &reply{op: op, run: func() error {
		s.lifecycle("instance-snapshot-deleted", map[string]string{"instance": k.Path, "name": snap}, k.Project, nil, c.rq)
		return nil
	}}, nil
}
