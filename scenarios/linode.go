package scenarios

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/events"
)

// linodeWorld is the Linode account a scenario plays: its objects, their ids
// and labels, and the next event id.
type linodeWorld struct {
	e        *Engine
	nextID   int64 // next event id; keeps growing across loops
	objs     map[string]*linodeObjs
	username string
}

// linodeObj is one object of the account (a Linode, a volume, a domain...).
type linodeObj struct {
	id       int64
	label    string
	configID int64 // Linodes: the config their boots use
	diskIDs  map[string]int64
	busy     time.Time
}

type linodeObjs struct {
	list   []*linodeObj
	nextID int64
	shard  *shardInfo
}

// First ids per kind, so ids look like the real ones.
var linodeIDBase = map[string]int64{
	"linode": 41000000, "volume": 512000, "domain": 2100000, "firewall": 310000, "nodebalancer": 120000,
	"user": 700, "token": 9100000, "ticket": 18500000, "config": 45000000, "disk": 88000000,
	"image": 21000000, "record": 30000000,
}

func newLinodeWorld(e *Engine) *linodeWorld {
	w := &linodeWorld{e: e, nextID: e.s.Linode.FirstID}
	w.reset()
	return w
}

func (w *linodeWorld) reset() {
	w.objs = map[string]*linodeObjs{}
	w.username = w.e.s.Linode.Username
	if w.username == "" {
		// Derived from the seed alone, so it does not depend on any track.
		w.username = fmt.Sprintf("ops-%x", uint32(w.e.seed*2654435761))
	}
}

func (w *linodeWorld) kind(k string) *linodeObjs {
	o := w.objs[k]
	if o == nil {
		o = &linodeObjs{nextID: linodeIDBase[k], shard: w.e.shard}
		if o.nextID == 0 {
			o.nextID = 1000
		}
		w.objs[k] = o
	}
	return o
}

func (o *linodeObjs) find(label string) *linodeObj {
	for _, x := range o.list {
		if x.label == label {
			return x
		}
	}
	return nil
}

func (o *linodeObjs) add(t *track, label string) *linodeObj {
	x := &linodeObj{id: o.newID(t), label: label, diskIDs: map[string]int64{}}
	o.list = append(o.list, x)
	return x
}

// newID gives the next id of the kind without keeping an object: for what
// the world never looks up again (configs, disks, records), and for what a
// mix makes beyond its cap, so an endless mix holds constant memory.
func (o *linodeObjs) newID(t *track) int64 {
	o.nextID += 1 + int64(t.rng.Intn(40))
	if o.shard != nil {
		return o.shard.id(o.nextID)
	}
	return o.nextID
}

// free returns the objects not busy at now.
func (o *linodeObjs) free(now time.Time) []*linodeObj {
	var out []*linodeObj
	for _, y := range o.list {
		if !y.busy.After(now) {
			out = append(out, y)
		}
	}
	return out
}

// firstFree returns when the first of the objects stops being busy; the list
// must not be empty.
func (o *linodeObjs) firstFree() time.Time {
	at := o.list[0].busy
	for _, y := range o.list[1:] {
		if y.busy.Before(at) {
			at = y.busy
		}
	}
	return at
}

func (o *linodeObjs) remove(x *linodeObj) {
	for i, y := range o.list {
		if y == x {
			o.list = append(o.list[:i], o.list[i+1:]...)
			return
		}
	}
}

// linodeVerb says what a high-level Linode verb does.
type linodeVerb struct {
	actions []string // events it makes, in order
	kind    string   // kind of object acted on
	create  bool
	remove  bool
	target  string // kind of object named by the target argument
}

