package scenarios

import (
	"encoding/json"
	"math/rand"
	"strconv"
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
		var meta []byte
		if op.Metadata != nil {
			meta, _ = json.Marshal(op.Metadata)
		}
		if got := appendOperation(nil, op, meta); string(got) != string(want) {
			t.Errorf("appendOperation = %s\nwant %s", got, want)
		}
	}
	lcs := []events.LXDLifecycle{
		{Action: "instance-created", Source: "/1.0/instances/c1"},
		{Action: "instance-exec", Source: "/1.0/instances/c1?project=a&b", Context: map[string]any{"command": []any{"/bin/sh", "-c", "<x>"}, "type": "container", "ünï": "\u2028"},
			Requestor: &events.LXDLifecycleRequestor{Username: "root", Protocol: "unix", Address: "@"}},
		{Action: "x", Source: "/1.0", Context: map[string]any{"n": 1, "f": 2.5, "b": true, "nil": nil, "m": map[string]any{"z": "1", "a": []any{1, "2"}}, "list": []any{}, "k1": "", "k2": "", "k3": "", "k4": "", "k5": ""}},
		{Action: "y", Source: "/1.0", Context: map[string]any{}},
	}
	for _, lc := range lcs {
		want, _ := json.Marshal(lc)
		if got := appendLifecycle(nil, &lc); string(got) != string(want) {
			t.Errorf("appendLifecycle = %s\nwant %s", got, want)
		}
	}
}

// appendMetadata writes what encoding/json writes for every kind of value,
// by hand for the kinds the engine uses and through encoding/json for the
// rest; appendQuote writes what strconv.AppendQuote does.
func TestAppendMetadataAndQuoteMatchTheLibraries(t *testing.T) {
	for _, m := range []map[string]any{
		nil,
		{},
		{"command": []any{"/bin/sh", "-c", "uptime <x>"}, "environment": map[string]any{"HOME": "/root", "LANG": "C.UTF-8"}, "fds": map[string]any{"0": "ab", "control": "cd"}, "interactive": false, "return": 0},
		{"list": []string{"a", "\u2028"}, "nil list": []string(nil), "nil any": []any(nil), "nil map": map[string]any(nil), "n64": int64(-7), "nil": nil, "t": true},
		{"float": 2.5, "nested": map[string]any{"f": 1e21}},                               // encoding/json's number formats
		{"k1": 1, "k2": 2, "k3": 3, "k4": 4, "k5": 5, "k6": 6, "k7": 7, "k8": 8, "k9": 9}, // more keys than the sort's first array
		{"u": uint8(3), "s": struct{ A int }{1}},
		{"progress": map[string]string{"stage": "unpack", "percent": "1", "speed": "<&>\u2028"}, "unpack_progress": "Unpack: 1% (3.00MB/s)", "nil strings": map[string]string(nil)},
		{"many": map[string]string{"k1": "1", "k2": "2", "k3": "3", "k4": "4", "k5": "5", "k6": "6", "k7": "7", "k8": "8", "k9": "9", "bad": "\xff"}},
	} {
		want, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		prefix := []byte("prefix:")
		if got := appendMetadata(prefix, m); string(got) != "prefix:"+string(want) {
			t.Errorf("appendMetadata(%v) = %s, want prefix:%s", m, got, want)
		}
	}
	for _, s := range []string{"", "lifecycle", "team-a", "node1", "quote\"", "back\\slash", "tab\t", "ünï", "\x7f", "\xff"} {
		if got, want := string(appendQuote(nil, s)), strconv.Quote(s); got != want {
			t.Errorf("appendQuote(%q) = %s, want %s", s, got, want)
		}
	}
}

// AppendMetadata gives up on strings that are not valid UTF-8, which JSON
// carries as U+FFFD, and on records holding only their JSON.
func TestAppendMetadataGivesUpWhereJSONDiffers(t *testing.T) {
	for _, c := range []struct {
		name string
		r    Record
		ok   bool
	}{
		{"logging", Record{lazy: lazyMeta{kind: lazyLogging, msg: "hello <x>", level: "info"}}, true},
		{"logging, invalid UTF-8", Record{lazy: lazyMeta{kind: lazyLogging, msg: "bad \xff", level: "info"}}, false},
		{"lifecycle, invalid UTF-8 requestor", Record{lazy: lazyMeta{kind: lazyLifecycle, lc: events.LXDLifecycle{Action: "a", Source: "/1.0", Requestor: &events.LXDLifecycleRequestor{Username: "\xfe"}}}}, false},
		{"JSON only", Record{JSON: []byte(`{"type":"logging"}`)}, false},
	} {
		var cols LXDColumns
		got, ok := c.r.AppendMetadata([]byte("x"), &cols)
		if ok != c.ok {
			t.Errorf("%s: ok %v, want %v", c.name, ok, c.ok)
		}
		if !ok && string(got) != "x" {
			t.Errorf("%s: appended %q when giving up", c.name, got)
		}
	}
}

// appendRFC3339Nano writes what time.Time.AppendFormat writes with
// RFC3339Nano in UTC, for any time: every digit of the date and the clock,
// nanoseconds with and without trailing zeros, days around leap years and
// the range's edges.
func TestAppendRFC3339NanoIsTheLibrary(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	times := []time.Time{
		{}, time.Unix(0, 0), time.Unix(-1, 999999999), time.Unix(253402300799, 999999999), time.Unix(253402300800, 0),
		time.Date(2000, 2, 29, 23, 59, 59, 100, time.UTC), time.Date(2100, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 12, 2, 20, 40, 0, 123456789, time.FixedZone("X", 5*3600+1800)),
	}
	for range 200000 {
		ns := rng.Int63n(int64(time.Second))
		switch rng.Intn(4) {
		case 0:
			ns = 0
		case 1:
			ns -= ns % 1000
		}
		times = append(times, time.Unix(rng.Int63n(253402300800+86400*400)-86400*200, ns))
	}
	for _, tm := range times {
		want := tm.UTC().AppendFormat([]byte("x"), time.RFC3339Nano)
		if got := appendRFC3339Nano([]byte("x"), tm); string(got) != string(want) {
			t.Fatalf("appendRFC3339Nano(%v) = %s, want %s", tm, got, want)
		}
	}
}
