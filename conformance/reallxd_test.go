package conformance

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRealLXD runs RunLXD with Exercise against a real LXD daemon started in
// a temporary LXD_DIR. It needs the Debian package lxd (5.0.2) and root; set
// EVENTSIM_SKIP_REAL_LXD=1 (or run with -short) to leave it out.
func TestRealLXD(t *testing.T) {
	if testing.Short() || os.Getenv("EVENTSIM_SKIP_REAL_LXD") != "" {
		t.Skip("real LXD test left out (-short or EVENTSIM_SKIP_REAL_LXD)")
	}
	bin, err := exec.LookPath("lxd")
	if err != nil {
		t.Skip("lxd is not installed (apt-get install -y lxd)")
	}
	if os.Geteuid() != 0 {
		t.Skip("the lxd daemon needs root")
	}
	dir, err := os.MkdirTemp("", "eventsim-lxd-")
	if err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "LXD_DIR="+dir)
	logf, err := os.Create(filepath.Join(t.TempDir(), "lxd.log"))
	if err != nil {
		t.Fatal(err)
	}
	daemon := exec.Command(bin, "--group", "root")
	daemon.Env = env
	daemon.Stdout, daemon.Stderr = logf, logf
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sd := exec.Command(bin, "shutdown")
		sd.Env = env
		if out, err := sd.CombinedOutput(); err != nil {
			t.Logf("lxd shutdown: %v: %s", err, out)
			_ = daemon.Process.Kill()
		}
		_ = daemon.Wait()
		for _, m := range []string{"shmounts", "devlxd"} {
			_ = exec.Command("umount", filepath.Join(dir, m)).Run()
		}
		_ = os.RemoveAll(dir)
	})
	wr := exec.Command(bin, "waitready", "--timeout", "60")
	wr.Env = env
	if out, err := wr.CombinedOutput(); err != nil {
		b, _ := os.ReadFile(logf.Name())
		t.Fatalf("lxd waitready: %v: %s\n%s", err, out, b)
	}
	sock := filepath.Join(dir, "unix.socket")

	// A dir storage pool, so the volume exercise runs too.
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	resp, err := hc.Post("http://unix.socket/1.0/storage-pools", "application/json",
		strings.NewReader(`{"name":"eventsim","driver":"dir","config":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 && resp.StatusCode != 201 {
		t.Fatalf("create storage pool: %d", resp.StatusCode)
	}
	t.Cleanup(func() {
		req, _ := http.NewRequest("DELETE", "http://unix.socket/1.0/storage-pools/eventsim", nil)
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
		}
	})

	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	rep, err := RunLXD(ctx, LXDOptions{Target: "unix://" + sock, Exercise: true, MinEvents: 10})
	if err != nil {
		t.Fatal(err)
	}
	logReport(t, rep)
	for _, r := range rep.Results {
		if r.Status == Fail {
			t.Errorf("%s failed against real LXD: %+v", r.ID, r.Findings)
		}
	}
	for _, id := range []string{IDExerciseProfile, IDExerciseProject, IDExerciseVolume, IDFilterType, IDFilterProject, IDFilterGlobal} {
		if r := rep.Result(id); r == nil || r.Status != Pass {
			t.Errorf("%s: %+v, want pass", id, r)
		}
	}
}

func logReport(t *testing.T, rep *Report) {
	t.Helper()
	var b strings.Builder
	if err := WriteReport(&b, "text", rep); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + b.String())
}
