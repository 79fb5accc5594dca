// Package world holds the state of an LXD daemon as a fold of its event
// stream: projects, instances and their snapshots and backups, images and
// aliases, networks and what hangs off them, storage pools, volumes and
// buckets, profiles, certificates, cluster members and groups, warnings and
// operations. Applying an event is the only way the state changes:
//
//	w := world.New(catalog.LXD50)
//	for each event { w.Apply(eventJSON) }
//	w.Instance("default", "c1") // the instance as the stream says it stands
//
// What each lifecycle action creates, removes, renames or changes is read
// from the catalogue (catalog.LXDAction's Effect and Status), so the
// scenario engine, the fake daemon and the checker agree on it. The package
// knows no network and no clock: time is the events' timestamps.
//
// A World is not safe for concurrent use; the fake daemon guards its own.
package world

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/events"
	"github.com/eventsim/eventsim/fold"
)

// OperationKeep is how long a finished operation stays readable after its
// final event, as LXD keeps it.
const OperationKeep = 5 * time.Second

// maxEnded bounds the finished operations a World remembers, however
// little event time passes (a server at speed 0 whose scenario has ended).
const maxEnded = 4096

// Key names an object: its kind (the catalogue's resource kind, such as
// "instance" or "storage-volume-snapshot"), its project ("" for kinds that
// belong to no project) and its path: the names of its parents and its own,
// joined by "/" as its source has them ("c1/snap0", "pool1/custom/vol1").
type Key struct {
	Kind    string
	Project string
	Path    string
}

// Object is one object of the daemon as the stream says it stands.
type Object struct {
	Key
	// Name is the object's own name, the last part of its path.
	Name string
	// Status is what the last action with a status left ("Running",
	// "Stopped", "Frozen" for instances; "New", "Acknowledged" for
	// warnings; "Online", "Evacuated" for cluster members).
	Status string
	// Type is the creation context's type (container or virtual-machine,
	// custom…), or the Detail's.
	Type string
	// Location is the cluster member the object's event came from.
	Location string
	// CreatedAt is the time of the event that made the object; UpdatedAt of
	// the last one that changed it; LastUsedAt of the last that started it.
	CreatedAt, UpdatedAt, LastUsedAt time.Time
	// Context is the creation context's string values (storage-pool,
	// target…), and old_name's history is not kept.
	Context map[string]string
	// Detail is what the request that made or last changed the object said
	// beyond its event (configuration, devices, profiles…); nil for objects
	// only a played stream made.
	Detail *Detail

	parent   *Object
	children map[Key]*Object
	enc      [EncodedSlots][]byte // see Encoded
}

// EncodedSlots is how many encodings of an object its readers may keep with
// it (see Object.Encoded).
const EncodedSlots = 3

// Encoded returns the encoding a reader kept in slot i (SetEncoded) since
// the object, or one of its children, last changed; nil when there is none.
// A reader that answers many requests about the same objects (the fake
// daemon's REST reads) encodes each object once per change.
func (o *Object) Encoded(i int) []byte { return o.enc[i] }

// SetEncoded keeps an encoding of the object in slot i until the object or
// one of its children changes. b must not be changed afterwards.
func (o *Object) SetEncoded(i int, b []byte) { o.enc[i] = b }

// Detail is what a request says about an object that its lifecycle event
// does not carry. The fake daemon hands it to ApplyWith with the event the
// request makes; a fold of a recorded stream has none.
type Detail struct {
	Description  string
	Config       map[string]string
	Devices      map[string]map[string]string
	Profiles     []string
	Architecture string
	Type         string
	Ephemeral    bool
	Stateful     bool
	// Extra holds kind-specific fields: an image's fingerprint and size, an
	// alias's target, a warning's type and message…
	Extra map[string]string
}

// Operation is one operation as its last event showed it. The World's
// queries return it with every field set, valid until the World next
// applies an event (a forgotten operation is reused for another).
type Operation struct {
	ID, Class, Description, Status, Project string
	StatusCode                              int
	// JSON is the operation object as its last event carried it.
	JSON json.RawMessage
	// EndedAt is the time of its final event; zero while it runs.
	EndedAt time.Time

	event []byte // the last event, copied
	meta  int    // where its metadata starts
	read  bool   // whether the fields above were read from event
}

