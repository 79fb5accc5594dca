package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/schemas"
)

// Linode event-level check ids. Each judges Event objects only, so it runs on
// a live walk and on a recording alike.
const (
	IDLinodeEntity      = "linode.event.entity"
	IDLinodeAction      = "linode.event.action"
	IDLinodeProgression = "linode.event.progression"
)

var linodeEventCheckNames = map[string]string{
	IDLinodeEventSchema: "every Event matches the linode-event schema",
	IDLinodeEntity:      "entity.id has the type its entity.type gives it (an integer; the tag's name for tag)",
	IDLinodeAction:      "actions are in the Linode catalogue",
	IDLinodeProgression: "an Event seen again moves only forward (status, percent_complete, seen) and keeps its identity",
}

var linodeEventCheckOrder = []string{IDLinodeAction, IDLinodeEntity, IDLinodeProgression, IDLinodeEventSchema}

// linodeIDKind says what entity.id holds for an entity.type: "name" for
// tags (the tag's name), "none" for account and profile events (no id; not
// checked), "int" for every other type the spec lists; "" for a type the
// spec does not list (not checked: the API adds types).
func linodeIDKind(typ string) string {
	switch typ {
	case "tag":
		return "name"
	case "account", "profile":
		return "none"
	}
	for _, t := range catalog.LinodeEntityTypes {
		if t == typ {
			return "int"
		}
	}
	return ""
}

// linodeNext lists the statuses an Event may show next, from each status.
// in_progress and completed are the newer spec's names for started and
// finished.
var linodeNext = map[string][]string{
	"scheduled":    {"scheduled", "started", "in_progress", "finished", "completed", "failed"},
	"started":      {"started", "finished", "failed"},
	"in_progress":  {"in_progress", "completed", "failed"},
	"finished":     {"finished"},
	"completed":    {"completed"},
	"failed":       {"failed"},
	"notification": {"notification"},
}

// LinodeEventOptions configures the Linode event-level checks.
type LinodeEventOptions struct {
	// Strict turns unknown actions into failures.
	Strict bool
	// Validate is the schema validator; nil means a schemas.Validator for
	// linode-event (each distinct shape validated in full once).
	Validate Validator
}

// lnState is what the checker remembers of one Event to judge its next state.
type lnState struct {
	status  string
	percent float64 // -1: null
	seen    bool
	ident   string // action, created and entity: what must never change
	raw     []byte
}

// LinodeEventChecker runs the Linode event-level checks over a stream of
// Event objects: the same Event may come again (a recording keeps each of
// its states), and must then only move forward. Not safe for concurrent use.
type LinodeEventChecker struct {
	opts     LinodeEventOptions
	cat      *catalog.LinodeCatalog
	shapes   *schemas.Validator
	validate Validator
	rec      map[string]*recorder
	last     map[int64]*lnState
	actions  map[string]int
	statuses map[string]int
	n        int
	again    int
}

// NewLinodeEventChecker makes a checker for the given options.
func NewLinodeEventChecker(opts LinodeEventOptions) (*LinodeEventChecker, error) {
	c := &LinodeEventChecker{opts: opts, cat: catalog.Linode(), validate: opts.Validate,
		rec: map[string]*recorder{}, last: map[int64]*lnState{}, actions: map[string]int{}, statuses: map[string]int{}}
	if c.validate == nil {
		v, err := schemas.NewValidator(schemas.LinodeEvent)
		if err != nil {
			return nil, err
		}
		c.shapes = v
	}
	for _, id := range linodeEventCheckOrder {
		c.rec[id] = newRecorder(id, linodeEventCheckNames[id])
	}
	return c, nil
}

// Events returns how many Event objects were observed.
func (c *LinodeEventChecker) Events() int { return c.n }

// Observe checks one Event object.
func (c *LinodeEventChecker) Observe(o Observation) {
	c.n++
	raw := bytes.TrimSpace(o.Raw)
	schema := c.rec[IDLinodeEventSchema]
	schema.checked++
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil || ev == nil {
		if err == nil {
			err = fmt.Errorf("null")
		}
		schema.fail(raw, "not one JSON object: %v", err)
		return
	}
	var err error
	if c.shapes != nil {
		err = c.shapes.ValidateValue(ev)
	} else {
		err = c.validate(schemas.LinodeEvent, raw)
	}
	if err != nil {
		schema.fail(raw, "%v", err)
	}

	action, _ := ev["action"].(string)
	c.actions[action]++
	act := c.rec[IDLinodeAction]
	act.checked++
	if c.cat.Action(action) == nil {
		if c.opts.Strict {
			act.fail(raw, "action %q is not in the Linode catalogue", action)
		} else {
			act.warn(raw, "action %q is not in the Linode catalogue (the API adds actions; fails with --strict)", action)
		}
	}
	c.checkEntity(raw, ev)
	c.checkProgression(raw, ev)
}

