package lxd

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/eventsim/eventsim/scenarios"
	"github.com/eventsim/eventsim/world"
)

// playEvent delivers lifecycle events to a server as a scenario would.
func playEvent(t *testing.T, s *Server, action, source, ctx string) {
	t.Helper()
	if ctx == "" {
		ctx = "null"
	}
	j := fmt.Appendf(nil, `{"type":"lifecycle","timestamp":"2026-01-01T00:00:02Z","metadata":{"action":%q,"source":%q,"context":%s},"location":"none","project":"default"}`, action, source, ctx)
	if err := s.Deliver(t.Context(), &scenarios.Record{API: "lxd", Type: "lifecycle", Project: "default", JSON: j, Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

// TestEncodedAnswersFollowTheWorld: the instance reads answered from kept
// encodings (a list with recursion 1 and 2, one instance with recursion 0
// and 1) give, after each change, byte for byte what encoding the world's
// objects afresh gives: what a client reads is never an older state.
func TestEncodedAnswersFollowTheWorld(t *testing.T) {
	for _, tc := range []struct {
		name    string
		keepMax int
	}{
		{"lists kept whole", listKeepMax},
		{"lists written from their elements", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := withInstances(t, 8)
			s.withWorld(func(*world.World) { s.lists.keepMax = tc.keepMax })
			encodedAnswersFollowTheWorld(t, s)
		})
	}
}

func encodedAnswersFollowTheWorld(t *testing.T, s *Server) {
	hc := &http.Client{Timeout: 10 * time.Second}
	urls := []string{
		"/1.0/instances?recursion=1", "/1.0/instances?recursion=2", "/1.0/instances?filter=&recursion=2",
		"/1.0/instances?recursion=2&filter=status+eq+Running",
		"/1.0/instances/c1", "/1.0/instances/c1?recursion=1", "/1.0/instances/c2?recursion=1",
	}
	// fresh encodes what each URL must answer from the world as it stands.
	fresh := func(u string) []byte {
		var meta any
		s.withWorld(func(w *world.World) {
			switch u {
			case urls[0]:
				l := []any{}
				for _, o := range w.List("instance", "default") {
					l = append(l, s.instanceOf(o))
				}
				meta = l
			case urls[1], urls[2], urls[3]:
				l := []any{}
				for _, o := range w.List("instance", "default") {
					if u == urls[3] && o.Status != "Running" {
						continue
					}
					l = append(l, s.fullOf(o))
				}
				meta = l
			case urls[4]:
				meta = s.instanceOf(w.Instance("default", "c1"))
			case urls[5]:
				meta = s.fullOf(w.Instance("default", "c1"))
			case urls[6]:
				meta = s.fullOf(w.Instance("default", "c2"))
			}
		})
		b, err := json.Marshal(syncResponse{Type: "sync", Status: "Success", StatusCode: 200, Metadata: meta})
		if err != nil {
			t.Fatal(err)
		}
		return append(b, '\n')
	}
	check := func(when string) {
		t.Helper()
		for _, u := range urls {
			code, h, body := get(t, hc, s.URL()+u)
			if code != 200 {
				t.Fatalf("%s: GET %s: %d %s", when, u, code, body)
			}
			if want := fresh(u); string(body) != string(want) {
				t.Errorf("%s: GET %s answered\n%s\nwant\n%s", when, u, body, want)
			}
			if h.Get("Content-Type") != "application/json" {
				t.Errorf("%s: GET %s: Content-Type %q", when, u, h.Get("Content-Type"))
			}
		}
	}
	check("first reads")
	check("reads again") // from what the first kept
	for _, ev := range []struct{ action, source, ctx string }{
		{"instance-started", "/1.0/instances/c1", ""},
		{"instance-snapshot-created", "/1.0/instances/c2/snapshots/snap0", ""},
		{"instance-created", "/1.0/instances/c10", `{"type":"virtual-machine"}`},
		{"instance-paused", "/1.0/instances/c1", ""},
		{"instance-snapshot-deleted", "/1.0/instances/c2/snapshots/snap0", ""},
		{"instance-deleted", "/1.0/instances/c3", ""},
	} {
		playEvent(t, s, ev.action, ev.source, ev.ctx)
		check("after " + ev.action)
	}
	var l struct {
		Metadata []instanceFull `json:"metadata"`
	}
	_, _, body := get(t, hc, s.URL()+"/1.0/instances?recursion=2")
	if err := json.Unmarshal(body, &l); err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	for _, in := range l.Metadata {
		status[in.Name] = in.Status
	}
	if status["c1"] != "Frozen" || status["c10"] != "Stopped" || status["c3"] != "" {
		t.Errorf("after the events the list says c1 %q, c10 %q, c3 %q; want Frozen, Stopped, absent", status["c1"], status["c10"], status["c3"])
	}
}
