// Package testserver starts a server for a test the way httptest.NewServer
// does; the fakes' NewServer functions are built on it.
package testserver

import "testing"

// Start starts a server with start, failing the test (naming the server
// by name) when it cannot, and closes it when the test and its subtests
// end; a Close error fails the test too.
func Start[S interface{ Close() error }](tb testing.TB, name string, start func() (S, error)) S {
	tb.Helper()
	s, err := start()
	if err != nil {
		tb.Fatalf("%s.NewServer: %v", name, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("%s server Close: %v", name, err)
		}
	})
	return s
}
