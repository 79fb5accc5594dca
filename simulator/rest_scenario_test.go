package simulator_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eventsim/eventsim/scenarios"
	"github.com/eventsim/eventsim/simulator"
)

// restScenario waits, then stops and deletes c1, which only a REST request
// makes, and starts nobody, which nothing makes.
const restScenario = `name: rest-shared
api: lxd
start: 2030-01-01T00:00:00Z
lxd: {logging: false}
steps:
  - wait: %s
  - lxd: instance.stop
    name: c1
    external: true
  - lxd: instance.delete
    name: c1
    external: true
  - lxd: instance.start
    name: nobody
    external: true
`

// TestScenarioActsOnWhatRESTMade: the real lxc makes and starts an
// instance while a scenario plays; the scenario's later steps marked
// external stop and delete it, a listener sees their events after the
// REST ones, lxc list agrees, and a step on an instance nothing made is
// skipped and counted. The REST requests must be done before the steps'
// virtual time: when a loaded machine makes them later, the run is made
// again with a longer wait.
func TestScenarioActsOnWhatRESTMade(t *testing.T) {
	if _, err := exec.LookPath("lxc"); err != nil {
		t.Fatalf("lxc is not on PATH (apt-get install -y lxd-client; .ci/run installs it): %v", err)
	}
	for _, wait := range []time.Duration{3 * time.Second, 15 * time.Second} {
		if restScenarioRun(t, wait) {
			return
		}
		t.Logf("the REST requests took longer than %s; again with a longer wait", wait)
	}
	t.Fatal("the REST requests never finished before the scenario's steps")
}

// restScenarioRun plays restScenario with its wait; it reports false when
// the REST requests were not done by the steps' time.
func restScenarioRun(t *testing.T, wait time.Duration) bool {
	srv := startSim(t, fmt.Sprintf(restScenario, wait), simulator.Options{Speed: 1})
	sock := srv.LXD().SocketPath()
	c := wsDialUnix(t, srv)
	lxc := lxcAt(t, sock)
	lxc("init", "--empty", "c1")
	lxc("start", "c1")
	stepsAt := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Add(wait)
	if !srv.Now().Before(stepsAt) {
		return false
	}
	// The stream: the REST requests' lifecycle events, then the steps'.
	var got []string
	for len(got) < 4 {
		var ev struct {
			Type     string
			Metadata struct{ Action, Source string }
		}
		if err := json.Unmarshal([]byte(nextFrameWithin(t, c, wait+30*time.Second)), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Type == "lifecycle" {
			got = append(got, ev.Metadata.Action+" "+ev.Metadata.Source)
		}
	}
	want := []string{"instance-created /1.0/instances/c1", "instance-started /1.0/instances/c1",
		"instance-stopped /1.0/instances/c1", "instance-deleted /1.0/instances/c1"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("lifecycle events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if out := lxc("list", "--format", "csv", "-c", "n"); strings.TrimSpace(out) != "" {
		t.Errorf("lxc list after the scenario deleted c1: %q", out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for srv.Stats().SkippedSteps != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("skipped steps %d, want 1 (the start of nobody)", srv.Stats().SkippedSteps)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// nextFrameWithin reads one text frame within d.
func nextFrameWithin(t *testing.T, c interface {
	SetReadDeadline(time.Time) error
	ReadMessage() (int, []byte, error)
}, d time.Duration) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	_, b, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read frame: %v", err)
	}
	return string(b)
}

// TestRunAndResetKnowWhatExists: the fake LXD keeps its objects when a
// new scenario runs or the scenario is reset, so the new engine starts
// from them (scenarios.Engine.Carry): a step that would create an object
// the daemon has (made by the old scenario or by the real lxc) is skipped
// and counted, and the stream never says such an object is created.
func TestRunAndResetKnowWhatExists(t *testing.T) {
	const first = "name: first\napi: lxd\nstart: 2030-01-01T00:00:00Z\nlxd: {logging: false}\nsteps:\n  - lxd: instance.create\n    name: web1\n"
	const second = `name: second
api: lxd
start: 2030-01-01T00:00:00Z
lxd: {logging: false}
steps:
  - lxd: instance.create
    name: web1
  - lxd: instance.create
    name: c1
  - lxd: instance.create
    name: fresh
  - lxd: instance.start
    name: fresh
  - lxd: instance.stop
    name: fresh
`
	srv := startSim(t, first, simulator.Options{Speed: 0})
	sock := srv.LXD().SocketPath()
	lxc := lxcAt(t, sock)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(lxc("list", "--format", "csv", "-c", "n"), "web1") {
		if time.Now().After(deadline) {
			t.Fatal("the first scenario never made web1")
		}
		time.Sleep(10 * time.Millisecond)
	}
	lxc("init", "--empty", "c1")
	c := wsDialUnix(t, srv)
	// upTo reads lifecycle events until want arrives.
	upTo := func(want string) []string {
		t.Helper()
		var got []string
		for !slices.Contains(got, want) {
			var ev struct {
				Type     string
				Metadata struct{ Action, Source string }
			}
			if err := json.Unmarshal([]byte(nextFrameWithin(t, c, 30*time.Second)), &ev); err != nil {
				t.Fatal(err)
			}
			if ev.Type == "lifecycle" {
				got = append(got, ev.Metadata.Action+" "+ev.Metadata.Source)
			}
		}
		return got
	}
	scen, err := scenarios.Parse("second.yaml", []byte(second))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Run(scen); err != nil {
		t.Fatal(err)
	}
	want := []string{"instance-created /1.0/instances/fresh", "instance-started /1.0/instances/fresh", "instance-stopped /1.0/instances/fresh"}
	if got := upTo(want[2]); !slices.Equal(got, want) {
		t.Errorf("after run: %q, want %q (web1 and c1 exist)", got, want)
	}
	if n := srv.Stats().SkippedSteps; n != 2 {
		t.Errorf("skipped steps after run: %d, want 2 (the creates of web1 and c1)", n)
	}
	if err := srv.Reset(); err != nil {
		t.Fatal(err)
	}
	if got := upTo(want[2]); !slices.Equal(got, want[1:]) {
		t.Errorf("after reset: %q, want %q (web1, c1 and fresh exist)", got, want[1:])
	}
	if n := srv.Stats().SkippedSteps; n != 3 {
		t.Errorf("skipped steps after reset: %d, want 3", n)
	}
	if out := lxc("list", "--format", "csv", "-c", "ns"); out != "c1,STOPPED\nfresh,STOPPED\nweb1,STOPPED\n" {
		t.Errorf("lxc list: %q", out)
	}
}

// lxcAt returns what runs the real lxc against the unix socket sock, with
// a fresh LXD_DIR and LXD_CONF and no other LXD_ variable, and returns its
// output; a failure ends the test.
func lxcAt(t *testing.T, sock string) func(args ...string) string {
	return func(args ...string) string {
		t.Helper()
		cmd := exec.Command("lxc", args...)
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "LXD_") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, "LXD_SOCKET="+sock, "LXD_DIR="+t.TempDir(), "LXD_CONF="+t.TempDir())
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("lxc %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
		}
		return string(out)
	}
}
