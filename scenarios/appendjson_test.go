package scenarios

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/eventsim/eventsim/events"
)

// The hand-written encoders must write exactly what encoding/json writes.
func TestAppendersMatchEncodingJSON(t *testing.T) {
	strs := []string{"", "plain", "quote \" and \\ back", "tab\tnew\nline\r", "<html>&amp;", "ctl \x01\x1f", "bad utf8 \xff\xfe", "line\u2028sep\u2029", "ünïcødé ✓", "API Request\n\t{\n\t\t\"name\": \"x\"\n\t}"}
	for _, s := range strs {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); string(got) != string(want) {
			t.Errorf("appendString(%q) = %s, want %s", s, got, want)
		}
		ctx := map[string]string{"b": s, "a": "x", s: "key"}
		want, _ = json.Marshal(events.LXDLogging{Message: s, Level: "debug", Context: ctx})
		if got := appendLogging(nil, s, "debug", logCtxOf(ctx)); string(got) != string(want) {
			t.Errorf("appendLogging(%q) = %s, want %s", s, got, want)
		}
	}
	for _, ctx := range []map[string]string{nil, {}, {"z": "1", "a": "2", "m": ""}} {
		want, _ := json.Marshal(events.LXDLogging{Message: "m", Level: "info", Context: ctx})
		if got := appendLogging(nil, "m", "info", logCtxOf(ctx)); string(got) != string(want) {
			t.Errorf("appendLogging(context %v) = %s, want %s", ctx, got, want)
		}
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	ops := []*events.LXDOperation{
		{ID: "2cd559ca-6be3-440e-9cdc-7bc89cba6eb1", Class: "task", Description: "Creating instance", CreatedAt: at, UpdatedAt: at.Add(time.Millisecond), Status: "Running", StatusCode: 103, Resources: map[string][]string{"instances": {"/1.0/instances/c1"}, "containers": {"/1.0/containers/c1"}}, Location: "none"},
		{ID: "x", Class: "websocket", Description: "Executing command", CreatedAt: at, UpdatedAt: at, Status: "Failure", StatusCode: 400, Metadata: map[string]any{"return": 0, "command": []any{"ls"}}, MayCancel: true, Err: "boom <x>", Location: "node1"},
		{ID: "y", Resources: map[string][]string{"k": nil}},
	}
	for _, op := range ops {
		want, _ := json.Marshal(op)
		if got := appendOperation(nil, op); string(got) != string(want) {
			t.Errorf("appendOperation = %s\nwant %s", got, want)
		}
	}
}
