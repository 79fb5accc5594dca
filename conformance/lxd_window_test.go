package conformance

import (
	"testing"
	"time"
)

// A busy server whose type-filtered listeners get each event a little
// later than the all-projects listener (well within Settle) is correct:
// LXD writes each event to each listener from its own goroutine. The type
// filter check must not blame it for events still in flight when the
// listeners are closed.
func TestLXDTypeFilterToleratesLagWithinSettle(t *testing.T) {
	m := &miniLXD{lagTyped: 60 * time.Millisecond}
	target := startMiniLXD(t, m)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				m.emit("operation", "default", map[string]any{"id": newUUID(), "class": "task", "description": "Busy", "created_at": m.now(), "updated_at": m.now(),
					"status": "Running", "status_code": 103, "resources": nil, "metadata": nil, "may_cancel": false, "err": "", "location": "none"})
			}
		}
	}()
	defer func() { close(stop); <-done }()
	rep, err := RunLXD(t.Context(), LXDOptions{Target: target, Duration: time.Second, Settle: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Result(IDFilterType); r.Status != Pass {
		t.Errorf("%s: %s, %d findings, first %+v", r.ID, r.Status, len(r.Findings), r.Findings[:min(1, len(r.Findings))])
	}
}
