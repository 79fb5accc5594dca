package conformance

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/events"
	"github.com/eventsim/eventsim/schemas"
	"github.com/eventsim/eventsim/world"
)

// Event-level check ids. Each runs on every observed event, offline or live.
const (
	IDEventsSchema         = "lxd.events.schema"
	IDEventsTimestamp      = "lxd.events.timestamp"
	IDEventsClock          = "lxd.events.clock"
	IDEventsLocation       = "lxd.events.location"
	IDEventsOrder          = "lxd.events.order"
	IDOperationStatus      = "lxd.operation.status"
	IDOperationTransitions = "lxd.operation.transitions"
	IDOperationTimes       = "lxd.operation.times"
	IDLifecycleAction      = "lxd.lifecycle.action"
	IDLifecycleSource      = "lxd.lifecycle.source"
	IDLifecycleContext     = "lxd.lifecycle.context"
	IDLifecycleRequestor   = "lxd.lifecycle.requestor"
	IDLifecycleAfterDelete = "lxd.lifecycle.after-delete"
)

var eventCheckNames = map[string]string{
	IDEventsSchema:         "every event matches the lxd-event schema",
	IDEventsTimestamp:      "timestamps are RFC 3339",
	IDEventsClock:          "timestamps are near the local clock",
	IDEventsLocation:       "location is present and consistent",
	IDEventsOrder:          "events arrive in timestamp order",
	IDOperationStatus:      "operation status and status_code agree",
	IDOperationTransitions: "operations follow LXD's state machine",
	IDOperationTimes:       "operation created_at and updated_at are consistent",
	IDLifecycleAction:      "lifecycle actions are in the flavour's catalogue",
	IDLifecycleSource:      "lifecycle sources match the action's path and project rule",
	IDLifecycleContext:     "lifecycle context carries the catalogue's keys",
	IDLifecycleRequestor:   "lifecycle requestor is present where the daemon sends one",
	IDLifecycleAfterDelete: "no lifecycle event mentions an object after its deletion unless it is made again",
}

var eventCheckOrder = []string{
	IDEventsSchema, IDEventsTimestamp, IDEventsClock, IDEventsLocation, IDEventsOrder,
	IDOperationStatus, IDOperationTransitions, IDOperationTimes,
	IDLifecycleAction, IDLifecycleSource, IDLifecycleContext, IDLifecycleRequestor, IDLifecycleAfterDelete,
}

// Validator checks a JSON document against a named schema (see package
// schemas). It must be safe for concurrent use.
type Validator func(schema string, doc []byte) error

// EventOptions configures the event-level checks.
type EventOptions struct {
	// Flavor selects the action catalogue; "" means catalog.DefaultFlavor.
	Flavor catalog.Flavor
	// Strict turns known quirks and unknown actions into failures.
	Strict bool
	// Validate is the schema validator; nil means schemas.Validate.
	Validate Validator
	// FullValidation runs gojsonschema on every event. Unset, and with the
	// default Validate, each distinct event shape is validated in full once
	// and the value rules a shape does not fix are checked on every event
	// (schemas.Validator).
	FullValidation bool
	// ClockTolerance bounds |timestamp - time received|; 0 means 10s. Only
	// observations with a Received time are checked.
	ClockTolerance time.Duration
	// ReorderWindow is how long (in event time) an operation's events are
	// held after its final state so late siblings delivered out of order can
	// still be put in timestamp order; 0 means 2s.
	ReorderWindow time.Duration
	// Clustered says the events come from a cluster, whose members each
	// stamp their own location. Unset, all events must share one location.
	Clustered bool
}

// Observation is one event as it was received.
type Observation struct {
	// Raw is the event's JSON, exactly as received.
	Raw []byte
	// Received is when it arrived; zero for events read from a file, which
	// skips the clock check.
	Received time.Time
}

