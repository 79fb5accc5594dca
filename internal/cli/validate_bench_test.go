package cli

import (
	"bytes"
	"io"
	"testing"

	"github.com/eventsim/eventsim/internal/cputime"
)

// BenchmarkValidateLXD measures `eventsim validate --kind lxd -` end to end
// (reading, splitting, checking on every core, reporting) over NDJSON that
// generate wrote for lxd-steady. Each op is one event.
func BenchmarkValidateLXD(b *testing.B) {
	var data bytes.Buffer
	gen := &GenerateOptions{IO: &IO{Out: &data, Err: io.Discard}, Scenario: "lxd-steady", Count: int64(b.N), Format: "ndjson"}
	if err := generateRun(b.Context(), gen); err != nil {
		b.Fatal(err)
	}
	var errOut bytes.Buffer
	opts := &ValidateOptions{IO: &IO{In: bytes.NewReader(data.Bytes()), Out: io.Discard, Err: &errOut}, Kind: "lxd", Files: []string{"-"}}
	b.ResetTimer()
	cpu := cputime.Used()
	if err := validateRun(opts); err != nil {
		b.Fatalf("%v: %s", err, errOut.String())
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64((cputime.Used()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/event")
}