var linodeVerbs = map[string]linodeVerb{
	"linode.create":        {actions: []string{"linode_create"}, kind: "linode", create: true},
	"linode.boot":          {actions: []string{"linode_boot"}, kind: "linode"},
	"linode.reboot":        {actions: []string{"linode_reboot"}, kind: "linode"},
	"linode.shutdown":      {actions: []string{"linode_shutdown"}, kind: "linode"},
	"linode.resize":        {actions: []string{"linode_resize_create", "linode_resize"}, kind: "linode"},
	"linode.migrate":       {actions: []string{"linode_migrate_datacenter_create", "linode_migrate_datacenter"}, kind: "linode"},
	"linode.rebuild":       {actions: []string{"linode_rebuild"}, kind: "linode"},
	"linode.clone":         {actions: []string{"linode_clone"}, kind: "linode", target: "new-linode"},
	"linode.update":        {actions: []string{"linode_update"}, kind: "linode"},
	"linode.delete":        {actions: []string{"linode_delete"}, kind: "linode", remove: true},
	"disk.create":          {actions: []string{"disk_create"}, kind: "linode", target: "new-disk"},
	"disk.resize":          {actions: []string{"disk_resize"}, kind: "linode", target: "disk"},
	"disk.delete":          {actions: []string{"disk_delete"}, kind: "linode", target: "disk"},
	"volume.create":        {actions: []string{"volume_create"}, kind: "volume", create: true},
	"volume.attach":        {actions: []string{"volume_attach"}, kind: "volume", target: "linode"},
	"volume.detach":        {actions: []string{"volume_detach"}, kind: "volume"},
	"volume.resize":        {actions: []string{"volume_resize"}, kind: "volume"},
	"volume.delete":        {actions: []string{"volume_delete"}, kind: "volume", remove: true},
	"domain.create":        {actions: []string{"dns_zone_create"}, kind: "domain", create: true},
	"domain.record-create": {actions: []string{"dns_record_create"}, kind: "domain", target: "new-record"},
	"domain.record-delete": {actions: []string{"dns_record_delete"}, kind: "domain", target: "record"},
	"domain.delete":        {actions: []string{"dns_zone_delete"}, kind: "domain", remove: true},
	"firewall.create":      {actions: []string{"firewall_create"}, kind: "firewall", create: true},
	"firewall.update":      {actions: []string{"firewall_update"}, kind: "firewall"},
	"firewall.device-add":  {actions: []string{"firewall_device_add"}, kind: "firewall", target: "linode"},
	"firewall.delete":      {actions: []string{"firewall_delete"}, kind: "firewall", remove: true},
	"nodebalancer.create":  {actions: []string{"nodebalancer_create"}, kind: "nodebalancer", create: true},
	"nodebalancer.update":  {actions: []string{"nodebalancer_update"}, kind: "nodebalancer"},
	"nodebalancer.delete":  {actions: []string{"nodebalancer_delete"}, kind: "nodebalancer", remove: true},
	"user.create":          {actions: []string{"user_create"}, kind: "user", create: true},
	"user.update":          {actions: []string{"user_update"}, kind: "user"},
	"user.delete":          {actions: []string{"user_delete"}, kind: "user", remove: true},
	"token.create":         {actions: []string{"token_create"}, kind: "token", create: true},
	"token.delete":         {actions: []string{"token_delete"}, kind: "token", remove: true},
	"ticket.create":        {actions: []string{"ticket_create"}, kind: "ticket", create: true},
	"ticket.update":        {actions: []string{"ticket_update"}, kind: "ticket"},
	"backups.enable":       {actions: []string{"backups_enable"}, kind: "linode"},
	"backups.cancel":       {actions: []string{"backups_cancel"}, kind: "linode"},
	"backups.restore":      {actions: []string{"backups_restore"}, kind: "linode", target: "linode"},
}

// linodeVerbKinds are the kinds verbs act on, whose objects the world keeps
// for later steps to find.
var linodeVerbKinds = func() map[string]bool {
	out := map[string]bool{}
	for _, v := range linodeVerbs {
		out[v.kind] = true
	}
	return out
}()

