package conformance

import (
	"bytes"
	"fmt"
	"regexp"
	"testing"

	"github.com/eventsim/eventsim/internal/cputime"
)

var uuidRe = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// longStream repeats the real capture n times, giving every copy its own
// operation ids, as a long-running daemon would.
func longStream(b *testing.B, n int) [][]byte {
	evs := loadCapture(b)
	out := make([][]byte, 0, n*len(evs))
	for i := range n {
		suffix := []byte(fmt.Sprintf("%012x", i))
		for _, e := range evs {
			out = append(out, uuidRe.ReplaceAllFunc(e, func(m []byte) []byte {
				return append(bytes.Clone(m[:24]), suffix...)
			}))
		}
	}
	return out
}

// BenchmarkCheckLXDStream is one checker over a long stream (50 copies of
// the capture, 29,800 events): the shape cache warms up once, as it does on
// a live connection or a large file.
func BenchmarkCheckLXDStream(b *testing.B) { benchEvents(b, longStream(b, 50), EventOptions{}) }

// benchEvents runs the offline checks over evs again and again, a fresh
// checker per pass (operation ids would repeat otherwise), and reports
// events checked per second.
func benchEvents(b *testing.B, evs [][]byte, opts EventOptions) {
	b.ReportAllocs()
	n := 0
	b.ResetTimer()
	for b.Loop() {
		c, err := NewEventChecker(opts)
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range evs {
			c.Observe(Observation{Raw: e})
		}
		for _, r := range c.Results() {
			if r.Status == Fail {
				b.Fatalf("%s failed: %+v", r.ID, r.Findings)
			}
		}
		n += len(evs)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkCheckLXDEvents is the default mode: each distinct event shape is
// validated in full once, value rules on every event.
func BenchmarkCheckLXDEvents(b *testing.B) { benchEvents(b, loadCapture(b), EventOptions{}) }

// BenchmarkCheckLXDEventsFullValidation validates every event with gojsonschema.
func BenchmarkCheckLXDEventsFullValidation(b *testing.B) {
	benchEvents(b, loadCapture(b), EventOptions{FullValidation: true})
}

// BenchmarkPrepareApply splits the checks of the real capture into their
// two parts: prepare (read each event's fields and shape from its bytes and
// judge it against the schema; on every core for a file) and apply (the
// checks that follow the stream, in order, on one goroutine).
func BenchmarkPrepareApply(b *testing.B) {
	evs := loadCapture(b)
	c, err := NewEventChecker(EventOptions{})
	if err != nil {
		b.Fatal(err)
	}
	ps := make([]prepared, len(evs))
	b.Run("prepare", func(b *testing.B) {
		b.ReportAllocs()
		n, cpu0 := 0, cputime.Used()
		for b.Loop() {
			for i, e := range evs {
				ps[i] = c.prepare(Observation{Raw: e})
			}
			n += len(evs)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/event")
		b.ReportMetric(float64((cputime.Used()-cpu0).Nanoseconds())/float64(n), "cpu-ns/event")
	})
	b.Run("apply", func(b *testing.B) {
		b.ReportAllocs()
		n, cpu0 := 0, cputime.Used()
		for b.Loop() {
			c, _ := NewEventChecker(EventOptions{})
			for _, p := range ps {
				c.apply(p)
			}
			c.Results()
			n += len(evs)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/event")
		b.ReportMetric(float64((cputime.Used()-cpu0).Nanoseconds())/float64(n), "cpu-ns/event")
	})
}