// EventChecker runs the event-level checks over a stream of observations.
// It is not safe for concurrent use: feed it from one goroutine.
type EventChecker struct {
	opts     EventOptions
	cat      *catalog.LXDCatalog
	validate Validator
	rec      map[string]*recorder
	shapes   *schemas.Validator // nil: c.validate on every event

	n          int
	first      time.Time // timestamp of the first event: the stream's start
	last       time.Time // latest timestamp seen
	sawClock   bool
	locations  map[string]int
	ops        map[string]*opTrack
	doneOps    map[string]time.Time
	types      map[string]int
	actions    map[string]int
	outOfOrder int
	// world is the stream folded, for the state checks; deleted holds the
	// objects the stream deleted and did not make again.
	world   *world.World
	deleted map[world.Key]bool
	// deletedUnder indexes the deleted objects that have a parent (a
	// snapshot under its instance, a record under its zone) by each of
	// their parents' paths, so that a parent made again, by a create or by
	// a rename onto its name, brings its children's names back to life.
	deletedUnder map[parentPath]map[world.Key]struct{}
	// nextFlush is the event time after which some finished operation's
	// reorder window has passed; zero when none is waiting.
	nextFlush time.Time
	tl        timelineBuilder
}

// NewEventChecker makes a checker for the given options.
func NewEventChecker(opts EventOptions) (*EventChecker, error) {
	cat, err := catalog.LXD(opts.Flavor)
	if err != nil {
		return nil, &ConfigError{Field: "flavor", Msg: err.Error()}
	}
	if opts.ClockTolerance <= 0 {
		opts.ClockTolerance = 10 * time.Second
	}
	if opts.ReorderWindow <= 0 {
		opts.ReorderWindow = 2 * time.Second
	}
	c := &EventChecker{
		opts: opts, cat: cat, validate: opts.Validate,
		rec:          map[string]*recorder{},
		locations:    map[string]int{},
		ops:          map[string]*opTrack{},
		doneOps:      map[string]time.Time{},
		types:        map[string]int{},
		actions:      map[string]int{},
		world:        world.New(cat.Flavor),
		deleted:      map[world.Key]bool{},
		deletedUnder: map[parentPath]map[world.Key]struct{}{},
	}
	if c.validate == nil {
		c.validate = schemas.Validate
		if !opts.FullValidation {
			if c.shapes, err = schemas.NewValidator(schemas.LXDEvent); err != nil {
				return nil, err
			}
		}
	}
	for _, id := range eventCheckOrder {
		c.rec[id] = newRecorder(id, eventCheckNames[id])
	}
	return c, nil
}

// Events returns how many events were observed.
func (c *EventChecker) Events() int { return c.n }

// opTrack holds one operation's events until they can be judged in
// timestamp order.
type opTrack struct {
	evs     []opEvent
	final   bool
	finalTS time.Time
}

type opEvent struct {
	ts      time.Time
	code    int
	created time.Time
	updated time.Time
	raw     []byte
}

// Observe checks one event.
func (c *EventChecker) Observe(o Observation) { c.apply(c.prepare(o)) }

// prepared is an event read and judged against the schema: the part of
// the work that needs nothing of the events before it, so a file's events
// are prepared on every core and applied in order (CheckLXDFile).
type prepared struct {
	o         Observation
	raw       []byte
	f         lxdFields
	parseErr  error
	schemaErr error
}

// prepare reads and validates one event. It reads the fields the checks
// need from the event's bytes in the same pass as its shape, and decodes
// the event only when its bytes cannot be read that way. It is safe for
// concurrent use.
func (c *EventChecker) prepare(o Observation) prepared {
	p := prepared{o: o, raw: bytes.TrimSpace(o.Raw)}
	if len(p.raw) > 0 && p.raw[0] == '{' {
		mb := memberBufs.Get().(*[]schemas.Member)
		defer memberBufs.Put(mb)
		var read bool
		var err error
		if c.shapes != nil {
			*mb, read, err = c.shapes.ValidateMembers(p.raw, memberDepth, (*mb)[:0])
		} else if *mb, read = schemas.ReadMembers(p.raw, memberDepth, (*mb)[:0]); read {
			err = c.validate(schemas.LXDEvent, p.raw)
		}
		if read {
			p.f, p.schemaErr = fieldsFromMembers(p.raw, *mb), err
			return p
		}
	}
	var ev map[string]any
	if err := json.Unmarshal(p.raw, &ev); err != nil || ev == nil {
		if err == nil {
			err = fmt.Errorf("null")
		}
		p.parseErr = err
		return p
	}
	p.f = fieldsFromMap(ev)
	if c.shapes != nil {
		p.schemaErr = c.shapes.ValidateValue(ev)
	} else {
		p.schemaErr = c.validate(schemas.LXDEvent, p.raw)
	}
	return p
}

