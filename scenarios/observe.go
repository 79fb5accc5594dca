package scenarios

import (
	"strings"

	"github.com/eventsim/eventsim/catalog"
)

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
		x = &entity{kind: kind, project: k.project, parent: k.parent, name: k.name}
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
	p := &entity{kind: pkind, project: pk.project, parent: pk.parent, name: pk.name}
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
	x.name = to
	r.add(x)
}
