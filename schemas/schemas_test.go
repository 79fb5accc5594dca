package schemas

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/eventsim/eventsim/events"
	"github.com/eventsim/eventsim/internal/lxdcapture"
)

func TestEverySchemaCompiles(t *testing.T) {
	names := Names()
	if len(names) < 11 {
		t.Fatalf("only %d schemas: %v", len(names), names)
	}
	for _, n := range names {
		if _, err := get(n); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
}

func TestRealCaptureValidates(t *testing.T) {
	line, types := 0, map[string]int{}
	for _, ev := range lxdcapture.Lines() {
		line++
		if err := Validate(LXDEvent, ev); err != nil {
			t.Errorf("line %d: %v", line, err)
		}
		var e struct{ Type string }
		_ = json.Unmarshal(ev, &e)
		types[e.Type]++
	}
	if line < 500 || types["logging"] == 0 || types["operation"] == 0 || types["lifecycle"] == 0 {
		t.Fatalf("capture read badly: %d lines, types %v", line, types)
	}
}

func TestValidateNamesTheMostSpecificProblem(t *testing.T) {
	tests := []struct {
		name, schema, doc, field, contains string
	}{
		{"bad status code", LXDEvent, `{"type":"operation","timestamp":"2026-01-01T00:00:00Z","metadata":{"id":"1f81e7bd-305a-41cd-9b87-6cdf9d2a7a3f","class":"task","description":"x","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","status":"Running","status_code":999,"resources":null,"metadata":null,"may_cancel":false,"err":"","location":"none"}}`, "metadata.status_code", "999"},
		{"bad level", LXDEvent, `{"type":"logging","timestamp":"2026-01-01T00:00:00Z","metadata":{"message":"m","level":"loud","context":{}}}`, "metadata.level", "loud"},
		{"zoned timestamp missing", LXDEvent, `{"type":"lifecycle","timestamp":"yesterday","metadata":{"action":"instance-created","source":"/1.0/instances/c1"}}`, "timestamp", "yesterday"},
		{"missing source", LXDEvent, `{"type":"lifecycle","timestamp":"2026-01-01T00:00:00Z","metadata":{"action":"instance-created"}}`, "metadata", "source"},
		{"linode zoned created", LinodeEvent, `{"id":1,"action":"linode_boot","created":"2018-01-01T00:01:01Z","duration":null,"entity":null,"percent_complete":null,"rate":null,"read":false,"seen":false,"status":"notification","time_remaining":null,"username":null}`, "created", "2018-01-01T00:01:01Z"},
		{"linode bad status", LinodeEvent, `{"id":1,"action":"linode_boot","created":"2018-01-01T00:01:01","duration":null,"entity":null,"percent_complete":null,"rate":null,"read":false,"seen":false,"status":"done","time_remaining":null,"username":null}`, "status", "done"},
		{"misspelt event type", LXDEvent, `{"type":"lifecyle","timestamp":"2026-01-01T00:00:00Z","metadata":{},"location":"none"}`, "type", "must be one of"},
		{"errors envelope extra key", LinodeErrors, `{"errors":[{"reason":"x","code":1}]}`, "errors.0", "code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.schema, []byte(tt.doc))
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("got %v, want a schema error", err)
			}
			p := se.Problems[0]
			if p.Field != tt.field || !strings.Contains(p.Description, tt.contains) {
				t.Errorf("got %q, want field %q mentioning %q", p, tt.field, tt.contains)
			}
		})
	}
}

func TestUnknownActionIsNotASchemaFailure(t *testing.T) {
	doc := `{"type":"lifecycle","timestamp":"2026-01-01T00:00:00Z","metadata":{"action":"instance-teleported","source":"/1.0/instances/c1"},"location":"none","project":"default"}`
	if err := Validate(LXDEvent, []byte(doc)); err != nil {
		t.Fatal(err)
	}
	ev := `{"id":1,"action":"linode_teleport","created":"2018-01-01T00:01:01","duration":null,"entity":null,"percent_complete":null,"rate":null,"read":false,"seen":false,"status":"notification","time_remaining":null,"username":null}`
	if err := Validate(LinodeEvent, []byte(ev)); err != nil {
		t.Fatal(err)
	}
}

// TestEventTypesAreEveryFlavoursTypes: the lxd-event schema accepts exactly
// the event types some flavour defines (events.LXDTypes), no more.
func TestEventTypesAreEveryFlavoursTypes(t *testing.T) {
	all := map[string]bool{}
	for _, ts := range events.LXDTypes {
		for _, typ := range ts {
			all[typ] = true
		}
	}
	for _, typ := range []string{"logging", "operation", "lifecycle", "ovn", "security", "lifecyle", "Logging", "telemetry"} {
		doc := `{"type":"` + typ + `","timestamp":"2026-01-01T00:00:00Z","metadata":{"message":"m","level":"info","context":{}},"location":"none"}`
		if typ == "operation" || typ == "lifecycle" {
			continue // their metadata has its own schema
		}
		if err := Validate(LXDEvent, []byte(doc)); (err == nil) != all[typ] {
			t.Errorf("type %q: %v; a flavour defines it: %v", typ, err, all[typ])
		}
	}
}
