package scenarios

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/eventsim/eventsim/events"
	"github.com/eventsim/eventsim/schemas"
)

// encode fills in a record's JSON where it was not made at creation.
func (e *Engine) encode(r *Record) error {
	if r.Linode == nil || r.JSON != nil {
		return nil
	}
	b, err := json.Marshal(r.Linode)
	if err != nil {
		return fmt.Errorf("encode Linode event %d: %w", r.Linode.ID, err)
	}
	r.JSON = b
	return nil
}

// checkEmit checks a raw event of an emit step against the API's schema,
// filling in what the engine supplies (timestamp, location; id, created).
func checkEmit(api string, ev map[string]any) error {
	doc := map[string]any{}
	for k, v := range ev {
		doc[k] = v
	}
	name := schemas.LXDEvent
	if api == "lxd" {
		if _, ok := doc["timestamp"]; !ok {
			doc["timestamp"] = "2026-01-01T00:00:00Z"
		}
	} else {
		name = schemas.LinodeEvent
		fillLinode(doc, 1, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	}
	if err := schemas.ValidateValue(name, doc); err != nil {
		return fmt.Errorf("event does not validate: %w", err)
	}
	return nil
}

// fillLinode supplies the fields of a Linode event an emit step left out.
func fillLinode(doc map[string]any, id int64, at time.Time) {
	defaults := map[string]any{
		"id": float64(id), "created": at.UTC().Format(events.LinodeTimeFormat), "duration": nil, "entity": nil,
		"secondary_entity": nil, "message": nil, "percent_complete": nil, "rate": nil, "read": false,
		"seen": false, "status": events.LinodeNotification, "time_remaining": nil, "username": nil,
	}
	for k, v := range defaults {
		if _, ok := doc[k]; !ok {
			doc[k] = v
		}
	}
}

// emitRecord makes the record of an emit step at the current virtual time.
func (e *Engine) emitRecord(st *Step, at time.Time) (*Record, error) {
	if !st.Recorded.IsZero() {
		// A replayed event: every event of a pass moves by as much as the
		// first, so an operation's or a Linode event's times stay in step.
		if !e.replay.set {
			e.replay.set, e.replay.shift = true, at.Sub(st.Recorded)
		}
		cp := *st
		cp.Event = shiftTimes(st.API, st.Event, e.replay.shift)
		st = &cp
	}
	if st.API == "lxd" {
		r := &Record{API: "lxd"}
		r.Type, _ = st.Event["type"].(string)
		r.Project, _ = st.Event["project"].(string)
		r.Location, _ = st.Event["location"].(string)
		if _, ok := st.Event["location"]; !ok {
			r.Location = e.lxd.location("")
			if len(e.lxd.members) > 0 {
				r.Location = e.lxd.members[0]
			}
		}
		ts := at
		if s, ok := st.Event["timestamp"].(string); ok {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				ts = t
			}
		}
		meta, err := json.Marshal(st.Event["metadata"])
		if err != nil {
			return nil, &Error{Pos: st.Pos, Msg: err.Error()}
		}
		r.JSON = appendLXDEvent(nil, r.Type, ts, meta, r.Location, r.Project)
		if md, ok := st.Event["metadata"].(map[string]any); ok && r.Type == events.LXDTypeLifecycle {
			r.Action, _ = md["action"].(string)
			if c, ok := md["context"].(map[string]any); ok {
				r.OldName, _ = c["old_name"].(string)
			}
		}
		return r, nil
	}
	doc := map[string]any{}
	for k, v := range st.Event {
		doc[k] = v
	}
	fillLinode(doc, e.linode.nextID, at)
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, &Error{Pos: st.Pos, Msg: err.Error()}
	}
	var ev events.LinodeEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		return nil, &Error{Pos: st.Pos, Msg: fmt.Sprintf("event does not decode: %v", err)}
	}
	if ev.ID >= e.linode.nextID {
		e.linode.nextID = ev.ID + 1
	}
	return &Record{API: "linode", Linode: &ev}, nil
}
