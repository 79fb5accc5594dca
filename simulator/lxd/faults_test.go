package lxd

import (
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

// TestStartFailureWithLXC: an instance that fails to start, as the real lxc
// sees it from a daemon whose start takes its time (speed 1: 800 ms): lxc
// start exits 1 with the daemon's err and its hint, the instance stays
// stopped, and the next start works.
func TestStartFailureWithLXC(t *testing.T) {
	for _, tc := range []struct {
		flavor catalog.Flavor
		msg    string
	}{
		{catalog.LXD50, "Error: Failed to run: /usr/bin/lxd forkstart c1 /var/lib/lxd/containers /var/log/lxd/c1/lxc.conf: exit status 1\nTry `lxc info --show-log c1` for more info\n"},
	} {
		t.Run(string(tc.flavor), func(t *testing.T) {
			s := NewServer(t, Options{Flavor: tc.flavor, Socket: filepath.Join(t.TempDir(), "unix.socket"), Addr: "-", Speed: 1})
			sock := s.SocketPath()
			lxcRun(t, sock, "", "init", "--empty", "c1")
			inject(t, s, scenarios.Fault{Kind: scenarios.FaultStartFailure, Instance: "c1"})
			// (A fresh lxc configuration first prints its first-run hint.)
			if msg := lxcFail(t, sock, "start", "c1"); !strings.HasSuffix(msg, "\n\n"+tc.msg) {
				t.Errorf("lxc start:\n%q\nwant\n%q", msg, tc.msg)
			}
			if out := lxcRun(t, sock, "", "list", "--format", "csv", "-c", "ns"); out != "c1,STOPPED\n" {
				t.Errorf("lxc list after the failed start: %q", out)
			}
			lxcRun(t, sock, "", "start", "c1")
			if out := lxcRun(t, sock, "", "list", "--format", "csv", "-c", "ns"); !strings.HasPrefix(out, "c1,RUNNING") {
				t.Errorf("lxc list after the next start: %q", out)
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
