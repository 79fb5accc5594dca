package lxd

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/eventsim/eventsim/scenarios"
)

// dialUnix connects an events client over the unix socket, whose buffers
// (unlike loopback TCP's, tuned up to megabytes) fill after a few hundred
// kilobytes, so that a client that does not read is soon behind.
func dialUnix(t testing.TB, s *Server) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{NetDialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var nd net.Dialer
		return nd.DialContext(ctx, "unix", s.SocketPath())
	}}
	before := s.Stats().Connections
	c, _, err := d.Dial("ws://unix.socket/1.0/events", nil)
	if err != nil {
		t.Fatalf("dial unix: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	waitFor(t, func() bool { return s.Stats().Connections > before }, "server to register the client")
	return c
}

// numbered reads seqRecord/bigRecord events until the connection ends and
// reports how many came, whether they came in order from first, and the
// close code (-1 without a close frame).
type numbered struct {
	mu      sync.Mutex
	n       int
	inOrder bool
	code    int
	done    chan struct{}
}

func readNumbered(t *testing.T, c *websocket.Conn, first int) *numbered {
	r := &numbered{inOrder: true, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for {
			_, b, err := c.ReadMessage()
			if err != nil {
				r.mu.Lock()
				r.code = -1
				if ce, ok := err.(*websocket.CloseError); ok {
					r.code = ce.Code
				}
				r.mu.Unlock()
				return
			}
			n := seqOf(t, string(b))
			r.mu.Lock()
			if n != first+r.n {
				r.inOrder = false
			}
			r.n++
			r.mu.Unlock()
		}
	}()
	return r
}

func (r *numbered) get() (n int, inOrder bool, code int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n, r.inOrder, r.code
}

// TestCatchUpEvictsOnlyTheStuckClient: a player catching up (WaitForClients
// before each event) with 19 clients that read and one that never does:
// the stuck one is evicted as a laggard, the 19 get every event in order.
func TestCatchUpEvictsOnlyTheStuckClient(t *testing.T) {
	const readers, events = 19, 1500
	s := NewServer(t, Options{Addr: "-", Socket: filepath.Join(t.TempDir(), "unix.socket"), QueueSize: 64, laggardLimit: time.Second, writeWait: 2 * time.Second})
	var rs []*numbered
	for range readers {
		rs = append(rs, readNumbered(t, dialUnix(t, s), 0))
	}
	stuck := dialUnix(t, s)
	for i := range events {
		if err := s.WaitForClients(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := s.Deliver(t.Context(), bigRecord(i, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	// It goes once its writer, blocked on the full socket, gives up (2 s),
	// which a loaded machine under -race can make several times longer.
	waitWithin(t, 30*time.Second, func() bool { st := s.Stats(); return st.Evicted > 0 && st.Clients == readers }, "the stuck client to go")
	for i, r := range rs {
		waitFor(t, func() bool { n, _, code := r.get(); return n == events || code != 0 }, "every event")
		if n, inOrder, code := r.get(); n != events || !inOrder || code != 0 {
			t.Errorf("reader %d: %d of %d events, in order %v, close %d", i, n, events, inOrder, code)
		}
	}
	if st := s.Stats(); st.Evicted != 1 {
		t.Errorf("%d clients evicted, want the stuck one only", st.Evicted)
	}
	stuck.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := stuck.ReadMessage(); err != nil {
			// Its close frame waits behind what it never read, so it may
			// not get there before the connection is cut.
			if !websocket.IsCloseError(err, websocket.ClosePolicyViolation, websocket.CloseAbnormalClosure) {
				t.Errorf("stuck client: %v, want close 1008 or none", err)
			}
			break
		}
	}
}

// TestPauseHoldIsBounded: a pause of a day holds at most 64 queues' worth
// of events, the player waiting meanwhile; ResetFaults frees them and
// events flow again.
func TestPauseHoldIsBounded(t *testing.T) {
	const queue, events = 16, 3000
	limit := heldPerQueue * queue
	s := NewServer(t, Options{QueueSize: queue, Backpressure: true})
	r := readNumbered(t, dial(t, s, ""), limit)
	pause := &scenarios.Fault{Kind: scenarios.FaultPause, API: "lxd", For: 24 * time.Hour}
	if err := s.Deliver(t.Context(), &scenarios.Record{API: "lxd", Fault: pause}); err != nil {
		t.Fatal(err)
	}
	played := make(chan error, 1)
	go func() {
		for i := range events {
			if err := s.Deliver(t.Context(), seqRecord(i, "logging", "")); err != nil {
				played <- err
				return
			}
		}
		played <- nil
	}()
	waitFor(t, func() bool { return s.Stats().Held == limit }, "the pause to hold its limit")
	time.Sleep(200 * time.Millisecond)
	if held := s.Stats().Held; held != limit {
		t.Errorf("the pause holds %d events, want at most %d", held, limit)
	}
	select {
	case err := <-played:
		t.Fatalf("the player went on past a full pause: %v", err)
	default:
	}
	s.ResetFaults()
	if held := s.Stats().Held; held != 0 {
		t.Errorf("after ResetFaults the pause still holds %d events", held)
	}
	if err := <-played; err != nil {
		t.Fatal(err)
	}
	// The events the pause held are gone; those after flow unpaused.
	waitFor(t, func() bool { n, _, _ := r.get(); return n == events-limit }, "the events after the reset")
	if n, inOrder, code := r.get(); !inOrder || code != 0 {
		t.Errorf("after the reset: %d events, in order from %d %v, close %d", n, limit, inOrder, code)
	}
}

// TestRESTBurstWaitsForListeners: REST requests that come faster than the
// event listeners read wait for them instead of filling their queues, when
// several listeners are behind (here, listeners that stop reading for a
// while) or one is slow but reading: no listener is evicted, and each gets
// every event, in order, once it reads at full speed again.
func TestRESTBurstWaitsForListeners(t *testing.T) {
	for _, tc := range []struct {
		name string
		// slow says how listener i reads until a request has waited:
		// not at all (-1), or one frame per delay.
		slow  []time.Duration
		queue int
	}{
		{"three stop reading", []time.Duration{-1, -1, -1}, 16},
		{"one reads slowly", []time.Duration{0, 5 * time.Millisecond}, 16},
		// With the default queue, a write of the slow listener's takes
		// many frames (up to 64 KiB): it reads all along, if not a whole
		// write in a moment.
		{"one reads slowly, default queue", []time.Duration{0, 10 * time.Millisecond}, DefaultQueueSize},
	} {
		t.Run(tc.name, func(t *testing.T) { testRESTBurstWaits(t, tc.slow, tc.queue) })
	}
}

func testRESTBurstWaits(t *testing.T, slow []time.Duration, queue int) {
	s := NewServer(t, Options{Socket: filepath.Join(t.TempDir(), "unix.socket"), QueueSize: queue, burstWait: time.Minute})
	listeners := len(slow)
	gate := make(chan struct{})
	counts := make([]atomic.Int64, listeners)
	var wg sync.WaitGroup
	for i := range listeners {
		c := dialUnix(t, s) // small socket buffers: a listener that does not read is soon behind
		wg.Go(func() {
			for {
				switch d := slow[i]; {
				case d < 0:
					<-gate
				case d > 0:
					select {
					case <-gate:
					case <-time.After(d):
					}
				}
				c.SetReadDeadline(time.Now().Add(time.Minute))
				_, b, err := c.ReadMessage()
				if err != nil {
					return
				}
				_, name, ok := strings.Cut(string(b), `"source":"/1.0/profiles/p`)
				n, err := strconv.Atoi(name[:max(strings.IndexByte(name, '"'), 0)])
				if !ok || err != nil || int64(n) != counts[i].Load() {
					t.Errorf("listener %d: event %d is %s", i, counts[i].Load(), b)
					return
				}
				counts[i].Add(1)
			}
		})
	}
	t.Cleanup(func() { s.Close(); wg.Wait() })

	// Profiles p0, p1, … until a request has waited, and 20 more.
	made := make(chan int, 1)
	go func() {
		after := -1
		for i := 0; ; i++ {
			if i == after || s.Stats().Evicted > 0 {
				made <- i
				return
			}
			if i == 50000 {
				t.Errorf("%d requests and none waited for the listeners: %+v", i, s.Stats())
				made <- i
				return
			}
			resp, err := http.Post(s.URL()+"/1.0/profiles", "application/json", strings.NewReader(fmt.Sprintf(`{"name":"p%d"}`, i)))
			if err != nil {
				t.Errorf("profile %d: %v", i, err)
				made <- i
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				t.Errorf("profile %d: %s", i, resp.Status)
			}
			if after < 0 && s.burstHeld.Load() > 0 {
				after = i + 20
			}
		}
	}()
	waitFor(t, func() bool { return s.burstHeld.Load() > 0 || s.Stats().Evicted > 0 }, "a request to wait for the listeners")
	close(gate)
	n := <-made
	if st := s.Stats(); st.Evicted != 0 {
		t.Fatalf("after %d requests: %d listeners evicted, want none (a request waited %d times)", n, st.Evicted, s.burstHeld.Load())
	}
	for i := range counts {
		waitFor(t, func() bool { return counts[i].Load() >= int64(n) || t.Failed() }, "every event")
	}
	if st := s.Stats(); st.Evicted != 0 || st.Clients != listeners {
		t.Errorf("stats %+v: want every listener still connected", st)
	}
}

// TestRESTBurstEvictsAListenerThatTakesNothing: a listener whose
// connection takes nothing holds REST requests for no more than a moment:
// it is evicted when its queue is full, and the one that reads gets every
// event.
func TestRESTBurstEvictsAListenerThatTakesNothing(t *testing.T) {
	s := NewServer(t, Options{Socket: filepath.Join(t.TempDir(), "unix.socket"), QueueSize: 16, burstWait: time.Minute, writeWait: time.Minute})
	dialUnix(t, s) // never reads
	reader := dialUnix(t, s)
	var got atomic.Int64
	go func() {
		for {
			reader.SetReadDeadline(time.Now().Add(time.Minute))
			if _, _, err := reader.ReadMessage(); err != nil {
				return
			}
			got.Add(1)
		}
	}()
	// A request held for burstWait would time out; so would one held
	// until the listener's write gives up (writeWait).
	hc := &http.Client{Timeout: 20 * time.Second}
	n := 0
	for ; s.Stats().Evicted == 0; n++ {
		if n == 20000 {
			t.Fatalf("after %d requests the listener that reads nothing is still connected: %+v", n, s.Stats())
		}
		resp, err := hc.Post(s.URL()+"/1.0/profiles", "application/json", strings.NewReader(fmt.Sprintf(`{"name":"p%d"}`, n)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("profile %d: %s", n, resp.Status)
		}
	}
	waitFor(t, func() bool { return got.Load() >= int64(n) }, "every event at the listener that reads")
	if st := s.Stats(); st.Evicted != 1 {
		t.Errorf("stats %+v: want the listener that reads nothing evicted", st)
	}
}

// TestRESTBurstEvictsAListenerThatStaysSlow: a listener that keeps reading,
// but much slower than the requests make events, while another keeps up,
// paces the requests for a while at most: it is evicted (when its queue
// fills while its writes hang, or as a laggard once it has been behind for
// the laggard limit, as while a player catches up), and the requests go
// on. A slow client does not stall the others for as long as it stays
// slow.
func TestRESTBurstEvictsAListenerThatStaysSlow(t *testing.T) {
	s := NewServer(t, Options{Socket: filepath.Join(t.TempDir(), "unix.socket"), QueueSize: 16, burstWait: time.Minute, laggardLimit: 300 * time.Millisecond})
	slow, fast := dialUnix(t, s), dialUnix(t, s)
	var got atomic.Int64
	for i, c := range []*websocket.Conn{slow, fast} {
		go func() {
			for {
				if i == 0 {
					time.Sleep(5 * time.Millisecond) // one frame per 5 ms, for ever
				}
				c.SetReadDeadline(time.Now().Add(time.Minute))
				if _, _, err := c.ReadMessage(); err != nil {
					return
				}
				if i == 1 {
					got.Add(1)
				}
			}
		}()
	}
	// A request held for burstWait (a minute) would time out.
	hc := &http.Client{Timeout: 20 * time.Second}
	n := 0
	for ; s.Stats().Evicted == 0; n++ {
		if n == 50000 {
			t.Fatalf("after %d requests the slow listener is still connected: %+v", n, s.Stats())
		}
		resp, err := hc.Post(s.URL()+"/1.0/profiles", "application/json", strings.NewReader(fmt.Sprintf(`{"name":"p%d"}`, n)))
		if err != nil {
			t.Fatalf("profile %d: %v (stats %+v)", n, err, s.Stats())
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("profile %d: %s", n, resp.Status)
		}
	}
	waitFor(t, func() bool { return got.Load() >= int64(n) }, "every event at the listener that keeps up")
	waitFor(t, func() bool { return s.Stats().Clients == 1 }, "the slow listener gone")
	if st := s.Stats(); st.Evicted != 1 {
		t.Errorf("stats %+v: want the slow listener evicted and the other connected", st)
	}
}
