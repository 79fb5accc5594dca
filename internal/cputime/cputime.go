// Package cputime reads the CPU time the process has used, for benchmarks
// that report work per CPU-second: on a shared machine, wall-clock rates
// say more about the other processes than about the code.
package cputime

import (
	"syscall"
	"time"
)

// Used is the CPU time (user and system) the process has used so far.
func Used() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