// World is the state of one daemon.
type World struct {
	cat *catalog.LXDCatalog
	// product is what the daemon calls itself in descriptions (Product).
	product string
	objs    map[Key]*Object
	ops     map[string]*Operation
	ended   []*Operation  // finished operations, in the order they ended
	free    []*Operation  // operations forgotten, to be reused (newOperation)
	keep    time.Duration // how long of event time they stay; OperationKeep unless set
	now     time.Time     // the latest event time read
	// stamp holds the timestamp of the last event applied, parsed into now
	// only when asked (Now): most events need no time.
	stamp    [64]byte
	stampLen int
	// parsed is the last stamp Now read, so that events sharing a time
	// are read once.
	parsed    [64]byte
	parsedLen int
	applied   uint64

	names []string // scratch for MatchSource
	// version counts the changes to objects (see Version).
	version uint64
}

// Version is a number that changes whenever an object is made, changed,
// renamed or removed (operations aside), so a reader may keep what it
// built from the objects for as long as the version stays.
func (w *World) Version() uint64 { return w.version }

// touch notes a change to an object: its encodings and its parent's (whose
// own may show its children) are dropped.
func (w *World) touch(o *Object) {
	w.version++
	o.enc = [EncodedSlots][]byte{}
	if o.parent != nil {
		o.parent.enc = [EncodedSlots][]byte{}
	}
}

// loggingHead starts every logging event as daemons encode it; one is
// known to change nothing without reading further.
var loggingHead = []byte(`{"type":"logging"`)

// New returns the world of a freshly initialised daemon of a flavour: the
// default project with its default profile. It panics on an unknown
// flavour, which catalog.ParseFlavor would have refused.
func New(f catalog.Flavor) *World {
	w := &World{cat: catalog.MustLXD(f), objs: map[Key]*Object{}, ops: map[string]*Operation{}, keep: OperationKeep, product: Product(f)}
	w.put(&Object{Key: Key{"project", "", "default"}, Name: "default", Detail: &Detail{Description: "Default " + w.product + " project"}})
	w.put(&Object{Key: Key{"profile", "default", "default"}, Name: "default", Detail: &Detail{Description: "Default " + w.product + " profile"}})
	return w
}

// Product is what a daemon of flavour f calls itself in the descriptions
// it writes (the default project's and profiles'): "Incus" for Incus,
// "LXD" for the others.
func Product(f catalog.Flavor) string {
	if f == catalog.Incus {
		return "Incus"
	}
	return "LXD"
}

// defaultProfileFor is the description of the default profile a new
// project comes with.
func (w *World) defaultProfileFor(project string) string {
	return "Default " + w.product + " profile for project " + project
}

// Applied counts the events applied.
func (w *World) Applied() uint64 { return w.applied }

// Now is the time of the latest event applied.
func (w *World) Now() time.Time {
	if w.stampLen > 0 {
		if w.stampLen == w.parsedLen && w.stamp == w.parsed {
			w.stampLen = 0 // the stamp Now last read
			return w.now
		}
		w.parsed, w.parsedLen = w.stamp, w.stampLen
		at, ok := parseStamp(w.stamp[:w.stampLen])
		if !ok {
			var err error
			if at, err = time.Parse(time.RFC3339Nano, string(w.stamp[:w.stampLen])); err != nil {
				at = time.Time{}
			}
		}
		if at.After(w.now) {
			w.now = at
		}
		w.stampLen = 0
	}
	return w.now
}

// Apply folds one event, encoded as a daemon sends it on /1.0/events, into
// the world. Logging events change nothing. An event that is not an LXD
// event is an error and changes nothing.
func (w *World) Apply(ev []byte) error { return w.ApplyWith(ev, nil) }

