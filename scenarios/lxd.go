package scenarios

import (
	"fmt"
	"math"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/events"
)

// lxdWorld is the state of the LXD server a scenario plays: which objects
// exist, in which state, so that events stay consistent (a renamed instance
// keeps its new name) and verbs refuse what the daemon would refuse.
type lxdWorld struct {
	e       *Engine
	depth   int // fallbacks taken for the current mix verb
	members []string
	objs    map[string]*registry // by kind
	scratch []int32              // pick's candidates, as indexes, reused
	ids     interned             // projects, numbered for the registries' infos
	regMemo [4]regMemo           // see reg
	regNext int
	// resShapes numbers the actions by how their resources are made.
	resShapes resShapes
	// server is the last requestor's GET /1.0 context (serverCtx).
	server struct {
		rq  *events.LXDLifecycleRequestor
		ctx logCtx
	}
	// project is the last answer of projectExists.
	project struct {
		name   string
		gen    uint64
		exists bool
	}
	// names is the map of names each request fills (see apply).
	names map[string]string
	// observeOutside is set while observe folds an event from outside the
	// scenario (Engine.Observe): what it makes is outside.
	observeOutside bool
}

// entity is one LXD object.
type entity struct {
	kind, project, parent, name string
	state                       string // instances: stopped, running, frozen
	typ                         string // instance type, image type
	pool                        string
	member                      string
	busyUntil                   time.Time
	slot                        int // index in its registry's list; -1 when in none
	// res holds its operations' resources, made from its names
	// (lxdRequest.resources); whoever changes its name or parent empties it.
	res map[resKey]resources
	// outside says the object was made outside the scenario (a REST
	// request, see Engine.Observe): only a step that names it acts on it.
	outside bool
}

// registry keeps the objects of one kind in creation order, so random picks
// are deterministic.
type registry struct {
	list []*entity
	// info holds, beside each entity of list, what pick filters on, so a
	// pick reads one compact array instead of every entity. Whoever changes
	// an entity's state or busyUntil calls sync.
	info []entInfo
	idx  map[entKey]int
	// projects numbers the projects named in info (shared by the world's
	// registries), so a pick compares integers instead of strings.
	projects *interned
	// gen counts the changes to the list (add, remove).
	gen uint64
	// outside counts the entities of list made outside the scenario.
	outside int
	// busy remembers, for the last few filters a pick found nothing for,
	// until when at least every object that filter matches stays busy
	// (see pick).
	busy    [8]busyFilter
	busyLen int
	busyOld int // the next one to forget when all are in use
}

// pickFilter is what a random pick asks of an object apart from being free:
// its project, parent and state, and not being a kind's "default".
type pickFilter struct {
	parent      string
	project     int32
	needBits    uint8
	anyState    bool
	skipDefault bool
}

// matches reports whether in fits f, however busy it is. An object made
// outside the scenario fits none.
func (f *pickFilter) matches(in *entInfo) bool {
	return in.project == f.project && (f.anyState || in.state&f.needBits != 0) && !(f.skipDefault && in.isDefault) &&
		(f.parent == "" || in.parent == f.parent) && !in.outside
}

// busyFilter says that no object matching f is free before (sec, nsec):
// a lower bound of their busyUntil, kept as objects change (seeBusy).
type busyFilter struct {
	f    pickFilter
	sec  int64
	nsec int32
}

// busyUntil returns the time before which no object matching f is free,
// if the registry remembers one for f.
func (r *registry) busyUntil(f *pickFilter) (*busyFilter, bool) {
	for i := range r.busyLen {
		if b := &r.busy[i]; b.f == *f {
			return b, true
		}
	}
	return nil, false
}

// rememberBusy remembers that no object matching f is free before the
// earliest busyUntil among them (forever when none matches).
func (r *registry) rememberBusy(f *pickFilter) {
	b := busyFilter{f: *f, sec: math.MaxInt64}
	// As pick's scan: whether an object matches is worked out without
	// branches, which would mostly be mispredicted.
	anyState, skipDefault := b2i(f.anyState), b2i(f.skipDefault)
	for i := range r.info {
		in := &r.info[i]
		ok := b2i(in.project == f.project) & (b2i(in.state&f.needBits != 0) | anyState) & (1 ^ b2i(in.isDefault)&skipDefault) & (1 ^ b2i(in.outside))
		if f.parent != "" && in.parent != f.parent {
			ok = 0
		}
		if ok != 0 && (in.busySec < b.sec || in.busySec == b.sec && in.busyNsec < b.nsec) {
			b.sec, b.nsec = in.busySec, in.busyNsec
		}
	}
	if r.busyLen < len(r.busy) {
		r.busy[r.busyLen] = b
		r.busyLen++
		return
	}
	r.busy[r.busyOld] = b
	r.busyOld = (r.busyOld + 1) % len(r.busy)
}

// seeBusy keeps the remembered bounds true when an object's info becomes
// in: a bound can only fall to the object's busyUntil. (An object removed,
// or one that no longer matches, leaves a bound that is still true.)
func (r *registry) seeBusy(in *entInfo) {
	for i := range r.busyLen {
		if b := &r.busy[i]; b.f.matches(in) && (in.busySec < b.sec || in.busySec == b.sec && in.busyNsec < b.nsec) {
			b.sec, b.nsec = in.busySec, in.busyNsec
		}
	}
}

// own is how many of the registry's objects the scenario made: a mix keeps
// their number under populationCap.
func (r *registry) own() int { return len(r.list) - r.outside }

// interned numbers the projects of a world's registries: the same name
// always gets the same number while it is in use.
type interned struct {
	ids  map[string]int32
	regs map[string]*registry // the registries whose infos hold the numbers
	// limit is how many names are numbered before the numbering starts
	// again from the names in use: a mix that makes and deletes projects
	// forever names new ones forever, and memory must stay constant.
	limit int
	// last is the name asked for last and its number.
	last struct {
		set  bool
		name string
		id   int32
	}
}

func (n *interned) id(s string) int32 {
	if n.last.set && n.last.name == s {
		return n.last.id
	}
	if id, ok := n.ids[s]; ok {
		n.last.set, n.last.name, n.last.id = true, s, id
		return id
	}
	if len(n.ids) >= n.limit {
		n.renumber()
	}
	return n.add(s)
}

func (n *interned) add(s string) int32 {
	id, ok := n.ids[s]
	if !ok {
		id = int32(len(n.ids))
		n.ids[s] = id
	}
	return id
}

// renumber numbers again only the projects the registries hold.
func (n *interned) renumber() {
	clear(n.ids)
	n.last.set = false
	for _, r := range n.regs {
		r.busyLen, r.busyOld = 0, 0 // their filters name projects by number
		for i := range r.info {
			r.info[i].project = n.add(r.list[i].project)
		}
	}
	n.limit = max(n.limit, 2*len(n.ids))
}

// entInfo is what pick needs to know of an entity.
type entInfo struct {
	parent    string
	busySec   int64 // busyUntil, as Unix seconds and nanoseconds
	busyNsec  int32
	project   int32 // the project's number in registry.projects
	state     uint8 // stateBit of state
	isDefault bool  // named "default"
	outside   bool  // entity.outside: never picked at random
}

func (r *registry) infoOf(x *entity) entInfo {
	return entInfo{project: r.projects.id(x.project), parent: x.parent, busySec: x.busyUntil.Unix(), busyNsec: int32(x.busyUntil.Nanosecond()),
		state: stateBit(x.state), isDefault: x.name == "default", outside: x.outside}
}

// sync refreshes x's info after its state or busyUntil changed.
func (r *registry) sync(x *entity) {
	if x.slot >= 0 && x.slot < len(r.list) && r.list[x.slot] == x {
		r.info[x.slot] = r.infoOf(x)
		r.seeBusy(&r.info[x.slot])
	}
}

