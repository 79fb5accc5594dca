package lxd

import (
	"fmt"
	"io"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/eventsim/eventsim/internal/cputime"
	"github.com/eventsim/eventsim/scenarios"
)

// withInstances makes a server whose world holds n instances, a quarter of
// them running, folded from played instance-created and -started events.
func withInstances(tb testing.TB, n int) *Server {
	tb.Helper()
	s := NewServer(tb, Options{})
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		for _, action := range []string{"instance-created", "instance-started"} {
			if action == "instance-started" && i%4 != 0 {
				continue
			}
			ctx := ""
			if action == "instance-created" {
				ctx = `,"context":{"storage-pool":"default","type":"container"}`
			}
			j := fmt.Appendf(nil, `{"type":"lifecycle","timestamp":%q,"metadata":{"action":%q,"source":"/1.0/instances/c%d"%s},"location":"none","project":"default"}`,
				at.Format(time.RFC3339Nano), action, i, ctx)
			if err := s.Deliver(tb.Context(), &scenarios.Record{API: "lxd", Type: "lifecycle", Project: "default", JSON: j, Time: at}); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return s
}

// benchGET asks one URL over loopback HTTP from parallel clients.
func benchGET(b *testing.B, s *Server, path string) {
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	hc := &http.Client{Transport: tr}
	b.Cleanup(tr.CloseIdleConnections)
	var bytes int64
	b.SetParallelism(16)
	b.ResetTimer()
	cpu0 := cputime.Used()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := hc.Get(s.URL() + path)
			if err != nil {
				b.Error(err)
				return
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("GET %s: %d", path, resp.StatusCode)
				return
			}
			bytes = n
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	// On a shared machine the wall clock counts other programs' turns too;
	// CPU time (server and clients together) says what a request costs.
	b.ReportMetric(float64(b.N)/(cputime.Used()-cpu0).Seconds(), "req/cpu-s")
	b.SetBytes(bytes)
}

// BenchmarkGetInstancesRecursion2: lxc list's request with 10,000 instances.
func BenchmarkGetInstancesRecursion2(b *testing.B) {
	benchGET(b, withInstances(b, 10_000), "/1.0/instances?filter=&recursion=2")
}

// BenchmarkGetInstance: one instance by name with 10,000 in the world.
func BenchmarkGetInstance(b *testing.B) {
	benchGET(b, withInstances(b, 10_000), "/1.0/instances/c4242")
}

// BenchmarkWorld100kInstancesRSS: the heap of a server whose world holds
// 100,000 instances.
func BenchmarkWorld100kInstancesRSS(b *testing.B) {
	for range b.N {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		s := withInstances(b, 100_000)
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/(1<<20), "MiB-heap")
		s.Close()
	}
}