// ApplyWith is Apply for an event made by a request: d is what the request
// said of the object beyond the event (nil for nothing). It is kept with
// the object the event creates or updates.
func (w *World) ApplyWith(ev []byte, d *Detail) error {
	if bytes.HasPrefix(ev, loggingHead) {
		w.applied++ // a logging event changes nothing
		return nil
	}
	var typ []byte
	var project, location string
	var stamp []byte
	var lm lcMeta
	meta := -1
	o := object{b: ev}
	for o.start(0); o.next(); {
		switch string(o.key) {
		case "type":
			typ, o.i, _, o.err = scanString(ev, o.v)
		case "project":
			project, o.i, o.err = internStr(ev, o.v)
		case "location":
			location, o.i, o.err = internStr(ev, o.v)
		case "timestamp":
			stamp, o.i, _, o.err = scanString(ev, o.v)
		case "metadata":
			meta = o.v
			switch string(typ) {
			case events.LXDTypeOperation:
				// The operation reads what it needs and keeps the
				// event; the rest is read when asked for.
				w.setStamp(stamp)
				w.applied++
				return folder.Apply(w, event{typ: events.LXDTypeOperation, raw: ev, meta: meta})
			case events.LXDTypeLifecycle:
				lm, o.i, o.err = parseLifecycle(ev, meta)
			default:
				o.skip()
			}
		default:
			o.skip()
		}
	}
	if o.err != nil {
		return fmt.Errorf("apply event: %w", o.err)
	}
	if len(typ) == 0 || meta < 0 {
		return fmt.Errorf("apply event: not an lxd event: no type or metadata")
	}
	w.setStamp(stamp)
	w.applied++
	e := event{raw: ev, meta: meta, lm: lm, project: project, location: location, detail: d}
	switch string(typ) {
	case events.LXDTypeLifecycle:
		e.typ = events.LXDTypeLifecycle
	case events.LXDTypeOperation:
		e.typ = events.LXDTypeOperation
	default:
		return nil // a kind of event with no rule (logging, or one LXD adds) changes nothing
	}
	return folder.Apply(w, e)
}

// event is one LXD event as the fold's rules read it: its type (the
// rule's kind), the encoded event and where its metadata starts, and what
// the scan already read.
type event struct {
	typ               string
	raw               []byte
	meta              int
	lm                lcMeta
	project, location string
	detail            *Detail
}

// folder holds the world's rules, one per event type: the mechanism the
// Linode account (package account) folds its events with, over the
// world's own types. Logging events have no rule and change nothing.
var folder = fold.New[*World](func(e event) string { return e.typ }).
	On(func(w *World, e event) error {
		if e.lm.action == nil {
			// The type came after the metadata.
			var err error
			if e.lm, _, err = parseLifecycle(e.raw, e.meta); err != nil {
				return fmt.Errorf("apply event: %w", err)
			}
		}
		return w.lifecycle(e.lm, e.project, e.location, w.Now(), e.detail)
	}, events.LXDTypeLifecycle).
	On(func(w *World, e event) error { return w.operation(e.raw, e.meta) }, events.LXDTypeOperation)

// setStamp remembers the timestamp of the event being applied.
func (w *World) setStamp(stamp []byte) {
	if len(stamp) > 0 && len(stamp) <= len(w.stamp) {
		w.stampLen = copy(w.stamp[:], stamp)
	}
}

// internStr is str without allocating for the names every event repeats.
func internStr(b []byte, i int) (string, int, error) {
	raw, next, esc, err := scanString(b, i)
	if err == nil && !esc {
		switch string(raw) {
		case "default":
			return "default", next, nil
		case "none":
			return "none", next, nil
		case "":
			return "", next, nil
		}
	}
	return str(b, i)
}

// lcMeta is what the fold reads of a lifecycle event's metadata. The
// context is read only when the action needs it (see context).
type lcMeta struct {
	action []byte // as encoded, without its quotes
	source string
	ev     []byte
	ctxAt  int // where the context object starts in ev; -1 for none
}

// parseLifecycle reads a lifecycle event's metadata starting at ev[meta],
// and returns the index after it.
func parseLifecycle(ev []byte, meta int) (lcMeta, int, error) {
	m := lcMeta{ev: ev, ctxAt: -1}
	it := object{b: ev}
	for it.start(meta); it.next(); {
		switch string(it.key) {
		case "action":
			var esc bool
			m.action, it.i, esc, it.err = scanString(ev, it.v)
			if esc && it.err == nil {
				var a string
				a, _, it.err = str(ev, it.v)
				m.action = []byte(a)
			}
		case "source":
			m.source, it.i, it.err = str(ev, it.v)
		case "context":
			if ev[it.v] == '{' {
				m.ctxAt = it.v
			}
			it.skip()
		default:
			it.skip()
		}
	}
	if it.err != nil {
		return m, 0, fmt.Errorf("lifecycle metadata: %w", it.err)
	}
	return m, it.i, nil
}

// context reads the string values of the event's context; nil when it has
// none. parseLifecycle has checked that the context is well formed.
func (m *lcMeta) context() map[string]string {
	if m.ctxAt < 0 {
		return nil
	}
	var ctx map[string]string
	c := object{b: m.ev}
	for c.start(m.ctxAt); c.next(); {
		if m.ev[c.v] != '"' {
			c.skip()
			continue
		}
		var v string
		v, c.i, c.err = str(m.ev, c.v)
		if ctx == nil {
			ctx = map[string]string{}
		}
		ctx[string(c.key)] = v
	}
	return ctx
}

