// Package cpustat reads the CPU time the process has used, so that
// benchmarks can report CPU time per item: on a machine shared with other
// work, wall time per item says more about the machine than about the code.
package cpustat

import (
	"syscall"
	"testing"
	"time"
)

// Used returns the user and system CPU time the process has used so far,
// on every thread (the garbage collector's included).
func Used() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Report adds the metric "cpu-ns/op" to b: the CPU time used since start
// (a Used reading taken when the timed work began), divided by b.N.
func Report(b *testing.B, start time.Duration) {
	b.Helper()
	b.ReportMetric(float64(Used()-start)/float64(b.N), "cpu-ns/op")
}
