package scenarios

import (
	"encoding/json"
	"errors"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/events"
	"go.yaml.in/yaml/v3"
)

// verbGroup is a run of a recording's events that one verb makes exactly.
type verbGroup struct {
	step map[string]any // the verb step, as YAML writes it
	n    int            // how many events it makes
	span time.Duration  // from the verb's start to its last event
}

// groupWindow bounds how far after a group's first event its lifecycle
// event is looked for: a verb with logging makes about a dozen events.
const groupWindow = 32

// findVerbGroups finds, among the recorded events of a recording's scenario
// (its emit steps, in order), the runs that a verb makes exactly: the
// operation's Pending, Running, metadata and Success or Failure, the
// lifecycle events and, when logging, the logging events, in the engine's
// order. It returns them by the index of their first event. Each candidate
// is the verb of a lifecycle action near the run's start, with the names,
// project, requestor and took the recorded events give, played alone by an
// engine that knows what the recording made until then; it counts when it
// makes the run's events, equal but for ids and times (sameEvents).
func findVerbGroups(s *Scenario, evs []*Step, flavor catalog.Flavor) map[int]verbGroup {
	cat, err := catalog.LXD(flavor)
	if err != nil || s.APIs[0] != "lxd" {
		return nil
	}
	// shadow knows the objects the recording made before the event looked at.
	shadow, err := New(&Scenario{Name: "shadow", APIs: []string{"lxd"}, LXD: s.LXD, Start: s.Start, Seed: 1}, Options{Flavor: flavor})
	if err != nil {
		return nil
	}
	byAction := map[string][]string{}
	for _, name := range sortedKeys(lxdVerbs) {
		byAction[lxdVerbs[name].action] = append(byAction[lxdVerbs[name].action], name)
	}
	cascades := map[string]bool{}
	for a := range byAction {
		if c := catalog.LXDCascade(a); c != "" {
			cascades[c] = true
		}
	}
	fold := func(st *Step) {
		if str(st.Event["type"]) != events.LXDTypeLifecycle {
			return
		}
		md, _ := st.Event["metadata"].(map[string]any)
		ctx, _ := md["context"].(map[string]any)
		shadow.lxd.observe(str(md["action"]), str(md["source"]), str(st.Event["project"]), str(st.Event["location"]), ctx)
	}
	out := map[int]verbGroup{}
	for j := 0; j < len(evs); {
		if g, ok := groupAt(s, evs, j, cat, shadow.lxd, byAction, cascades); ok {
			out[j] = g
			for _, st := range evs[j : j+g.n] {
				fold(st)
			}
			j += g.n
			continue
		}
		fold(evs[j])
		j++
	}
	return out
}

// groupAt tries the verbs of the lifecycle events just after evs[j] for a
// run that starts at j.
func groupAt(s *Scenario, evs []*Step, j int, cat *catalog.LXDCatalog, shadow *lxdWorld, byAction map[string][]string, cascades map[string]bool) (verbGroup, bool) {
	first := evs[j]
	switch str(first.Event["type"]) {
	case events.LXDTypeOperation:
		md, _ := first.Event["metadata"].(map[string]any)
		if str(md["status"]) != "Pending" {
			return verbGroup{}, false
		}
	case events.LXDTypeLifecycle:
	case events.LXDTypeLogging:
		md, _ := first.Event["metadata"].(map[string]any)
		if str(md["message"]) != "Handling API request" {
			return verbGroup{}, false
		}
	default:
		return verbGroup{}, false
	}
	for l := j; l < len(evs) && l < j+groupWindow; l++ {
		ev := evs[l].Event
		if str(ev["type"]) != events.LXDTypeLifecycle {
			continue
		}
		md, _ := ev["metadata"].(map[string]any)
		action := str(md["action"])
		for _, verb := range byAction[action] {
			step, ok := verbArgs(verb, ev, md, cat, evs[j:])
			if !ok {
				continue
			}
			if g, ok := tryVerb(s, step, evs[j:], cat.Flavor, shadow); ok {
				return g, true
			}
		}
		if !cascades[action] {
			break // the run's own lifecycle event: no later one is its
		}
	}
	return verbGroup{}, false
}

