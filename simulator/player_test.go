package simulator_test

import (
	"context"
	"fmt"
	"hash/fnv"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/eventsim/eventsim/scenarios"
	"github.com/eventsim/eventsim/simulator"
)

// spinScenario makes no events: its engine steps through waits for ever.
const spinScenario = `name: spin
description: waits and nothing else
api: lxd
steps:
  - repeat: forever
    steps:
      - wait: 1s
`

// tickScenario makes 1,000 lifecycle events a second at speed 1, each of
// about 800 bytes, and nothing else.
var tickScenario = `name: ticks
description: one event a millisecond
api: lxd
lxd:
  logging: false
steps:
  - repeat: forever
    steps:
      - emit:
          lxd: {type: lifecycle, metadata: {action: instance-started, source: /1.0/instances/c1, context: {pad: ` + strings.Repeat("x", 600) + `}}}
      - wait: 1ms
`

// within runs f and fails the test if it takes longer than d (it does not
// wait for f beyond that: a hung f is the defect being tested).
func within(t *testing.T, d time.Duration, what string, f func() error) {
	t.Helper()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- f() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		t.Logf("%s took %s", what, time.Since(start).Round(time.Millisecond))
	case <-time.After(d):
		t.Fatalf("%s did not return within %s", what, d)
	}
}

