package lxd

import (
	"testing"

	"github.com/eventsim/eventsim/internal/testserver"
)

// NewServer starts a server for a test, as httptest.NewServer does: it
// fails the test when the server cannot start and closes it when the test
// and its subtests end (a Close error fails the test too).
//
//	srv := lxd.NewServer(t, lxd.Options{})
//	// point a client at srv.URL()
func NewServer(tb testing.TB, opts Options) *Server {
	tb.Helper()
	return testserver.Start(tb, "lxd", func() (*Server, error) { return New(opts) })
}
