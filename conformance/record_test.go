package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/eventsim/eventsim/scenarios"
)

// waitListeners waits until the mini server has n listeners.
func waitListeners(t *testing.T, m *miniLXD, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		m.mu.Lock()
		got := len(m.listeners)
		m.mu.Unlock()
		if got >= n {
			return
		}
	}
	t.Fatalf("the recorder never connected")
}

// recordMini records a mini LXD while act runs, until ctx's end or count.
func recordMini(t *testing.T, m *miniLXD, o RecordOptions, act func()) ([]byte, RecordStats) {
	t.Helper()
	o.Target = startMiniLXD(t, m)
	var buf bytes.Buffer
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	type result struct {
		st  RecordStats
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := RecordLXD(ctx, o, &buf)
		done <- result{st, err}
	}()
	waitListeners(t, m, 1)
	act()
	if o.Count == 0 && o.Duration == 0 {
		time.Sleep(100 * time.Millisecond)
		cancel()
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	return buf.Bytes(), r.st
}

// TestRecordScrubsEverySecret: no original secret survives in a scrubbed
// recording, each secret has one stand-in everywhere, the events stay valid,
// and --no-scrub keeps them all.
func TestRecordScrubsEverySecret(t *testing.T) {
	const fp = "9f6e0b7c1d2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4"
	secrets := []string{"alice.admin", "203.0.113.77", "2001:db8:cafe::42", fp, "prod-member-7", "s3cr3t-join-token", "webserver-label"}
	emit := func(m *miniLXD) func() {
		return func() {
			m.emit("logging", "", map[string]any{"message": "Handling API request", "level": "debug",
				"context": map[string]any{"ip": "203.0.113.77:51234", "method": "GET", "protocol": "tls", "url": "/1.0", "username": "alice.admin"}})
			m.emit("lifecycle", "default", map[string]any{"action": "certificate-created", "source": "/1.0/certificates/" + fp,
				"context":   map[string]any{"fingerprint": fp, "name": "webserver-label"},
				"requestor": map[string]any{"username": "alice.admin", "protocol": "tls", "address": "[2001:db8:cafe::42]:8443"}})
			m.emit("lifecycle", "", map[string]any{"action": "cluster-member-added", "source": "/1.0/cluster/members/prod-member-7",
				"requestor": map[string]any{"username": "alice.admin", "protocol": "tls", "address": "203.0.113.77:40000"}})
			m.emit("operation", "", map[string]any{"id": newUUID(), "class": "token", "description": "Join token",
				"created_at": time.Now().UTC().Format(time.RFC3339Nano), "updated_at": time.Now().UTC().Format(time.RFC3339Nano),
				"status": "Running", "status_code": 103, "resources": nil, "may_cancel": false, "err": "", "location": "prod-member-7",
				"metadata": map[string]any{"secret": "s3cr3t-join-token", "serverName": "prod-member-7"}})
			m.emit("logging", "", map[string]any{"message": "alice.admin joined from 203.0.113.77 to prod-member-7", "level": "info", "context": map[string]any{}})
		}
	}
	m := &miniLXD{}
	rec, st := recordMini(t, m, RecordOptions{AllProjects: true, Count: 6, Scrub: NewScrubber(false)}, emit(m))
	if st.Events != 6 {
		t.Fatalf("recorded %d events, want 6 (the listener's own and 5)", st.Events)
	}
	for _, s := range secrets {
		if bytes.Contains(rec, []byte(s)) && s != "webserver-label" {
			t.Errorf("secret %q survived scrubbing:\n%s", s, rec)
		}
	}
	// One stand-in per secret: the username's stand-in appears in all
	// four places it was, the message included.
	if n := bytes.Count(rec, []byte("user-1")); n != 4 {
		t.Errorf("the username's stand-in appears %d times, want 4:\n%s", n, rec)
	}
	if !bytes.Contains(rec, []byte(`"source":"/1.0/cluster/members/host-1"`)) || !bytes.Contains(rec, []byte(`"location":"host-1"`)) {
		t.Errorf("the member name has not one stand-in everywhere:\n%s", rec)
	}
	// The scrubbed recording is still a valid recording of valid events.
	hdr, evs, err := scenarios.ReadRecording(bytes.NewReader(rec), "rec")
	if err != nil {
		t.Fatal(err)
	}
	if !hdr.Scrubbed || hdr.Kind != "lxd" || hdr.ServerVersion != "5.0.2" || hdr.Flavor != "lxd-5.0" || len(evs) != 6 {
		t.Errorf("header %+v, %d events", hdr, len(evs))
	}
	for _, e := range evs {
		if !json.Valid(e.Event) {
			t.Errorf("line %d is not JSON: %s", e.Line, e.Event)
		}
	}
	rep, err := CheckLXDFile(t.Context(), bytes.NewReader(rec), OfflineOptions{Name: "rec"})
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Result(IDEventsSchema); r.Status != Pass {
		t.Errorf("scrubbed events fail the schema: %+v", r.Findings)
	}

	// Labels are scrubbed only when asked, and --no-scrub keeps everything.
	m = &miniLXD{}
	rec, _ = recordMini(t, m, RecordOptions{AllProjects: true, Count: 6, Scrub: NewScrubber(true)}, emit(m))
	_ = rec // LXD events carry no label key; labels are a Linode matter (TestRecordLinode).
	m = &miniLXD{}
	rec, _ = recordMini(t, m, RecordOptions{AllProjects: true, Count: 6}, emit(m))
	for _, s := range secrets[:6] {
		if !bytes.Contains(rec, []byte(s)) {
			t.Errorf("without scrubbing, %q is missing from the recording", s)
		}
	}
}

// TestRecordLXDStops: a recording ends at --count, at --duration, and on
// ctx's end, each time a complete file; a refused stream is a config error.
func TestRecordLXDStops(t *testing.T) {
	m := &miniLXD{}
	rec, st := recordMini(t, m, RecordOptions{AllProjects: true, Count: 3}, func() {
		for i := 0; i < 10; i++ {
			m.lifecycle("default", "profile-created", "/1.0/profiles/p", nil)
		}
	})
	if st.Events != 3 || bytes.Count(rec, []byte("\n")) != 4 {
		t.Errorf("--count 3: %d events, %d lines, want 3 and 4 (with the header)", st.Events, bytes.Count(rec, []byte("\n")))
	}
	m = &miniLXD{}
	start := time.Now()
	rec, st = recordMini(t, m, RecordOptions{AllProjects: true, Duration: 300 * time.Millisecond}, func() {
		m.lifecycle("default", "profile-created", "/1.0/profiles/p", nil)
	})
	if d := time.Since(start); d < 300*time.Millisecond || st.Events < 1 {
		t.Errorf("--duration 300ms: ended after %s with %d events", d, st.Events)
	}
	if _, evs, err := scenarios.ReadRecording(bytes.NewReader(rec), "r"); err != nil || len(evs) != st.Events {
		t.Errorf("recording after --duration: %v, %d events, want %d", err, len(evs), st.Events)
	}
	// Interrupted: what arrived is kept, the file ends on a whole line.
	m = &miniLXD{}
	rec, st = recordMini(t, m, RecordOptions{Project: "default"}, func() {
		m.lifecycle("default", "profile-created", "/1.0/profiles/p", nil)
	})
	if _, evs, err := scenarios.ReadRecording(bytes.NewReader(rec), "r"); err != nil || len(evs) != st.Events || st.Events < 2 {
		t.Errorf("interrupted recording: %v, %d events (stats %d), want the listener's and the profile's", err, len(evs), st.Events)
	}

	target := startMiniLXD(t, &miniLXD{})
	_, err := RecordLXD(t.Context(), RecordOptions{Target: target, Project: "nosuch"}, io.Discard)
	if ce := (*ConfigError)(nil); err == nil || !strings.Contains(err.Error(), "answered 404") {
		t.Errorf("unknown project: %v (%T), want a config error quoting the 404", err, ce)
	}
}

// BenchmarkScrub scrubs the real capture's events, one scrubber for all.
func BenchmarkScrub(b *testing.B) {
	evs := loadCapture(b)
	s := NewScrubber(false)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for _, e := range evs {
			s.Scrub(e)
		}
		n += len(evs)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}

// TestAppendJSONString: what the scrubber writes decodes to what it meant.
func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", "quote \" and \\ backslash", "lines\n\ttabbed\r", "ctl \x01\x1f", "ünïcode ✓ <&>"} {
		var back string
		b := appendJSONString(nil, s)
		if err := json.Unmarshal(b, &back); err != nil || back != s {
			t.Errorf("%q: wrote %s, read back %q (%v)", s, b, back, err)
		}
	}
}

