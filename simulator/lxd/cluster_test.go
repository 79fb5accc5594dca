package lxd

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/events"
	"github.com/eventsim/eventsim/scenarios"
)

// memberStatus reads GET /1.0/cluster/members/NAME's status and message.
func memberStatus(t *testing.T, s *Server, name string) (status, message string) {
	t.Helper()
	code, _, env := do(t, s, "GET", "/1.0/cluster/members/"+name, "")
	if code != http.StatusOK {
		t.Fatalf("GET /1.0/cluster/members/%s: %d %s", name, code, env.Error)
	}
	var m struct {
		Status  string `json:"status"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(env.Metadata, &m); err != nil {
		t.Fatal(err)
	}
	return m.Status, m.Message
}

// TestMemberStatusFollowsEvacuation evacuates and restores a cluster
// member through REST and through the scenario verbs, in every flavour:
// GET /1.0/cluster/members/NAME shows it Evacuated ("Unavailable due to
// maintenance") then Online ("Fully operational"), as a real clustered LXD
// 5.0.2 does (recorded), though 5.0.2 sends no lifecycle event for either.
// The other member stays Online.
func TestMemberStatusFollowsEvacuation(t *testing.T) {
	want := func(t *testing.T, s *Server, when, status, message string) {
		t.Helper()
		if st, msg := memberStatus(t, s, "m2"); st != status || msg != message {
			t.Errorf("%s: m2 is %q %q, want %q %q", when, st, msg, status, message)
		}
		if st, _ := memberStatus(t, s, "m1"); st != "Online" {
			t.Errorf("%s: m1 is %q, want Online", when, st)
		}
	}
	for _, f := range catalog.Flavors {
		t.Run(string(f)+"/rest", func(t *testing.T) {
			s := NewServer(t, Options{Flavor: f, Members: []string{"m1", "m2"}})
			for _, step := range []struct{ action, status, message string }{
				{"evacuate", "Evacuated", "Unavailable due to maintenance"},
				{"restore", "Online", "Fully operational"},
			} {
				code, h, env := do(t, s, "POST", "/1.0/cluster/members/m2/state", `{"action":"`+step.action+`"}`)
				op := asyncOp(t, code, h, env)
				if op.Location != "m2" || op.Resources != nil {
					t.Errorf("%s: operation location %q resources %v, want m2 and none", step.action, op.Location, op.Resources)
				}
				code, _, env = do(t, s, "GET", "/1.0/operations/"+op.ID+"/wait?timeout=10", "")
				if got := opOf(t, code, env); got.StatusCode != events.OpSuccess {
					t.Fatalf("%s: operation %s %q", step.action, got.Status, got.Err)
				}
				want(t, s, "after "+step.action, step.status, step.message)
				// Again: the operation fails as 5.0.2's does, changing nothing.
				code, h, env = do(t, s, "POST", "/1.0/cluster/members/m2/state", `{"action":"`+step.action+`"}`)
				op = asyncOp(t, code, h, env)
				do(t, s, "GET", "/1.0/operations/"+op.ID+"/wait?timeout=10", "") // Incus answers a failed one's wait with its error
				code, _, env = do(t, s, "GET", "/1.0/operations/"+op.ID, "")
				if got := opOf(t, code, env); got.StatusCode != events.OpFailure || !strings.HasPrefix(got.Err, "Cluster member is already ") {
					t.Errorf("%s again: operation %s %q, want Failure \"Cluster member is already …\"", step.action, got.Status, got.Err)
				}
				want(t, s, "after a second "+step.action, step.status, step.message)
			}
		})
		t.Run(string(f)+"/verb", func(t *testing.T) {
			s := NewServer(t, Options{Flavor: f, Members: []string{"m1", "m2"}})
			sc, err := scenarios.Parse("evacuate.yaml", []byte("name: evacuate\napi: lxd\nlxd:\n  members: [m1, m2]\nsteps:\n  - lxd: cluster.member-evacuate\n    name: m2\n  - lxd: cluster.member-restore\n    name: m2\n"))
			if err != nil {
				t.Fatal(err)
			}
			e, err := scenarios.New(sc, scenarios.Options{Flavor: f})
			if err != nil {
				t.Fatal(err)
			}
			ends := 0
			for {
				r, err := e.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Deliver(t.Context(), r); err != nil {
					t.Fatal(err)
				}
				if r.Type != events.LXDTypeOperation {
					continue
				}
				var ev struct {
					Metadata events.LXDOperation `json:"metadata"`
				}
				if err := json.Unmarshal(r.AppendJSON(nil), &ev); err != nil {
					t.Fatal(err)
				}
				if ev.Metadata.StatusCode != events.OpSuccess {
					continue
				}
				switch ends++; ends {
				case 1:
					want(t, s, "after the evacuation", "Evacuated", "Unavailable due to maintenance")
				case 2:
					want(t, s, "after the restore", "Online", "Fully operational")
				}
			}
			if ends != 2 {
				t.Errorf("the scenario ended %d operations, want 2", ends)
			}
		})
	}
}