func (w *linodeWorld) checkArgs(st *Step) error {
	if st.Verb == "action" {
		name := arg(st, "action")
		if w.e.lcat.Action(name) == nil {
			a := st.Args["action"]
			return &Error{Pos: a.Pos, Msg: fmt.Sprintf("unknown Linode action %q%s", name, suggest(name, w.e.lcat.Names()))}
		}
	}
	return nil
}

func (w *linodeWorld) newLabel(t *track, kind string) string {
	if w.e.shard == nil {
		return w.label(t, kind)
	}
	if kind == "domain" {
		return w.e.shard.tagDomain(w.label(t, kind))
	}
	return w.e.shard.tag(w.label(t, kind))
}

func (w *linodeWorld) label(t *track, kind string) string {
	switch kind {
	case "domain":
		return strings.ToLower(t.fake.f.DomainName())
	case "user":
		return t.fake.username()
	case "ticket":
		return t.fake.sentence()
	case "token":
		return t.fake.label("ci")
	case "volume":
		return t.fake.label("vol")
	case "firewall":
		return t.fake.label("fw")
	case "nodebalancer":
		return t.fake.label("nb")
	}
	return t.fake.label("app")
}

// run plays a Linode verb and returns when its caller moves on: when the
// event has finished, unless the step says async or runs in a mix.
func (w *linodeWorld) run(t *track, st *Step, inMix bool) (time.Time, error) {
	return w.play(t, st, inMix, 0)
}

