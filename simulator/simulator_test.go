package simulator_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/eventsim/eventsim/conformance"
	"github.com/eventsim/eventsim/scenarios"
	"github.com/eventsim/eventsim/simulator"
)

// quietScenario plays nothing for a day, so tests see only what they cause.
const quietScenario = `name: quiet
description: nothing happens
api: [lxd, linode]
lxd:
  projects: [web]
  pools: [pool1]
  logging: false
steps:
  - wait: 24h
`

// unixClient is an HTTP client that talks to a unix socket whatever the URL's host.
func unixClient(sock string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
}

// wsDial connects an LXD event client over TCP ("" query: the default project).
func wsDial(t *testing.T, srv *simulator.Server, query string) *websocket.Conn {
	t.Helper()
	u := strings.Replace(srv.LXD().URL(), "http://", "ws://", 1) + "/1.0/events"
	if query != "" {
		u += "?" + query
	}
	before := srv.LXD().Stats().Connections
	c, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", u, err)
	}
	t.Cleanup(func() { c.Close() })
	waitRegistered(t, srv, before)
	return c
}

// waitRegistered waits until the LXD server has accepted a client more
// than before.
func waitRegistered(t *testing.T, srv *simulator.Server, before uint64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for srv.LXD().Stats().Connections == before {
		if time.Now().After(deadline) {
			t.Fatal("the LXD server did not register the client")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// wsDialUnix connects an LXD event client over the unix socket.
func wsDialUnix(t *testing.T, srv *simulator.Server) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{NetDialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var nd net.Dialer
		return nd.DialContext(ctx, "unix", srv.LXD().SocketPath())
	}}
	before := srv.LXD().Stats().Connections
	c, _, err := d.Dial("ws://unix.socket/1.0/events", nil)
	if err != nil {
		t.Fatalf("dial unix: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	waitRegistered(t, srv, before)
	return c
}

// nextFrame reads one text frame within 5 s.
func nextFrame(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read frame: %v", err)
	}
	return string(b)
}

// noFrame checks nothing arrives for d.
func noFrame(t *testing.T, c *websocket.Conn, d time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	if _, b, err := c.ReadMessage(); err == nil {
		t.Fatalf("unexpected frame %s", b)
	}
}

// closeOf reads until the connection ends and returns the close code.
func closeOf(t *testing.T, c *websocket.Conn) (int, string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code, ce.Text
			}
			return websocket.CloseAbnormalClosure, err.Error()
		}
	}
}

// lxdEvent is an LXD lifecycle event as the emit control call takes it.
func lxdEvent(action string) string {
	return `{"type":"lifecycle","metadata":{"action":"` + action + `","source":"/1.0/profiles/default"},"project":"default"}`
}

// call sends a control or API request and decodes the JSON answer.
func call(t *testing.T, c *http.Client, method, url, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s: %d, body not a JSON object: %s", method, url, resp.StatusCode, b)
	}
	return resp.StatusCode, m
}

// TestRESTOnVirtualClock: events of REST requests to the fake LXD are
// stamped with the scenario's clock and share the stream with played events.
func TestRESTOnVirtualClock(t *testing.T) {
	srv := startSim(t, strings.Replace(quietScenario, "steps:", "start: 2030-06-01T00:00:00Z\nsteps:", 1), simulator.Options{Speed: 1})
	c := wsDial(t, srv, "all-projects=true")
	code, _ := call(t, http.DefaultClient, "POST", srv.LXD().URL()+"/1.0/profiles?project=web", `{"name":"web1"}`)
	if code != 201 {
		t.Fatalf("create profile: %d", code)
	}
	f := nextFrame(t, c)
	var ev struct {
		Timestamp time.Time `json:"timestamp"`
		Project   string    `json:"project"`
		Metadata  struct{ Action, Source string }
	}
	json.Unmarshal([]byte(f), &ev)
	if ev.Metadata.Action != "profile-created" || ev.Metadata.Source != "/1.0/profiles/web1?project=web" || ev.Project != "web" {
		t.Errorf("event %s", f)
	}
	start := time.Date(2030, 6, 1, 0, 0, 0, 0, time.UTC)
	if ev.Timestamp.Before(start) || ev.Timestamp.After(start.Add(time.Minute)) {
		t.Errorf("timestamp %s is not on the scenario's clock (from %s)", ev.Timestamp, start)
	}
	// The scenario's pool exists for volumes.
	code, _ = call(t, http.DefaultClient, "POST", srv.LXD().URL()+"/1.0/storage-pools/pool1/volumes/custom", `{"name":"v"}`)
	if code != 200 {
		t.Errorf("volume in the scenario's pool: %d", code)
	}
}

