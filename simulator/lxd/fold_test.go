package lxd

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/eventsim/eventsim/world"
)

// TestFoldBesideTheFanOut: events delivered faster than they are folded
// (more than the fold's queue holds) are all in the world for a read that
// follows them, and the world still follows events after Close, when the
// fold's goroutine has ended.
func TestFoldBesideTheFanOut(t *testing.T) {
	const n = foldQueueMax + 2000
	s := withInstances(t, n) // n creations and n/4 starts, as fast as Deliver goes
	hc := &http.Client{Timeout: 30 * time.Second}
	code, _, body := get(t, hc, s.URL()+"/1.0/instances")
	var l struct {
		Metadata []string `json:"metadata"`
	}
	if err := json.Unmarshal(body, &l); err != nil || code != 200 {
		t.Fatalf("GET /1.0/instances: %d %v", code, err)
	}
	if len(l.Metadata) != n {
		t.Errorf("listed %d instances right after %d were delivered, want all", len(l.Metadata), n)
	}
	if st := s.instanceNow("default", "c4"); st == nil || st.Status != "Running" {
		t.Errorf("c4 after its start: %+v", st)
	}
	s.Close()
	// Deliver refuses a closed server; the server's own events still fold.
	s.seqMu.Lock()
	s.fold([]byte(`{"type":"lifecycle","timestamp":"2026-01-01T00:00:03Z","metadata":{"action":"instance-deleted","source":"/1.0/instances/c2","context":null},"location":"none","project":"default"}`), nil)
	s.seqMu.Unlock()
	s.withWorld(func(w *world.World) {
		if w.Instance("default", "c2") != nil {
			t.Error("an event folded after Close did not reach the world")
		}
		if w.Count("instance") != n-1 {
			t.Errorf("%d instances after Close and one delete, want %d", w.Count("instance"), n-1)
		}
	})
}