func (w *linodeWorld) play(t *track, st *Step, inMix bool, hops int) (time.Time, error) {
	if err := w.checkArgs(st); err != nil {
		return t.now, err
	}
	switch st.Verb {
	case "action":
		return w.generic(t, st, inMix)
	case "tour":
		end := t.now
		for _, a := range w.e.lcat.Actions {
			s2 := *st
			s2.Args = map[string]Arg{"action": {Value: a.Name, Pos: st.Pos}, "async": {Value: true, Pos: st.Pos}}
			t2 := *t
			t2.now = end
			e, err := w.generic(&t2, &s2, inMix)
			if err != nil {
				return end, err
			}
			end = e.Add(time.Second)
		}
		return end, nil
	}
	v := linodeVerbs[st.Verb]
	objs := w.kind(v.kind)
	label := arg(st, "label")
	var x *linodeObj
	switch {
	case v.create, inMix && v.target == "new-linode" && len(w.kind("linode").list) >= populationCap:
		if inMix && v.target == "new-linode" {
			// A clone makes a Linode: at the cap, delete one instead.
			return w.runVerb(t, st, "linode.delete", hops)
		}
		if inMix && len(objs.list) >= populationCap {
			del := deleteLinodeVerb(v.kind)
			if del != "" {
				// At the cap with every object busy, the mix waits for
				// the first to be free and deletes it, as a client at
				// its concurrency limit would.
				if len(objs.free(t.now)) == 0 {
					t.now = objs.firstFree()
				}
				return w.runVerb(t, st, del, hops)
			}
			// Nothing deletes this kind (a ticket is closed, never
			// deleted): the world forgets the oldest one.
			objs.list = append(objs.list[:0], objs.list[1:]...)
		}
		if label == "" || inMix {
			label = w.newLabel(t, v.kind)
		}
		if objs.find(label) != nil && !inMix {
			return t.now, argErr(st, "label", "%s %q already exists", v.kind, label)
		}
		x = objs.add(t, label)
		if v.kind == "linode" {
			x.configID = w.kind("config").newID(t)
		}
	default:
		if label != "" && !inMix {
			x = objs.find(label)
			if x == nil {
				return t.now, argErr(st, "label", "%s %q does not exist; existing: %s", v.kind, label, listOrNone(objs.labels()))
			}
		} else {
			free := objs.free(t.now)
			if len(free) == 0 {
				if !inMix {
					return t.now, &Error{Pos: st.Pos, Msg: fmt.Sprintf("no %s exists for %s to act on; create one first", v.kind, st.Verb)}
				}
				if len(objs.list) < populationCap {
					return w.runVerb(t, st, createLinodeVerb(v.kind), hops)
				}
				// At the cap with every object busy: wait for the first
				// to be free, rather than make or delete one.
				t.now = objs.firstFree()
				free = objs.free(t.now)
			}
			x = free[t.rng.Intn(len(free))]
		}
	}
	// The secondary entity, when the verb names one.
	var sec *events.LinodeEntity
	switch v.target {
	case "linode":
		tl := arg(st, "target")
		var y *linodeObj
		if tl != "" && !inMix {
			if y = w.kind("linode").find(tl); y == nil {
				return t.now, argErr(st, "target", "linode %q does not exist; existing: %s", tl, listOrNone(w.kind("linode").labels()))
			}
		} else if l := w.kind("linode").list; len(l) > 0 {
			y = l[t.rng.Intn(len(l))]
		} else {
			return w.runVerb(t, st, "linode.create", hops)
		}
		sec = &events.LinodeEntity{ID: y.id, Label: y.label, Type: "linode", URL: fmt.Sprintf("/v4/linode/instances/%d", y.id)}
	case "new-linode":
		tl := arg(st, "target")
		if tl == "" || inMix {
			tl = w.newLabel(t, "linode")
		}
		y := w.kind("linode").add(t, tl)
		y.configID = w.kind("config").newID(t)
		sec = &events.LinodeEntity{ID: y.id, Label: y.label, Type: "linode", URL: fmt.Sprintf("/v4/linode/instances/%d", y.id)}
	case "new-disk", "disk":
		dl := arg(st, "target")
		id, ok := x.diskIDs[dl]
		if v.target == "disk" && dl != "" && !ok && !inMix {
			return t.now, argErr(st, "target", "disk %q does not exist on %s", dl, x.label)
		}
		if !ok {
			if dl == "" {
				dl = fmt.Sprintf("Debian 12 Disk %d", len(x.diskIDs)+1)
			}
			id = w.kind("disk").newID(t)
			if !inMix || len(x.diskIDs) < populationCap {
				x.diskIDs[dl] = id
			}
		}
		if st.Verb == "disk.delete" {
			delete(x.diskIDs, dl)
		}
		sec = &events.LinodeEntity{ID: id, Label: dl, Type: "disk", URL: fmt.Sprintf("/v4/linode/instances/%d/disks/%d", x.id, id)}
	case "new-record", "record":
		rl := orDefault(arg(st, "target"), "www")
		id := w.kind("record").newID(t)
		sec = &events.LinodeEntity{ID: id, Label: rl, Type: "domain_record", URL: fmt.Sprintf("/v4/domains/%d/records/%d", x.id, id)}
	}
	at := t.now
	var end time.Time
	for _, name := range v.actions {
		a := w.e.lcat.Action(name)
		ent := w.entity(a, x)
		s := sec
		if s == nil {
			s = w.secondary(t, a, x, !inMix)
		}
		end = w.start(t, st, a, at, ent, s)
		at = end.Add(time.Duration(1+t.rng.Intn(3)) * time.Second)
	}
	if v.remove {
		objs.remove(x)
	}
	x.busy = end
	if inMix || flagArg(st, "async") {
		return t.now.Add(time.Duration(200+t.rng.Intn(400)) * time.Millisecond), nil
	}
	return end, nil
}

func flagArg(st *Step, name string) bool {
	if a, ok := st.Args[name]; ok {
		b, _ := a.Value.(bool)
		return b
	}
	return false
}

func (o *linodeObjs) labels() []string {
	out := make([]string, len(o.list))
	for i, x := range o.list {
		out[i] = x.label
	}
	return out
}

