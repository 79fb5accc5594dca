package lxd

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eventsim/eventsim/conformance"
)

// TestConformanceExercise runs the conformance suite with --exercise
// against the fake, over the unix socket and over TCP: every REST request
// it makes must be answered and produce exactly the events a real LXD 5.0.2
// daemon produces, with no failure and no warning.
func TestConformanceExercise(t *testing.T) {
	for _, tt := range []struct {
		name    string
		project string
		logging bool
	}{
		{"unix", "default", true},
		{"tcp", "default", true},
		{"unix project p1 quiet", "p1", false},
		{"tcp project p1", "p1", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := NewServer(t, Options{Socket: filepath.Join(t.TempDir(), "unix.socket"), Projects: []string{"p1"}, Logging: tt.logging})
			target := "unix://" + s.SocketPath()
			if strings.HasPrefix(tt.name, "tcp") {
				target = s.URL()
			}
			rep, err := conformance.RunLXD(t.Context(), conformance.LXDOptions{Target: target, Exercise: true, Project: tt.project})
			if err != nil {
				t.Fatal(err)
			}
			exercised := 0
			for _, r := range rep.Results {
				if len(r.Findings) > 0 || r.Status == conformance.Fail || r.Status == conformance.Warn {
					t.Errorf("%s %s: %s", r.Status, r.ID, r.Note)
					for _, f := range r.Findings {
						t.Errorf("  %s: %s\n    %s", f.Status, f.Problem, f.Subject)
					}
				}
				if strings.HasPrefix(r.ID, "lxd.exercise.") {
					if r.Status != conformance.Pass {
						t.Errorf("%s: %s, want pass", r.ID, r.Status)
					}
					exercised++
				}
			}
			if exercised != 4 {
				t.Errorf("%d exercise checks ran, want 4", exercised)
			}
			if st := s.Stats(); st.Emitted == 0 {
				t.Errorf("the server emitted no event of its own: %+v", st)
			}
		})
	}
}

// TestConformanceKeepalive: the conformance runner's keepalive check passes
// against the fake's pings, here every 100ms instead of LXD's 10s.
func TestConformanceKeepalive(t *testing.T) {
	const every = 100 * time.Millisecond
	s := NewServer(t, Options{pingPeriod: every})
	rep, err := conformance.RunLXD(t.Context(), conformance.LXDOptions{Target: s.URL(), Duration: 600 * time.Millisecond, PingInterval: every})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		if r.ID == conformance.IDEventsKeepalive {
			if r.Status != conformance.Pass {
				t.Errorf("%s: %s %s %+v", r.ID, r.Status, r.Note, r.Findings)
			}
			return
		}
	}
	t.Errorf("no %s result", conformance.IDEventsKeepalive)
}