// verbArgs makes the step of a verb from the lifecycle event it would
// make: the object's names from the source, the project, the context's
// old name or snapshot, the requestor; took from the recorded operation.
func verbArgs(verb string, ev, md map[string]any, cat *catalog.LXDCatalog, run []*Step) (map[string]any, bool) {
	v := lxdVerbs[verb]
	a := cat.Action(v.action)
	if a == nil {
		return nil, false
	}
	proj, names, err := a.ObjectOf(str(md["source"]), str(ev["project"]), nil)
	if err != nil || len(names) == 0 {
		return nil, false
	}
	ctx, _ := md["context"].(map[string]any)
	step := map[string]any{"lxd": verb}
	last := names[len(names)-1]
	switch a.Resource {
	case "instance", "network", "network-acl", "network-zone", "profile", "project", "storage-pool", "image", "certificate", "cluster-member", "warning":
		step["name"] = last
	case "instance-snapshot":
		step["name"], step["snapshot"] = names[0], last
	case "storage-volume":
		if len(names) != 3 || names[1] != "custom" {
			return nil, false
		}
		step["pool"], step["name"] = names[0], last
	case "storage-volume-snapshot":
		if len(names) != 4 || names[1] != "custom" {
			return nil, false
		}
		step["pool"], step["name"], step["snapshot"] = names[0], names[2], last
	case "network-zone-record":
		step["zone"], step["name"] = names[0], last
	case "network-forward", "network-peer":
		step["network"], step["name"] = names[0], last
	default:
		return nil, false
	}
	switch verb {
	case "instance.restore":
		snap := str(ctx["snapshot"])
		_, child, ok := strings.Cut(snap, "/")
		if !ok {
			return nil, false
		}
		step["snapshot"] = child
	case "storage-volume.restore":
		snap := str(ctx["snapshot"])
		if snap == "" {
			return nil, false
		}
		step["snapshot"] = snap
	case "instance.exec":
		cmd, _ := ctx["command"].([]any)
		if len(cmd) == 0 {
			return nil, false
		}
		step["command"] = cmd
	case "instance.file-push":
		if p := str(ctx["path"]); p != "" {
			step["path"] = p
		}
	case "instance.create":
		if t := str(ctx["type"]); t != "" {
			step["type"] = t
		}
		if p := str(ctx["storage-pool"]); p != "" && p != "default" {
			step["pool"] = p
		}
	}
	if v.rename {
		old := str(ctx["old_name"])
		if old == "" {
			return nil, false
		}
		step["to"] = step["name"]
		step["name"] = old
	}
	if proj != "" && proj != "default" && a.Resource != "project" {
		step["project"] = proj
	}
	req, ok := md["requestor"].(map[string]any)
	if !ok {
		req = loggedRequestor(run)
	}
	if req != nil && !isRoot(req) {
		step["requestor"] = req
	}
	if a.Operation != "" {
		// The recorded time, when the verb's own would not be near it
		// (the engine varies a verb's time by up to 30%).
		usual := orDefaultTook(v.took)
		if took, ok := recordedTook(run); ok && (took < usual*7/10 || took > usual*13/10) {
			step["took"] = took.String()
		}
	}
	return step, true
}

// loggedRequestor reads who made the request that starts a run from its
// logging ("Handling API request": username, protocol, ip), for actions
// whose lifecycle event does not name the requestor (LXD 5.0.2's instance
// events); nil when the run does not start with it.
func loggedRequestor(run []*Step) map[string]any {
	if len(run) == 0 || str(run[0].Event["type"]) != events.LXDTypeLogging {
		return nil
	}
	md, _ := run[0].Event["metadata"].(map[string]any)
	ctx, _ := md["context"].(map[string]any)
	if str(md["message"]) != "Handling API request" || ctx == nil {
		return nil
	}
	return map[string]any{"username": str(ctx["username"]), "protocol": str(ctx["protocol"]), "address": str(ctx["ip"])}
}