// apply runs the checks that follow the stream, in order.
func (c *EventChecker) apply(p prepared) {
	c.n++
	o, raw, f := p.o, p.raw, &p.f
	schema := c.rec[IDEventsSchema]
	schema.checked++
	if p.parseErr != nil {
		schema.fail(raw, "not one JSON object: %v", p.parseErr)
		return
	}
	if p.schemaErr != nil {
		schema.fail(raw, "%v", p.schemaErr)
	}

	typ := f.typ
	c.types[typ]++
	project := f.project

	// Timestamp.
	tsRec := c.rec[IDEventsTimestamp]
	tsRec.checked++
	tsStr := f.timestamp
	ts, err := time.Parse(time.RFC3339Nano, tsStr)
	if err != nil {
		tsRec.fail(raw, "timestamp %q is not RFC 3339: %v", tsStr, err)
	} else {
		if c.first.IsZero() {
			c.first = ts
		}
		if ts.Before(c.last) {
			c.outOfOrder++
			if c.outOfOrder <= 3 {
				c.rec[IDEventsOrder].quirk(c.opts.Strict, raw, "timestamp %s is before the previous event's %s: events delivered out of order (LXD sends each event from its own goroutine)", tsStr, c.last.Format(time.RFC3339Nano))
			}
		} else {
			c.last = ts
		}
		c.rec[IDEventsOrder].checked++
		if !o.Received.IsZero() {
			c.sawClock = true
			clk := c.rec[IDEventsClock]
			clk.checked++
			if d := o.Received.Sub(ts); d > c.opts.ClockTolerance || d < -c.opts.ClockTolerance {
				clk.fail(raw, "timestamp %s is %s away from the local clock at arrival (tolerance %s)", tsStr, d.Round(time.Millisecond), c.opts.ClockTolerance)
			}
		}
	}

	// Location.
	loc := c.rec[IDEventsLocation]
	loc.checked++
	location := f.location
	if !f.hasLocation || location == "" {
		loc.fail(raw, "location is missing or empty; a standalone daemon says \"none\", a cluster member its own name")
	} else {
		c.locations[location]++
		if !c.opts.Clustered && len(c.locations) == 2 && c.locations[location] == 1 {
			loc.fail(raw, "location %q differs from the %q of earlier events, but the server is not clustered", location, c.otherLocation(location))
		}
	}

	switch typ {
	case events.LXDTypeOperation:
		if f.hasMetadata {
			c.observeOperation(raw, f, ts, location)
			c.tl.op(f.opID, f.description, project, f.status, int(f.statusCode), ts)
		}
	case events.LXDTypeLifecycle:
		if f.hasMetadata {
			c.observeLifecycle(raw, f, project)
			c.tl.mark(project, f.action, ts)
		}
	}
	c.flushOps(false)
}

func (c *EventChecker) otherLocation(not string) string {
	for l := range c.locations {
		if l != not {
			return l
		}
	}
	return ""
}

