package cli_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestValidateEndsOnAnEndlessScenario: the 93-byte scenario of issue 13 (a
// repeat of 2^63-1 waits) used to keep `scenarios validate` busy forever;
// now it is reported with the bound it hit and where, exit 1.
func TestValidateEndsOnAnEndlessScenario(t *testing.T) {
	f := filepath.Join(t.TempDir(), "r.yaml")
	src := "name: r\napi: [lxd]\nsteps:\n  - repeat: 9223372036854775807\n    steps:\n      - wait: 1s\n"
	if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), eventsimBin(t), "scenarios", "validate", f)
	cmd.WaitDelay = time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Errorf("exit %v, want 1; output:\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("validate still running after 30 s; output:\n%s", out.String())
	}
	if want := f + ":4:5: steps[0]: 1,000,000 steps in a row made no event"; !strings.Contains(out.String(), want) {
		t.Errorf("output %q does not say %q", out.String(), want)
	}
}

// TestValidateStopsOnSIGTERM: a long check ends at SIGTERM (and SIGINT),
// exit 2 with what stopped it; it used to ignore both.
func TestValidateStopsOnSIGTERM(t *testing.T) {
	f := filepath.Join(t.TempDir(), "long.yaml")
	src := "name: long\napi: [lxd]\nsteps:\n  - repeat: 1000000000\n    steps:\n      - emit:\n          lxd: {type: logging, metadata: {message: hi, level: info, context: {}}}\n"
	if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(eventsimBin(t), "scenarios", "validate", f)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			t.Cleanup(func() { cmd.Process.Kill() })
			// Signal once the check is under way: after 300 ms of the
			// process's own CPU time, however busy the machine (a fixed
			// sleep stopped it before it began under load).
			waitCPU(t, cmd.Process.Pid, 300*time.Millisecond, 20*time.Second)
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != 2 {
					t.Errorf("exit %v, want 2; output:\n%s", err, out.String())
				}
			case <-time.After(5 * time.Second): // a check looks at its context every few milliseconds; the rest is a busy machine
				t.Fatalf("validate still running 5 s after %v; output:\n%s", sig, out.String())
			}
			if !strings.Contains(out.String(), "check stopped at "+f+":4:5") || !strings.Contains(out.String(), sig.String()+" signal received") {
				t.Errorf("output %q does not say the check was stopped, and where", out.String())
			}
		})
	}
}

// waitCPU waits until process pid has used cpu of CPU time (user and system,
// from /proc), or fails the test after wall.
func waitCPU(t *testing.T, pid int, cpu, wall time.Duration) {
	t.Helper()
	deadline := time.Now().Add(wall)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			t.Fatalf("reading the process's CPU time: %v", err)
		}
		// Fields after the command name (which ends at the last ')'):
		// state is field 3, utime 14, stime 15, in clock ticks (100 a second on Linux).
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		ut, _ := strconv.Atoi(f[11])
		st, _ := strconv.Atoi(f[12])
		if time.Duration(ut+st)*10*time.Millisecond >= cpu {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("process %d used less than %v of CPU in %v", pid, cpu, wall)
}
