//go:build unix

package netguard

import "syscall"

// openFileLimit is the process's soft RLIMIT_NOFILE, or 1024 if unknown.
func openFileLimit() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur == 0 {
		return 1024
	}
	return int(min(rl.Cur, 1<<30))
}
