package lxd

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/scenarios"
)

// inject puts a fault in force as the player and the control API do.
func inject(t *testing.T, s *Server, f scenarios.Fault) {
	t.Helper()
	f.API = "lxd"
	if err := s.Deliver(t.Context(), &scenarios.Record{API: "lxd", Fault: &f}); err != nil {
		t.Fatalf("deliver fault %s: %v", f.String(), err)
	}
}

// TestHTTPErrorFault: the next N requests matching a method and path answer
// the fault's status and error in LXD's envelope, change nothing and emit
// no lifecycle event; other requests and the N+1st are answered as ever.
func TestHTTPErrorFault(t *testing.T) {
	s := NewServer(t, Options{})
	do(t, s, "POST", "/1.0/instances", `{"name":"c1","source":{"type":"none"}}`)
	ws := dial(t, s, "type=lifecycle")
	inject(t, s, scenarios.Fault{Kind: scenarios.FaultHTTPError, Method: "PUT", Path: "/1.0/instances/*/state", Status: 503, Error: "maintenance window", Count: 2})

	if code, _, _ := do(t, s, "GET", "/1.0/instances/c1/state", ""); code != 200 {
		t.Errorf("GET of the path the fault names for PUT: %d", code)
	}
	for i := range 2 {
		code, _, env := do(t, s, "PUT", "/1.0/instances/c1/state", `{"action":"start","timeout":-1}`)
		if code != 503 || env.Type != "error" || env.ErrorCode != 503 || env.Error != "maintenance window" || string(env.Metadata) != "null" {
			t.Errorf("request %d under the fault: %d %+v", i+1, code, env)
		}
	}
	if o := s.instanceNow("default", "c1"); o == nil || o.Status != "Stopped" {
		t.Errorf("the refused starts changed the instance: %+v", o)
	}
	code, h, env := do(t, s, "PUT", "/1.0/instances/c1/state", `{"action":"start","timeout":-1}`)
	asyncOp(t, code, h, env)
	// The first lifecycle event since the fault is the third start's.
	if a, _, _ := lifecycleOf(t, readFrames(t, ws, 1)[0]); a != "instance-started" {
		t.Errorf("first lifecycle event since the fault: %q, want the third start's instance-started", a)
	}

	// The default message is the status's; any method and path by default.
	inject(t, s, scenarios.Fault{Kind: scenarios.FaultHTTPError, Status: 500})
	if code, _, env := do(t, s, "GET", "/1.0", ""); code != 500 || env.Error != "Internal Server Error" {
		t.Errorf("GET /1.0 under an http-error: %d %q", code, env.Error)
	}
	if code, _, _ := do(t, s, "GET", "/1.0", ""); code != 200 {
		t.Errorf("GET /1.0 after the fault's one request: %d", code)
	}

	// ResetFaults (the simulator's run and reset) ends them.
	inject(t, s, scenarios.Fault{Kind: scenarios.FaultHTTPError, Status: 500, Count: 100})
	inject(t, s, scenarios.Fault{Kind: scenarios.FaultStartFailure, Instance: "c1", Count: 100})
	s.ResetFaults()
	if code, _, env := do(t, s, "GET", "/1.0", ""); code != 200 {
		t.Errorf("GET /1.0 after ResetFaults: %d %q", code, env.Error)
	}
	for _, body := range []string{`{"action":"stop","force":true,"timeout":-1}`, `{"action":"start","timeout":-1}`} {
		code, h, env = do(t, s, "PUT", "/1.0/instances/c1/state", body)
		op := asyncOp(t, code, h, env)
		code, _, env = do(t, s, "GET", "/1.0/operations/"+op.ID, "")
		if got := opOf(t, code, env); got.Status != "Success" {
			t.Errorf("%s after ResetFaults: %s %q", body, got.Status, got.Err)
		}
	}
}

// TestHTTPErrorFaultChecked: a fault made in Go is checked as a scenario's
// is; a bad one is refused and changes nothing.
func TestHTTPErrorFaultChecked(t *testing.T) {
	s := NewServer(t, Options{})
	for _, f := range []scenarios.Fault{
		{Kind: scenarios.FaultHTTPError, API: "lxd", Status: 302},
		{Kind: scenarios.FaultHTTPError, API: "lxd", Path: "1.0/instances"},
		{Kind: scenarios.FaultHTTPError, API: "lxd", Method: "get"},
		{Kind: scenarios.FaultOperationError, API: "lxd", Error: "x"},
		{Kind: scenarios.FaultStartFailure, API: "lxd"},
	} {
		if err := s.Deliver(t.Context(), &scenarios.Record{API: "lxd", Fault: &f}); err == nil {
			t.Errorf("fault %s delivered, want an error", f.String())
		}
	}
	if code, _, _ := do(t, s, "GET", "/1.0", ""); code != 200 {
		t.Errorf("GET /1.0 after refused faults: %d", code)
	}
}

