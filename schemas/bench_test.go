package schemas

import (
	"bufio"
	"os"
	"testing"
)

func loadCapture(tb testing.TB) [][]byte {
	f, err := os.Open(capture)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		out = append(out, append([]byte(nil), sc.Bytes()...))
	}
	return out
}

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
