package simulator

import (
	"testing"

	"github.com/eventsim/eventsim/internal/testserver"
)

// NewServer starts the simulator for a test, as httptest.NewServer does: it
// fails the test when the simulator cannot start and closes it when the
// test and its subtests end (a Close error fails the test too).
//
//	srv := simulator.NewServer(t, simulator.Options{Scenario: "lxd-projects"})
//	// point clients at srv.LXD().URL(), srv.Linode().URL()
func NewServer(tb testing.TB, opts Options) *Server {
	tb.Helper()
	return testserver.Start(tb, "simulator", func() (*Server, error) { return New(opts) })
}