// TestGoAPI: the control operations, from Go.
func TestGoAPI(t *testing.T) {
	srv := startSim(t, quietScenario, simulator.Options{Speed: 0})
	c := wsDial(t, srv, "")
	if st := srv.Stats(); st.Scenario != "quiet" || st.LXD.Clients != 1 {
		t.Errorf("stats %+v", st)
	}
	scen, err := scenarios.Parse("inline", []byte(strings.Replace(quietScenario, "name: quiet", "name: quiet-two", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Run(scen); err != nil {
		t.Fatal(err)
	}
	if st := srv.Stats(); st.Scenario != "quiet-two" {
		t.Errorf("after Run: scenario %q", st.Scenario)
	}
	rec := &scenarios.Record{API: "lxd", Type: "lifecycle", Project: "default", Time: srv.Now(),
		JSON: []byte(`{"type":"lifecycle","timestamp":"2026-01-01T00:00:00Z","metadata":{"action":"profile-updated","source":"/1.0/profiles/default"},"location":"none","project":"default"}`)}
	if err := srv.Deliver(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	if f := nextFrame(t, c); !strings.Contains(f, "profile-updated") {
		t.Errorf("delivered event: %s", f)
	}
	if err := srv.Deliver(t.Context(), &scenarios.Record{API: "lxd", Time: srv.Now(), Fault: &scenarios.Fault{Kind: "drop", API: "lxd", Count: 1}}); err != nil {
		t.Fatal(err)
	}
	srv.Deliver(t.Context(), rec)
	noFrame(t, c, 100*time.Millisecond)
	if st := srv.Stats(); st.LXD.Dropped != 1 || st.LXD.Faults != 1 || st.Records < 3 {
		t.Errorf("stats after a drop: %+v", st)
	}
	if err := srv.Reset(); err != nil {
		t.Fatal(err)
	}
	if st := srv.Stats(); st.Scenario != "quiet-two" {
		t.Errorf("after Reset: scenario %q", st.Scenario)
	}
	if err := srv.Deliver(t.Context(), &scenarios.Record{API: "lxd"}); err == nil {
		t.Error("a record without JSON was accepted")
	}
}

// TestClose: every LXD client gets 1001, the listeners close and the
// socket file goes.
func TestClose(t *testing.T) {
	srv := startSim(t, quietScenario, simulator.Options{Speed: 1})
	tcp := wsDial(t, srv, "")
	unix := wsDialUnix(t, srv)
	sock := srv.LXD().SocketPath()
	lxdAddr, linodeURL := srv.LXD().Addrs()[0], srv.Linode().URL()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*websocket.Conn{"tcp": tcp, "unix": unix} {
		if code, text := closeOf(t, c); code != websocket.CloseGoingAway || text != "server shutting down" {
			t.Errorf("%s client: close %d %q, want 1001 \"server shutting down\"", name, code, text)
		}
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket file after Close: %v", err)
	}
	if c, err := net.Dial("tcp", lxdAddr); err == nil {
		c.Close()
		t.Error("the LXD TCP listener still accepts")
	}
	if resp, err := http.Get(linodeURL + "/v4/account/events"); err == nil {
		resp.Body.Close()
		t.Error("the Linode listener still answers")
	}
	if err := srv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestConformanceWhilePlaying runs the conformance suite with Exercise
// against the whole simulator while the demo scenario plays in real time:
// played events and the events of the suite's REST requests share the
// stream, and every check passes with no warning.
func TestConformanceWhilePlaying(t *testing.T) {
	opts := simulator.Options{Scenario: "demo", Speed: 1}
	opts.LXD.Socket = filepath.Join(t.TempDir(), "unix.socket")
	srv := simulator.NewServer(t, opts)
	rep, err := conformance.RunLXD(t.Context(), conformance.LXDOptions{Target: "unix://" + srv.LXD().SocketPath(), Exercise: true, Duration: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		if r.Status == conformance.Fail || r.Status == conformance.Warn {
			for _, f := range r.Findings {
				t.Errorf("%s %s: %s\n  %s", r.Status, r.ID, f.Problem, f.Subject)
			}
		}
		if strings.HasPrefix(r.ID, "lxd.exercise.") && r.Status != conformance.Pass {
			t.Errorf("%s: %s", r.ID, r.Status)
		}
	}
	if st := srv.Stats(); st.LXD.Records == 0 || st.LXD.Emitted == 0 {
		t.Errorf("want both played and REST events: %+v", st.LXD)
	}
}