// lifecycle applies a lifecycle event.
func (w *World) lifecycle(m lcMeta, project, location string, at time.Time, d *Detail) error {
	a := w.cat.Action(string(m.action))
	if a == nil || a.Effect == catalog.EffectNone {
		return nil // an action this flavour does not know, or one on no object
	}
	k, names, err := w.keyOf(a, m.source, project)
	if err != nil {
		return err
	}
	var ctx map[string]string
	if a.Effect == catalog.EffectCreate || a.Effect == catalog.EffectRename {
		ctx = m.context()
	}
	switch a.Effect {
	case catalog.EffectDelete:
		if o := w.objs[k]; o != nil {
			w.remove(o)
		}
		if a.Resource == "project" {
			w.dropProject(k.Path)
		}
		return nil
	case catalog.EffectRename:
		old := ctx["old_name"]
		if old == "" {
			break
		}
		ok := k
		ok.Path = strings.Join(append(names[:len(names)-1:len(names)-1], old), "/")
		if o := w.objs[ok]; o != nil && ok != k {
			if x := w.objs[k]; x != nil {
				w.remove(x)
			}
			w.rename(o, k, names[len(names)-1])
		}
		if a.Resource == "project" && old != k.Path {
			w.moveProject(old, k.Path)
		}
	}
	o := w.objs[k]
	if o == nil {
		o = &Object{Key: k, Name: names[len(names)-1], CreatedAt: at, Location: location}
		if a.Effect == catalog.EffectCreate {
			o.Context = ctx
			o.Type = ctx["type"]
		}
		if a.Resource == "instance" {
			o.Status = "Stopped"
		}
		if a.Resource == "warning" {
			o.Status = "New"
		}
		if a.Resource == "cluster-member" {
			o.Status = "Online"
		}
		w.put(o)
	} else if a.Effect == catalog.EffectCreate {
		// Made again: a fresh object.
		o.CreatedAt, o.Context, o.Type, o.Detail = at, ctx, ctx["type"], nil
	}
	if a.Resource == "project" && a.Effect == catalog.EffectCreate && k.Path != "default" {
		// A new project comes with its default profile; no event says so.
		pk := Key{"profile", k.Path, "default"}
		if w.objs[pk] == nil {
			w.put(&Object{Key: pk, Name: "default", CreatedAt: at, UpdatedAt: at,
				Detail: &Detail{Description: w.defaultProfileFor(k.Path)}})
		}
	}
	if a.Status != "" {
		o.Status = a.Status
	}
	if a.Status == "Running" && a.Resource == "instance" {
		o.LastUsedAt = at
	}
	if location != "" && location != "none" {
		o.Location = location
	}
	o.UpdatedAt = at
	if d != nil && (a.Effect == catalog.EffectCreate || a.Effect == catalog.EffectUpdate) {
		o.Detail = d
		if d.Type != "" {
			o.Type = d.Type
		}
	}
	w.touch(o)
	return nil
}

// KeyOf names the object a lifecycle event is about: the catalogue's
// action, its source and the event's project. It reports false for actions
// the flavour does not know, those on no object (EffectNone), and sources
// that do not have the action's shape.
func (w *World) KeyOf(action, source, project string) (Key, *catalog.LXDAction, bool) {
	a := w.cat.Action(action)
	if a == nil || a.Effect == catalog.EffectNone {
		return Key{}, nil, false
	}
	k, _, err := w.keyOf(a, source, project)
	return k, a, err == nil
}

// keyOf reads an action's source into the key of its object, and the
// object's path names (unescaped; 5.0.2's PROJECT_NAME volumes back to
// NAME). The names slice is w's scratch, valid until the next call.
func (w *World) keyOf(a *catalog.LXDAction, source, project string) (Key, []string, error) {
	proj, names, err := a.ObjectOf(source, project, w.names)
	w.names = names
	if err != nil {
		return Key{}, nil, fmt.Errorf("apply %s: %w", a.Name, err)
	}
	return Key{a.Resource, proj, strings.Join(names, "/")}, names, nil
}

