package schemas

import (
	"testing"

	"github.com/eventsim/eventsim/internal/lxdcapture"
)

func loadCapture(testing.TB) [][]byte { return lxdcapture.Lines() }

// BenchmarkValidateLXD measures schema validation of real LXD events, one core.
func BenchmarkValidateLXD(b *testing.B) {
	lines := loadCapture(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := Validate(LXDEvent, lines[i%len(lines)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
