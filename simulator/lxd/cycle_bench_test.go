package lxd

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/eventsim/eventsim/internal/cputime"
	"github.com/eventsim/eventsim/internal/loadclient"
)

// BenchmarkRESTCycles100Listeners: REST changes at speed 0 while 100 event
// listeners receive everything: parallel clients each create an empty
// instance, start it, stop it (--force) and delete it, over and over, every
// request with its whole event group (operation and lifecycle events). The
// metrics count requests (4 a cycle) and the events the listeners got. The
// clients and the listeners ask and read as load tools do
// (internal/loadclient), so that the CPU they share with the server on
// this machine goes to the server.
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
	addr := strings.TrimPrefix(s.URL(), "http://")
	var worker atomic.Int64
	var events0 int64
	for _, c := range counts {
		events0 += c.Load()
	}
	b.SetParallelism(workers / 2) // 2 cores: 8 clients
	b.ResetTimer()
	cpu0 := cputime.Used()
	b.RunParallel(func(pb *testing.PB) {
		// Each client asks as a load tool does (internal/loadclient): one
		// keep-alive connection, the request written as it is, the answer
		// read by its Content-Length.
		hc, err := loadclient.Dial("tcp", addr)
		if err != nil {
			b.Error(err)
			return
		}
		defer hc.Close()
		w := worker.Add(1)
		var req []byte
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
				req = fmt.Appendf(req[:0], "%s %s HTTP/1.1\r\nHost: lxd\r\n", step.method, step.path)
				if step.body != "" {
					req = fmt.Appendf(req, "Content-Type: application/json\r\nContent-Length: %d\r\n", len(step.body))
				}
				req = append(append(req, "\r\n"...), step.body...)
				code, body, err := hc.Do(req)
				if err != nil || code != http.StatusAccepted {
					b.Errorf("%s %s: %d %s %v", step.method, step.path, code, body, err)
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
