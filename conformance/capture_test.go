package conformance

import (
	"testing"

	"github.com/eventsim/eventsim/internal/lxdcapture"
)

func loadCapture(testing.TB) [][]byte { return lxdcapture.Lines() }

// TestRealCapturePasses: every event a real LXD 5.0.2 daemon sent passes the
// offline checks, in both validation modes.
func TestRealCapturePasses(t *testing.T) {
	for _, full := range []bool{false, true} {
		rep, err := CheckLXDEvents(t.Context(), lxdcapture.Reader(), EventOptions{FullValidation: full})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Events != 596 {
			t.Errorf("checked %d events, want 596", rep.Events)
		}
		for _, r := range rep.Results {
			if r.Status == Fail {
				t.Errorf("full=%v: %s failed: %+v", full, r.ID, r.Findings)
			}
			t.Logf("full=%v %s %s %s", full, r.ID, r.Status, r.Note)
		}
		if r := rep.Result(IDEventsClock); r.Status != Skip {
			t.Errorf("clock check on a file: %s, want skip", r.Status)
		}
	}
}