func (c *EventChecker) observeOperation(raw []byte, f *lxdFields, ts time.Time, location string) {
	st := c.rec[IDOperationStatus]
	st.checked++
	id, status := f.opID, f.status
	code := int(f.statusCode)
	if !f.hasStatusCode {
		st.fail(raw, "status_code is missing or not a number")
		return
	}
	if want, known := events.OpStatus[code]; !known {
		st.fail(raw, "status_code %d is not an LXD status code", code)
	} else if want != status {
		st.fail(raw, "status %q does not agree with status_code %d, which LXD sends as %q", status, code, want)
	}
	if opLoc := f.opLocation; location != "" && opLoc != "" && opLoc != location {
		c.rec[IDEventsLocation].fail(raw, "operation location %q differs from the event's location %q", opLoc, location)
	}
	times := c.rec[IDOperationTimes]
	times.checked++
	ca, ua := f.createdAt, f.updatedAt
	created, err1 := time.Parse(time.RFC3339Nano, ca)
	updated, err2 := time.Parse(time.RFC3339Nano, ua)
	if err1 != nil || err2 != nil {
		times.fail(raw, "created_at %q or updated_at %q is not RFC 3339", ca, ua)
	} else if updated.Before(created) {
		times.fail(raw, "updated_at %s is before created_at %s", ua, ca)
	}
	if id == "" {
		return
	}
	if fin, done := c.doneOps[id]; done {
		c.rec[IDOperationTransitions].fail(raw, "event for operation %s arrived after its final state (final at %s)", id, fin.Format(time.RFC3339Nano))
		return
	}
	t := c.ops[id]
	if t == nil {
		t = &opTrack{}
		c.ops[id] = t
	}
	t.evs = append(t.evs, opEvent{ts: ts, code: code, created: created, updated: updated, raw: raw})
	if events.OpFinal(code) && !t.final {
		t.final, t.finalTS = true, ts
		if due := ts.Add(c.opts.ReorderWindow); c.nextFlush.IsZero() || due.Before(c.nextFlush) {
			c.nextFlush = due
		}
	}
}

// legalNext lists the statuses an operation may move to from each status.
var legalNext = map[int][]int{
	events.OpPending:    {events.OpRunning, events.OpCancelling},
	events.OpRunning:    {events.OpRunning, events.OpSuccess, events.OpFailure, events.OpCancelling},
	events.OpCancelling: {events.OpCancelled, events.OpRunning, events.OpFailure},
}

// flushOps judges finished operations whose reorder window has passed, or
// every operation when all is true.
func (c *EventChecker) flushOps(all bool) {
	if !all && (c.nextFlush.IsZero() || !c.last.After(c.nextFlush)) {
		return
	}
	c.nextFlush = time.Time{}
	for id, t := range c.ops {
		if !all && t.final && !(c.last.Sub(t.finalTS) > c.opts.ReorderWindow) {
			if due := t.finalTS.Add(c.opts.ReorderWindow); c.nextFlush.IsZero() || due.Before(c.nextFlush) {
				c.nextFlush = due
			}
		}
		if !all && !(t.final && c.last.Sub(t.finalTS) > c.opts.ReorderWindow) {
			continue
		}
		c.judgeOp(id, t)
		delete(c.ops, id)
		if t.final {
			c.doneOps[id] = t.finalTS
		}
	}
}

func (c *EventChecker) judgeOp(id string, t *opTrack) {
	tr := c.rec[IDOperationTransitions]
	tr.checked++
	times := c.rec[IDOperationTimes]
	sort.SliceStable(t.evs, func(i, j int) bool { return t.evs[i].ts.Before(t.evs[j].ts) })
	first := t.evs[0]
	// An operation created before the stream began may be met mid-way.
	if first.code != events.OpPending && !first.created.Before(c.first) {
		tr.fail(first.raw, "operation %s starts at %d %s; operations start Pending (105)", id, first.code, events.OpStatus[first.code])
	}
	for i := 1; i < len(t.evs); i++ {
		prev, cur := t.evs[i-1], t.evs[i]
		if !prev.created.Equal(cur.created) {
			times.fail(cur.raw, "operation %s created_at changed from %s to %s", id, prev.created.Format(time.RFC3339Nano), cur.created.Format(time.RFC3339Nano))
		}
		if cur.updated.Before(prev.updated) {
			times.fail(cur.raw, "operation %s updated_at went back from %s to %s", id, prev.updated.Format(time.RFC3339Nano), cur.updated.Format(time.RFC3339Nano))
		}
		if events.OpFinal(prev.code) {
			tr.fail(cur.raw, "operation %s moved on after its final state %d %s (to %d)", id, prev.code, events.OpStatus[prev.code], cur.code)
			break
		}
		ok := false
		for _, n := range legalNext[prev.code] {
			ok = ok || n == cur.code
		}
		if !ok {
			tr.fail(cur.raw, "operation %s moved from %d %s to %d %s; allowed from %d: %v", id, prev.code, events.OpStatus[prev.code], cur.code, events.OpStatus[cur.code], prev.code, legalNext[prev.code])
		}
	}
}