// runVerb plays verb instead of the one a mix picked, because the world
// cannot take the picked one now (nothing to act on, or a kind at its cap).
// hops counts the swaps made for one pick: each swap ends in a verb that
// plays, so more than two means a bug, reported rather than recursed into.
func (w *linodeWorld) runVerb(t *track, st *Step, verb string, hops int) (time.Time, error) {
	if verb == "" {
		return t.now, nil
	}
	if hops >= maxSwaps {
		return t.now, &Error{Pos: st.Pos, Msg: fmt.Sprintf("mix verb %s: no verb could play after %d swaps (last %s); this is a bug in eventsim", st.Verb, hops, verb)}
	}
	s2 := *st
	s2.Verb = verb
	s2.Args = map[string]Arg{}
	return w.play(t, &s2, true, hops+1)
}

// maxSwaps bounds how many times a mix verb gives way to another.
const maxSwaps = 3

func deleteLinodeVerb(kind string) string {
	for name, v := range linodeVerbs {
		if v.kind == kind && v.remove {
			return name
		}
	}
	return ""
}

func createLinodeVerb(kind string) string {
	for name, v := range linodeVerbs {
		if v.kind == kind && v.create {
			return name
		}
	}
	return ""
}

// entity builds the primary entity of an event about x.
func (w *linodeWorld) entity(a *catalog.LinodeAction, x *linodeObj) *events.LinodeEntity {
	e := &events.LinodeEntity{Label: x.label, Type: a.EntityType}
	switch a.EntityID {
	case "int":
		e.ID = x.id
	case "name":
		e.ID = x.label
	}
	u := strings.ReplaceAll(a.EntityURL, "{id}", strconv.FormatInt(x.id, 10))
	u = strings.ReplaceAll(u, "{label}", x.label)
	u = strings.ReplaceAll(u, "{parent}", strconv.FormatInt(x.id/7, 10))
	e.URL = u
	return e
}

// secondary builds the secondary entity the catalogue says an action has.
// keep says the world remembers the secondary object, for later steps to
// name; a mix keeps nothing it makes this way, so it holds constant memory.
func (w *linodeWorld) secondary(t *track, a *catalog.LinodeAction, x *linodeObj, keep bool) *events.LinodeEntity {
	switch a.SecondaryType {
	case "":
		return nil
	case "linode_config":
		cid := x.configID
		if cid == 0 {
			cid = w.kind("config").newID(t)
			x.configID = cid
		}
		return &events.LinodeEntity{ID: cid, Label: "My Debian 12 Disk Profile", Type: "linode_config", URL: fmt.Sprintf("/v4/linode/instances/%d/configs/%d", x.id, cid)}
	case "image":
		return &events.LinodeEntity{ID: "linode/debian12", Label: "Debian 12", Type: "image", URL: "/v4/images/linode/debian12"}
	}
	var id int64
	if objs := w.kind(a.SecondaryType); keep && linodeVerbKinds[a.SecondaryType] {
		id = objs.add(t, "").id
	} else {
		id = objs.newID(t)
	}
	u := strings.ReplaceAll(a.SecondaryURL, "{id}", strconv.FormatInt(x.id, 10))
	u = strings.ReplaceAll(u, "{secondary}", strconv.FormatInt(id, 10))
	return &events.LinodeEntity{ID: id, Label: fmt.Sprintf("%s-%d", a.SecondaryType, id%1000), Type: a.SecondaryType, URL: u}
}

