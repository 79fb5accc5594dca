//go:build !unix

package netguard

// openFileLimit has no RLIMIT_NOFILE to read here: Windows' own default.
func openFileLimit() int { return 1024 }