// entKey names an object within its kind.
type entKey struct{ project, parent, name string }

func key(project, parent, name string) entKey { return entKey{project, parent, name} }

func (r *registry) get(project, parent, name string) *entity {
	if i, ok := r.idx[key(project, parent, name)]; ok {
		return r.list[i]
	}
	return nil
}

func (r *registry) add(x *entity) {
	r.gen++
	in := r.infoOf(x) // first: it may renumber the infos there are
	r.idx[key(x.project, x.parent, x.name)] = len(r.list)
	x.slot = len(r.list)
	r.list = append(r.list, x)
	r.info = append(r.info, in)
	if x.outside {
		r.outside++
	}
	r.seeBusy(&in)
}

func (r *registry) remove(x *entity) {
	r.gen++
	k := key(x.project, x.parent, x.name)
	i, ok := r.idx[k]
	if !ok {
		return
	}
	last := len(r.list) - 1
	if r.list[i].outside {
		r.outside--
	}
	r.list[i].slot = -1
	r.list[i] = r.list[last]
	r.info[i] = r.info[last]
	r.list[i].slot = i
	r.idx[key(r.list[i].project, r.list[i].parent, r.list[i].name)] = i
	r.list[last] = nil
	r.list = r.list[:last]
	r.info = r.info[:last]
	delete(r.idx, k)
}

func (r *registry) names(project, parent string) []string {
	var out []string
	for _, x := range r.list {
		if x.project == project && x.parent == parent {
			out = append(out, x.name)
		}
	}
	sort.Strings(out)
	return out
}

// Kinds of objects whose names are global rather than per project.
var globalKinds = map[string]bool{"project": true, "storage-pool": true, "certificate": true, "cluster-member": true}

// isGlobalKind is isGlobalKind(kind), without hashing kind (verbs ask often).
func isGlobalKind(kind string) bool {
	switch kind {
	case "project", "storage-pool", "certificate", "cluster-member":
		return true
	}
	return false
}

func newLXDWorld(e *Engine) *lxdWorld {
	w := &lxdWorld{e: e, objs: map[string]*registry{}, names: map[string]string{}}
	w.ids = interned{ids: map[string]int32{}, regs: w.objs, limit: 1024}
	s := e.s.LXD
	w.members = append([]string(nil), s.Members...)
	w.add(&entity{kind: "project", name: "default"})
	for _, p := range s.Projects {
		if w.reg("project").get("", "", p) == nil {
			w.add(&entity{kind: "project", name: p})
		}
	}
	for _, p := range s.Pools {
		w.add(&entity{kind: "storage-pool", name: p})
	}
	for _, n := range s.Networks {
		w.add(&entity{kind: "network", project: "default", name: n})
	}
	w.add(&entity{kind: "profile", project: "default", name: "default"})
	for _, n := range s.Profiles {
		if w.reg("profile").get("default", "", n) == nil {
			w.add(&entity{kind: "profile", project: "default", name: n})
		}
	}
	for _, m := range w.members {
		w.add(&entity{kind: "cluster-member", name: m, state: "online"})
	}
	return w
}

func (w *lxdWorld) reg(kind string) *registry {
	// The last few kinds asked for are remembered: a verb asks for the
	// same one or two registries several times.
	for i := range w.regMemo {
		if m := &w.regMemo[i]; m.r != nil && m.kind == kind {
			return m.r
		}
	}
	r := w.regLookup(kind)
	w.regMemo[w.regNext] = regMemo{kind, r}
	w.regNext = (w.regNext + 1) % len(w.regMemo)
	return r
}

// regMemo is a kind's registry, remembered.
type regMemo struct {
	kind string
	r    *registry
}

func (w *lxdWorld) regLookup(kind string) *registry {
	r := w.objs[kind]
	if r == nil {
		r = &registry{idx: map[entKey]int{}, projects: &w.ids}
		w.objs[kind] = r
	}
	return r
}

func (w *lxdWorld) add(x *entity) {
	if isGlobalKind(x.kind) {
		x.project = ""
	}
	w.reg(x.kind).add(x)
}

// projectExists reports whether a project exists, remembering the answer
// until the projects change: every step asks.
func (w *lxdWorld) projectExists(name string) bool {
	r := w.reg("project")
	if m := &w.project; m.gen != r.gen || m.name != name {
		m.name, m.gen, m.exists = name, r.gen, r.get("", "", name) != nil
	}
	return w.project.exists
}

// Projects lists the projects that exist now, sorted.
func (w *lxdWorld) projects() []string { return w.reg("project").names("", "") }

func (w *lxdWorld) location(member string) string {
	if len(w.members) == 0 {
		return "none"
	}
	return member
}

// lxdVerb describes what a high-level verb does to the world.
type lxdVerb struct {
	kind   string // kind of object acted on
	action string // lifecycle action
	parent string // kind of the parent object, named by parentArg
	// parentArg names the argument holding the parent's name ("" when the
	// object is a child named by childArg of a parent named by "name").
	parentArg string
	childArg  string // snapshot verbs: the child is named by this argument
	create    bool
	remove    bool
	rename    bool
	need      string // required instance (or member) state, "|"-separated
	to        string // instance (or member) state after
	method    string
	path      string        // request path, {name}/{parent}/{child} filled in
	took      time.Duration // typical duration of the background operation
	// unpack says that the request makes an instance from an image, which
	// the operation unpacks with progress (LXDUnpackProgress).
	unpack bool
	// forward says that the daemon forwards the request to the cluster
	// member it acts on: its events come from that member.
	forward bool
	body    string // API Request body (pretty-printed), "" for none
	// Made once for every engine, in lxdVerbRefs: the verb that deletes
	// an object of kind (del), and the verb that brings an instance into
	// the state need asks for (state), with their names; index numbers
	// the verb for Engine.verbActions.
	del, state         *lxdVerb
	delName, stateName string
	index              int
	// tmpl is body's template when it has no {command}, made once for
	// every engine (lxdVerbRefs); tmplReady says it is made.
	tmpl      *bodyTemplate
	tmplReady bool
}

