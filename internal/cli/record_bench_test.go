package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/eventsim/eventsim/conformance"
	"github.com/eventsim/eventsim/internal/lxdcapture"
	"github.com/eventsim/eventsim/scenarios"
)

// BenchmarkRecordLXD records the fake LXD playing lxd-steady at speed 0
// (as fast as its clients read) into a file, with and without scrubbing, and
// reports the events recorded per second. It fails if the fake evicted the
// recorder or dropped an event, or if fewer events were recorded than asked.
func BenchmarkRecordLXD(b *testing.B) {
	const count = 200_000
	for _, scrub := range []bool{false, true} {
		b.Run(fmt.Sprintf("scrub=%v", scrub), func(b *testing.B) {
			var total int
			var elapsed time.Duration
			for b.Loop() {
				n, d := recordFake(b, count, scrub)
				total += n
				elapsed += d
			}
			b.ReportMetric(float64(total)/elapsed.Seconds(), "events/s")
		})
	}
}

func recordFake(b *testing.B, count int, scrub bool) (int, time.Duration) {
	srv, sock := idleSim(b, 0)
	out, err := os.Create(filepath.Join(b.TempDir(), "steady.recording"))
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	o := conformance.RecordOptions{Target: "unix://" + sock, AllProjects: true, Count: count}
	if scrub {
		o.Scrub = conformance.NewScrubber(false)
	}
	type result struct {
		st  conformance.RecordStats
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := conformance.RecordLXD(context.Background(), o, out)
		done <- result{st, err}
	}()
	for srv.LXD().Stats().Clients == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	steady, err := scenarios.Load("lxd-steady")
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := srv.Run(steady); err != nil {
		b.Fatal(err)
	}
	r := <-done
	d := time.Since(start)
	if r.err != nil {
		b.Fatal(r.err)
	}
	st := srv.LXD().Stats()
	if r.st.Events != count || st.Evicted != 0 || st.Dropped != 0 {
		b.Fatalf("recorded %d of %d events; the fake evicted %d clients and dropped %d events", r.st.Events, count, st.Evicted, st.Dropped)
	}
	return r.st.Events, d
}

// BenchmarkConformFrom checks an NDJSON capture of 119,200 events (200
// copies of the real capture, each with its own operation ids), what
// conform lxd --from reads: the old sequential path (CheckLXDEvents) beside
// CheckLXDFile, which decodes and validates on every core and applies the
// checks in order.
func BenchmarkConformFrom(b *testing.B) {
	in := bigCapture(200)
	for _, c := range []struct {
		name  string
		check func([]byte) (*conformance.Report, error)
	}{
		{"sequential", func(in []byte) (*conformance.Report, error) {
			return conformance.CheckLXDEvents(context.Background(), bytes.NewReader(in), conformance.EventOptions{})
		}},
		{"parallel", func(in []byte) (*conformance.Report, error) {
			return conformance.CheckLXDFile(context.Background(), bytes.NewReader(in), conformance.OfflineOptions{Name: "bench"})
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			n := 0
			for b.Loop() {
				rep, err := c.check(in)
				if err != nil {
					b.Fatal(err)
				}
				if rep.Counts()[conformance.Fail] > 0 {
					b.Fatalf("a check failed: %+v", rep.Results)
				}
				n += rep.Events
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// bigCapture repeats the real capture n times, each copy with its own
// operation ids, as one NDJSON file.
func bigCapture(n int) []byte {
	var out bytes.Buffer
	for i := range n {
		suffix := []byte(fmt.Sprintf("%012x", i))
		out.Write(uuidRE.ReplaceAllFunc(lxdcapture.NDJSON, func(m []byte) []byte {
			return append(bytes.Clone(m[:24]), suffix...)
		}))
	}
	return out.Bytes()
}
