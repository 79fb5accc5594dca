package scenarios

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/eventsim/eventsim/events"
)

// IsRecording reports whether a file's bytes are a recording (eventsim
// record) rather than a YAML scenario.
func IsRecording(b []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(b, " \t\r\n"), []byte(`{"recording":`))
}

// FromRecording makes a scenario of a recording: each event an emit step,
// after a wait of its original gap since the one before, so it plays in its
// order with its gaps (scaled by the server's speed), the first at the
// scenario's start. LXD events are restamped on the virtual clock, as any
// played event is, and the times inside an operation move with them; a
// Linode event keeps its id, so each recorded state replaces the one
// before, and its created moves by as much as the whole recording.
func FromRecording(file string, b []byte) (*Scenario, error) {
	h, evs, err := ReadRecording(bytes.NewReader(b), file)
	if err != nil {
		return nil, err
	}
	if h == nil {
		return nil, fmt.Errorf("%w: %s has no recording header", ErrRecording, file)
	}
	s := &Scenario{File: file, Name: strings.TrimSuffix(filepath.Base(file), filepath.Ext(file)), APIs: []string{h.Kind},
		Description: fmt.Sprintf("Recorded from %s (%s %s) at %s", h.Target, h.Server, h.ServerVersion, h.Started.Format(time.RFC3339)),
		Start:       h.Started.UTC().Truncate(time.Second), Seed: 1}
	s.Linode.FirstID = 1
	projects := map[string]bool{}
	var last time.Duration
	if len(evs) > 0 {
		last = max(evs[0].Offset, 0) // the first event plays at the start
	}
	for i, e := range evs {
		pos := Pos{File: file, Line: e.Line, Path: fmt.Sprintf("events[%d]", i)}
		var ev map[string]any
		if err := json.Unmarshal(e.Event, &ev); err != nil || ev == nil {
			return nil, &Error{Pos: pos, Msg: fmt.Sprintf("event is not a JSON object: %v", err)}
		}
		if e.Offset > last {
			s.Steps = append(s.Steps, &Step{Kind: StepWait, Pos: pos, Wait: e.Offset - last})
			last = e.Offset
		}
		st := &Step{Kind: StepEmit, Pos: pos, API: h.Kind, Event: ev, Recorded: h.Started.Add(e.Offset)}
		if h.Kind == "lxd" {
			if typ, _ := ev["type"].(string); typ == "" {
				return nil, &Error{Pos: pos, Msg: "event has no type"}
			}
			if p, _ := ev["project"].(string); p != "" && p != "default" {
				projects[p] = true
			}
			if ts, err := time.Parse(time.RFC3339Nano, str(ev["timestamp"])); err == nil {
				st.Recorded = ts
			}
			delete(ev, "timestamp") // stamped on the virtual clock
		} else if id, ok := ev["id"].(float64); !ok || id < 1 {
			return nil, &Error{Pos: pos, Msg: "Linode event has no id"}
		}
		s.Steps = append(s.Steps, st)
	}
	for p := range projects {
		s.LXD.Projects = append(s.LXD.Projects, p)
	}
	sort.Strings(s.LXD.Projects)
	return s, nil
}

func str(v any) string { s, _ := v.(string); return s }

// shiftTimes moves the times inside a replayed event by d: an LXD
// operation's created_at and updated_at, a Linode event's created.
func shiftTimes(api string, ev map[string]any, d time.Duration) map[string]any {
	out := make(map[string]any, len(ev))
	for k, v := range ev {
		out[k] = v
	}
	if api == "linode" {
		if t, err := time.Parse(events.LinodeTimeFormat, str(ev["created"])); err == nil {
			out["created"] = t.Add(d).Truncate(time.Second).Format(events.LinodeTimeFormat)
		}
		return out
	}
	md, ok := ev["metadata"].(map[string]any)
	if !ok || str(ev["type"]) != events.LXDTypeOperation {
		return out
	}
	m := make(map[string]any, len(md))
	for k, v := range md {
		m[k] = v
	}
	for _, k := range []string{"created_at", "updated_at"} {
		if t, err := time.Parse(time.RFC3339Nano, str(md[k])); err == nil {
			m[k] = t.Add(d).UTC().Format(time.RFC3339Nano)
		}
	}
	out["metadata"] = m
	return out
}
