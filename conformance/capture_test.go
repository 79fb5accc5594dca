package conformance

import (
	"bufio"
	"os"
	"testing"
)

const capturePath = "testdata/lxd-5.0.2-captured-events.ndjson"

func loadCapture(tb testing.TB) [][]byte {
	tb.Helper()
	f, err := os.Open(capturePath)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		out = append(out, append([]byte(nil), sc.Bytes()...))
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// TestRealCapturePasses: every event a real LXD 5.0.2 daemon sent passes the
// offline checks, in both validation modes.
func TestRealCapturePasses(t *testing.T) {
	for _, full := range []bool{false, true} {
		f, err := os.Open(capturePath)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := CheckLXDEvents(t.Context(), f, EventOptions{FullValidation: full})
		f.Close()
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
