package linode

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/events"
	"github.com/eventsim/eventsim/internal/cputime"
	"github.com/eventsim/eventsim/internal/loadclient"
	"github.com/eventsim/eventsim/scenarios"
)

const bigN = 1_000_000

// fill delivers n events as a long-running account would have them: every
// action of the catalogue, a few seconds apart over the last 80 days,
// finished or notifications, with boot configs and migration rates.
func fill(tb testing.TB, s *Server, n int, now time.Time) {
	tb.Helper()
	if err := fillEvents(tb.Context(), s, n, now); err != nil {
		tb.Fatal(err)
	}
}

func fillEvents(ctx context.Context, s *Server, n int, now time.Time) error {
	rng := rand.New(rand.NewSource(1))
	cat := catalog.Linode().Actions
	// Most traffic is about linodes; the rest spreads over the catalogue.
	var linodeActs []*catalog.LinodeAction
	for _, a := range cat {
		if a.EntityType == "linode" {
			linodeActs = append(linodeActs, a)
		}
	}
	start := now.Add(-80 * 24 * time.Hour)
	step := 80 * 24 * time.Hour / time.Duration(n)
	ev := &events.LinodeEvent{Details: json.RawMessage(`{}`)}
	ent, sec := &events.LinodeEntity{}, &events.LinodeEntity{}
	users := []string{"alice", "bob", "carol", "deploy-bot"}
	r := &scenarios.Record{API: "linode", Linode: ev}
	for i := range n {
		a := cat[rng.Intn(len(cat))]
		if rng.Intn(2) == 0 {
			a = linodeActs[rng.Intn(len(linodeActs))]
		}
		id := 1000 + rng.Intn(5000)
		*ev = events.LinodeEvent{
			ID: int64(i + 1), Action: a.Name, Created: events.LinodeTime(start.Add(time.Duration(i) * step)),
			Username: &users[rng.Intn(len(users))], Details: ev.Details, Status: events.LinodeNotification,
		}
		if a.EntityType != "" {
			*ent = events.LinodeEntity{Label: fmt.Sprintf("%s-%d", a.EntityType, id), Type: a.EntityType,
				URL: strings.ReplaceAll(strings.ReplaceAll(a.EntityURL, "{id}", strconv.Itoa(id)), "{parent}", "77")}
			switch a.EntityID {
			case "int":
				ent.ID = id
			case "name":
				ent.ID = ent.Label
			}
			ev.Entity = ent
		}
		if a.SecondaryType != "" {
			*sec = events.LinodeEntity{ID: 9, Label: "My Config", Type: a.SecondaryType, URL: fmt.Sprintf("/v4/linode/instances/%d/configs/9", id)}
			ev.SecondaryEntity = sec
		}
		if a.Long {
			d := float64(30 + rng.Intn(600))
			ev.Status, ev.PercentComplete, ev.Duration, ev.TimeRemaining = events.LinodeFinished, ptr(100), &d, 0
			if a.Rate {
				ev.Rate = ptr("250 MB/s")
			}
		}
		r.Time = time.Time(ev.Created)
		if err := s.Deliver(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

var big = struct {
	sync.Once
	s *Server
}{}

// bigServer is one server holding a million events, shared by benchmarks.
func bigServer(b *testing.B) *Server {
	big.Do(func() {
		s, err := New(Options{RateLimit: -1})
		if err != nil {
			b.Fatal(err)
		}
		fill(b, s, bigN, time.Now())
		big.s = s
	})
	return big.s
}

// dialRaw opens a load-tool connection to s (see internal/loadclient).
func dialRaw(tb testing.TB, s *Server) *loadclient.Conn {
	c, err := loadclient.Dial("tcp", s.ln.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func request(s *Server, path, filter string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nAccept: application/json\r\n", path, s.ln.Addr(), s.Token())
	if filter != "" {
		fmt.Fprintf(&b, "X-Filter: %s\r\n", filter)
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// loadParallel runs reqs (picked by the caller per iteration) over many
// keep-alive connections and reports req/s.
func loadParallel(b *testing.B, s *Server, pick func(rng *rand.Rand) []byte) {
	b.SetParallelism(8) // 8 connections per core
	b.ReportAllocs()
	var seed sync.Mutex
	n := int64(0)
	b.ResetTimer()
	start, cpu0 := time.Now(), cputime.Used()
	b.RunParallel(func(pb *testing.PB) {
		rc := dialRaw(b, s)
		defer rc.Close()
		seed.Lock()
		n++
		rng := rand.New(rand.NewSource(n))
		seed.Unlock()
		for pb.Next() {
			code, body, err := rc.Do(pick(rng))
			if err != nil || code != 200 {
				b.Errorf("status %d err %v: %.200s", code, err, body)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
	if cpu1 := cputime.Used(); cpu1 > 0 && b.N > 0 {
		// Server and client together: this process's user and system time.
		b.ReportMetric(float64((cpu1-cpu0).Microseconds())/float64(b.N), "µs-cpu/req")
	}
}

// BenchmarkGetEvent: GET /v4/account/events/{id} over a million events.
func BenchmarkGetEvent(b *testing.B) {
	s := bigServer(b)
	reqs := make([][]byte, 4096)
	rng := rand.New(rand.NewSource(2))
	for i := range reqs {
		reqs[i] = request(s, "/v4/account/events/"+strconv.Itoa(1+rng.Intn(bigN)), "")
	}
	loadParallel(b, s, func(rng *rand.Rand) []byte { return reqs[rng.Intn(len(reqs))] })
}

// BenchmarkListFiltered: filtered lists over a million events.
// "poller" is the figure of the brief: page_size 100, newest linode events.
func BenchmarkListFiltered(b *testing.B) {
	s := bigServer(b)
	recent := time.Now().Add(-24 * time.Hour).UTC().Format(events.LinodeTimeFormat)
	for _, bc := range []struct{ name, path, filter string }{
		{"poller", "/v4/account/events?page=1&page_size=100", `{"+order_by":"created","+order":"desc","entity.type":"linode"}`},
		{"poller-page50", "/v4/account/events?page=50&page_size=100", `{"+order_by":"created","+order":"desc","entity.type":"linode"}`},
		{"waitfor", "/v4/account/events?page=1", `{"+order":"desc","+order_by":"created","action":"linode_boot","created":{"+gte":"` + recent + `"},"entity.id":1234,"entity.type":"linode"}`},
		{"entity-scan", "/v4/account/events?page=1&page_size=100", `{"+order":"desc","+order_by":"created","entity.id":1234,"entity.type":"linode"}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := request(s, bc.path, bc.filter)
			loadParallel(b, s, func(*rand.Rand) []byte { return req })
		})
	}
}

// BenchmarkDeliver: storing events as the engine delivers them.
func BenchmarkDeliver(b *testing.B) {
	s := NewServer(b, Options{})
	b.ReportAllocs()
	fill(b, s, b.N, time.Now())
}

// BenchmarkStoreRSS reports the process's resident memory holding a store
// of a million events (run it alone: -run XXX -bench StoreRSS -benchtime 1x).
func BenchmarkStoreRSS(b *testing.B) {
	for range b.N {
		runtime.GC()
		debug.FreeOSMemory()
		before := vmRSS(b)
		s, err := New(Options{RateLimit: -1})
		if err != nil {
			b.Fatal(err)
		}
		fill(b, s, bigN, time.Now())
		runtime.GC()
		after := vmRSS(b)
		b.ReportMetric(after/(1<<20), "MiB-RSS")
		b.ReportMetric((after-before)/(1<<20), "MiB-store")
		b.ReportMetric(float64(s.st.live)/bigN, "JSON-B/event")
		s.Close()
	}
}

// vmRSS reads the resident set size from /proc/self/status, in bytes.
func vmRSS(tb testing.TB) float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		if tb != nil {
			tb.Skip("no /proc/self/status:", err)
		}
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb * 1024
		}
	}
	if tb != nil {
		tb.Skip("no VmRSS")
	}
	return 0
}

// Serving for an outside load tool: the test binary, run with -load-serve,
// fills a server with a million events and serves them instead of running
// tests:
//
//	go test -c -o /tmp/linode.test ./simulator/linode
//	/tmp/linode.test -load-serve 127.0.0.1:8089 -load-for 5m &
//	# wait for its "serving 1000000 events" line (about 5 s): the store fills after the port opens
//	wrk -t1 -c16 -d10s -s simulator/linode/testdata/getevent.lua http://127.0.0.1:8089
//	wrk -t1 -c16 -d10s -H 'Authorization: Bearer bench' http://127.0.0.1:8089/v4/account/events/123456
//
// The token is "bench" and there is no rate limit.
var (
	loadServe   = flag.String("load-serve", "", "serve a million events at `ADDR` for a load tool instead of running tests (token: bench)")
	loadFor     = flag.Duration("load-for", time.Minute, "how long -load-serve serves (SIGINT stops it sooner)")
	loadLinodes = flag.Int("load-linodes", 0, "with -load-serve, also create `N` Linodes through REST (tags team-0..team-9) and write their ids, one a line, to /tmp/eventsim-linodes.txt")
)

func TestMain(m *testing.M) {
	flag.Parse()
	if *loadServe != "" {
		if err := serveForLoad(*loadServe, *loadFor); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func serveForLoad(addr string, d time.Duration) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := New(Options{Addr: addr, Tokens: []string{"bench"}, RateLimit: -1})
	if err != nil {
		return err
	}
	defer s.Close()
	if err := fillEvents(ctx, s, bigN, time.Now()); err != nil {
		return err
	}
	if *loadLinodes > 0 {
		ids, err := createLinodes(s, *loadLinodes)
		if err != nil {
			return err
		}
		var b strings.Builder
		for _, id := range ids {
			fmt.Fprintln(&b, id)
		}
		if err := os.WriteFile("/tmp/eventsim-linodes.txt", []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	runtime.GC()
	fmt.Fprintf(os.Stderr, "serving %d events at %s for %v (token bench, RSS %.0f MiB)\n", bigN, s.URL(), d, vmRSS(nil)/(1<<20))
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
	return nil
}