// TestOperationErrorFault: the next operation of a description fails with
// the fault's err after the fault's time; the object is not made, and the
// next one succeeds.
func TestOperationErrorFault(t *testing.T) {
	s := NewServer(t, Options{Speed: 1})
	ws := dial(t, s, "type=operation")
	inject(t, s, scenarios.Fault{Kind: scenarios.FaultOperationError, Description: "Creating instance", Error: "Failed creating instance record: disk full", After: 300 * time.Millisecond})

	sent := time.Now()
	code, h, env := do(t, s, "POST", "/1.0/instances", `{"name":"c1","source":{"type":"none"}}`)
	op := asyncOp(t, code, h, env)
	evs := readOps(t, ws, op.ID)
	last := evs[len(evs)-1]
	if last.op.Status != "Failure" || last.op.StatusCode != 400 || last.op.Err != "Failed creating instance record: disk full" {
		t.Errorf("the operation ended %s %d %q", last.op.Status, last.op.StatusCode, last.op.Err)
	}
	if d := last.at.Sub(sent); d < 250*time.Millisecond {
		t.Errorf("the operation failed %s after its request, want after 300 ms", d)
	}
	if code, _, _ := do(t, s, "GET", "/1.0/instances/c1", ""); code != 404 {
		t.Errorf("GET the instance whose creation failed: %d, want 404", code)
	}
	code, h, env = do(t, s, "POST", "/1.0/instances", `{"name":"c1","source":{"type":"none"}}`)
	op = asyncOp(t, code, h, env)
	if evs := readOps(t, ws, op.ID); evs[len(evs)-1].op.Status != "Success" {
		t.Errorf("the next create ended %s", evs[len(evs)-1].op.Status)
	}
}

// clientRun runs the real lxc (or incus, for the incus flavour) against
// the fake's socket with a fresh configuration and returns its output and
// whether it succeeded.
func clientRun(t *testing.T, flavor catalog.Flavor, sock string, args ...string) (stdout, stderr string, ok bool) {
	t.Helper()
	name, prefix := "lxc", "LXD_"
	if flavor == catalog.Incus {
		name, prefix = "incus", "INCUS_"
	}
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not on PATH (.ci/run installs it): %v", name, err)
	}
	cmd := exec.Command(path, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, prefix) {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, prefix+"SOCKET="+sock, prefix+"DIR="+t.TempDir(), prefix+"CONF="+t.TempDir())
	cmd.Stdin = strings.NewReader("")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err == nil
}

// TestStartFailureWithClients: an instance that fails to start, as the real
// lxc and incus see it from a daemon whose start takes its time (speed 1:
// 800 ms): start exits 1 with the daemon's err and the client's hint, the
// instance stays stopped, and the next start works.
func TestStartFailureWithClients(t *testing.T) {
	for _, tc := range []struct {
		flavor catalog.Flavor
		msg    string
	}{
		{catalog.LXD50, "Error: Failed to run: /usr/bin/lxd forkstart c1 /var/lib/lxd/containers /var/log/lxd/c1/lxc.conf: exit status 1\nTry `lxc info --show-log c1` for more info\n"},
		{catalog.Incus, "Error: Failed to run: /usr/libexec/incus/incusd forkstart c1 /var/lib/incus/containers /run/incus/c1/lxc.conf: exit status 1\nTry `incus info --show-log c1` for more info\n"},
	} {
		t.Run(string(tc.flavor), func(t *testing.T) {
			s := NewServer(t, Options{Flavor: tc.flavor, Socket: filepath.Join(t.TempDir(), "unix.socket"), Addr: "-", Speed: 1})
			sock := s.SocketPath()
			run := func(args ...string) string {
				t.Helper()
				out, errOut, ok := clientRun(t, tc.flavor, sock, args...)
				if !ok {
					t.Fatalf("%v: %s%s", args, out, errOut)
				}
				return out
			}
			run("init", "--empty", "c1")
			inject(t, s, scenarios.Fault{Kind: scenarios.FaultStartFailure, Instance: "c1"})
			// (A fresh configuration may first print the client's first-run hint.)
			if out, msg, ok := clientRun(t, tc.flavor, sock, "start", "c1"); ok || !strings.HasSuffix(msg, tc.msg) {
				t.Errorf("start: ok=%v\n%q\nwant it to end in\n%q%s", ok, msg, tc.msg, out)
			}
			if out := run("list", "--format", "csv", "-c", "ns"); out != "c1,STOPPED\n" {
				t.Errorf("list after the failed start: %q", out)
			}
			run("start", "c1")
			if out := run("list", "--format", "csv", "-c", "ns"); !strings.HasPrefix(out, "c1,RUNNING") {
				t.Errorf("list after the next start: %q", out)
			}
		})
	}
}

// TestStartFailureMessage: the default err names the daemon's own paths,
// per flavour and project.
func TestStartFailureMessage(t *testing.T) {
	for _, tc := range []struct {
		flavor           catalog.Flavor
		project, name, w string
	}{
		{catalog.LXD50, "default", "c1", "Failed to run: /usr/bin/lxd forkstart c1 /var/lib/lxd/containers /var/log/lxd/c1/lxc.conf: exit status 1"},
		{catalog.LXD50, "p1", "c1", "Failed to run: /usr/bin/lxd forkstart p1_c1 /var/lib/lxd/containers /var/log/lxd/p1_c1/lxc.conf: exit status 1"},
		{catalog.Incus, "default", "c1", "Failed to run: /usr/libexec/incus/incusd forkstart c1 /var/lib/incus/containers /run/incus/c1/lxc.conf: exit status 1"},
	} {
		s := NewServer(t, Options{Flavor: tc.flavor})
		if got := s.startFailureMessage(tc.project, tc.name); got != tc.w {
			t.Errorf("%s %s/%s: %q, want %q", tc.flavor, tc.project, tc.name, got, tc.w)
		}
	}
}
