package scenarios

import (
	"encoding/json"
	"fmt"
	"math"
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
	o.nextID += 1 + int64(t.rng.Intn(40))
	x := &linodeObj{id: o.nextID, label: label, diskIDs: map[string]int64{}}
	if o.shard != nil {
		x.id = o.shard.id(o.nextID)
	}
	o.list = append(o.list, x)
	return x
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
			e, err := w.generic(&t2, &s2, false)
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
	case v.create:
		if inMix && len(objs.list) >= populationCap {
			return w.runVerb(t, st, deleteLinodeVerb(v.kind), inMix)
		}
		if label == "" || inMix {
			label = w.newLabel(t, v.kind)
		}
		if objs.find(label) != nil && !inMix {
			return t.now, argErr(st, "label", "%s %q already exists", v.kind, label)
		}
		x = objs.add(t, label)
		if v.kind == "linode" {
			x.configID = w.kind("config").add(t, "").id
		}
	default:
		if label != "" && !inMix {
			x = objs.find(label)
			if x == nil {
				return t.now, argErr(st, "label", "%s %q does not exist; existing: %s", v.kind, label, listOrNone(objs.labels()))
			}
		} else {
			var free []*linodeObj
			for _, y := range objs.list {
				if !y.busy.After(t.now) {
					free = append(free, y)
				}
			}
			if len(free) == 0 {
				if inMix {
					return w.runVerb(t, st, createLinodeVerb(v.kind), inMix)
				}
				return t.now, &Error{Pos: st.Pos, Msg: fmt.Sprintf("no %s exists for %s to act on; create one first", v.kind, st.Verb)}
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
			return w.runVerb(t, st, "linode.create", inMix)
		}
		sec = &events.LinodeEntity{ID: y.id, Label: y.label, Type: "linode", URL: fmt.Sprintf("/v4/linode/instances/%d", y.id)}
	case "new-linode":
		tl := arg(st, "target")
		if tl == "" || inMix {
			tl = w.newLabel(t, "linode")
		}
		y := w.kind("linode").add(t, tl)
		y.configID = w.kind("config").add(t, "").id
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
			id = w.kind("disk").add(t, dl).id
			x.diskIDs[dl] = id
		}
		if st.Verb == "disk.delete" {
			delete(x.diskIDs, dl)
		}
		sec = &events.LinodeEntity{ID: id, Label: dl, Type: "disk", URL: fmt.Sprintf("/v4/linode/instances/%d/disks/%d", x.id, id)}
	case "new-record", "record":
		rl := orDefault(arg(st, "target"), "www")
		id := w.kind("record").add(t, rl).id
		sec = &events.LinodeEntity{ID: id, Label: rl, Type: "domain_record", URL: fmt.Sprintf("/v4/domains/%d/records/%d", x.id, id)}
	}
	at := t.now
	var end time.Time
	for _, name := range v.actions {
		a := w.e.lcat.Action(name)
		ent := w.entity(a, x)
		s := sec
		if s == nil {
			s = w.secondary(t, a, x)
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

func (w *linodeWorld) runVerb(t *track, st *Step, verb string, inMix bool) (time.Time, error) {
	if verb == "" {
		return t.now, nil
	}
	s2 := *st
	s2.Verb = verb
	s2.Args = map[string]Arg{}
	return w.run(t, &s2, true)
}

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
func (w *linodeWorld) secondary(t *track, a *catalog.LinodeAction, x *linodeObj) *events.LinodeEntity {
	switch a.SecondaryType {
	case "":
		return nil
	case "linode_config":
		cid := x.configID
		if cid == 0 {
			cid = w.kind("config").add(t, "").id
			x.configID = cid
		}
		return &events.LinodeEntity{ID: cid, Label: "My Debian 12 Disk Profile", Type: "linode_config", URL: fmt.Sprintf("/v4/linode/instances/%d/configs/%d", x.id, cid)}
	case "image":
		return &events.LinodeEntity{ID: "linode/debian12", Label: "Debian 12", Type: "image", URL: "/v4/images/linode/debian12"}
	}
	id := w.kind(a.SecondaryType).add(t, "").id
	u := strings.ReplaceAll(a.SecondaryURL, "{id}", strconv.FormatInt(x.id, 10))
	u = strings.ReplaceAll(u, "{secondary}", strconv.FormatInt(id, 10))
	return &events.LinodeEntity{ID: id, Label: fmt.Sprintf("%s-%d", a.SecondaryType, id%1000), Type: a.SecondaryType, URL: u}
}

// generic plays any catalogue action.
func (w *linodeWorld) generic(t *track, st *Step, inMix bool) (time.Time, error) {
	a := w.e.lcat.Action(arg(st, "action"))
	x := &linodeObj{label: orDefault(arg(st, "label"), w.newLabel(t, a.EntityType))}
	x.id = w.kind(a.EntityType).add(t, x.label).id
	ent := w.entity(a, x)
	if e, ok := st.Args["entity"]; ok {
		applyEntity(ent, e.Value.(map[string]any))
	}
	sec := w.secondary(t, a, x)
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
	p := &linodeProc{ev: ev, start: at, took: took, rate: a.Rate, fail: arg(st, "fail")}
	p.ev.Status = events.LinodeScheduled
	zero := 0
	p.ev.PercentComplete = &zero
	// Progress points: when the event is next seen changed, and by how much.
	p.started = at.Add(time.Duration(1+t.rng.Intn(3)) * time.Second)
	n := 3 + t.rng.Intn(4)
	if took < 10*time.Second {
		n = 1
	}
	failAt := -1
	if p.fail != "" {
		failAt = t.rng.Intn(n)
	}
	pct := 0
	for i := 0; i < n; i++ {
		frac := float64(i+1) / float64(n+1)
		step := int(100*frac) + t.rng.Intn(5) - 2
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
	end := p.started.Add(took)
	if failAt >= 0 {
		end = p.points[len(p.points)-1].at
	}
	w.e.schedule(at, nil, p)
	return end
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
