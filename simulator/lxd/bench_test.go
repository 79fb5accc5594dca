package lxd

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eventsim/eventsim/internal/cputime"
	"github.com/eventsim/eventsim/internal/loadclient"
	"github.com/eventsim/eventsim/scenarios"
)

// benchRecord is a real lifecycle event from the capture (about 250 bytes).
var benchRecord = &scenarios.Record{API: "lxd", Type: "lifecycle", Project: "default", Location: "none",
	JSON: []byte(`{"type":"lifecycle","timestamp":"2026-11-21T05:46:41.353257134Z","metadata":{"action":"profile-created","source":"/1.0/profiles/wz","requestor":{"username":"root","protocol":"unix","address":"@"}},"location":"none","project":"default"}`)}

// listener connects an events client that reads as a load tool would
// (internal/loadclient: one read for all the server has sent, frames cut in
// place) and waits until the server has it. The listeners share the cores
// with the server; gorilla/websocket's reader, an allocation per frame and
// reads of 4 KiB, cost them about as much CPU as the server spends writing.
func listener(tb testing.TB, s *Server) *loadclient.Events {
	tb.Helper()
	before := s.Stats().Connections
	e, err := loadclient.DialEvents("tcp", strings.TrimPrefix(s.URL(), "http://"), "/1.0/events")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { e.Close() })
	waitFor(tb, func() bool { return s.Stats().Connections > before }, "server to register the client")
	return e
}

// isEvent reports whether a frame is one whole event as the server writes
// it: a JSON object of a type, ending in a newline.
func isEvent(f []byte) bool {
	return bytes.HasPrefix(f, []byte(`{"type":"`)) && bytes.HasSuffix(f, []byte("}\n"))
}

// countingClients connects n clients that read and count frames, each
// checked to be a whole event.
func countingClients(b *testing.B, s *Server, n int) (counts []*atomic.Int64, wait func(want int64)) {
	b.Helper()
	var wg sync.WaitGroup
	for range n {
		c := listener(b, s)
		cnt := new(atomic.Int64)
		counts = append(counts, cnt)
		wg.Go(func() {
			for {
				f, err := c.Next()
				if err != nil {
					return
				}
				if !isEvent(f) {
					b.Errorf("frame %d is not a whole event: %q", cnt.Load(), f)
					return
				}
				cnt.Add(1)
			}
		})
	}
	b.Cleanup(func() { s.Close(); wg.Wait() })
	return counts, func(want int64) {
		deadline := time.Now().Add(60 * time.Second)
		for _, c := range counts {
			for c.Load() < want {
				if time.Now().After(deadline) {
					b.Fatalf("client got %d of %d frames (stats %+v)", c.Load(), want, s.Stats())
				}
				time.Sleep(100 * time.Microsecond)
			}
		}
	}
}

// BenchmarkDeliverOneClient: Deliver as fast as one client can take it
// (Backpressure on, as the player's speed 0 runs), on loopback.
func BenchmarkDeliverOneClient(b *testing.B) {
	benchThroughput(b, 1)
}

// BenchmarkDeliver100Clients: the same with 100 clients; the metric counts
// deliveries (events × clients).
func BenchmarkDeliver100Clients(b *testing.B) {
	benchThroughput(b, 100)
}

func benchThroughput(b *testing.B, clients int) {
	s := NewServer(b, Options{Backpressure: true})
	_, wait := countingClients(b, s, clients)
	ctx := b.Context()
	start, cpu0 := time.Now(), cputime.Used()
	for b.Loop() {
		if err := s.Deliver(ctx, benchRecord); err != nil {
			b.Fatal(err)
		}
	}
	wait(int64(b.N))
	elapsed, cpu := time.Since(start), cputime.Used()-cpu0
	b.ReportMetric(float64(b.N*clients)/elapsed.Seconds(), "deliveries/s")
	// CPU time of the whole process (server, clients and player) per
	// delivery: what a loaded machine distorts least.
	b.ReportMetric(float64(cpu)/float64(b.N*clients), "ns-cpu/delivery")
	if st := s.Stats(); st.Evicted != 0 {
		b.Fatalf("evicted clients: %+v", st)
	}
}