func (c *EventChecker) observeLifecycle(raw []byte, f *lxdFields, project string) {
	actRec := c.rec[IDLifecycleAction]
	srcRec := c.rec[IDLifecycleSource]
	ctxRec := c.rec[IDLifecycleContext]
	reqRec := c.rec[IDLifecycleRequestor]
	actRec.checked++
	action, source := f.action, f.source
	c.actions[action]++
	a := c.cat.Action(action)
	if a == nil {
		if c.opts.Strict {
			actRec.fail(raw, "action %q is not in the %s catalogue", action, c.cat.Flavor)
		} else {
			actRec.warn(raw, "action %q is not in the %s catalogue (new daemons add actions; fails with --strict)", action, c.cat.Flavor)
		}
	}
	ctxRec.checked++
	if strings.HasSuffix(action, "-renamed") {
		if f.oldName == "" {
			ctxRec.fail(raw, "%s has no old_name in its context; clients need it to follow the rename", action)
		}
	}
	if a == nil {
		return
	}
	for _, k := range a.Context {
		if !f.hasContextKey(k) {
			ctxRec.fail(raw, "%s lacks context key %q (the catalogue's keys: %v)", action, k, a.Context)
		}
	}
	c.afterDelete(raw, a, source, project, f.oldName)
	srcRec.checked++
	if p := c.sourceProblem(a, source, project); p != "" {
		srcRec.fail(raw, "%s", p)
	} else if a.PrefixVolume && !c.prefixedVolume(source, project) {
		srcRec.quirk(c.opts.Strict, raw, "%s source %q does not name the custom volume PROJECT_NAME as LXD 5.0.2 does", action, source)
	}
	reqRec.checked++
	switch {
	case a.Requestor && !f.hasRequestor:
		reqRec.fail(raw, "%s has no requestor; %s daemons name who asked", action, c.cat.Flavor)
	case f.hasRequestor:
		if f.protocol == "" {
			reqRec.fail(raw, "%s requestor has no protocol", action)
		}
	}
}

// afterDelete judges a lifecycle event against the objects the stream
// deleted: an event about one of them, other than one making it again, is
// a failure. It folds the event into the checker's world.
func (c *EventChecker) afterDelete(raw []byte, a *catalog.LXDAction, source, project, old string) {
	k, _, ok := c.world.KeyOf(a.Name, source, project)
	if !ok {
		return
	}
	rec := c.rec[IDLifecycleAfterDelete]
	rec.checked++
	switch a.Effect {
	case catalog.EffectCreate:
		c.madeAgain(k)
	case catalog.EffectDelete:
		if c.deleted[k] {
			rec.fail(raw, "%s: %s was already deleted", a.Name, source)
		}
		c.markDeleted(k)
	case catalog.EffectRename:
		// The object and its children (an instance's snapshots) now
		// answer to the new name.
		c.madeAgain(k)
		if old != "" {
			ok := k
			if i := strings.LastIndexByte(k.Path, '/'); i >= 0 {
				ok.Path = k.Path[:i+1] + old
			} else {
				ok.Path = old
			}
			if c.deleted[ok] {
				rec.fail(raw, "%s: renames %q, which the stream deleted", a.Name, old)
			}
			c.markDeleted(ok)
		}
	default:
		if c.deleted[k] {
			rec.fail(raw, "%s mentions %s after the stream deleted it", a.Name, source)
		}
	}
}

// parentPath names a parent of deleted objects: its project and path.
type parentPath struct{ project, path string }