// isRoot reports whether a recorded requestor is the verbs' own default
// (rootRequestor), which a step need not say.
func isRoot(req map[string]any) bool {
	return len(req) == 3 && str(req["username"]) == rootRequestor.Username &&
		str(req["protocol"]) == rootRequestor.Protocol && str(req["address"]) == rootRequestor.Address
}

// recordedTook reads how long the operation whose Pending starts a run
// (after its logging, when recorded) ran: from Running to its end
// (Success or Failure), to the millisecond. It reports false when the run
// does not start with an operation.
func recordedTook(run []*Step) (time.Duration, bool) {
	id := ""
	var running time.Time
	for i, st := range run {
		if i >= groupWindow {
			break
		}
		switch str(st.Event["type"]) {
		case events.LXDTypeLogging:
			continue
		case events.LXDTypeOperation:
		default:
			if id == "" {
				return 0, false
			}
			continue
		}
		md, _ := st.Event["metadata"].(map[string]any)
		if id == "" {
			if str(md["status"]) != "Pending" {
				return 0, false
			}
			id = str(md["id"])
		}
		if str(md["id"]) != id {
			continue
		}
		switch str(md["status"]) {
		case "Running":
			if running.IsZero() {
				running = st.Recorded
			}
		case "Success", "Failure":
			if running.IsZero() || st.Recorded.Before(running) {
				return 0, false
			}
			return st.Recorded.Sub(running).Round(time.Millisecond), true
		}
	}
	return 0, false
}

// tryVerb plays a verb step alone, in an engine that knows the objects the
// shadow world holds for it, and reports the group it makes when its
// events are the run's first ones.
func tryVerb(s *Scenario, step map[string]any, run []*Step, flavor catalog.Flavor, shadow *lxdWorld) (verbGroup, bool) {
	st, err := stepOf(step)
	if err != nil {
		return verbGroup{}, false
	}
	one := &Scenario{File: "verb", Name: "verb", APIs: []string{"lxd"}, LXD: s.LXD, Start: s.Start, Seed: 1, Steps: []*Step{st}}
	one.Linode.FirstID = 1
	e, err := New(one, Options{Flavor: flavor})
	if err != nil {
		return verbGroup{}, false
	}
	copyObjects(e.lxd, shadow)
	var made [][]byte
	var last time.Time
	for len(made) <= len(run) {
		r, err := e.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil || r.Fault != nil {
			return verbGroup{}, false
		}
		made = append(made, r.JSON)
		last = r.Time
	}
	if len(made) == 0 || len(made) > len(run) {
		return verbGroup{}, false
	}
	for i, b := range made {
		if !sameEvents(b, run[i].Event) {
			return verbGroup{}, false
		}
	}
	return verbGroup{step: step, n: len(made), span: last.Sub(s.Start)}, true
}

// stepOf parses one verb step written as YAML writes it.
func stepOf(step map[string]any) (*Step, error) {
	b, err := yaml.Marshal(map[string]any{"name": "verb", "api": "lxd", "steps": []any{step}})
	if err != nil {
		return nil, err
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, err
	}
	p := &parser{file: "verb"}
	sc, err := p.scenario(&root)
	if err != nil || len(p.errs) > 0 || len(sc.Steps) != 1 {
		return nil, errors.New("verb step does not parse")
	}
	return sc.Steps[0], nil
}

