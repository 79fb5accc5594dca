package lxd

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/eventsim/eventsim/internal/cputime"
)

// BenchmarkRESTCycles100Listeners: REST changes at speed 0 while 100 event
// listeners receive everything: parallel clients each create an empty
// instance, start it, stop it (--force) and delete it, over and over, every
// request with its whole event group (operation and lifecycle events). The
// metrics count requests (4 a cycle) and the events the listeners got.
func BenchmarkRESTCycles100Listeners(b *testing.B) {
	benchCycles(b, 100)
}

// BenchmarkRESTCyclesNoListener: the same requests with no listener.
func BenchmarkRESTCyclesNoListener(b *testing.B) {
	benchCycles(b, 0)
}

func benchCycles(b *testing.B, listeners int) {
	const workers = 8
	s := NewServer(b, Options{})
	counts, _ := countingClients(b, s, listeners)
	tr := &http.Transport{MaxIdleConnsPerHost: workers}
	hc := &http.Client{Transport: tr}
	b.Cleanup(tr.CloseIdleConnections)
	do := func(method, path, body string, want int) error {
		req, err := http.NewRequest(method, s.URL()+path, bytes.NewBufferString(body))
		if err != nil {
			return err
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		return nil
	}
	var worker atomic.Int64
	var events0 int64
	for _, c := range counts {
		events0 += c.Load()
	}
	b.SetParallelism(workers / 2) // 2 cores: 8 clients
	b.ResetTimer()
	cpu0 := cputime.Used()
	b.RunParallel(func(pb *testing.PB) {
		w := worker.Add(1)
		for i := 0; pb.Next(); i++ {
			name := fmt.Sprintf("w%d-c%d", w, i)
			for _, step := range []struct {
				method, path, body string
			}{
				{"POST", "/1.0/instances", `{"name":"` + name + `","source":{"type":"none"}}`},
				{"PUT", "/1.0/instances/" + name + "/state", `{"action":"start"}`},
				{"PUT", "/1.0/instances/" + name + "/state", `{"action":"stop","force":true}`},
				{"DELETE", "/1.0/instances/" + name, ""},
			} {
				if err := do(step.method, step.path, step.body, http.StatusAccepted); err != nil {
					b.Error(err)
					return
				}
			}
		}
	})
	elapsed := b.Elapsed()
	cpu := cputime.Used() - cpu0
	var events int64
	for _, c := range counts {
		events += c.Load()
	}
	reqs := float64(4 * b.N)
	b.ReportMetric(reqs/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(cpu)/1e3/reqs, "µs-cpu/req")
	b.ReportMetric(float64(events-events0)/elapsed.Seconds(), "deliveries/s")
	if st := s.Stats(); st.Evicted != 0 {
		b.Fatalf("evicted listeners: %+v", st)
	}
}