func (c *LinodeEventChecker) checkEntity(raw []byte, ev map[string]any) {
	ent, ok := ev["entity"].(map[string]any)
	if !ok {
		return // null entity: the schema allows it
	}
	typ, _ := ent["type"].(string)
	rec := c.rec[IDLinodeEntity]
	id := ent["id"]
	switch linodeIDKind(typ) {
	case "int":
		rec.checked++
		if f, isNum := id.(float64); !isNum || f != math.Trunc(f) {
			rec.fail(raw, "entity.id is %s for entity.type %q; %s entities are named by an integer id", jsonText(id), typ, typ)
		}
	case "name":
		rec.checked++
		if s, isStr := id.(string); !isStr || s == "" {
			rec.fail(raw, "entity.id is %s for entity.type \"tag\"; tag events name the tag by its name (a string)", jsonText(id))
		}
	}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func (c *LinodeEventChecker) checkProgression(raw []byte, ev map[string]any) {
	idF, ok := ev["id"].(float64)
	if !ok {
		return
	}
	id := int64(idF)
	st := &lnState{raw: raw, percent: -1}
	st.status, _ = ev["status"].(string)
	c.statuses[st.status]++
	if p, ok := ev["percent_complete"].(float64); ok {
		st.percent = p
	}
	st.seen, _ = ev["seen"].(bool)
	st.ident = jsonText([]any{ev["action"], ev["created"], ev["entity"]})
	prev := c.last[id]
	c.last[id] = st
	if prev == nil {
		return
	}
	c.again++
	rec := c.rec[IDLinodeProgression]
	rec.checked++
	if prev.ident != st.ident {
		rec.fail(raw, "event %d changed its action, created or entity from %s", id, prev.raw)
	}
	allowed := false
	for _, n := range linodeNext[prev.status] {
		allowed = allowed || n == st.status
	}
	if !allowed {
		rec.fail(raw, "event %d went from status %q to %q; from %q it may go to %v", id, prev.status, st.status, prev.status, linodeNext[prev.status])
	}
	if prev.percent >= 0 && st.percent >= 0 && st.percent < prev.percent && st.status != "failed" {
		rec.fail(raw, "event %d percent_complete went back from %g to %g", id, prev.percent, st.percent)
	}
	if prev.seen && !st.seen {
		rec.fail(raw, "event %d went from seen back to unseen; seen is only ever set", id)
	}
}

// Results judges the stream and returns the outcome of every Linode
// event-level check, in id order. Call it once, after the last Observe.
func (c *LinodeEventChecker) Results() []Result {
	if c.n == 0 {
		for _, r := range c.rec {
			r.skip("no events were listed to check")
		}
	} else {
		if c.again == 0 {
			c.rec[IDLinodeProgression].skip("no event was seen more than once; a recording (eventsim record linode) keeps each event's successive states")
		} else {
			c.rec[IDLinodeProgression].notef("%d later states of %d events", c.again, len(c.last))
		}
		if c.rec[IDLinodeEntity].checked == 0 {
			c.rec[IDLinodeEntity].skip("no event named an entity whose id type is known")
		}
	}
	out := make([]Result, 0, len(c.rec))
	for _, id := range linodeEventCheckOrder {
		out = append(out, c.rec[id].result())
	}
	sortResults(out)
	return out
}

// Coverage says which Linode actions and statuses were seen against the
// catalogue.
func (c *LinodeEventChecker) Coverage() *Coverage {
	return coverage("linode", c.cat.Names(), c.statuses, c.actions)
}

func (c *LinodeEventChecker) report(target string, start time.Time) *Report {
	rep := &Report{Suite: "linode-offline", Target: target, Started: start, Strict: c.opts.Strict, Events: c.n}
	rep.Results = c.Results()
	rep.Coverage = c.Coverage()
	rep.Elapsed = time.Since(start)
	return rep
}