var lxdVerbs = map[string]lxdVerb{
	"instance.create":                {kind: "instance", action: "instance-created", create: true, to: "stopped", method: "POST", path: "/1.0/instances", took: 3 * time.Second, unpack: true, body: `{"name":"{name}","type":"{type}","source":{"type":"image","alias":"{image}"}}`},
	"instance.start":                 {kind: "instance", action: "instance-started", need: "stopped", to: "running", method: "PUT", path: "/1.0/instances/{name}/state", took: 800 * time.Millisecond, body: `{"action":"start","timeout":0,"force":false,"stateful":false}`},
	"instance.stop":                  {kind: "instance", action: "instance-stopped", need: "running|frozen", to: "stopped", method: "PUT", path: "/1.0/instances/{name}/state", took: 1500 * time.Millisecond, body: `{"action":"stop","timeout":-1,"force":true,"stateful":false}`},
	"instance.restart":               {kind: "instance", action: "instance-restarted", need: "running", to: "running", method: "PUT", path: "/1.0/instances/{name}/state", took: 2 * time.Second, body: `{"action":"restart","timeout":-1,"force":false,"stateful":false}`},
	"instance.pause":                 {kind: "instance", action: "instance-paused", need: "running", to: "frozen", method: "PUT", path: "/1.0/instances/{name}/state", took: 150 * time.Millisecond, body: `{"action":"freeze","timeout":-1,"force":false,"stateful":false}`},
	"instance.resume":                {kind: "instance", action: "instance-resumed", need: "frozen", to: "running", method: "PUT", path: "/1.0/instances/{name}/state", took: 100 * time.Millisecond, body: `{"action":"unfreeze","timeout":-1,"force":false,"stateful":false}`},
	"instance.shutdown":              {kind: "instance", action: "instance-shutdown", need: "running", to: "stopped"},
	"instance.update":                {kind: "instance", action: "instance-updated", method: "PUT", path: "/1.0/instances/{name}", took: 20 * time.Millisecond, body: `{"config":{"limits.cpu":"2"},"devices":{},"profiles":["default"]}`},
	"instance.exec":                  {kind: "instance", action: "instance-exec", need: "running", method: "POST", path: "/1.0/instances/{name}/exec", took: 1200 * time.Millisecond, body: `{"command":{command},"interactive":false,"wait-for-websocket":true}`},
	"instance.file-push":             {kind: "instance", action: "instance-file-pushed", method: "POST", path: "/1.0/instances/{name}/files?path={path}"},
	"instance.snapshot":              {kind: "instance-snapshot", action: "instance-snapshot-created", parent: "instance", childArg: "snapshot", create: true, method: "POST", path: "/1.0/instances/{name}/snapshots", took: 400 * time.Millisecond, body: `{"name":"{child}","stateful":false}`},
	"instance.snapshot-delete":       {kind: "instance-snapshot", action: "instance-snapshot-deleted", parent: "instance", childArg: "snapshot", remove: true, method: "DELETE", path: "/1.0/instances/{name}/snapshots/{child}", took: 200 * time.Millisecond},
	"instance.restore":               {kind: "instance-snapshot", action: "instance-restored", parent: "instance", childArg: "snapshot", method: "PUT", path: "/1.0/instances/{name}", took: 600 * time.Millisecond, body: `{"restore":"{name}/{child}","stateful":false}`},
	"instance.rename":                {kind: "instance", action: "instance-renamed", need: "stopped", rename: true, method: "POST", path: "/1.0/instances/{name}", took: 50 * time.Millisecond, body: `{"name":"{to}","migration":false}`},
	"instance.delete":                {kind: "instance", action: "instance-deleted", need: "stopped", remove: true, method: "DELETE", path: "/1.0/instances/{name}", took: 400 * time.Millisecond},
	"image.import":                   {kind: "image", action: "image-created", create: true, method: "POST", path: "/1.0/images", took: 4 * time.Second, body: `{"source":{"type":"url","mode":"pull","server":"https://images.linuxcontainers.org","protocol":"simplestreams","alias":"debian/12"}}`},
	"image.alias":                    {kind: "image-alias", action: "image-alias-created", create: true, method: "POST", path: "/1.0/images/aliases", body: `{"name":"{name}","target":"{target}","description":""}`},
	"image.delete":                   {kind: "image", action: "image-deleted", remove: true, method: "DELETE", path: "/1.0/images/{name}", took: 300 * time.Millisecond},
	"network.create":                 {kind: "network", action: "network-created", create: true, method: "POST", path: "/1.0/networks", body: `{"name":"{name}","type":"bridge","config":{"ipv4.address":"auto"}}`},
	"network.update":                 {kind: "network", action: "network-updated", method: "PUT", path: "/1.0/networks/{name}", body: `{"config":{"ipv4.nat":"true"},"description":""}`},
	"network.rename":                 {kind: "network", action: "network-renamed", rename: true, method: "POST", path: "/1.0/networks/{name}", body: `{"name":"{to}"}`},
	"network.delete":                 {kind: "network", action: "network-deleted", remove: true, method: "DELETE", path: "/1.0/networks/{name}"},
	"network-acl.create":             {kind: "network-acl", action: "network-acl-created", create: true, method: "POST", path: "/1.0/network-acls", body: `{"name":"{name}","description":"","egress":null,"ingress":null,"config":{}}`},
	"network-acl.update":             {kind: "network-acl", action: "network-acl-updated", method: "PUT", path: "/1.0/network-acls/{name}", body: `{"description":"","egress":[],"ingress":[],"config":{}}`},
	"network-acl.rename":             {kind: "network-acl", action: "network-acl-renamed", rename: true, method: "POST", path: "/1.0/network-acls/{name}", body: `{"name":"{to}"}`},
	"network-acl.delete":             {kind: "network-acl", action: "network-acl-deleted", remove: true, method: "DELETE", path: "/1.0/network-acls/{name}"},
	"network-zone.create":            {kind: "network-zone", action: "network-zone-created", create: true, method: "POST", path: "/1.0/network-zones", body: `{"description":"","config":{},"name":"{name}"}`},
	"network-zone.delete":            {kind: "network-zone", action: "network-zone-deleted", remove: true, method: "DELETE", path: "/1.0/network-zones/{name}"},
	"network-zone.record-create":     {kind: "network-zone-record", action: "network-zone-record-created", parent: "network-zone", parentArg: "zone", create: true, method: "POST", path: "/1.0/network-zones/{parent}/records", body: `{"description":"","entries":null,"config":{},"name":"{name}"}`},
	"network-zone.record-delete":     {kind: "network-zone-record", action: "network-zone-record-deleted", parent: "network-zone", parentArg: "zone", remove: true, method: "DELETE", path: "/1.0/network-zones/{parent}/records/{name}"},
	"network-forward.create":         {kind: "network-forward", action: "network-forward-created", parent: "network", parentArg: "network", create: true, method: "POST", path: "/1.0/networks/{parent}/forwards", body: `{"listen_address":"{name}","description":"","config":{},"ports":[]}`},
	"network-forward.delete":         {kind: "network-forward", action: "network-forward-deleted", parent: "network", parentArg: "network", remove: true, method: "DELETE", path: "/1.0/networks/{parent}/forwards/{name}"},
	"network-peer.create":            {kind: "network-peer", action: "network-peer-created", parent: "network", parentArg: "network", create: true, method: "POST", path: "/1.0/networks/{parent}/peers", body: `{"name":"{name}","description":"","config":{},"target_project":"default","target_network":"ovn1"}`},
	"network-peer.delete":            {kind: "network-peer", action: "network-peer-deleted", parent: "network", parentArg: "network", remove: true, method: "DELETE", path: "/1.0/networks/{parent}/peers/{name}"},
	"storage-pool.create":            {kind: "storage-pool", action: "storage-pool-created", create: true, method: "POST", path: "/1.0/storage-pools", body: `{"config":{},"description":"","name":"{name}","driver":"dir"}`},
	"storage-pool.update":            {kind: "storage-pool", action: "storage-pool-updated", method: "PUT", path: "/1.0/storage-pools/{name}", body: `{"config":{"rsync.compression":"true"},"description":""}`},
	"storage-pool.delete":            {kind: "storage-pool", action: "storage-pool-deleted", remove: true, method: "DELETE", path: "/1.0/storage-pools/{name}"},
	"storage-volume.create":          {kind: "storage-volume", action: "storage-volume-created", parent: "storage-pool", parentArg: "pool", create: true, method: "POST", path: "/1.0/storage-pools/{parent}/volumes/custom", body: `{"config":{},"description":"","name":"{name}","type":"custom","content_type":"filesystem"}`},
	"storage-volume.snapshot":        {kind: "storage-volume-snapshot", action: "storage-volume-snapshot-created", parent: "storage-volume", childArg: "snapshot", create: true, method: "POST", path: "/1.0/storage-pools/{pool}/volumes/custom/{name}/snapshots", took: 50 * time.Millisecond, body: `{"name":"{child}","expires_at":null}`},
	"storage-volume.snapshot-delete": {kind: "storage-volume-snapshot", action: "storage-volume-snapshot-deleted", parent: "storage-volume", childArg: "snapshot", remove: true, method: "DELETE", path: "/1.0/storage-pools/{pool}/volumes/custom/{name}/snapshots/{child}", took: 3 * time.Millisecond},
	"storage-volume.restore":         {kind: "storage-volume-snapshot", action: "storage-volume-restored", parent: "storage-volume", childArg: "snapshot", method: "PUT", path: "/1.0/storage-pools/{pool}/volumes/custom/{name}", body: `{"config":null,"description":"","restore":"{child}"}`},
	"storage-volume.rename":          {kind: "storage-volume", action: "storage-volume-renamed", parent: "storage-pool", parentArg: "pool", rename: true, method: "POST", path: "/1.0/storage-pools/{parent}/volumes/custom/{name}", body: `{"name":"{to}","migration":false,"target":null,"volume_only":false}`},
	"storage-volume.backup":          {kind: "storage-volume", action: "storage-volume-backup-created", parent: "storage-pool", parentArg: "pool", method: "POST", path: "/1.0/storage-pools/{parent}/volumes/custom/{name}/backups", took: 10 * time.Millisecond, body: `{"name":"{child}","volume_only":false,"optimized_storage":false,"compression_algorithm":""}`},
	"storage-volume.delete":          {kind: "storage-volume", action: "storage-volume-deleted", parent: "storage-pool", parentArg: "pool", remove: true, method: "DELETE", path: "/1.0/storage-pools/{parent}/volumes/custom/{name}"},
	"profile.create":                 {kind: "profile", action: "profile-created", create: true, method: "POST", path: "/1.0/profiles", body: `{"config":null,"description":"","devices":null,"name":"{name}"}`},
	"profile.update":                 {kind: "profile", action: "profile-updated", method: "PUT", path: "/1.0/profiles/{name}", body: `{"config":{"limits.cpu":"2"},"description":"","devices":{}}`},
	"profile.rename":                 {kind: "profile", action: "profile-renamed", rename: true, method: "POST", path: "/1.0/profiles/{name}", body: `{"name":"{to}"}`},
	"profile.delete":                 {kind: "profile", action: "profile-deleted", remove: true, method: "DELETE", path: "/1.0/profiles/{name}"},
	"project.create":                 {kind: "project", action: "project-created", create: true, method: "POST", path: "/1.0/projects", body: `{"config":{"features.images":"true","features.profiles":"true"},"description":"","name":"{name}"}`},
	"project.update":                 {kind: "project", action: "project-updated", method: "PUT", path: "/1.0/projects/{name}", body: `{"config":{"limits.instances":"5"},"description":""}`},
	"project.rename":                 {kind: "project", action: "project-renamed", rename: true, method: "POST", path: "/1.0/projects/{name}", took: 2 * time.Millisecond, body: `{"name":"{to}"}`},
	"project.delete":                 {kind: "project", action: "project-deleted", remove: true, method: "DELETE", path: "/1.0/projects/{name}"},
	"certificate.add":                {kind: "certificate", action: "certificate-created", create: true, method: "POST", path: "/1.0/certificates", body: `{"name":"{label}","type":"client","restricted":false,"projects":null,"certificate":"MIIB...","password":"","token":false}`},
	"certificate.delete":             {kind: "certificate", action: "certificate-deleted", remove: true, method: "DELETE", path: "/1.0/certificates/{name}"},
	"config.update":                  {kind: "server", action: "config-updated", method: "PUT", path: "/1.0", body: `{"config":{"core.https_address":"[::]:8443"}}`},
	"cluster.member-join":            {kind: "cluster-member", action: "cluster-member-added", create: true, to: "online", method: "POST", path: "/1.0/cluster/members", took: 2 * time.Second, body: `{"server_name":"{name}"}`},
	"cluster.member-rename":          {kind: "cluster-member", action: "cluster-member-renamed", rename: true, method: "POST", path: "/1.0/cluster/members/{name}", body: `{"server_name":"{to}"}`},
	"cluster.member-remove":          {kind: "cluster-member", action: "cluster-member-removed", remove: true, method: "DELETE", path: "/1.0/cluster/members/{name}"},
	"cluster.member-evacuate":        {kind: "cluster-member", action: "cluster-member-evacuated", need: "online", to: "evacuated", forward: true, method: "POST", path: "/1.0/cluster/members/{name}/state", took: 200 * time.Millisecond, body: `{"action":"evacuate","mode":""}`},
	"cluster.member-restore":         {kind: "cluster-member", action: "cluster-member-restored", need: "evacuated", to: "online", forward: true, method: "POST", path: "/1.0/cluster/members/{name}/state", took: 200 * time.Millisecond, body: `{"action":"restore","mode":""}`},
	"warning.acknowledge":            {kind: "warning", action: "warning-acknowledged", method: "PUT", path: "/1.0/warnings/{name}", body: `{"status":"acknowledged"}`},
	"warning.reset":                  {kind: "warning", action: "warning-reset", method: "PUT", path: "/1.0/warnings/{name}", body: `{"status":"new"}`},
	"warning.delete":                 {kind: "warning", action: "warning-deleted", remove: true, method: "DELETE", path: "/1.0/warnings/{name}"},
}

