package simulator

import "testing"

// NewServer starts the simulator for a test, as httptest.NewServer does: it
// fails the test when the simulator cannot start and closes it when the
// test and its subtests end (a Close error fails the test too).
//
//	srv := simulator.NewServer(t, simulator.Options{Scenario: "lxd-projects"})
//	// point clients at srv.LXD().URL(), srv.Linode().URL()
func NewServer(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s, err := New(opts)
	if err != nil {
		tb.Fatalf("simulator.NewServer: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("simulator Close: %v", err)
		}
	})
	return s
}
