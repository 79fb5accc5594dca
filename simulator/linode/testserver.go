package linode

import "testing"

// NewServer starts a server for a test, as httptest.NewServer does: it
// fails the test when the server cannot start and closes it when the test
// and its subtests end (a Close error fails the test too).
//
//	srv := linode.NewServer(t, linode.Options{})
//	// point a client at srv.URL()
func NewServer(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s, err := New(opts)
	if err != nil {
		tb.Fatalf("linode.NewServer: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("linode server Close: %v", err)
		}
	})
	return s
}
