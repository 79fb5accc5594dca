package cli

import (
	"io"
	"testing"

	"github.com/eventsim/eventsim/internal/cputime"
)

// BenchmarkGenerateLXDSteady measures `eventsim generate --scenario lxd-steady`
// writing NDJSON to a discarding writer.
func BenchmarkGenerateLXDSteady(b *testing.B) {
	opts := &GenerateOptions{IO: &IO{Out: io.Discard, Err: io.Discard}, Scenario: "lxd-steady", Count: int64(b.N), Format: "ndjson"}
	b.ResetTimer()
	cpu := cputime.Used()
	if err := generateRun(b.Context(), opts); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64((cputime.Used()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/event")
}