// parentOf names the kind of each kind's parent and how many leading names
// of the path are the parent's.
var parentOf = map[string]struct {
	kind string
	n    int
}{
	"instance-snapshot":       {"instance", 1},
	"instance-backup":         {"instance", 1},
	"storage-volume":          {"storage-pool", 1},
	"storage-bucket":          {"storage-pool", 1},
	"storage-volume-snapshot": {"storage-volume", 3},
	"storage-volume-backup":   {"storage-volume", 3},
	"network-zone-record":     {"network-zone", 1},
	"network-forward":         {"network", 1},
	"network-load-balancer":   {"network", 1},
	"network-peer":            {"network", 1},
}

// put adds an object, and its parents when the stream never made them: an
// event on an object says it exists, and so do its parents.
func (w *World) put(o *Object) {
	w.objs[o.Key] = o
	w.version++
	po, ok := parentOf[o.Kind]
	if !ok {
		return
	}
	parts := strings.SplitN(o.Path, "/", po.n+1)
	pk := Key{po.kind, o.Project, strings.Join(parts[:po.n], "/")}
	if a := w.cat.Action(po.kind + "-created"); a != nil && !a.ProjectScoped {
		pk.Project = ""
	}
	p := w.objs[pk]
	if p == nil {
		p = &Object{Key: pk, Name: parts[po.n-1], CreatedAt: o.CreatedAt, UpdatedAt: o.CreatedAt}
		if pk.Kind == "instance" {
			p.Status = "Stopped"
		}
		w.put(p)
	}
	o.parent = p
	if p.children == nil {
		p.children = map[Key]*Object{}
	}
	p.children[o.Key] = o
	w.touch(p)
}

// remove deletes an object and its children.
func (w *World) remove(o *Object) {
	for _, c := range o.children {
		c.parent = nil
		w.remove(c)
	}
	delete(w.objs, o.Key)
	w.touch(o)
	if o.parent != nil {
		delete(o.parent.children, o.Key)
	}
}

// rename gives an object a new key, and its children the paths under it.
func (w *World) rename(o *Object, k Key, name string) {
	delete(w.objs, o.Key)
	if o.parent != nil {
		delete(o.parent.children, o.Key)
	}
	oldPath := o.Path
	o.Key, o.Name = k, name
	w.touch(o)
	w.objs[k] = o
	if o.parent != nil {
		o.parent.children[k] = o
	}
	if len(o.children) == 0 {
		return
	}
	kids := slices.Collect(maps.Values(o.children))
	clear(o.children)
	for _, c := range kids {
		ck := c.Key
		ck.Path = k.Path + strings.TrimPrefix(ck.Path, oldPath)
		c.parent = nil
		w.rename(c, ck, c.Name)
		c.parent = o
		o.children[c.Key] = c
	}
}

// dropProject forgets every object of a deleted project.
func (w *World) dropProject(name string) {
	for k, o := range w.objs {
		if k.Project == name {
			delete(w.objs, k)
			w.touch(o)
			if o.parent != nil {
				delete(o.parent.children, k)
			}
		}
	}
}

// moveProject moves every object of a renamed project to its new name.
func (w *World) moveProject(old, name string) {
	var moved []*Object
	for k, o := range w.objs {
		if k.Project == old {
			delete(w.objs, k)
			moved = append(moved, o)
		}
	}
	for _, o := range moved {
		if o.parent != nil {
			delete(o.parent.children, o.Key)
		}
		o.Project = name
		w.touch(o)
	}
	for _, o := range moved {
		if o.Kind == "profile" && o.Name == "default" && o.Detail != nil && o.Detail.Description == w.defaultProfileFor(old) {
			d := *o.Detail
			d.Description = w.defaultProfileFor(name)
			o.Detail = &d
		}
		w.objs[o.Key] = o
		if o.parent != nil {
			o.parent.children[o.Key] = o
		}
	}
	for _, o := range moved {
		if len(o.children) > 0 {
			m := make(map[Key]*Object, len(o.children))
			for _, c := range o.children {
				m[c.Key] = c
			}
			o.children = m
		}
	}
}

