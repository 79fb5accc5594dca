package simulator_test

import (
	"net/http"
	"testing"

	"github.com/eventsim/eventsim/simulator"
	"github.com/eventsim/eventsim/simulator/linode"
	"github.com/eventsim/eventsim/simulator/lxd"
)

// TestNewServer: each server a test embeds with NewServer answers during
// the test and is closed by the test's cleanup, as httptest.NewServer's.
func TestNewServer(t *testing.T) {
	for _, tt := range []struct {
		name  string
		start func(t *testing.T) string // the URL of a GET that answers 200
	}{
		{"simulator", func(t *testing.T) string {
			srv := simulator.NewServer(t, simulator.Options{Scenario: "lxd-projects"})
			// point clients at srv.LXD().URL(), srv.LXD().SocketPath(), srv.Linode().URL()
			return srv.LXD().URL() + "/1.0"
		}},
		{"lxd", func(t *testing.T) string {
			srv := lxd.NewServer(t, lxd.Options{})
			return srv.URL() + "/1.0"
		}},
		{"linode", func(t *testing.T) string {
			srv := linode.NewServer(t, linode.Options{Tokens: []string{"T"}})
			return srv.URL() + "/v4/regions"
		}},
	} {
		var url string
		t.Run(tt.name, func(t *testing.T) {
			url = tt.start(t)
			req, _ := http.NewRequestWithContext(t.Context(), "GET", url, nil)
			req.Header.Set("Authorization", "Bearer T")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("GET %s during the test: %v", url, err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET %s during the test: %d", url, resp.StatusCode)
			}
		})
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			t.Errorf("%s: GET %s after the test answered %d; the cleanup should have closed it", tt.name, url, resp.StatusCode)
		}
	}
}
