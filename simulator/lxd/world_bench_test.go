package lxd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eventsim/eventsim/internal/cputime"
	"github.com/eventsim/eventsim/internal/loadclient"
	"github.com/eventsim/eventsim/scenarios"
)

// withInstances makes a server whose world holds n instances, a quarter of
// them running, folded from played instance-created and -started events.
func withInstances(tb testing.TB, n int) *Server {
	tb.Helper()
	return withInstancesOpts(tb, n, Options{})
}

func withInstancesOpts(tb testing.TB, n int, opts Options) *Server {
	tb.Helper()
	s := NewServer(tb, opts)
	if err := fillInstances(tb.Context(), s, n); err != nil {
		tb.Fatal(err)
	}
	return s
}

// fillInstances plays n instance-created events, and instance-started for a
// quarter of them, into a server.
func fillInstances(ctx context.Context, s *Server, n int) error {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		for _, action := range []string{"instance-created", "instance-started"} {
			if action == "instance-started" && i%4 != 0 {
				continue
			}
			extra := ""
			if action == "instance-created" {
				extra = `,"context":{"storage-pool":"default","type":"container"}`
			}
			j := fmt.Appendf(nil, `{"type":"lifecycle","timestamp":%q,"metadata":{"action":%q,"source":"/1.0/instances/c%d"%s},"location":"none","project":"default"}`,
				at.Format(time.RFC3339Nano), action, i, extra)
			if err := s.Deliver(ctx, &scenarios.Record{API: "lxd", Type: "lifecycle", Project: "default", JSON: j, Time: at}); err != nil {
				return err
			}
		}
	}
	return nil
}

// benchGET asks one URL from parallel clients, over loopback TCP, or over
// the server's unix socket (as lxc asks) when unix is set. Clients read the
// answers in 1 MiB reads, as a JSON decoder with a grown buffer does.
func benchGET(b *testing.B, s *Server, path string, unix bool) {
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	base := s.URL()
	if unix {
		sock := s.SocketPath()
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}
		base = "http://unix.socket"
	}
	hc := &http.Client{Transport: tr}
	b.Cleanup(tr.CloseIdleConnections)
	var bytes atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	cpu0 := cputime.Used()
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, 1<<20)
		for pb.Next() {
			resp, err := hc.Get(base + path)
			if err != nil {
				b.Error(err)
				return
			}
			n := int64(0)
			for {
				k, err := resp.Body.Read(buf)
				n += int64(k)
				if err != nil {
					break
				}
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("GET %s: %d", path, resp.StatusCode)
				return
			}
			bytes.Store(n)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	// On a shared machine the wall clock counts other programs' turns too;
	// CPU time (server and clients together) says what a request costs.
	b.ReportMetric(float64(cputime.Used()-cpu0)/1e3/float64(b.N), "µs-cpu/req")
	b.SetBytes(bytes.Load())
}

// BenchmarkGetInstancesRecursion2: lxc list's request with 10,000
// instances (8.4 MB answers), over TCP and over the unix socket.
func BenchmarkGetInstancesRecursion2(b *testing.B) {
	for _, unix := range []bool{false, true} {
		b.Run(transport(unix), func(b *testing.B) {
			s := withInstancesOpts(b, 10_000, Options{Socket: b.TempDir() + "/unix.socket"})
			benchGET(b, s, "/1.0/instances?filter=&recursion=2", unix)
		})
	}
}

// BenchmarkGetInstance: one instance by name with 10,000 in the world,
// asked by net/http's client (tcp, unix) and by a load tool's client
// (tcp-load, unix-load: internal/loadclient, as wrk asks), all in this
// process: net/http's client costs about as much CPU per request as the
// server, on the same 2 cores, so the -load rows say what the server does.
func BenchmarkGetInstance(b *testing.B) {
	for _, unix := range []bool{false, true} {
		b.Run(transport(unix), func(b *testing.B) {
			s := withInstancesOpts(b, 10_000, Options{Socket: b.TempDir() + "/unix.socket"})
			benchGET(b, s, "/1.0/instances/c4242", unix)
		})
	}
	for _, unix := range []bool{false, true} {
		b.Run(transport(unix)+"-load", func(b *testing.B) {
			s := withInstancesOpts(b, 10_000, Options{Socket: b.TempDir() + "/unix.socket"})
			benchGETLoad(b, s, "/1.0/instances/c4242", unix)
		})
	}
}

// benchGETLoad asks one URL over keep-alive connections of a load tool's
// client (8 per core, as benchGET), checking every answer is a 200 with
// the instance's name in it.
func benchGETLoad(b *testing.B, s *Server, path string, unix bool) {
	network, addr := "tcp", strings.TrimPrefix(s.URL(), "http://")
	host := addr
	if unix {
		network, addr, host = "unix", s.SocketPath(), "unix.socket" // as lxc names it
	}
	req := []byte("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: LXD 5.0.2\r\n\r\n")
	name := []byte(`"name":"` + path[strings.LastIndexByte(path, '/')+1:] + `"`)
	b.SetParallelism(8)
	b.ResetTimer()
	cpu0 := cputime.Used()
	b.RunParallel(func(pb *testing.PB) {
		c, err := loadclient.Dial(network, addr)
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		for pb.Next() {
			code, body, err := c.Do(req)
			if err != nil || code != http.StatusOK || !bytes.Contains(body, name) {
				b.Errorf("GET %s: %d %v %.200s", path, code, err, body)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	b.ReportMetric(float64(cputime.Used()-cpu0)/1e3/float64(b.N), "µs-cpu/req")
}

func transport(unix bool) string {
	if unix {
		return "unix"
	}
	return "tcp"
}

// BenchmarkWorld100kInstancesRSS: the memory of a server whose world holds
// 100,000 instances (a quarter running), after each has been read once
// with recursion=2 (so their kept encodings count too): the heap it adds,
// and the process's RSS (run it alone: other benchmarks' garbage counts).
func BenchmarkWorld100kInstancesRSS(b *testing.B) {
	for range b.N {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		s := withInstances(b, 100_000)
		hc := &http.Client{}
		resp, err := hc.Get(s.URL() + "/1.0/instances?recursion=2")
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/(1<<20), "MiB-heap")
		b.ReportMetric(float64(vmRSS(b))/(1<<20), "MiB-RSS")
		b.ReportMetric(float64(n)/(1<<20), "MiB-answer")
		s.Close()
	}
}