// operation applies an operation event whose metadata starts at ev[meta].
// It reads the operation's id, status and description and keeps a copy of
// the event; its project and object are read from the copy when asked for.
func (w *World) operation(ev []byte, meta int) error {
	var id, status, desc []byte
	code := -1
	o := object{b: ev}
	for o.start(meta); o.next() && (id == nil || status == nil || code < 0 || desc == nil); {
		switch string(o.key) {
		case "id":
			id, o.i, _, o.err = scanString(ev, o.v)
		case "status":
			status, o.i, _, o.err = scanString(ev, o.v)
		case "status_code":
			code, o.i, o.err = number(ev, o.v)
		case "description":
			desc, o.i, _, o.err = scanString(ev, o.v)
		default:
			o.skip()
		}
	}
	if o.err != nil {
		return fmt.Errorf("apply operation event: %w", o.err)
	}
	if len(id) == 0 {
		return fmt.Errorf("apply operation event: no id")
	}
	op := w.ops[string(id)]
	if op == nil {
		op = w.newOperation(string(id))
		w.ops[op.ID] = op
	}
	op.event = append(op.event[:0], ev...)
	op.meta, op.read = meta, false
	op.StatusCode = code
	if string(status) != op.Status {
		op.Status = opStatus(status)
	}
	if events.OpFinal(code) && op.EndedAt.IsZero() {
		op.EndedAt = w.Now()
		w.ended = append(w.ended, op)
		w.expire()
		if code == events.OpSuccess {
			if st := catalog.LXDMemberStatusAfter(string(desc)); st != "" {
				w.memberStatus(ev, meta, st)
			}
		}
	}
	return nil
}

// memberStatus sets the status of the cluster member an operation ran on
// (the operation's location; see catalog.LXDMemberStatusAfter).
func (w *World) memberStatus(ev []byte, meta int, status string) {
	var loc string
	o := object{b: ev}
	for o.start(meta); o.next(); {
		if string(o.key) == "location" {
			loc, o.i, o.err = str(ev, o.v)
			break
		}
		o.skip()
	}
	if m := w.objs[Key{Kind: "cluster-member", Path: loc}]; o.err == nil && m != nil && m.Status != status {
		m.Status, m.UpdatedAt = status, w.Now()
		w.touch(m)
	}
}

// newOperation returns an operation with an id, made from one the world
// forgot when there is one: an operation and the copy of its event are
// reused rather than made anew for each of the many a stream runs.
func (w *World) newOperation(id string) *Operation {
	n := len(w.free)
	if n == 0 {
		return &Operation{ID: id}
	}
	op := w.free[n-1]
	w.free[n-1] = nil
	w.free = w.free[:n-1]
	*op = Operation{ID: id, event: op.event[:0]}
	return op
}

// opStatus is string(b) without allocating for the statuses operations
// go through.
func opStatus(b []byte) string {
	switch string(b) {
	case "Pending":
		return "Pending"
	case "Running":
		return "Running"
	case "Success":
		return "Success"
	case "Failure":
		return "Failure"
	case "Cancelling":
		return "Cancelling"
	case "Cancelled":
		return "Cancelled"
	}
	return string(b)
}

// resolve reads the rest of an operation from its last event: project,
// class, description and the operation object.
func (op *Operation) resolve() {
	if op.read {
		return
	}
	op.read = true
	ev := op.event
	o := object{b: ev}
	for o.start(0); o.next(); {
		switch string(o.key) {
		case "project":
			op.Project, o.i, o.err = str(ev, o.v)
		case "metadata":
			m := object{b: ev}
			for m.start(o.v); m.next(); {
				switch string(m.key) {
				case "class":
					op.Class, m.i, m.err = str(ev, m.v)
				case "description":
					op.Description, m.i, m.err = str(ev, m.v)
				default:
					m.skip()
				}
			}
			op.JSON = ev[o.v:m.i]
			o.set(m.i, m.err)
		default:
			o.skip()
		}
	}
}

// SetOperationKeep sets how long of event time a finished operation stays
// readable (OperationKeep by default): a server whose clock runs faster
// than the wall keeps them longer, so that its clients still find them.
func (w *World) SetOperationKeep(d time.Duration) { w.keep = d }

// expire forgets operations that ended more than w.keep ago, and the
// oldest past maxEnded.
func (w *World) expire() {
	if len(w.ended) == 0 {
		return
	}
	now := w.Now()
	i := 0
	for ; i < len(w.ended) && (now.Sub(w.ended[i].EndedAt) > w.keep || len(w.ended)-i > maxEnded); i++ {
		if o := w.ops[w.ended[i].ID]; o == w.ended[i] {
			delete(w.ops, o.ID)
			if len(w.free) < maxEnded {
				w.free = append(w.free, o)
			}
		}
		w.ended[i] = nil
	}
	w.ended = w.ended[i:]
}
