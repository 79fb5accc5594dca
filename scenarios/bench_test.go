package scenarios

import (
	"testing"

	"github.com/eventsim/eventsim/internal/cputime"
)

// BenchmarkEngineLXDSteady measures the engine alone playing lxd-steady:
// with DeferJSON and its records handed back in batches with Recycle (what
// generate's engine goroutine does), and with every record encoded as it
// leaves the engine (what the servers get).
func BenchmarkEngineLXDSteady(b *testing.B) {
	for _, c := range []struct {
		name      string
		deferJSON bool
	}{{"deferred", true}, {"encoded", false}} {
		b.Run(c.name, func(b *testing.B) {
			s, err := Load("lxd-steady")
			if err != nil {
				b.Fatal(err)
			}
			e, err := New(s, Options{Loop: true, DeferJSON: c.deferJSON})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			var batch []*Record
			b.ResetTimer()
			cpu := cputime.Used()
			for i := 0; i < b.N; i++ {
				r, err := e.Next()
				if err != nil {
					b.Fatal(err)
				}
				if c.deferJSON {
					if batch = append(batch, r); len(batch) == 512 {
						e.Recycle(batch)
						batch = batch[:0]
					}
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64((cputime.Used()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/event")
		})
	}
}
