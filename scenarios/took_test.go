package scenarios

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/events"
)

// TestTookSetsEveryVerbsOperationTime plays each LXD verb whose request
// runs an operation, in every flavour, in a mix whose steps say took: 20s
// (longer than any verb's usual time and its jitter): every operation of
// the verb's description runs about 20 s, from its Running event to its
// end, whatever the verb's own default.
func TestTookSetsEveryVerbsOperationTime(t *testing.T) {
	const took = 20 * time.Second
	lo, hi := took*69/100, took*131/100
	for _, f := range catalog.Flavors {
		cat := catalog.MustLXD(f)
		for _, verb := range sortedKeys(lxdVerbs) {
			a := cat.Action(lxdVerbs[verb].action)
			if a == nil || a.Operation == "" {
				continue
			}
			t.Run(string(f)+"/"+verb, func(t *testing.T) {
				t.Parallel()
				extra := ""
				if verb == "image.alias" || verb == "image.import" {
					extra = "\n          alias: web"
				}
				setup := ""
				if verb == "instance.resume" {
					// A mix makes what a verb needs one step at a time, and
					// never a frozen instance.
					setup = "  - lxd: instance.create\n    name: r1\n  - lxd: instance.start\n    name: r1\n  - lxd: instance.pause\n    name: r1\n"
				}
				src := fmt.Sprintf("name: took\napi: lxd\nsteps:\n"+setup+"  - mix:\n      rate: 2/m\n      count: 16\n      verbs:\n        - lxd: %s\n          took: %s%s\n", verb, took, extra)
				s, err := Parse("took.yaml", []byte(src))
				if err != nil {
					t.Fatal(err)
				}
				e, err := New(s, Options{Flavor: f})
				if err != nil {
					t.Fatal(err)
				}
				running := map[string]time.Time{}
				seen := 0
				for {
					r, err := e.Next()
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					if r.Type != events.LXDTypeOperation {
						continue
					}
					var ev struct {
						Timestamp time.Time           `json:"timestamp"`
						Metadata  events.LXDOperation `json:"metadata"`
					}
					if err := json.Unmarshal(r.AppendJSON(nil), &ev); err != nil {
						t.Fatal(err)
					}
					op := ev.Metadata
					if op.Description != a.Operation {
						continue
					}
					switch {
					case op.StatusCode == events.OpRunning:
						if _, ok := running[op.ID]; !ok {
							running[op.ID] = ev.Timestamp
						}
					case events.OpFinal(op.StatusCode):
						seen++
						if d := ev.Timestamp.Sub(running[op.ID]); d < lo || d > hi {
							t.Errorf("%q ran %s with took: %s, want %s to %s", op.Description, d, took, lo, hi)
						}
					}
				}
				if seen == 0 {
					t.Fatalf("the mix played no %q operation", a.Operation)
				}
			})
		}
	}
}