// lxdVerbRefs holds lxdVerbs' entries by pointer, so that playing a verb
// does not copy its description from call to call.
var lxdVerbRefs = func() map[string]*lxdVerb {
	out := make(map[string]*lxdVerb, len(lxdVerbs))
	for name, v := range lxdVerbs {
		if v.body != "" && !strings.Contains(v.body, "{command}") {
			v.tmpl, v.tmplReady = newBodyTemplate(v.body), true
		}
		out[name] = &v
	}
	for _, name := range sortedKeys(out) {
		v := out[name]
		v.index = len(lxdVerbList)
		lxdVerbList = append(lxdVerbList, v)
		if del := deleteVerb(v.kind); del != "" {
			v.delName, v.del = del, out[del]
		}
		if next := stateVerbs[v.need]; next != "" {
			v.stateName, v.state = next, out[next]
		}
	}
	return out
}()

// lxdVerbList holds lxdVerbRefs' verbs by their index.
var lxdVerbList []*lxdVerb

// action returns the flavour's action of a verb, or nil when the flavour
// has none; each verb's is looked up once per engine.
func (w *lxdWorld) action(v *lxdVerb) *catalog.LXDAction {
	e := w.e
	if v.index >= len(lxdVerbList) || lxdVerbList[v.index] != v {
		return e.cat.Action(v.action) // not one of lxdVerbRefs
	}
	if e.verbActions == nil {
		e.verbActions = make([]*catalog.LXDAction, len(lxdVerbList))
		e.verbActionsSet = make([]bool, len(lxdVerbList))
	}
	if !e.verbActionsSet[v.index] {
		e.verbActions[v.index], e.verbActionsSet[v.index] = e.cat.Action(v.action), true
	}
	return e.verbActions[v.index]
}

// createVerb maps each kind to the verb that makes one, so a mix can make
// what a verb needs when nothing suitable exists yet.
var createVerb = map[string]string{
	"instance": "instance.create", "instance-snapshot": "instance.snapshot", "image": "image.import",
	"image-alias": "image.alias", "network": "network.create", "network-acl": "network-acl.create",
	"network-zone": "network-zone.create", "network-zone-record": "network-zone.record-create",
	"network-forward": "network-forward.create", "network-peer": "network-peer.create",
	"storage-pool": "storage-pool.create", "storage-volume": "storage-volume.create",
	"storage-volume-snapshot": "storage-volume.snapshot", "profile": "profile.create",
	"project": "project.create", "certificate": "certificate.add", "cluster-member": "cluster.member-join",
}

// populationCap bounds how many objects of a kind a mix keeps alive, so an
// endless mix holds constant memory: past it, creating turns into deleting.
const populationCap = 48

func (w *lxdWorld) checkArgs(st *Step) error {
	if st.Verb == "action" {
		name := st.Args["action"].Value.(string)
		if w.e.cat.Action(name) == nil {
			a := st.Args["action"]
			return &Error{Pos: a.Pos, Msg: fmt.Sprintf("unknown action %q for flavor %s%s", name, w.e.cat.Flavor, suggest(name, w.e.cat.Names()))}
		}
	}
	if a, ok := st.Args["member"]; ok && !contains(w.members, a.Value.(string)) {
		return &Error{Pos: a.Pos, Msg: fmt.Sprintf("unknown cluster member %q, must be one of %s", a.Value, listOrNone(w.members))}
	}
	return nil
}