// generic plays any catalogue action.
func (w *linodeWorld) generic(t *track, st *Step, inMix bool) (time.Time, error) {
	a := w.e.lcat.Action(arg(st, "action"))
	x := &linodeObj{label: orDefault(arg(st, "label"), w.newLabel(t, a.EntityType))}
	if inMix {
		x.id = w.kind(a.EntityType).newID(t)
	} else {
		x.id = w.kind(a.EntityType).add(t, x.label).id
	}
	ent := w.entity(a, x)
	if e, ok := st.Args["entity"]; ok {
		applyEntity(ent, e.Value.(map[string]any))
	}
	sec := w.secondary(t, a, x, !inMix)
	if s, ok := st.Args["secondary"]; ok {
		if sec == nil {
			sec = &events.LinodeEntity{}
		}
		applyEntity(sec, s.Value.(map[string]any))
	}
	end := w.start(t, st, a, t.now, ent, sec)
	if inMix || flagArg(st, "async") {
		return t.now.Add(300 * time.Millisecond), nil
	}
	return end, nil
}

func applyEntity(e *events.LinodeEntity, m map[string]any) {
	if v, ok := m["id"]; ok {
		if f, ok := v.(float64); ok && f == math.Trunc(f) {
			e.ID = int64(f)
		} else {
			e.ID = v
		}
	}
	if v, ok := m["label"].(string); ok {
		e.Label = v
	}
	if v, ok := m["type"].(string); ok {
		e.Type = v
	}
	if v, ok := m["url"].(string); ok {
		e.URL = v
	}
}

// start puts one event on the timeline and returns when it ends.
func (w *linodeWorld) start(t *track, st *Step, a *catalog.LinodeAction, at time.Time, ent, sec *events.LinodeEntity) time.Time {
	username := orDefault(arg(st, "username"), w.username)
	ev := events.LinodeEvent{
		ID: w.e.shard.id(w.nextID), Action: a.Name, Created: events.LinodeTime(at), Entity: ent, SecondaryEntity: sec,
		Username: &username, Details: json.RawMessage(`{}`),
	}
	w.nextID++
	if m := arg(st, "message"); m != "" {
		ev.Message = &m
	}
	if !a.Long {
		ev.Status = events.LinodeNotification
		w.e.schedule(at, nil, &linodeProc{ev: ev, done: true})
		return at.Add(time.Second)
	}
	took := t.between(a.MinDuration, a.MaxDuration)
	if d, ok := st.Args["took"]; ok {
		took = d.Value.(time.Duration)
	}
	p := newLinodeProc(ev, a, at, took, arg(st, "fail"), t.rng)
	w.e.schedule(at, nil, p)
	return p.end()
}

// newLinodeProc plans a long event starting at at and taking took: when it
// shows started, and the percent_complete steps after that (failing at one
// of them, with fail as the message, when fail is not empty).
func newLinodeProc(ev events.LinodeEvent, a *catalog.LinodeAction, at time.Time, took time.Duration, fail string, rng *rand.Rand) *linodeProc {
	p := &linodeProc{ev: ev, start: at, took: took, rate: a.Rate, fail: fail}
	p.ev.Status = events.LinodeScheduled
	zero := 0
	p.ev.PercentComplete = &zero
	// Progress points: when the event is next seen changed, and by how much.
	p.started = at.Add(time.Duration(1+rng.Intn(3)) * time.Second)
	n := 3 + rng.Intn(4)
	if took < 10*time.Second {
		n = 1
	}
	failAt := -1
	if p.fail != "" {
		failAt = rng.Intn(n)
	}
	pct := 0
	for i := 0; i < n; i++ {
		frac := float64(i+1) / float64(n+1)
		step := int(100*frac) + rng.Intn(5) - 2
		if step <= pct {
			step = pct + 1
		}
		if step > 99 {
			step = 99
		}
		pct = step
		p.points = append(p.points, progress{at: p.started.Add(time.Duration(frac * float64(took))), pct: pct})
		if i == failAt {
			p.points[i].fail = true
			break
		}
	}
	return p
}

// end is when the event finishes, or fails.
func (p *linodeProc) end() time.Time {
	if l := len(p.points); l > 0 && p.points[l-1].fail {
		return p.points[l-1].at
	}
	return p.started.Add(p.took)
}

// LinodeState is one state of a Linode event and when it shows.
type LinodeState struct {
	At    time.Time
	Event events.LinodeEvent
}

