package cli_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/eventsim/eventsim/scenarios"
)

// TestRecordCtrlC: Ctrl-C (SIGINT) ends an open-ended `eventsim record lxd`
// cleanly: exit 0, a summary on stderr, and a complete recording.
func TestRecordCtrlC(t *testing.T) {
	s := startServe(t, "--scenario", "lxd-steady", "--speed", "1")
	file := filepath.Join(t.TempDir(), "steady.recording")
	cmd := exec.Command(eventsimBin(t), "record", "lxd", "--target", "unix://"+s.socket, "--all-projects", "-o", file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Once the recorder is connected, let events flow a moment.
	waitClients(t, s.lxdURL, s.control, 1)
	time.Sleep(1500 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("exit %d after SIGINT, want 0: %s", ee.ExitCode(), stderr.String())
		} else if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("record did not end within 10s of SIGINT")
	}
	if !strings.Contains(stderr.String(), "recorded ") {
		t.Errorf("stderr %q, want the summary", stderr.String())
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, evs, err := scenarios.ReadRecording(f, file)
	if err != nil || h == nil || len(evs) == 0 {
		t.Fatalf("recording after SIGINT: %v, header %v, %d events", err, h, len(evs))
	}
	t.Logf("%d events recorded before SIGINT", len(evs))
}