// arg returns a string argument or "".
func arg(st *Step, name string) string {
	if a, ok := st.Args[name]; ok {
		if s, ok := a.Value.(string); ok {
			return s
		}
	}
	return ""
}

func argErr(st *Step, name, format string, args ...any) error {
	pos := st.Pos
	if a, ok := st.Args[name]; ok {
		pos = a.Pos
	} else {
		pos.Path = join(pos.Path, name)
	}
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// taken is the error of a step that would create (or rename onto) a name
// the object held has: nil, with the step skipped (Engine.Skipped), when
// something outside the scenario made it (a REST request, an earlier pass
// or the engine a reset replaced, see carry), since the daemon has it and
// the stream must not say it is created again; otherwise the scenario's
// own mistake.
func (w *lxdWorld) taken(st *Step, name string, held *entity) error {
	err := argErr(st, name, "%s %q already exists", held.kind, held.name)
	if held.outside && w.e.skipped(&skipError{err.(*Error)}) {
		return nil
	}
	return err
}

// run plays an LXD verb at t.now and returns when the client is done.
func (w *lxdWorld) run(t *track, st *Step, inMix bool) (time.Time, error) {
	w.depth = 0
	p := w.stepOf(st)
	if p.verb == nil || p.hasMember {
		if err := w.checkArgs(st); err != nil {
			return t.now, err
		}
	}
	project := p.project
	if !w.projectExists(project) && st.Verb != "project.create" {
		if inMix {
			project = "default"
		} else {
			err := argErr(st, "project", "project %q does not exist; projects are %s", project, strings.Join(w.projects(), ", "))
			if external(st) && w.e.skipped(&skipError{err.(*Error)}) {
				return t.now, nil
			}
			return t.now, err
		}
	}
	member := p.member
	if member == "" && len(w.members) > 0 {
		member = w.members[t.rng.Intn(len(w.members))]
	}
	req := &lxdRequest{project: project, member: member, requestor: p.requestor, fail: p.fail, image: p.image, imageSize: p.imageSize, took: p.took}
	switch st.Verb {
	case "action":
		return w.genericAction(t, st, req)
	case "log":
		return w.logStep(t, st, req)
	case "tour":
		end := t.now
		for _, a := range w.e.cat.Actions {
			s2 := *st
			s2.Args = map[string]Arg{"action": {Value: a.Name, Pos: st.Pos}}
			r2 := *req
			t2 := *t
			t2.now = end
			e, err := w.genericAction(&t2, &s2, &r2)
			if err != nil {
				return end, err
			}
			end = e.Add(time.Millisecond)
		}
		return end, nil
	}
	end, err := w.verb(t, st, st.Verb, p.verb, req, inMix)
	if err != nil && w.e.skipped(err) {
		return t.now, nil
	}
	return end, err
}

// lxdStep is what playing an LXD step reads of it every time, read once
// per engine (see stepOf): its verb and its arguments.
type lxdStep struct {
	verb                *lxdVerb // nil for action, log and tour
	project             string   // "default" when the step names none
	member, fail, image string
	imageSize           int64 // instance.create's size:, 0 when unset
	hasMember           bool  // the step names a member, which must exist
	took                *time.Duration
	// requestor is shared by the step's requests: nothing changes it.
	requestor *events.LXDLifecycleRequestor
}

// stepOf returns what st says, read on its first play. Steps do not change
// while an engine plays them.
func (w *lxdWorld) stepOf(st *Step) *lxdStep {
	if p, ok := w.e.lxdSteps[st]; ok {
		return p
	}
	p := &lxdStep{verb: lxdVerbRefs[st.Verb], project: orDefault(arg(st, "project"), "default"),
		member: arg(st, "member"), fail: arg(st, "fail"), image: arg(st, "image"), requestor: w.requestor(st)}
	_, p.hasMember = st.Args["member"]
	if a, ok := st.Args["size"]; ok {
		p.imageSize = a.Value.(int64)
	}
	if a, ok := st.Args["took"]; ok {
		d := a.Value.(time.Duration)
		p.took = &d
	}
	if w.e.lxdSteps == nil {
		w.e.lxdSteps = map[*Step]*lxdStep{}
	}
	if len(w.e.lxdSteps) < maxLXDSteps {
		w.e.lxdSteps[st] = p
	}
	return p
}

// maxLXDSteps bounds how many steps' reading an engine keeps: a scenario
// made from a long recording may have very many, each played once.
const maxLXDSteps = 4096

// rootRequestor is who makes a request when its step does not say: root
// over the unix socket. Requests share it; nothing changes it.
var rootRequestor = events.LXDLifecycleRequestor{Username: "root", Protocol: "unix", Address: "@"}

func (w *lxdWorld) requestor(st *Step) *events.LXDLifecycleRequestor {
	a, ok := st.Args["requestor"]
	if !ok {
		return &rootRequestor
	}
	r := new(events.LXDLifecycleRequestor)
	*r = rootRequestor
	m := a.Value.(map[string]any)
	if v, ok := m["username"].(string); ok {
		r.Username = v
	}
	if v, ok := m["protocol"].(string); ok {
		r.Protocol = v
	}
	if v, ok := m["address"].(string); ok {
		r.Address = v
	}
	return r
}

// pick finds the object a verb acts on: the named one, or a random one that
// is free and in the needed state. It returns nil with no error when a mix
// should make one first.
func (w *lxdWorld) pick(t *track, st *Step, kind, project, parent, nameArg, need string, inMix bool) (*entity, error) {
	r := w.reg(kind)
	if isGlobalKind(kind) {
		project = ""
	}
	name := ""
	if !inMix {
		name = arg(st, nameArg) // a mix picks at random whatever it names
	}
	if name != "" {
		x := r.get(project, parent, name)
		if x == nil {
			where := ""
			if parent != "" {
				where = fmt.Sprintf(" of %s", parent)
			}
			if project != "" {
				where += fmt.Sprintf(" in project %s", project)
			}
			err := argErr(st, nameArg, "%s %q does not exist%s; existing: %s", kind, name, where, listOrNone(r.names(project, parent)))
			if external(st) {
				return nil, &skipError{err.(*Error)}
			}
			return nil, err
		}
		return x, nil
	}
	// The candidates' indexes go into a scratch list the world keeps, so a
	// pick allocates nothing; states are compared as bits. Whether an
	// entry matches is as good as random, so it is worked out without
	// branches, which would mostly be mispredicted.
	// Most picks of a busy mix find every fitting object busy; once one
	// has, the registry knows until when that holds, and picks with the
	// same filter before then find nothing without looking.
	f := pickFilter{project: w.ids.id(project), parent: parent, needBits: stateBits(need), anyState: need == "",
		skipDefault: kind == "profile" || kind == "project"}
	nowSec, nowNsec := t.now.Unix(), int32(t.now.Nanosecond())
	if b, ok := r.busyUntil(&f); ok && (nowSec < b.sec || nowSec == b.sec && nowNsec < b.nsec) {
		return w.pickNone(st, kind, project, need, inMix)
	}
	n := len(r.info)
	if cap(w.scratch) < n {
		w.scratch = make([]int32, 0, max(n, 2*cap(w.scratch)))
	}
	cands := w.scratch[:n]
	pid, needBits, anyState, skipDefault := f.project, f.needBits, b2i(f.anyState), b2i(f.skipDefault)
	k := 0
	for i := range r.info {
		in := &r.info[i]
		free := b2i(in.busySec < nowSec) | b2i(in.busySec == nowSec)&b2i(in.busyNsec <= nowNsec)
		ok := b2i(in.project == pid) & free & (b2i(in.state&needBits != 0) | anyState) & (1 ^ b2i(in.isDefault)&skipDefault)
		if parent != "" && in.parent != parent {
			ok = 0
		}
		cands[k] = int32(i)
		k += ok & (1 ^ b2i(in.outside))
	}
	if k == 0 {
		r.rememberBusy(&f)
		return w.pickNone(st, kind, project, need, inMix)
	}
	return r.list[cands[t.rng.Intn(k)]], nil
}

// pickNone is what pick returns when nothing fits: nothing in a mix, which
// does something else instead, and an error for a step.
func (w *lxdWorld) pickNone(st *Step, kind, project, need string, inMix bool) (*entity, error) {
	if inMix {
		return nil, nil
	}
	state := ""
	if need != "" {
		state = strings.ReplaceAll(need, "|", " or ") + " "
	}
	return nil, &Error{Pos: st.Pos, Msg: fmt.Sprintf("no %s%s exists for %s to act on in project %s; create one first", state, kind, st.Verb, orDefault(project, "default"))}
}

// b2i is 1 for true, 0 for false.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// stateBit gives each instance and cluster member state a bit; other
// strings get none.
func stateBit(state string) uint8 {
	switch state {
	case "stopped":
		return 1
	case "running":
		return 2
	case "frozen":
		return 4
	case "online": // cluster members
		return 8
	case "evacuated":
		return 16
	}
	return 0
}

// stateBits gives the bits of need's "|"-separated states.
func stateBits(need string) uint8 {
	switch need { // the needs verbs have, without parsing
	case "":
		return 0
	case "stopped":
		return 1
	case "running":
		return 2
	case "running|frozen":
		return 2 | 4
	}
	var bits uint8
	for need != "" {
		s, rest, _ := strings.Cut(need, "|")
		bits |= stateBit(s)
		need = rest
	}
	return bits
}

// stateIn reports whether state is one of need's "|"-separated states.
func stateIn(need, state string) bool {
	for need != "" {
		s, rest, _ := strings.Cut(need, "|")
		if s == state {
			return true
		}
		need = rest
	}
	return false
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// verb plays one high-level verb.
func (w *lxdWorld) verb(t *track, st *Step, name string, v *lxdVerb, req *lxdRequest, inMix bool) (time.Time, error) {
	project := req.project
	if isGlobalKind(v.kind) || v.kind == "server" {
		project = ""
	}
	// Find the parent, when the object lives under one.
	var parent *entity
	if v.parent != "" {
		parentArg := v.parentArg
		if parentArg == "" {
			parentArg = "name"
		}
		var err error
		pp := project
		if isGlobalKind(v.parent) {
			pp = ""
		}
		grand := ""
		if v.parent == "storage-volume" {
			grand = orDefault(arg(st, "pool"), w.defaultPool())
		}
		parent, err = w.pick(t, st, v.parent, pp, grand, parentArg, "", inMix)
		if err != nil {
			return t.now, err
		}
		if parent == nil {
			return w.fallback(t, st, v.parent, req)
		}
	}
	parentName := ""
	if parent != nil {
		parentName = parent.name
		if parent.kind == "storage-volume" {
			parentName = parent.parent + "/" + parent.name
		}
	}
	var x *entity
	childArg := v.childArg
	if childArg == "" {
		childArg = "name"
	}
	switch {
	case v.create:
		if inMix && w.reg(v.kind).own() >= populationCap {
			if w.depth++; w.depth > 4 {
				return t.now, nil
			}
			if v.del != nil {
				return w.verb(t, st, v.delName, v.del, req, inMix)
			}
			// Nothing deletes this kind (an image alias goes with its
			// image): the world forgets the oldest one.
			r := w.reg(v.kind)
			r.remove(r.list[0])
		}
		n := arg(st, childArg)
		if n == "" || inMix {
			n = w.newName(t, v.kind)
		}
		if v.kind == "cluster-member" {
			project = ""
		}
		if held := w.reg(v.kind).get(storeProject(v.kind, project), parentName, n); held != nil {
			if !inMix {
				return t.now, w.taken(st, childArg, held)
			}
			n = w.newName(t, v.kind)
		}
		x = &entity{kind: v.kind, project: project, parent: parentName, name: n, state: v.to, member: req.member}
	case v.kind == "server":
		x = &entity{kind: "server"}
	case v.kind == "warning" && inMix && w.reg("warning").own() >= populationCap:
		// A mix acts on the warnings it has made once there are enough of
		// them, rather than making up a new one each time: a daemon has a
		// handful of warnings, and the world keeps constant memory.
		var err error
		if x, err = w.pick(t, st, "warning", project, "", "name", "", true); err != nil || x == nil {
			return t.now, err // all busy: nothing this tick
		}
	case v.kind == "warning":
		n := arg(st, "name")
		if n == "" {
			n = t.fake.uuid()
		}
		x = w.reg("warning").get(project, "", n)
		if x == nil {
			x = &entity{kind: "warning", project: project, name: n}
			w.add(x)
		}
	default:
		var err error
		x, err = w.pick(t, st, v.kind, project, parentName, childArg, v.need, inMix)
		if err != nil {
			return t.now, err
		}
		if x == nil {
			if v.need != "" {
				// A mix wants an instance in another state: make one that will be.
				return w.fallbackState(t, st, v, req)
			}
			return w.fallback(t, st, v.kind, req)
		}
		if v.need != "" && !stateIn(v.need, x.state) && req.fail == "" {
			req.fail = stateError(v, x)
		}
	}
	if v.kind == "instance" && x.member != "" {
		req.member = x.member
	}
	return w.apply(t, st, name, v, x, parent, req)
}

func storeProject(kind, project string) string {
	if isGlobalKind(kind) {
		return ""
	}
	return project
}

// deleteVerb returns the verb that removes an object of a kind, or "".
func deleteVerb(kind string) string { return deleteVerbs[kind] }

// deleteVerbs maps each kind to the one verb that removes it, built once from
// lxdVerbs (TestOneDeleteVerbPerKind holds that there is only one).
var deleteVerbs = func() map[string]string {
	out := map[string]string{}
	for name, v := range lxdVerbs {
		if v.remove {
			out[v.kind] = name
		}
	}
	return out
}()

func stateError(v *lxdVerb, x *entity) string {
	if x.kind == "cluster-member" {
		// As LXD 5.0.2 fails the operation (recorded).
		if x.state == "evacuated" {
			return "Cluster member is already evacuated"
		}
		return "Cluster member is already restored"
	}
	switch x.state {
	case "running":
		if v.need == "stopped" {
			return "The instance is already running"
		}
	case "frozen":
		return "The instance is frozen"
	case "stopped":
		return "The instance is already stopped"
	}
	return "The instance is " + x.state
}

// fallback makes an object of the kind a mix verb needed, instead of the verb.
func (w *lxdWorld) fallback(t *track, st *Step, kind string, req *lxdRequest) (time.Time, error) {
	cv, ok := createVerb[kind]
	if w.depth++; w.depth > 4 {
		// Nothing fits this tick (everything busy or at its cap): skip it.
		return t.now, nil
	}
	if !ok {
		return t.now, nil
	}
	return w.verb(t, st, cv, lxdVerbRefs[cv], req, true)
}

// stateVerbs names the verb that brings an instance or a cluster member
// into a needed state.
var stateVerbs = map[string]string{"stopped": "instance.stop", "running": "instance.start", "frozen": "instance.pause", "running|frozen": "instance.start",
	"online": "cluster.member-restore", "evacuated": "cluster.member-evacuate"}

// fallbackState moves an object toward the state a mix verb needed.
func (w *lxdWorld) fallbackState(t *track, st *Step, v *lxdVerb, req *lxdRequest) (time.Time, error) {
	next, nv := v.stateName, v.state
	if nv == nil {
		return w.fallback(t, st, v.kind, req)
	}
	project := req.project
	if globalKinds[v.kind] {
		project = ""
	}
	x, _ := w.pick(t, st, v.kind, project, "", "name", nv.need, true)
	if x == nil {
		return w.fallback(t, st, v.kind, req)
	}
	return w.apply(t, st, next, nv, x, nil, req)
}

// apply changes the world and plays the request's events.
func (w *lxdWorld) apply(t *track, st *Step, verbName string, v *lxdVerb, x *entity, parent *entity, req *lxdRequest) (time.Time, error) {
	action := w.action(v)
	if action == nil && catalog.LXDOperation(v.action) != "" {
		// The flavour runs the operation without a lifecycle event (LXD
		// 5.0.2 evacuating a cluster member), as its REST handler does.
		action = &catalog.LXDAction{Name: v.action, Resource: v.kind, Operation: catalog.LXDOperation(v.action), Method: v.method, Requestor: true}
		req.noLifecycle = true
	}
	if action == nil {
		return t.now, &Error{Pos: st.Pos, Msg: fmt.Sprintf("verb %s needs action %s, which flavor %s does not have", verbName, v.action, w.e.cat.Flavor)}
	}
	req.action = action
	req.verb = verbName
	// The names go into a map the world reuses: nothing keeps them past
	// the request's play.
	names := w.names
	setNames(names, "name", x.name)
	child := ""
	if v.childArg != "" {
		child = x.name
	}
	// Fill the names the source pattern wants.
	switch x.kind {
	case "instance-snapshot":
		setNames(names, "instance", parent.name, "name", x.name)
		if v.action == "instance-restored" {
			setNames(names, "name", parent.name)
		}
	case "storage-volume":
		pool, vol := x.parent, x.name
		setNames(names, "pool", pool, "type", "custom", "name", w.volumeName(action, x.project, vol))
	case "storage-volume-snapshot":
		pool, vol, _ := strings.Cut(x.parent, "/")
		setNames(names, "pool", pool, "type", "custom", "volume", w.volumeName(action, parent.project, vol), "name", x.name)
		if v.action == "storage-volume-restored" {
			setNames(names, "pool", pool, "type", "custom", "name", w.volumeName(action, parent.project, vol))
		}
	case "network-zone-record":
		setNames(names, "zone", x.parent, "name", x.name)
	case "network-forward", "network-peer":
		setNames(names, "network", x.parent, "name", x.name)
	case "image":
		setNames(names, "name", x.name)
	}
	if verbName == "storage-volume.backup" {
		req.backupName = orDefault(arg(st, "backup"), fmt.Sprintf("backup%d", t.rng.Intn(10)))
		setNames(names, "pool", x.parent, "type", "custom", "volume", x.name, "name", req.backupName)
		child = req.backupName
	}
	req.names = names
	req.context = nil // made when the action has context (setContext)
	// Context keys, as the daemon sends them.
	for _, k := range action.Context {
		switch k {
		case "type":
			switch x.kind {
			case "instance":
				x.typ = orDefault(arg(st, "type"), "container")
				req.setContext(k, x.typ)
			case "image":
				req.setContext(k, orDefault(arg(st, "type"), "container"))
			default:
				req.setContext(k, "custom")
			}
		case "storage-pool":
			x.pool = orDefault(arg(st, "pool"), w.defaultPool())
			req.setContext(k, x.pool)
		case "snapshot":
			if v.action == "instance-restored" {
				req.setContext(k, parent.name+"/"+x.name)
			} else {
				req.setContext(k, x.name)
			}
		case "command":
			cmd := []string{"/bin/sh", "-c", "uptime"}
			if a, ok := st.Args["command"]; ok {
				cmd = a.Value.([]string)
			}
			list := make([]any, len(cmd))
			for i, c := range cmd {
				list[i] = c
			}
			req.setContext(k, list)
		case "path":
			req.setContext(k, orDefault(arg(st, "path"), "/etc/hosts"))
		case "target":
			req.setContext(k, x.name)
		case "location":
			req.setContext(k, w.location(req.member))
		}
	}
	if len(w.members) > 0 {
		for _, k := range action.ClusterContext {
			switch k {
			case "location":
				req.setContext(k, req.member)
			case "target":
				req.setContext(k, req.member)
			}
		}
	}
	// Renames: the new name, and old_name in the context.
	if v.rename {
		to := arg(st, "to")
		r := w.reg(x.kind)
		if to == "" {
			to = w.newName(t, x.kind)
		}
		if held := r.get(storeProject(x.kind, x.project), x.parent, to); held != nil {
			return t.now, w.taken(st, "to", held)
		}
		req.setContext("old_name", x.name)
		req.oldName = x.name
		req.newName = to
		if x.kind == "storage-volume" {
			req.names["name"] = w.volumeName(action, x.project, to)
		} else {
			req.names["name"] = to
		}
	}
	if x.kind == "project" {
		// Project events belong to the project itself.
		req.eventProject = x.name
		if v.rename {
			req.eventProject = req.newName
		}
	}
	req.entity = x
	req.child = child
	req.verbDef = *v
	if v.forward {
		req.member = x.name
	}
	if v.remove {
		req.cascade = w.cascade(x)
	}

	end := w.play(t, req)

	if req.fail != "" {
		return end, nil
	}
	// The world changes now; the object is busy until the request ends.
	switch {
	case v.create:
		if x.kind == "cluster-member" {
			w.members = append(w.members, x.name)
		}
		w.add(x)
	case v.remove:
		w.forget(x)
	case v.rename:
		w.rename(x, req.newName)
	}
	if v.to != "" {
		x.state = v.to
	}
	x.busyUntil = end
	w.reg(x.kind).sync(x)
	if verbName == "image.import" {
		// An alias names one image: importing under a taken alias makes
		// none (a mix imports again and again).
		if alias := arg(st, "alias"); alias != "" && w.reg("image-alias").get(x.project, "", alias) == nil {
			a := &entity{kind: "image-alias", project: x.project, name: alias}
			areq := &lxdRequest{project: req.project, member: req.member, requestor: req.requestor}
			t2 := *t
			t2.now = end
			e2, err := w.apply(&t2, st, "image.alias", lxdVerbRefs["image.alias"], a, nil, areq)
			if err != nil {
				return end, err
			}
			end = e2
		}
	}
	if verbName == "storage-volume.backup" {
		return w.backupFollowUps(t, st, x, req, end)
	}
	return end, nil
}

// setNames empties names and sets the keys and values given in pairs.
func setNames(names map[string]string, kv ...string) {
	clear(names)
	for i := 0; i+1 < len(kv); i += 2 {
		names[kv[i]] = kv[i+1]
	}
}

// setContext sets a key of the request's lifecycle context, making the map
// on the first: most actions carry none, and a nil context encodes as none.
func (req *lxdRequest) setContext(k string, v any) {
	if req.context == nil {
		req.context = map[string]any{}
	}
	req.context[k] = v
}

// cascade names the children of x whose deletion the daemon reports before
// x's (catalog.LXDCascade): an instance's snapshots, a custom volume's, in
// name order.
func (w *lxdWorld) cascade(x *entity) []map[string]string {
	var kind, parent string
	switch x.kind {
	case "instance":
		kind, parent = "instance-snapshot", x.name
	case "storage-volume":
		kind, parent = "storage-volume-snapshot", x.parent+"/"+x.name
	default:
		return nil
	}
	var out []map[string]string
	for _, name := range w.reg(kind).names(x.project, parent) {
		if kind == "instance-snapshot" {
			out = append(out, map[string]string{"instance": x.name, "name": name})
			continue
		}
		ca := w.e.cat.Action(catalog.LXDCascade("storage-volume-deleted"))
		out = append(out, map[string]string{"pool": x.parent, "type": "custom", "volume": w.volumeName(ca, x.project, x.name), "name": name})
	}
	return out
}

// backupFollowUps downloads the backup just made and deletes it, as
// `lxc storage volume export` does.
func (w *lxdWorld) backupFollowUps(t *track, st *Step, x *entity, req *lxdRequest, end time.Time) (time.Time, error) {
	backup := req.backupName
	for _, step := range []struct {
		action, method string
		took           time.Duration
	}{
		{"storage-volume-backup-retrieved", "GET", 0},
		{"storage-volume-backup-deleted", "DELETE", 2 * time.Millisecond},
	} {
		a := w.e.cat.Action(step.action)
		if a == nil {
			continue
		}
		r := &lxdRequest{project: req.project, member: req.member, requestor: req.requestor, action: a, entity: x}
		r.names = map[string]string{"pool": x.parent, "type": "custom", "volume": x.name, "name": backup}
		r.method = step.method
		r.path = fmt.Sprintf("/1.0/storage-pools/%s/volumes/custom/%s/backups/%s", url.PathEscape(x.parent), url.PathEscape(x.name), url.PathEscape(backup))
		if step.method == "GET" {
			r.path += "/export"
		}
		r.backupName = backup
		d := step.took
		r.took = &d
		r.context = map[string]any{}
		t2 := *t
		t2.now = end.Add(time.Millisecond)
		end = w.play(&t2, r)
	}
	return end, nil
}

func without(list []string, s string) []string {
	out := list[:0:0]
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

// removeChildren forgets the snapshots and other objects under a removed one.
func (w *lxdWorld) removeChildren(x *entity) {
	for _, kind := range childKinds[x.kind] {
		r := w.reg(kind)
		pname := x.name
		if x.kind == "storage-volume" {
			pname = x.parent + "/" + x.name
		}
		for i := 0; i < len(r.list); {
			c := r.list[i]
			if c.parent == pname && (c.project == x.project || isGlobalKind(x.kind)) {
				r.remove(c)
				continue
			}
			i++
		}
	}
}

func (w *lxdWorld) renameChildren(x *entity, to string) {
	for _, kind := range childKinds[x.kind] {
		r := w.reg(kind)
		old, nw := x.name, to
		if x.kind == "storage-volume" {
			old, nw = x.parent+"/"+x.name, x.parent+"/"+to
		}
		var moved []*entity
		for _, c := range r.list {
			if c.parent == old {
				moved = append(moved, c)
			}
		}
		for _, c := range moved {
			r.remove(c)
			c.parent, c.res = nw, nil
			r.add(c)
		}
	}
}

var childKinds = map[string][]string{
	"instance":       {"instance-snapshot"},
	"storage-volume": {"storage-volume-snapshot"},
	"network-zone":   {"network-zone-record"},
	"network":        {"network-forward", "network-peer"},
	"storage-pool":   {"storage-volume"},
}

// volumeName reproduces LXD 5.0.2's custom volume sources, which name the
// storage volume "PROJECT_NAME".
func (w *lxdWorld) volumeName(a *catalog.LXDAction, project, name string) string {
	if a.PrefixVolume {
		return orDefault(project, "default") + "_" + name
	}
	return name
}

func (w *lxdWorld) defaultPool() string {
	if l := w.reg("storage-pool").list; len(l) > 0 {
		return l[0].name
	}
	return "default"
}

// newName makes a realistic name for a new object of a kind.
func (w *lxdWorld) newName(t *track, kind string) string {
	for i := 0; ; i++ {
		var n string
		switch kind {
		case "image", "certificate":
			n = t.fake.fingerprint()
		case "warning":
			n = t.fake.uuid()
		case "instance-snapshot", "storage-volume-snapshot":
			n = fmt.Sprintf("snap%d", t.rng.Intn(1000))
		case "network-forward":
			n = t.fake.ipv4()
			if s := w.e.shard; s != nil {
				n = s.ipv4(n[strings.LastIndexByte(n, '.')+1:])
			}
		case "network-zone":
			n = w.e.shard.tag(t.fake.petname()) + ".example"
		case "network":
			n = w.e.shard.tag(fmt.Sprintf("lxdbr%d", t.rng.Intn(100)))
		case "cluster-member":
			n = w.e.shard.tag(fmt.Sprintf("member%02d", t.rng.Intn(100)))
		default:
			n = w.e.shard.tag(t.fake.petname())
		}
		exists := false
		for _, x := range w.reg(kind).list {
			if x.name == n {
				exists = true
				break
			}
		}
		if !exists || i > 20 {
			return n
		}
	}
}

// genericAction plays any catalogue action with its usual operation.
func (w *lxdWorld) genericAction(t *track, st *Step, req *lxdRequest) (time.Time, error) {
	a := w.e.cat.Action(arg(st, "action"))
	req.action = a
	req.names = map[string]string{}
	var given map[string]any
	if g, ok := st.Args["names"]; ok {
		given = g.Value.(map[string]any)
	}
	for _, ph := range a.Placeholders() {
		if v, ok := given[ph]; ok {
			req.names[ph] = fmt.Sprint(v)
			continue
		}
		switch ph {
		case "pool":
			req.names[ph] = w.defaultPool()
		case "type":
			req.names[ph] = "custom"
		case "method":
			req.names[ph] = "tls"
		default:
			req.names[ph] = w.newName(t, a.Resource)
			// The custom volume a volume or snapshot event names, as the
			// verbs name it (5.0.2's PROJECT_NAME).
			if (ph == "volume" || ph == "name" && a.Resource == "storage-volume") && req.names["type"] == "custom" {
				req.names[ph] = w.volumeName(a, req.project, req.names[ph])
			}
		}
	}
	req.context = map[string]any{}
	for _, k := range a.Context {
		switch k {
		case "type":
			if strings.HasPrefix(a.Name, "instance") || strings.HasPrefix(a.Name, "image") {
				req.context[k] = "container"
			} else {
				req.context[k] = "custom"
			}
		case "storage-pool":
			req.context[k] = w.defaultPool()
		case "command":
			req.context[k] = []any{"/bin/sh", "-c", "uptime"}
		case "path":
			req.context[k] = "/etc/hosts"
		case "snapshot":
			req.context[k] = "snap0"
		case "target":
			req.context[k] = req.names["name"]
		default:
			req.context[k] = ""
		}
	}
	if len(w.members) > 0 {
		for _, k := range a.ClusterContext {
			req.context[k] = req.member
		}
	}
	if strings.HasSuffix(a.Name, "-renamed") {
		req.context["old_name"] = w.newName(t, a.Resource)
	}
	if c, ok := st.Args["context"]; ok {
		for k, v := range c.Value.(map[string]any) {
			req.context[k] = v
		}
	}
	if a.Resource == "project" {
		req.eventProject = req.names["name"]
	}
	req.method = a.Method
	req.path = strings.SplitN(a.SourcePath(req.names, req.project), "?", 2)[0]
	if a.Method == "POST" && (strings.HasSuffix(a.Name, "-created") || strings.HasSuffix(a.Name, "-added")) {
		req.path = req.path[:strings.LastIndexByte(req.path, '/')]
	}
	return w.play(t, req), nil
}

// logStep plays a lone logging event.
func (w *lxdWorld) logStep(t *track, st *Step, req *lxdRequest) (time.Time, error) {
	ctx := map[string]string{}
	if c, ok := st.Args["context"]; ok {
		for k, v := range c.Value.(map[string]any) {
			ctx[k] = fmt.Sprint(v)
		}
	}
	g := w.group(t, req)
	g.log(0, "info", logMsg{text: arg(st, "name")}, logCtxOf(ctx))
	return g.end(), nil
}
