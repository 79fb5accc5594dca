package scenarios

import (
	"encoding/json"
	"errors"
	"io"
	"sync"
	"testing"

	"github.com/eventsim/eventsim/events"
)

// With DeferJSON the records come without JSON and AppendJSON, called on
// another goroutine after the engine has moved on, must give the bytes the
// engine gives without it.
func TestDeferJSONGivesTheSameBytes(t *testing.T) {
	list, err := List()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range list {
		t.Run(b.Name, func(t *testing.T) {
			s := mustLoad(t, b.Name)
			opts := Options{Loop: true}
			want := play(t, s, opts, 3000)
			opts.DeferJSON = true
			e, err := New(s, opts)
			if err != nil {
				t.Fatal(err)
			}
			recs := make(chan *Record, 64)
			var got [][]byte
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := range recs {
					got = append(got, r.AppendJSON(nil))
				}
			}()
			for n := 0; n < len(want); {
				r, err := e.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if r.Fault == nil {
					recs <- r
					n++
				}
			}
			close(recs)
			wg.Wait()
			if len(got) != len(want) {
				t.Fatalf("%d records deferred, %d not", len(got), len(want))
			}
			for i := range want {
				if string(got[i]) != string(want[i]) {
					t.Fatalf("record %d:\n got %s\nwant %s", i, got[i], want[i])
				}
			}
		})
	}
}

// Logging contexts are written from slices the code lists in key order; an
// entry out of order would still be valid JSON but not what encoding/json
// (and so the daemon) writes. Re-encoding each context finds it.
func TestLoggingContextsAreInKeyOrder(t *testing.T) {
	for _, name := range []string{"lxd-steady", "lxd-catalogue-tour", "lxd-cluster", "lxd-projects", "lxd-instance-lifecycle"} {
		for _, raw := range play(t, mustLoad(t, name), Options{Loop: true}, 5000) {
			var ev struct {
				Type     string          `json:"type"`
				Metadata json.RawMessage `json:"metadata"`
			}
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatal(err)
			}
			if ev.Type != events.LXDTypeLogging {
				continue
			}
			var l events.LXDLogging
			if err := json.Unmarshal(ev.Metadata, &l); err != nil {
				t.Fatal(err)
			}
			again, _ := json.Marshal(l)
			if string(again) != string(ev.Metadata) {
				t.Fatalf("%s: logging metadata\n%s\nre-encodes as\n%s", name, ev.Metadata, again)
			}
		}
	}
}