// vmRSS reads the process's resident set size from /proc/self/status.
func vmRSS(tb testing.TB) int64 {
	tb.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Skipf("no /proc/self/status: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	tb.Skip("no VmRSS in /proc/self/status")
	return 0
}

// BenchmarkIdleClientsRSS: the process's RSS with 1,000 idle clients
// connected (clients and server both in this process).
func BenchmarkIdleClientsRSS(b *testing.B) {
	before := vmRSS(b)
	s := NewServer(b, Options{})
	countingClients(b, s, 1000)
	for b.Loop() {
		time.Sleep(time.Millisecond)
	}
	after := vmRSS(b)
	b.ReportMetric(float64(after)/(1<<20), "MiB-RSS")
	b.ReportMetric(float64(after-before)/(1<<20), "MiB-RSS-added")
}

// BenchmarkLatency100Clients: 10,000 events/s for one second to 100
// clients; the metric is the 99th percentile of the time from Deliver to a
// client having the frame.
func BenchmarkLatency100Clients(b *testing.B) {
	const clients, rate, events = 100, 10000, 10000
	s := NewServer(b, Options{})
	lat := make([][]time.Duration, clients)
	var wg sync.WaitGroup
	for i := range clients {
		c := listener(b, s)
		lat[i] = make([]time.Duration, 0, 4*events) // b.Loop runs one second's worth or two
		wg.Go(func() {
			for {
				f, err := c.Next()
				if err != nil {
					return
				}
				now := time.Now().UnixNano()
				j := bytes.Index(f, []byte(`"sent=`))
				if !isEvent(f) || j < 0 {
					b.Errorf("frame is not a whole event with its time: %q", f)
					return
				}
				sent, _ := strconv.ParseInt(string(f[j+6:j+6+bytes.IndexByte(f[j+6:], '"')]), 10, 64)
				lat[i] = append(lat[i], time.Duration(now-sent))
			}
		})
	}
	ctx := b.Context()
	cpu0 := cputime.Used()
	for b.Loop() {
		start := time.Now()
		for i := range events {
			if d := time.Until(start.Add(time.Duration(i) * time.Second / rate)); d > 0 {
				time.Sleep(d)
			}
			j := fmt.Sprintf(`{"type":"logging","timestamp":"2026-01-01T00:00:00Z","metadata":{"message":"sent=%d","level":"info","context":{}},"location":"none"}`, time.Now().UnixNano())
			s.Deliver(ctx, &scenarios.Record{API: "lxd", JSON: []byte(j), Type: "logging"})
		}
	}
	waitWithin(b, time.Minute, func() bool {
		st := s.Stats()
		return st.Written >= uint64(clients*events*b.N) || st.Evicted > 0
	}, "frames written")
	if st := s.Stats(); st.Evicted > 0 {
		b.Fatalf("clients evicted: the machine is too busy to follow 10,000 events/s to 100 clients (stats %+v)", st)
	}
	cpu := cputime.Used() - cpu0
	time.Sleep(50 * time.Millisecond)
	s.Close()
	wg.Wait()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	if len(all) != clients*events*b.N {
		b.Fatalf("got %d latencies, want %d (stats %+v)", len(all), clients*events*b.N, s.Stats())
	}
	slices.Sort(all)
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(all[len(all)*90/100].Microseconds())/1000, "p90-ms")
	b.ReportMetric(float64(all[len(all)*999/1000].Microseconds())/1000, "p999-ms")
	b.ReportMetric(float64(all[len(all)-1].Microseconds())/1000, "max-ms")
	// The CPU the process (server, clients, sender) spent per delivery:
	// 10,000 events/s to 100 clients is 1,000,000 deliveries/s, so at
	// 2,000 ns a delivery the 2 cores are full and the queues, not the
	// server, set the latency.
	b.ReportMetric(float64(cpu)/float64(len(all)), "ns-cpu/delivery")
}
