package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/eventsim/eventsim/conformance"
	"github.com/eventsim/eventsim/internal/cputime"
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

// BenchmarkConformFrom checks what conform lxd --from reads, two ways: the
// sequential path (CheckLXDEvents, one goroutine) beside CheckLXDFile, which
// prepares events (reads their fields and shape from their bytes) on every
// core and applies the checks in order. Two inputs: 200,000 events of
// lxd-steady as generate writes them, and 119,200 events made of 200
// copies of the real LXD 5.0.2 capture, each with its own operation ids
// (the copies delete the same snapshots again, which the after-delete
// check rightly fails; no other check may fail). It reports events per
// second of wall time and per CPU-second of the process.
func BenchmarkConformFrom(b *testing.B) {
	var steady bytes.Buffer
	if code := Main([]string{"generate", "--scenario", "lxd-steady", "--count", "200000"}, strings.NewReader(""), &steady, io.Discard); code != ExitOK {
		b.Fatalf("generate: exit %d", code)
	}
	inputs := []struct {
		name    string
		in      []byte
		mayFail string
	}{
		{"steady", steady.Bytes(), ""},
		{"capture", bigCapture(200), conformance.IDLifecycleAfterDelete},
	}
	for _, input := range inputs {
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
			b.Run(input.name+"/"+c.name, func(b *testing.B) {
				n := 0
				cpu0 := cputime.Used()
				for b.Loop() {
					rep, err := c.check(input.in)
					if err != nil {
						b.Fatal(err)
					}
					for _, r := range rep.Results {
						if r.Status == conformance.Fail && r.ID != input.mayFail {
							b.Fatalf("%s failed: %+v", r.ID, r.Findings[0])
						}
					}
					n += rep.Events
				}
				b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
				b.ReportMetric(float64(n)/(cputime.Used()-cpu0).Seconds(), "events/cpu-s")
			})
		}
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
