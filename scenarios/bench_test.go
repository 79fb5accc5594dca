package scenarios

import (
	"testing"
)

// BenchmarkEngineLXDSteady measures the engine alone playing lxd-steady:
// with DeferJSON (what generate's engine goroutine does) and with every
// record encoded as it leaves the engine (what the servers get).
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
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := e.Next(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
