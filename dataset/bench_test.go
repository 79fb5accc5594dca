package dataset

import (
	"fmt"
	"io"
	"testing"

	"github.com/eventsim/eventsim/internal/cputime"
)

// BenchmarkGenerate measures writing lxd-steady to a discarding writer, each
// op one event: one shard alone, all shards of a dataset at once on every
// core (--shards), and the formats and compressions.
func BenchmarkGenerate(b *testing.B) {
	s := load(b, "lxd-steady")
	for _, c := range []struct {
		name, format, compression string
		shards                    int
	}{
		{"ndjson", "ndjson", "none", 0},
		{"ndjson/shards=2", "ndjson", "none", 2},
		{"ndjson/zstd", "ndjson", "zstd", 0},
		{"ndjson/gzip", "ndjson", "gzip", 0},
		{"parquet", "parquet", "none", 0},
		{"parquet/zstd", "parquet", "zstd", 0},
		{"json", "json", "none", 0},
		{"yaml", "yaml", "none", 0},
	} {
		b.Run(c.name, func(b *testing.B) {
			o := &Options{Scenario: s, API: "lxd", Count: int64(b.N), Format: c.format, Compression: c.compression}
			cpu := cputime.Used()
			var err error
			if c.shards > 0 {
				_, err = o.WriteShards(b.Context(), c.shards, io.Discard, b.TempDir())
			} else {
				_, err = o.WriteShard(b.Context(), Part{}, io.Discard)
			}
			if err != nil {
				b.Fatal(fmt.Errorf("%s: %w", c.name, err))
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64((cputime.Used()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/event")
		})
	}
}