// copyObjects makes w know what shadow knows, as fresh entities.
func copyObjects(w, shadow *lxdWorld) {
	for _, kind := range sortedKeys(shadow.objs) {
		for _, x := range shadow.objs[kind].list {
			if w.reg(kind).get(x.project, x.parent, x.name) != nil {
				continue
			}
			c := &entity{kind: x.kind, project: x.project, parent: x.parent, name: x.name, state: x.state, typ: x.typ, pool: x.pool, member: x.member}
			w.add(c)
		}
	}
	w.members = append(w.members[:0:0], shadow.members...)
}

// idOrTime are what differ between two plays of the same events: ids
// (operation UUIDs, in events and in the logging that names them; an exec
// operation's websocket secrets, 32 hex digits; 64 for fingerprints) and times.
var idOrTime = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\b[0-9a-f]{32}([0-9a-f]{32})?\b|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`)

// sameEvents reports whether an encoded event and a recorded one are the
// same event, field for field, but for ids and times.
func sameEvents(made []byte, recorded map[string]any) bool {
	var got map[string]any
	if json.Unmarshal(made, &got) != nil {
		return false
	}
	return comparable(got) == comparable(recorded)
}

// comparable writes an event with its timestamp left out and its ids and
// times made alike, keys sorted, for sameEvents.
func comparable(ev map[string]any) string {
	cp := make(map[string]any, len(ev))
	for k, v := range ev {
		if k != "timestamp" {
			cp[k] = v
		}
	}
	if _, ok := cp["location"]; !ok {
		cp["location"] = "none"
	}
	b, _ := json.Marshal(cp)
	return string(idOrTime.ReplaceAllLiteral(b, []byte("ID")))
}

// covered counts the events groups stand for.
func covered(groups map[int]verbGroup) int {
	n := 0
	for _, g := range groups {
		n += g.n
	}
	return n
}

// hasLogging reports whether a recording holds logging events.
func hasLogging(evs []*Step) bool {
	for _, st := range evs {
		if st.API == "lxd" && str(st.Event["type"]) == events.LXDTypeLogging {
			return true
		}
	}
	return false
}

// declarePreexisting adds to a recording's scenario the storage pools,
// networks and profiles its events name before (or without) making them:
// they existed when the recording began, and a verb acting in or on them
// needs them to exist.
func declarePreexisting(s *Scenario, evs []*Step, flavor catalog.Flavor) {
	cat, err := catalog.LXD(flavor)
	if err != nil || s.APIs[0] != "lxd" {
		return
	}
	seen := map[string]bool{} // "kind name"
	note := func(kind, name string, created bool) {
		k := kind + " " + name
		if seen[k] {
			return
		}
		seen[k] = true
		if created || kind == "profile" && name == "default" {
			return
		}
		switch kind {
		case "storage-pool":
			s.LXD.Pools = append(s.LXD.Pools, name)
		case "network":
			s.LXD.Networks = append(s.LXD.Networks, name)
		case "profile":
			s.LXD.Profiles = append(s.LXD.Profiles, name)
		}
	}
	var names []string
	for _, st := range evs {
		if st.API != "lxd" || str(st.Event["type"]) != events.LXDTypeLifecycle {
			continue
		}
		md, _ := st.Event["metadata"].(map[string]any)
		a := cat.Action(str(md["action"]))
		if a == nil || a.Effect == catalog.EffectNone {
			continue
		}
		proj, ns, err := a.ObjectOf(str(md["source"]), str(st.Event["project"]), names)
		names = ns
		if err != nil || len(ns) == 0 {
			continue
		}
		created := a.Effect == catalog.EffectCreate || a.Effect == catalog.EffectRename
		switch a.Resource {
		case "storage-pool", "network":
			note(a.Resource, ns[0], created)
		case "profile":
			if proj == "default" {
				note("profile", ns[0], created)
			}
		case "storage-volume", "storage-volume-snapshot", "storage-volume-backup", "storage-bucket":
			note("storage-pool", ns[0], false)
		case "network-forward", "network-peer", "network-load-balancer":
			note("network", ns[0], false)
		}
	}
}