// startSim starts a simulator on a built-in scenario name or a YAML text.
func startSim(t *testing.T, scenario string, opts simulator.Options) *simulator.Server {
	t.Helper()
	dir := t.TempDir()
	opts.Scenario = scenario
	if _, err := scenarios.Load(scenario); err != nil {
		opts.Scenario = filepath.Join(dir, "scenario.yaml")
		if err := os.WriteFile(opts.Scenario, []byte(scenario), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	opts.LXD.Socket = filepath.Join(dir, "unix.socket")
	return simulator.NewServer(t, opts)
}

// TestStopWhateverThePlayerDoes: behind schedule (lxd-steady at speed
// 1,000) or stepping through a scenario that makes no events, reset, run
// and close each return within a second, and after a run only the new
// scenario plays.
func TestStopWhateverThePlayerDoes(t *testing.T) {
	quiet, err := scenarios.Parse("quiet", []byte(quietScenario))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, scenario string
		speed          float64
		busy           func(simulator.Stats) bool // the player is at work
	}{
		{"behind schedule", "lxd-steady", 1000, func(st simulator.Stats) bool { return st.Records > 2000 }},
		{"no events", spinScenario, 1, func(simulator.Stats) bool { time.Sleep(200 * time.Millisecond); return true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startSim(t, tt.scenario, simulator.Options{Speed: tt.speed})
			waitUntil(t, func() bool { return tt.busy(srv.Stats()) }, "the player at work")
			within(t, time.Second, "reset", srv.Reset)
			waitUntil(t, func() bool { return tt.busy(srv.Stats()) }, "the player at work after reset")
			within(t, time.Second, "run", func() error { return srv.Run(quiet) })
			// One player, the quiet one: nothing more is played.
			before := srv.Stats().Records
			time.Sleep(300 * time.Millisecond)
			if after := srv.Stats().Records; after != before {
				t.Errorf("records went from %d to %d after running the quiet scenario: the old player still plays", before, after)
			}
			if err := srv.Run(mustLoad(t, tt.scenario)); err != nil {
				t.Fatal(err)
			}
			waitUntil(t, func() bool { return tt.busy(srv.Stats()) }, "the player at work again")
			within(t, time.Second, "close", srv.Close)
			if err := srv.Run(quiet); err == nil {
				t.Error("run after close: no error")
			}
		})
	}
}

func mustLoad(t *testing.T, scenario string) *scenarios.Scenario {
	t.Helper()
	if s, err := scenarios.Load(scenario); err == nil {
		return s
	}
	s, err := scenarios.Parse("scenario", []byte(scenario))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func waitUntil(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var timestampRE = regexp.MustCompile(`"timestamp":"([^"]+)"`)

// stream is what one event client received: a count, a hash of every frame
// in order, whether timestamps ever went back, and the close code.
type stream struct {
	mu       sync.Mutex
	n        int
	hash     uint64
	backward bool
	closed   int // close code (-1 without one), 0 while open
	last     time.Time
}

// readStream connects an event client over the unix socket (whose buffers,
// unlike loopback TCP's, are not tuned up to megabytes, so that a burst
// reaches the queues) and reads its frames until the connection ends.
func readStream(t *testing.T, srv *simulator.Server, query string) *stream {
	t.Helper()
	d := websocket.Dialer{NetDialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var nd net.Dialer
		return nd.DialContext(ctx, "unix", srv.LXD().SocketPath())
	}}
	before := srv.LXD().Stats().Connections
	c, _, err := d.Dial("ws://unix.socket/1.0/events?"+query, nil)
	if err != nil {
		t.Fatalf("dial unix: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	waitRegistered(t, srv, before)
	st := &stream{}
	go func() {
		h := fnv.New64a()
		for {
			_, b, err := c.ReadMessage()
			if err != nil {
				st.mu.Lock()
				st.closed = -1
				if ce, ok := err.(*websocket.CloseError); ok {
					st.closed = ce.Code
				}
				st.mu.Unlock()
				return
			}
			ts := timestampRE.FindSubmatch(b)
			at, err := time.Parse(time.RFC3339Nano, string(ts[1]))
			if err != nil {
				t.Errorf("frame %q: %v", b, err)
			}
			h.Write(b)
			st.mu.Lock()
			st.n++
			st.hash = h.Sum64()
			if at.Before(st.last) {
				st.backward = true
			}
			st.last = at
			st.mu.Unlock()
		}
	}()
	return st
}

func (st *stream) get() (n int, hash uint64, backward bool, closed int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.n, st.hash, st.backward, st.closed
}

// TestPauseKeepsEveryClient: when a pause fault has held the stream for a
// second, the 1,000 events it held (many more than a client's queue, here
// 64, and its socket's buffer take) reach all 20 healthy clients, every
// event in the same order, and none is evicted. (A stalled player is
// TestServeStallKeepsEveryClient in internal/cli: SIGSTOP and SIGCONT of
// eventsim serve.)
func TestPauseKeepsEveryClient(t *testing.T) {
	const clients, events = 20, 1000
	opts := simulator.Options{Speed: 1}
	opts.LXD.QueueSize = 64
	srv := startSim(t, quietScenario, opts)
	streams := make([]*stream, clients)
	for i := range streams {
		streams[i] = readStream(t, srv, "all-projects=true")
	}
	f := &scenarios.Fault{Kind: scenarios.FaultPause, API: "lxd", For: time.Second}
	pauseEnds := time.Now().Add(f.For) // no sooner than this
	if err := srv.Deliver(t.Context(), &scenarios.Record{API: "lxd", Fault: f}); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	for i := range events {
		j := fmt.Sprintf(`{"type":"lifecycle","timestamp":%q,"metadata":{"action":"instance-started","source":"/1.0/instances/c%d","context":{"pad":%q}},"location":"none","project":"default"}`,
			at.Add(time.Duration(i)*time.Millisecond).Format(time.RFC3339Nano), i, strings.Repeat("x", 600))
		if err := srv.Deliver(t.Context(), &scenarios.Record{API: "lxd", Type: "lifecycle", Project: "default", JSON: []byte(j)}); err != nil {
			t.Fatal(err)
		}
	}
	// On a loaded machine the pause may end before the last Deliver; the
	// count is known only when it has not.
	if held := srv.LXD().Stats().Held; held != events && time.Now().Before(pauseEnds) {
		t.Fatalf("the pause holds %d events, want %d", held, events)
	}
	waitUntil(t, func() bool {
		st := srv.LXD().Stats()
		return st.Held == 0 && st.Written == st.Sent || st.Evicted > 0
	}, "the pause to end and every queued frame to be written")
	st := srv.LXD().Stats()
	if st.Evicted != 0 || st.Clients != clients {
		t.Errorf("after the pause: %d clients evicted, %d of %d connected", st.Evicted, st.Clients, clients)
	}
	waitUntil(t, func() bool {
		for _, s := range streams {
			if n, _, _, closed := s.get(); n < events && closed == 0 {
				return false
			}
		}
		return true
	}, "every client to read what was sent")
	n0, h0, _, _ := streams[0].get()
	for i, s := range streams {
		n, h, backward, closed := s.get()
		if n != events || h != h0 || backward || closed != 0 {
			t.Errorf("client %d: %d frames (client 0: %d, want %d), same order as client 0: %v, timestamps back: %v, close %d",
				i, n, n0, events, h == h0, backward, closed)
		}
	}
}

// TestLongPauseIsBoundedAndResetFreesIt: a pause of a day holds at most 64
// queues' worth of events (1,024 with a queue of 16) while the player waits,
// and reset frees them and ends the pause: events flow again.
func TestLongPauseIsBoundedAndResetFreesIt(t *testing.T) {
	opts := simulator.Options{Speed: 1}
	opts.LXD.QueueSize = 16
	srv := startSim(t, tickScenario, opts)
	c := wsDial(t, srv, "")
	nextFrame(t, c)
	f := &scenarios.Fault{Kind: scenarios.FaultPause, API: "lxd", For: 24 * time.Hour}
	if err := srv.Deliver(t.Context(), &scenarios.Record{API: "lxd", Fault: f}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool { return srv.LXD().Stats().Held == 1024 }, "the pause to hold 1,024 events")
	time.Sleep(100 * time.Millisecond) // the player counts the record it then waits with
	records := srv.Stats().Records
	time.Sleep(300 * time.Millisecond)
	if st := srv.Stats(); st.LXD.Held != 1024 || st.Records != records {
		t.Errorf("a full pause: holds %d events (want 1,024), the player went from record %d to %d (want it waiting)", st.LXD.Held, records, st.Records)
	}
	within(t, time.Second, "reset", srv.Reset)
	if held := srv.LXD().Stats().Held; held != 0 {
		t.Errorf("after reset the pause holds %d events", held)
	}
	c = wsDial(t, srv, "")
	nextFrame(t, c) // within 5 s: the pause is over
}
