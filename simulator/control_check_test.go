package simulator_test

import (
	"github.com/eventsim/eventsim/simulator"

	"strings"
	"testing"
	"time"
)

// TestControlRunBoundsTheCheck: a scenario sent to POST /eventsim/v1/run is
// checked within bounds of work and time, and refused with the bound it hit
// and where; the server keeps serving. The 93-byte scenario of issue 13 used
// to keep the request, and a core, busy forever; 1e6 x 1e6 waits cost 18.7 s
// of CPU inside the request.
func TestControlRunBoundsTheCheck(t *testing.T) {
	srv := startSim(t, quietScenario, simulator.Options{Speed: 0})
	base, c := controlAt(srv, "lxd-unix")
	tests := []struct {
		name, body, want string
	}{
		{"2^63-1 waits", "name: r\napi: [lxd]\nsteps:\n  - repeat: 9223372036854775807\n    steps:\n      - wait: 1s\n",
			"request body:4:5: steps[0]: "},
		{"1e6 x 1e6 waits", "name: r\napi: [lxd]\nsteps:\n  - repeat: 1000000\n    steps:\n      - repeat: 1000000\n        steps:\n          - wait: 1s\n",
			"request body:4:5: steps[0]: "},
		{"a billion events", "name: r\napi: [lxd]\nsteps:\n  - repeat: 1000000000\n    steps:\n      - emit:\n          lxd: {type: logging, metadata: {message: hi, level: info, context: {}}}\n",
			"request body:4:5: steps[0]: checking stopped after "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			code, m := call(t, c, "POST", base+"/run", tt.body)
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("the request took %v", took)
			}
			// Waits hit the bound on steps without an event, events the
			// bound on steps and events, unless the time bound comes
			// first (under -race on a busy machine, or a slow one).
			msg, _ := m["error"].(string)
			bound := strings.Contains(msg, "1,000,000 steps in a row made no event") ||
				strings.Contains(msg, "checking stopped after 2,000,000 steps and events, the bound of a check") ||
				strings.Contains(msg, "checking stopped after 2s, the time bound of this check")
			if code != 400 || !strings.Contains(msg, tt.want) || !bound {
				t.Errorf("run: %d %v, want 400 saying %q and the bound it hit", code, m, tt.want)
			}
			if code, st := call(t, c, "GET", base+"/stats", ""); code != 200 || st["scenario"] != "quiet" {
				t.Errorf("stats after the refused run: %d %v", code, st)
			}
		})
	}
}
