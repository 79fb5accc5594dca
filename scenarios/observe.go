package scenarios

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eventsim/eventsim/catalog"
)

// Observed is a lifecycle event the engine did not make, for Engine.Observe:
// one a server made for a REST request. Its fields are the event's, decoded.
type Observed struct {
	Action, Source, Project, Location string
	Context                           map[string]any
}

// maxObserved bounds the events waiting for the engine's next step; past
// it, Observe drops them (Engine.ObserveDropped counts them).
const maxObserved = 4096

// inbox holds observed events until the engine's next step takes them.
type inbox struct {
	mu      sync.Mutex
	evs     []Observed
	n       atomic.Int32 // len(evs), read without the lock on every step
	dropped atomic.Int64
	skipped atomic.Int64 // external steps skipped (Engine.Skipped)
}

// Observe tells the engine of a lifecycle event it did not make, such as
// one a server made for a REST request, so that a later step marked
// external can act on the object it names. It is safe to call from any
// goroutine and never blocks on the engine: the event waits in a bounded
// inbox until the engine's next step folds it in (as an emit step's event
// is, see observe), and is dropped, reporting false, when the inbox is
// full. The objects it makes are known to named steps only: a mix never
// picks them, so what a scenario does by itself does not depend on what
// others did beside it.
func (e *Engine) Observe(ev Observed) bool {
	in := e.inbox
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.evs) >= maxObserved {
		in.dropped.Add(1)
		return false
	}
	in.evs = append(in.evs, ev)
	in.n.Store(int32(len(in.evs)))
	return true
}

// ObserveDropped says how many observed events a full inbox dropped.
func (e *Engine) ObserveDropped() int64 { return e.inbox.dropped.Load() }

// Skipped says how many steps marked external were skipped because the
// object they name did not exist when they ran.
func (e *Engine) Skipped() int64 { return e.inbox.skipped.Load() }

// drainObserved folds the observed events waiting into the registries.
func (e *Engine) drainObserved() {
	in := e.inbox
	if in.n.Load() == 0 {
		return
	}
	in.mu.Lock()
	evs := in.evs
	in.evs = nil
	in.n.Store(0)
	in.mu.Unlock()
	for _, ev := range evs {
		e.lxd.observeOutside = true
		e.lxd.observe(ev.Action, ev.Source, ev.Project, ev.Location, ev.Context)
		e.lxd.observeOutside = false
	}
}

// awaitExternal runs before a step marked external: it waits, through
// Options.Await, until the step's time has come for whoever feeds Observe,
// then takes what was observed by then.
func (e *Engine) awaitExternal(ctx context.Context, at time.Time) error {
	if e.opts.Await != nil && !e.opts.check {
		if err := e.opts.Await(ctx, at); err != nil {
			return err
		}
	}
	e.drainObserved()
	return nil
}

// external reports whether a step says it may name objects the scenario
// does not make (external: true).
func external(st *Step) bool {
	a, ok := st.Args["external"]
	if !ok {
		return false
	}
	b, _ := a.Value.(bool)
	return b
}

// skipError is a step marked external whose object does not exist: the
// step is skipped, not the scenario stopped.
type skipError struct{ err *Error }

func (s *skipError) Error() string { return s.err.Error() }

// skipped reports a skipped external step: counted, and told to
// Options.OnSkip while playing; a check (validate) passes over it.
func (e *Engine) skipped(err error) bool {
	var sk *skipError
	if !errors.As(err, &sk) {
		return false
	}
	if !e.opts.check {
		e.inbox.skipped.Add(1)
		if e.opts.OnSkip != nil {
			e.opts.OnSkip(sk.err)
		}
	}
	return true
}

// observedKinds are the kinds of object the engine's verbs act on, and so
// the kinds a lifecycle event the engine did not make (an emit step's, a
// REST request's) is folded into its registry for.
var observedKinds = func() map[string]bool {
	out := map[string]bool{}
	for _, v := range lxdVerbs {
		if v.kind != "server" {
			out[v.kind] = true
		}
	}
	return out
}()

// observe folds a lifecycle event the engine did not make into its
// registry, reading what it does from the catalogue (the action's Effect
// and Status, as the world package reads them): a created object exists,
// a deleted one is gone with its children, a renamed one (context
// old_name) has its new name, and an event on an object says it exists.
// Events of actions the flavour does not know, on no object, or on kinds
// no verb acts on change nothing. ctx is the event's context, read only
// for renames, the type of a created instance.
func (w *lxdWorld) observe(action, source, project, location string, ctx map[string]any) {
	a := w.e.cat.Action(action)
	if a == nil || a.Effect == catalog.EffectNone || !observedKinds[a.Resource] {
		return
	}
	proj, names, err := a.ObjectOf(source, project, nil)
	if err != nil || len(names) == 0 {
		return
	}
	kind := a.Resource
	k, ok := entityKey(kind, proj, names)
	if !ok {
		return
	}
	r := w.reg(kind)
	x := r.get(k.project, k.parent, k.name)
	switch a.Effect {
	case catalog.EffectDelete:
		if x != nil {
			w.forget(x)
		}
		return
	case catalog.EffectRename:
		old, _ := ctx["old_name"].(string)
		if old == "" || old == k.name {
			break
		}
		o := r.get(k.project, k.parent, old)
		if o == nil {
			break
		}
		if x != nil {
			w.forget(x)
		}
		w.rename(o, k.name)
		x = o
	}
	if x == nil {
		w.ensureParent(kind, k)
		x = &entity{kind: kind, project: k.project, parent: k.parent, name: k.name, outside: w.observeOutside}
		if contains(w.members, location) {
			x.member = location
		}
		if kind == "instance" {
			x.state = "stopped"
			x.typ, _ = ctx["type"].(string)
		}
		if kind == "cluster-member" && !contains(w.members, k.name) {
			w.members = append(w.members, k.name)
		}
		w.add(x)
	}
	if kind == "instance" && a.Status != "" {
		x.state = strings.ToLower(a.Status)
		r.sync(x)
	}
}