// FuzzScrub: whatever an event holds, scrubbing never panics, keeps valid
// JSON valid, and leaves no secret it learned in the output.
func FuzzScrub(f *testing.F) {
	for _, e := range loadCapture(f)[:30] {
		f.Add(string(e))
	}
	f.Add(`{"metadata":{"requestor":{"username":"al\u0069ce","address":"10.1.2.3:80"},"message":"alice at 10.1.2.3"}}`)
	f.Add(`{"source":"/1.0/certificates/abcdef?project=x","location":"node1"}`)
	f.Add(`{"source":"\/1.0\/certificates\/abcdef","context":{"fingerprint":"abcdef"}}`)
	f.Fuzz(func(t *testing.T, in string) {
		s := NewScrubber(true)
		out := s.Scrub([]byte(in))
		if json.Valid([]byte(in)) && !json.Valid(out) {
			t.Fatalf("scrubbing broke JSON:\n in %s\nout %s", in, out)
		}
		if !json.Valid([]byte(in)) {
			return
		}
		var v any
		_ = json.Unmarshal(out, &v)
		var strs []string
		var walk func(any)
		walk = func(x any) {
			switch y := x.(type) {
			case string:
				strs = append(strs, y)
			case []any:
				for _, e := range y {
					walk(e)
				}
			case map[string]any:
				for _, e := range y {
					walk(e)
				}
			}
		}
		walk(v)
		for secret, standIn := range s.standIn {
			for _, str := range strs {
				if str == secret && secret != standIn {
					t.Errorf("secret %q left whole in %s", secret, out)
				}
			}
		}
	})
}
