package simulator_test

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/eventsim/eventsim/simulator"
)

// listenerOf says how to reach one of a simulator's listeners: network,
// address, and a plain request it answers with 200.
func listenerOf(srv *simulator.Server, name string) (network, addr, request string) {
	switch name {
	case "lxd-unix":
		return "unix", srv.LXD().SocketPath(), "GET /1.0 HTTP/1.1\r\nHost: lxd\r\n\r\n"
	case "linode":
		return "tcp", strings.TrimPrefix(srv.Linode().URL(), "http://"),
			"GET /v4/account/events HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + srv.Linode().Token() + "\r\n\r\n"
	}
	return "tcp", strings.TrimPrefix(srv.LXD().URL(), "http://"), "GET /1.0 HTTP/1.1\r\nHost: localhost\r\n\r\n"
}

// keepAlive opens a connection, makes one request on it and leaves it
// open and idle. It returns nil if the server closed the connection
// instead of answering.
func keepAlive(t *testing.T, network, addr, request string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout(network, addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	c.SetDeadline(time.Now().Add(3 * time.Second))
	br := bufio.NewReader(c)
	if _, err := io.WriteString(c, request); err != nil {
		c.Close()
		return nil, nil
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		c.Close()
		return nil, nil
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("%s %s: %d", addr, strings.Fields(request)[1], resp.StatusCode)
	}
	c.SetDeadline(time.Time{})
	return c, br
}

// answers reports whether a listener answers a fresh request with 200.
func answers(t *testing.T, srv *simulator.Server, name string) bool {
	t.Helper()
	network, addr, req := listenerOf(srv, name)
	c, _ := keepAlive(t, network, addr, req)
	if c == nil {
		return false
	}
	c.Close()
	return true
}

// TestIdleConnectionFlood: idle keep-alive connections fill one listener to
// its cap. Past the cap a connection is closed at once; the other
// listeners keep answering; and once the idle ones time out the flooded
// listener answers again. Event WebSockets outlive the idle and body
// timeouts.
func TestIdleConnectionFlood(t *testing.T) {
	const maxConns, idle = 8, 500 * time.Millisecond
	var opts simulator.Options
	opts.LXD.MaxConns, opts.LXD.IdleTimeout, opts.LXD.BodyTimeout = maxConns, idle, idle
	opts.Linode.MaxConns, opts.Linode.IdleTimeout, opts.Linode.BodyTimeout = maxConns, idle, idle
	names := []string{"lxd-tcp", "lxd-unix", "linode"}
	for _, flooded := range names {
		t.Run(flooded, func(t *testing.T) {
			srv := startSim(t, quietScenario, opts)
			network, addr, req := listenerOf(srv, flooded)
			var idles []net.Conn
			for len(idles) < maxConns {
				c, _ := keepAlive(t, network, addr, req)
				if c == nil {
					t.Fatalf("connection %d of %d refused", len(idles)+1, maxConns)
				}
				defer c.Close()
				idles = append(idles, c)
			}
			// Past the cap: closed at once, not left waiting.
			start := time.Now()
			if c, _ := keepAlive(t, network, addr, req); c != nil {
				c.Close()
				t.Errorf("connection %d answered, past a cap of %d", maxConns+1, maxConns)
			} else if d := time.Since(start); d > time.Second {
				t.Errorf("connection past the cap ended after %v", d)
			}
			for _, other := range names {
				if other != flooded && !answers(t, srv, other) {
					t.Errorf("%s does not answer while %s is full", other, flooded)
				}
			}
			// The idle ones are closed by the server once idle long enough.
			for i, c := range idles {
				c.SetReadDeadline(time.Now().Add(idle + 2*time.Second))
				if n, err := c.Read(make([]byte, 1)); err == nil || n > 0 {
					t.Fatalf("idle connection %d still open after %v: %v", i, idle+2*time.Second, err)
				}
			}
			deadline := time.Now().Add(2 * time.Second)
			for !answers(t, srv, flooded) {
				if time.Now().After(deadline) {
					t.Fatalf("%s does not answer after its idle connections timed out", flooded)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}

	t.Run("websocket outlives the timeouts", func(t *testing.T) {
		srv := startSim(t, quietScenario, opts)
		tcp, unix := wsDial(t, srv, ""), wsDialUnix(t, srv)
		time.Sleep(3 * idle)
		base, c := controlAt(srv, "lxd-unix")
		if code, m := call(t, c, "POST", base+"/emit?api=lxd", lxdEvent("still-here")); code != 202 {
			t.Fatalf("emit: %d %v", code, m)
		}
		for name, ws := range map[string]interface{ ReadMessage() (int, []byte, error) }{"tcp": tcp, "unix": unix} {
			if _, b, err := ws.ReadMessage(); err != nil || !strings.Contains(string(b), "still-here") {
				t.Errorf("%s event client after %v: %v %s", name, 3*idle, err, b)
			}
		}
	})
}

// TestEndlessChunkedBody: a chunked body that never ends, trickled a byte
// at a time, is cut at the body timeout on every listener, which keeps
// serving.
func TestEndlessChunkedBody(t *testing.T) {
	const bodyTimeout = 400 * time.Millisecond
	var opts simulator.Options
	opts.LXD.BodyTimeout, opts.Linode.BodyTimeout = bodyTimeout, bodyTimeout
	srv := startSim(t, quietScenario, opts)
	for _, name := range []string{"lxd-tcp", "lxd-unix", "linode"} {
		paths := []string{"/1.0/profiles", "/eventsim/v1/emit?api=lxd"} // a handler that reads the body
		if name == "linode" {
			paths = []string{"/eventsim/v1/emit?api=lxd", "/v4/account/events/1/seen"} // and one that does not
		}
		for _, path := range paths {
			t.Run(name+path, func(t *testing.T) {
				network, addr, _ := listenerOf(srv, name)
				c, err := net.Dial(network, addr)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				endlessBodyCut(t, c, path, srv.ControlToken(), bodyTimeout)
				if !answers(t, srv, name) {
					t.Errorf("%s stopped answering", name)
				}
			})
		}
	}
}

// TestEndlessChunkedBodyTLS: the same on LXD's TLS listener, from a client
// without a trusted certificate (answered 403 without its body being read).
func TestEndlessChunkedBodyTLS(t *testing.T) {
	const bodyTimeout = 400 * time.Millisecond
	var opts simulator.Options
	opts.LXD.TLS, opts.LXD.BodyTimeout = true, bodyTimeout
	srv := startSim(t, quietScenario, opts)
	cfg := &tls.Config{InsecureSkipVerify: true}
	c, err := tls.Dial("tcp", strings.TrimPrefix(srv.LXD().URL(), "https://"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	endlessBodyCut(t, c, "/1.0/profiles", "", bodyTimeout)
	hc := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
	resp, err := hc.Get(srv.LXD().URL() + "/1.0")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("TLS listener after the cut body: %v %v", resp, err)
	}
	resp.Body.Close()
}

// endlessBodyCut POSTs to path a chunked body that never ends (a byte every
// 50 ms) and checks that the server answers and closes the connection, or
// just closes it, within the body timeout and a little.
func endlessBodyCut(t *testing.T, c net.Conn, path, token string, bodyTimeout time.Duration) {
	t.Helper()
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n", path, token)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				if _, err := io.WriteString(c, "1\r\n \r\n"); err != nil {
					return
				}
			}
		}
	}()
	start := time.Now()
	c.SetReadDeadline(start.Add(bodyTimeout + 3*time.Second))
	_, err := io.Copy(io.Discard, c) // an answer, if any, then the close
	if d := time.Since(start); err != nil && !isReset(err) || d > bodyTimeout+2*time.Second {
		t.Errorf("connection not cut: after %v: %v", d, err)
	}
}

// isReset reports whether err is the peer resetting the connection, which
// a server closing with unread input may do.
func isReset(err error) bool { return strings.Contains(err.Error(), "connection reset") }
