package simulator_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/eventsim/eventsim/simulator"
)

// Example runs the simulator as a test would, like httptest: construct it
// with Options, point clients at the addresses it reports, Close it.
func Example() {
	dir, err := os.MkdirTemp("", "eventsim-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	opts := simulator.Options{Scenario: "lxd-projects", Speed: 0}
	opts.LXD.Socket = filepath.Join(dir, "unix.socket") // TCP on 127.0.0.1:<free port> too
	srv, err := simulator.New(opts)
	if err != nil {
		log.Fatal(err)
	}

	fmt.Println("LXD over TCP:", strings.HasPrefix(srv.LXD().URL(), "http://127.0.0.1:"))
	fmt.Println("LXD socket:", filepath.Base(srv.LXD().SocketPath()))
	fmt.Println("Linode:", strings.HasPrefix(srv.Linode().URL(), "http://127.0.0.1:"))

	// Any HTTP client reaches the fake LXD's unix socket, e.g. its REST API.
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", srv.LXD().SocketPath())
	}}}
	resp, err := c.Post("http://lxd/1.0/profiles", "application/json", strings.NewReader(`{"name":"web"}`))
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println("POST /1.0/profiles:", resp.Status, resp.Header.Get("Location"))
	fmt.Println("scenario:", srv.Stats().Scenario)

	// Close sends every event client a 1001 close frame, closes the
	// listeners and removes the socket file.
	if err := srv.Close(); err != nil {
		log.Fatal(err)
	}
	_, err = os.Stat(opts.LXD.Socket)
	fmt.Println("socket removed:", os.IsNotExist(err))
	// Output:
	// LXD over TCP: true
	// LXD socket: unix.socket
	// Linode: true
	// POST /1.0/profiles: 201 Created /1.0/profiles/web
	// scenario: lxd-projects
	// socket removed: true
}
