package simulator_test

import (
	"github.com/eventsim/eventsim/simulator"

	"net/http"
	"strings"
	"testing"
	"time"
)

// opStatus waits for an LXD operation (the "operation" URL of a 202) and
// returns its final status and err.
func opStatus(t *testing.T, c *http.Client, base string, answer map[string]any) (string, string) {
	t.Helper()
	u, _ := answer["operation"].(string)
	if u == "" {
		t.Fatalf("no operation in %v", answer)
	}
	code, m := call(t, c, "GET", base+u+"/wait?timeout=10", "")
	md, _ := m["metadata"].(map[string]any)
	if code != 200 || md == nil {
		t.Fatalf("wait %s: %d %v", u, code, m)
	}
	return md["status"].(string), md["err"].(string)
}

// TestFailuresViaControl: LXD's failures on demand through the control API,
// as its docs show them: the next requests matching a method and path
// answer an error; the next operation of a description fails with an err.
func TestFailuresViaControl(t *testing.T) {
	srv := startSim(t, quietScenario, simulator.Options{Speed: 0})
	base, ctl := controlAt(srv, "lxd-tcp")
	api := srv.LXD().URL()
	hc := http.DefaultClient

	if code, m := call(t, ctl, "POST", base+"/fault", `{"kind":"http-error","api":"lxd","method":"GET","path":"/1.0/instances","status":500,"error":"Failed to fetch instances: database is locked"}`); code != 202 {
		t.Fatalf("fault: %d %v", code, m)
	}
	code, m := call(t, hc, "GET", api+"/1.0/instances", "")
	if code != 500 || m["type"] != "error" || m["error_code"] != float64(500) || m["error"] != "Failed to fetch instances: database is locked" {
		t.Errorf("GET /1.0/instances under the fault: %d %v", code, m)
	}
	if code, _ := call(t, hc, "GET", api+"/1.0/instances", ""); code != 200 {
		t.Errorf("GET /1.0/instances after the fault's request: %d", code)
	}

	if code, m := call(t, ctl, "POST", base+"/fault", `{"kind":"operation-error","description":"Creating instance","error":"Failed creating instance from image: no space left on device","after":"20ms"}`); code != 202 || m["after"] != float64(20*time.Millisecond) {
		t.Fatalf("fault: %d %v", code, m)
	}
	_, m = call(t, hc, "POST", api+"/1.0/instances", `{"name":"c1","source":{"type":"none"}}`)
	if st, err := opStatus(t, hc, api, m); st != "Failure" || err != "Failed creating instance from image: no space left on device" {
		t.Errorf("create under an operation-error: %s %q", st, err)
	}
	_, m = call(t, hc, "POST", api+"/1.0/instances", `{"name":"c1","source":{"type":"none"},"devices":{"root":{"type":"disk","path":"/","pool":"pool1"}}}`)
	if st, err := opStatus(t, hc, api, m); st != "Success" {
		t.Errorf("the next create: %s %q", st, err)
	}

	for _, tc := range []struct{ body, want string }{
		{`{"kind":"operation-error","error":"x"}`, "fault operation-error: description: missing: an operation-error needs description"},
		{`{"kind":"start-failure"}`, "fault start-failure: instance: missing: a start-failure needs instance"},
		{`{"kind":"operation-error","description":"Creating instance","error":"x","after":"later"}`, `fault operation-error: after: invalid duration "later"`},
		{`{"kind":"http-error","api":"lxd","path":"/1.0/[","status":500}`, "fault http-error: path: must be a path pattern"},
		{`{"kind":"start-failure","api":"linode","instance":"c1"}`, `fault start-failure applies to lxd, got api "linode"`},
	} {
		code, m := call(t, ctl, "POST", base+"/fault", tc.body)
		if msg, _ := m["error"].(string); code != 400 || !strings.Contains(msg, tc.want) {
			t.Errorf("fault %s: %d %v, want 400 %q", tc.body, code, m, tc.want)
		}
	}
}

// TestStartFailureFromScenario: a scenario's start-failure step makes the
// instance it names fail its next start, when a REST request starts it.
func TestStartFailureFromScenario(t *testing.T) {
	srv := startSim(t, `name: failing-start
api: lxd
lxd:
  logging: false
steps:
  - fault: start-failure
    instance: web1
  - wait: 24h
`, simulator.Options{Speed: 0})
	deadline := time.Now().Add(5 * time.Second)
	for srv.LXD().Stats().Faults == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the scenario's fault was not delivered")
		}
		time.Sleep(10 * time.Millisecond)
	}
	api, hc := srv.LXD().URL(), http.DefaultClient
	_, m := call(t, hc, "POST", api+"/1.0/instances", `{"name":"web1","source":{"type":"none"}}`)
	opStatus(t, hc, api, m)
	_, m = call(t, hc, "PUT", api+"/1.0/instances/web1/state", `{"action":"start","timeout":-1}`)
	st, err := opStatus(t, hc, api, m)
	if want := "Failed to run: /usr/bin/lxd forkstart web1 /var/lib/lxd/containers /var/log/lxd/web1/lxc.conf: exit status 1"; st != "Failure" || err != want {
		t.Errorf("start under the scenario's start-failure: %s %q, want Failure %q", st, err, want)
	}
	_, m = call(t, hc, "GET", api+"/1.0/instances/web1", "")
	if md, _ := m["metadata"].(map[string]any); md["status"] != "Stopped" {
		t.Errorf("the instance after its failed start: %v", md["status"])
	}
}
