// Package realdaemon starts a real LXD or Incus daemon in a temporary
// directory for the project's tests: the conformance runner's, the
// recorder's and the fake's parity tests all judge against the same daemon
// set up the same way.
//
// Both daemons start here as root (Debian packages lxd and incus) and can
// import images and create instances, but cannot start instances on these
// machines. A test calls Start and is skipped, saying why, when the daemon
// cannot run: not installed, not root, -short, or EVENTSIM_SKIP_REAL_LXD set.
package realdaemon

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Kind names a daemon: LXD or Incus.
type Kind string

const (
	// LXD is Debian's lxd package (5.0.2): binary lxd, LXD_DIR, client lxc.
	LXD Kind = "lxd"
	// Incus is Debian's incus package (6.0, bookworm-backports): daemon
	// /usr/libexec/incus/incusd, INCUS_DIR, client incus.
	Incus Kind = "incus"
)

// Daemon is a running real daemon.
type Daemon struct {
	Kind Kind
	// Dir is its state directory (LXD_DIR or INCUS_DIR).
	Dir string
	// Socket is its unix socket.
	Socket string
	// Env is the environment for its own binaries: os.Environ plus the dir.
	Env []string
	bin string
}

// Binary returns the daemon's binary for kind, or an error saying which
// package provides it.
func Binary(kind Kind) (string, error) {
	switch kind {
	case LXD:
		p, err := exec.LookPath("lxd")
		if err != nil {
			return "", fmt.Errorf("lxd is not installed (apt-get install -y lxd)")
		}
		return p, nil
	case Incus:
		for _, p := range []string{"/usr/libexec/incus/incusd", "/usr/lib/incus/incusd"} {
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
		if p, err := exec.LookPath("incusd"); err == nil {
			return p, nil
		}
		return "", fmt.Errorf("incusd is not installed (apt-get install -y -t bookworm-backports incus)")
	}
	return "", fmt.Errorf("unknown daemon kind %q, must be lxd or incus", kind)
}

// dirVar is the environment variable naming the daemon's state directory.
func (k Kind) dirVar() string {
	if k == Incus {
		return "INCUS_DIR"
	}
	return "LXD_DIR"
}

// Client returns the name of the kind's command-line client.
func (k Kind) Client() string {
	if k == Incus {
		return "incus"
	}
	return "lxc"
}

// Start starts a daemon of kind in a temporary directory, waits until it is
// ready, and stops it and removes the directory at the test's cleanup. It
// skips the test, saying why, when the daemon cannot run here.
func Start(t testing.TB, kind Kind) *Daemon {
	t.Helper()
	if testing.Short() || os.Getenv("EVENTSIM_SKIP_REAL_LXD") != "" {
		t.Skipf("real %s test left out (-short or EVENTSIM_SKIP_REAL_LXD)", kind)
	}
	bin, err := Binary(kind)
	if err != nil {
		t.Skip(err.Error())
	}
	if os.Geteuid() != 0 {
		t.Skipf("the %s daemon needs root", kind)
	}
	dir, err := os.MkdirTemp("", "eventsim-"+string(kind)+"-")
	if err != nil {
		t.Fatal(err)
	}
	d := &Daemon{Kind: kind, Dir: dir, Socket: filepath.Join(dir, "unix.socket"),
		Env: append(os.Environ(), kind.dirVar()+"="+dir), bin: bin}
	logf, err := os.Create(filepath.Join(t.TempDir(), string(kind)+".log"))
	if err != nil {
		t.Fatal(err)
	}
	daemon := exec.Command(bin, "--group", "root")
	daemon.Env = d.Env
	daemon.Stdout, daemon.Stderr = logf, logf
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sd := exec.Command(bin, "shutdown")
		sd.Env = d.Env
		if out, err := sd.CombinedOutput(); err != nil {
			t.Logf("%s shutdown: %v: %s", kind, err, out)
			_ = daemon.Process.Kill()
		}
		_ = daemon.Wait()
		for _, m := range []string{"shmounts", "devlxd", "guestapi"} {
			_ = exec.Command("umount", "-l", filepath.Join(dir, m)).Run()
		}
		_ = os.RemoveAll(dir)
	})
	wr := exec.Command(bin, "waitready", "--timeout", "60")
	wr.Env = d.Env
	if out, err := wr.CombinedOutput(); err != nil {
		b, _ := os.ReadFile(logf.Name())
		t.Fatalf("%s waitready: %v: %s\n%s", kind, err, out, b)
	}
	return d
}

// HTTPClient returns a client whose every request goes to the daemon's
// socket; URLs are then http://unix.socket/1.0/...
func (d *Daemon) HTTPClient() *http.Client {
	return &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "unix", d.Socket)
		}}}
}

// Target is the conformance runner's --target for the daemon.
func (d *Daemon) Target() string { return "unix://" + d.Socket }

// Request sends one request with a JSON body ("" for none) and returns the
// status and body.
func (d *Daemon) Request(t testing.TB, method, path, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, "http://unix.socket"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := d.HTTPClient().Do(req)
	if err != nil {
		t.Fatalf("%s %s %s: %v", d.Kind, method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s %s: read body: %v", d.Kind, method, path, err)
	}
	return resp.StatusCode, b
}

// AddDirPool creates a dir storage pool named name, so volume and instance
// requests have somewhere to go, and deletes it at cleanup.
func (d *Daemon) AddDirPool(t testing.TB, name string) {
	t.Helper()
	code, body := d.Request(t, "POST", "/1.0/storage-pools", fmt.Sprintf(`{"name":%q,"driver":"dir","config":{}}`, name))
	if code != 200 && code != 201 {
		t.Fatalf("create storage pool %s on %s: %d %s", name, d.Kind, code, body)
	}
	t.Cleanup(func() { d.Request(t, "DELETE", "/1.0/storage-pools/"+name, "") })
}

// ClientCommand returns the kind's client (lxc or incus) pointed at the
// daemon, with a fresh configuration directory.
func (d *Daemon) ClientCommand(t testing.TB, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(d.Kind.Client(), args...)
	conf := t.TempDir()
	env := append(os.Environ(), d.Kind.dirVar()+"="+d.Dir)
	if d.Kind == Incus {
		env = append(env, "INCUS_CONF="+conf, "INCUS_SOCKET="+d.Socket)
	} else {
		env = append(env, "LXD_CONF="+conf, "LXD_SOCKET="+d.Socket)
	}
	cmd.Env = env
	return cmd
}