// entityKey names the registry entry of the object whose source path names
// are names: the project, the parent (an instance's name for its
// snapshots, "POOL/VOLUME" for a custom volume's) and its name. It reports
// false for objects the registries do not keep (volumes of other types
// than custom).
func entityKey(kind, project string, names []string) (entKey, bool) {
	if globalKinds[kind] {
		project = ""
	} else if project == "" {
		project = "default"
	}
	last := names[len(names)-1]
	switch kind {
	case "instance-snapshot", "network-zone-record", "network-forward", "network-peer":
		if len(names) != 2 {
			return entKey{}, false
		}
		return key(project, names[0], last), true
	case "storage-volume":
		if len(names) != 3 || names[1] != "custom" {
			return entKey{}, false
		}
		return key(project, names[0], last), true
	case "storage-volume-snapshot":
		if len(names) != 4 || names[1] != "custom" {
			return entKey{}, false
		}
		return key(project, names[0]+"/"+names[2], last), true
	}
	return key(project, "", last), true
}

// ensureParent adds the parent of an object an event named when the
// registry does not have it: an event on an object says its parent exists
// too (as the world package's fold has it).
func (w *lxdWorld) ensureParent(kind string, k entKey) {
	var pk entKey
	var pkind string
	switch kind {
	case "instance-snapshot":
		pkind, pk = "instance", key(k.project, "", k.parent)
	case "network-zone-record":
		pkind, pk = "network-zone", key(k.project, "", k.parent)
	case "network-forward", "network-peer":
		pkind, pk = "network", key(k.project, "", k.parent)
	case "storage-volume":
		pkind, pk = "storage-pool", key("", "", k.parent)
	case "storage-volume-snapshot":
		pool, vol, _ := strings.Cut(k.parent, "/")
		w.ensureParent("storage-volume", key(k.project, pool, vol))
		pkind, pk = "storage-volume", key(k.project, pool, vol)
	default:
		return
	}
	if w.reg(pkind).get(pk.project, pk.parent, pk.name) != nil {
		return
	}
	p := &entity{kind: pkind, project: pk.project, parent: pk.parent, name: pk.name, outside: w.observeOutside}
	if pkind == "instance" {
		p.state = "stopped"
	}
	w.add(p)
}

// forget removes an object and its children from the registries, as a
// delete does.
func (w *lxdWorld) forget(x *entity) {
	w.reg(x.kind).remove(x)
	w.removeChildren(x)
	if x.kind == "cluster-member" {
		w.members = without(w.members, x.name)
	}
}

// rename gives an object a new name; its children move with it.
func (w *lxdWorld) rename(x *entity, to string) {
	r := w.reg(x.kind)
	r.remove(x)
	w.renameChildren(x, to)
	if x.kind == "cluster-member" {
		w.members = append(without(w.members, x.name), to)
	}
	x.name, x.res = to, nil
	r.add(x)
}

// Carry makes the engine, not yet played, start from the LXD objects
// another engine's world holds (with what was observed until now), as
// objects made outside the scenario: the daemon a reset or a new
// scenario plays on still has them, whether the old scenario or a REST
// request made them. The old engine must be stopped.
func (e *Engine) Carry(from *Engine) {
	from.drainObserved()
	e.lxd.carry(from.lxd)
}

// carry adds the objects of an earlier world (the last pass's, or another
// engine's) that w lacks, marked outside: only a step that names one acts
// on it, a mix never picks one, and a step that would create one again is
// skipped (see verb), so that the stream never says an object is created
// while it exists. Kinds and objects are carried in a fixed order, so a
// loop stays deterministic.
func (w *lxdWorld) carry(old *lxdWorld) {
	kinds := make([]string, 0, len(old.objs))
	for k := range old.objs {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, kind := range kinds {
		r := w.reg(kind)
		for _, x := range old.objs[kind].list {
			if r.get(x.project, x.parent, x.name) != nil {
				continue
			}
			w.add(&entity{kind: x.kind, project: x.project, parent: x.parent, name: x.name, state: x.state,
				typ: x.typ, pool: x.pool, member: x.member, outside: true})
			if kind == "cluster-member" && !contains(w.members, x.name) {
				w.members = append(w.members, x.name)
			}
		}
	}
}