// LinodeStates returns every state of ev as the engine plays it when it
// starts at at: a notification alone for a short action, otherwise
// scheduled, started, its percent_complete steps and finished, or failed
// with fail as the message. took is how long a long action runs; rng draws
// the progress points. A REST write and a scenario verb thus make the same
// events for the same change.
func LinodeStates(ev events.LinodeEvent, a *catalog.LinodeAction, at time.Time, took time.Duration, fail string, rng *rand.Rand) []LinodeState {
	if !a.Long {
		ev.Status = events.LinodeNotification
		ev.PercentComplete, ev.Duration = nil, nil
		return []LinodeState{{At: at, Event: ev}}
	}
	p := newLinodeProc(ev, a, at, took, fail, rng)
	out := make([]LinodeState, 1, len(p.points)+3)
	out[0] = LinodeState{At: at, Event: p.ev}
	for {
		next, ok := p.advance()
		if !ok {
			return out
		}
		out = append(out, LinodeState{At: next, Event: p.ev})
	}
}

// LinodeVerbActions returns the actions a Linode verb makes, in order, or
// nil for an unknown verb.
func LinodeVerbActions(verb string) []string {
	return slices.Clone(linodeVerbs[verb].actions)
}

type progress struct {
	at   time.Time
	pct  int
	fail bool
}

// linodeProc is one Linode event in flight: each time it comes due it shows
// its next state, until it has finished or failed.
type linodeProc struct {
	ev      events.LinodeEvent
	start   time.Time
	started time.Time
	took    time.Duration
	rate    bool
	fail    string
	points  []progress
	step    int // 0 scheduled, 1 started, 2.. progress points, then final
	done    bool
}

// record returns the event as it stands at this moment.
func (p *linodeProc) record(at time.Time) *Record {
	ev := p.ev // a copy: the store keeps it while the process moves on
	return &Record{API: "linode", Linode: &ev}
}

// advance moves the event to its next state and says when that shows.
func (p *linodeProc) advance() (time.Time, bool) {
	if p.done || p.ev.Status == events.LinodeFinished || p.ev.Status == events.LinodeFailed {
		return time.Time{}, false
	}
	elapsed := func(at time.Time) *float64 {
		d := math.Round(at.Sub(p.start).Seconds()*1000) / 1000
		return &d
	}
	switch {
	case p.step == 0:
		p.step++
		p.ev.Status = events.LinodeStarted
		p.ev.Duration = elapsed(p.started)
		return p.started, true
	case p.step-1 < len(p.points):
		pt := p.points[p.step-1]
		p.step++
		pct := pt.pct
		p.ev.PercentComplete = &pct
		p.ev.Duration = elapsed(pt.at)
		if pt.fail {
			p.ev.Status = events.LinodeFailed
			msg := p.fail
			p.ev.Message = &msg
			d := math.Floor(*p.ev.Duration)
			p.ev.Duration = &d
			return pt.at, true
		}
		if p.rate {
			left := time.Duration(float64(p.took) * float64(100-pct) / 100)
			r := fmt.Sprintf("%d.%02d MB/s", 40+pct%37, pct%100)
			p.ev.Rate = &r
			p.ev.TimeRemaining = formatRemaining(left)
		}
		return pt.at, true
	default:
		end := p.started.Add(p.took)
		hundred := 100
		p.ev.PercentComplete = &hundred
		d := math.Round(end.Sub(p.start).Seconds())
		p.ev.Duration = &d
		p.ev.Status = events.LinodeFinished
		p.ev.TimeRemaining = 0
		if p.rate {
			p.ev.Rate = nil
		}
		return end, true
	}
}

// formatRemaining writes time_remaining as the API does: "h:mm:ss".
func formatRemaining(d time.Duration) string {
	s := int(d.Round(time.Second).Seconds())
	return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
}