// markDeleted records k as deleted by the stream, indexed under each of
// its parents' paths.
func (c *EventChecker) markDeleted(k world.Key) {
	if c.deleted[k] {
		return
	}
	c.deleted[k] = true
	for p := k.Path; ; {
		i := strings.LastIndexByte(p, '/')
		if i < 0 {
			return
		}
		p = p[:i]
		pp := parentPath{k.Project, p}
		set := c.deletedUnder[pp]
		if set == nil {
			set = map[world.Key]struct{}{}
			c.deletedUnder[pp] = set
		}
		set[k] = struct{}{}
	}
}

// madeAgain forgets that k, and every deleted object under k's path, were
// deleted: k exists again, and a child by a deleted child's name is a new
// object (a snapshot made before a rename onto k's name moved with it).
// The index holds only what is deleted now, so it stays as small as that.
func (c *EventChecker) madeAgain(k world.Key) {
	c.forget(k)
	for child := range c.deletedUnder[parentPath{k.Project, k.Path}] {
		c.forget(child)
	}
}

// forget removes k from the deleted objects and from its parents' index.
func (c *EventChecker) forget(k world.Key) {
	if !c.deleted[k] {
		return
	}
	delete(c.deleted, k)
	for p := k.Path; ; {
		i := strings.LastIndexByte(p, '/')
		if i < 0 {
			return
		}
		p = p[:i]
		pp := parentPath{k.Project, p}
		if set := c.deletedUnder[pp]; set != nil {
			delete(set, k)
			if len(set) == 0 {
				delete(c.deletedUnder, pp)
			}
		}
	}
}

// sourceProblem checks a lifecycle source against the action's pattern and
// LXD's project rule: "?project=P" exactly when the resource belongs to a
// project P that is neither empty nor "default".
func (c *EventChecker) sourceProblem(a *catalog.LXDAction, source, project string) string {
	path, query, _ := strings.Cut(source, "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		return fmt.Sprintf("%s source %q has a malformed query: %v", a.Name, source, err)
	}
	qp := q.Get("project")
	switch {
	case qp != "" && !a.ProjectScoped:
		return fmt.Sprintf("%s source %q carries ?project= but %s objects belong to no project", a.Name, source, a.Resource)
	case qp != "" && (qp == "default"):
		return fmt.Sprintf("%s source %q carries ?project=default; LXD leaves the default project out", a.Name, source)
	case qp != "" && project != "" && qp != project:
		return fmt.Sprintf("%s source %q names project %q but the event belongs to project %q", a.Name, source, qp, project)
	case qp == "" && a.ProjectScoped && project != "" && project != "default":
		return fmt.Sprintf("%s source %q lacks ?project=%s for an event of project %q", a.Name, source, project, project)
	}
	got := strings.Split(path, "/")
	want := strings.Split(a.Source, "/")
	if len(got) != len(want) {
		return fmt.Sprintf("%s source %q does not match the pattern %s", a.Name, source, a.Source)
	}
	for i, w := range want {
		g := got[i]
		if strings.HasPrefix(w, "{") {
			if g == "" {
				return fmt.Sprintf("%s source %q has an empty %s in the pattern %s", a.Name, source, w, a.Source)
			}
			if w == "{type}" && strings.HasPrefix(a.Source, "/1.0/storage-pools/") {
				switch g {
				case "custom", "container", "virtual-machine", "image":
				default:
					return fmt.Sprintf("%s source %q has volume type %q; must be custom, container, virtual-machine or image", a.Name, source, g)
				}
			}
			continue
		}
		if g != w {
			return fmt.Sprintf("%s source %q does not match the pattern %s", a.Name, source, a.Source)
		}
	}
	return ""
}

// prefixedVolume reports whether a custom volume source names the volume
// PROJECT_NAME, or is not a custom volume at all.
func (c *EventChecker) prefixedVolume(source, project string) bool {
	path, _, _ := strings.Cut(source, "?")
	parts := strings.Split(path, "/")
	// /1.0/storage-pools/POOL/volumes/TYPE/NAME...
	if len(parts) < 7 || parts[5] != "custom" {
		return true
	}
	if project == "" {
		project = "default"
	}
	return strings.HasPrefix(parts[6], project+"_")
}

// Results judges what is still pending and returns the outcome of every
// event-level check. Call it once, after the last Observe.
func (c *EventChecker) Results() []Result {
	c.flushOps(true)
	if !c.sawClock {
		c.rec[IDEventsClock].skip("no arrival times (events from a file): there is no local clock to compare with")
	}
	if c.n == 0 {
		for _, r := range c.rec {
			if r.status == Pass && !r.skipped {
				r.skip("no events were observed")
			}
		}
	}
	if c.outOfOrder > 0 {
		c.rec[IDEventsOrder].notef("%d events arrived before an earlier-stamped one", c.outOfOrder)
	}
	if c.rec[IDOperationTransitions].checked == 0 && c.n > 0 {
		c.rec[IDOperationTransitions].skip("no operation events were observed")
		c.rec[IDOperationStatus].skip("no operation events were observed")
		c.rec[IDOperationTimes].skip("no operation events were observed")
	}
	if c.rec[IDLifecycleAction].checked == 0 && c.n > 0 {
		for _, id := range []string{IDLifecycleAction, IDLifecycleSource, IDLifecycleContext, IDLifecycleRequestor, IDLifecycleAfterDelete} {
			c.rec[id].skip("no lifecycle events were observed")
		}
	}
	if c.shapes != nil && c.shapes.Shapes() > 0 {
		c.rec[IDEventsSchema].notef("%d distinct event shapes validated in full", c.shapes.Shapes())
	}
	out := make([]Result, 0, len(eventCheckOrder))
	for _, id := range eventCheckOrder {
		out = append(out, c.rec[id].result())
	}
	return out
}

// Coverage says which types and actions were seen against the catalogue.
func (c *EventChecker) Coverage() *Coverage {
	return coverage(string(c.cat.Flavor), c.cat.Names(), c.types, c.actions)
}

// coverage compares the actions seen with a catalogue's, counting types
// (LXD event types, or Linode statuses) as they came.
func coverage(flavor string, catalogue []string, types, actions map[string]int) *Coverage {
	cov := &Coverage{Flavor: flavor, Types: map[string]int{}, Actions: map[string]int{}, CatalogueSize: len(catalogue)}
	known := make(map[string]bool, len(catalogue))
	for _, a := range catalogue {
		known[a] = true
		if actions[a] == 0 {
			cov.Missing = append(cov.Missing, a)
		}
	}
	for k, v := range types {
		cov.Types[k] = v
	}
	for k, v := range actions {
		cov.Actions[k] = v
		if !known[k] {
			cov.Unknown = append(cov.Unknown, k)
		}
	}
	sort.Strings(cov.Unknown)
	return cov
}

// CheckLXDEventSlice runs the event-level checks over events held in memory
// (one JSON object each), with no arrival times.
func CheckLXDEventSlice(evs [][]byte, opts EventOptions) (*Report, error) {
	start := time.Now()
	c, err := NewEventChecker(opts)
	if err != nil {
		return nil, err
	}
	for _, e := range evs {
		c.Observe(Observation{Raw: e})
	}
	return c.report(SuiteLXDOffline, "", start), nil
}

// CheckLXDEvents runs the event-level checks over newline-delimited JSON
// events read from r (blank lines are skipped, as `lxc monitor --format json`
// separates events with one). It stops early when ctx ends.
func CheckLXDEvents(ctx context.Context, r io.Reader, opts EventOptions) (*Report, error) {
	start := time.Now()
	c, err := NewEventChecker(opts)
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		if line%1024 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		c.Observe(Observation{Raw: append([]byte(nil), b...)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read events: line %d: %w", line+1, err)
	}
	return c.report(SuiteLXDOffline, "", start), nil
}

func (c *EventChecker) report(suite, target string, start time.Time) *Report {
	rep := &Report{Suite: suite, Target: target, Started: start, Strict: c.opts.Strict, Events: c.n}
	rep.Results = c.Results()
	rep.Coverage = c.Coverage()
	rep.Timeline = c.Timeline()
	rep.Elapsed = time.Since(start)
	return rep
}

// Timeline returns the operations and lifecycle events seen, for the HTML
// report; nil when there were none.
func (c *EventChecker) Timeline() *Timeline { return c.tl.timeline() }
