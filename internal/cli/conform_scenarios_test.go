package cli

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/conformance"
	"github.com/eventsim/eventsim/scenarios"
	"github.com/eventsim/eventsim/simulator"
	"github.com/eventsim/eventsim/simulator/lxd"
)

// playOnce is what one play of a scenario holds.
type playOnce struct {
	lxdEvents int
	lxdLength time.Duration // from the first to the last LXD event
	linodeIDs int           // distinct Linode events
	records   int64         // every record, faults included
}

func measure(t *testing.T, name string, flavor catalog.Flavor) playOnce {
	t.Helper()
	s, err := scenarios.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := scenarios.New(s, scenarios.Options{Flavor: flavor})
	if err != nil {
		t.Fatal(err)
	}
	var p playOnce
	var first, last time.Time
	ids := map[int64]bool{}
	for {
		r, err := eng.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p.records++
		switch {
		case r.Fault != nil:
		case r.API == "lxd":
			p.lxdEvents++
			if first.IsZero() {
				first = r.Time
			}
			last = r.Time
		case r.Linode != nil:
			ids[r.Linode.ID] = true
		}
	}
	p.lxdLength, p.linodeIDs = last.Sub(first), len(ids)
	return p
}

// conformJSON runs `eventsim conform ARGS --report json --output F` in
// process and returns the exit code and the decoded report.
func conformJSON(t *testing.T, args ...string) (ExitCode, *conformance.Report) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "report.json")
	args = append([]string{"conform"}, append(args, "--report", "json", "--output", file)...)
	code, _, errOut := runMain(t, args...)
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v: exit %d, %s", args, code, errOut)
	}
	var rep conformance.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	return code, &rep
}

// clean asserts a run passed with no failure and no warning, and that the
// checks in mustPass ran and passed rather than skipped.
func clean(t *testing.T, what string, code ExitCode, rep *conformance.Report, mustPass ...string) {
	t.Helper()
	if code != ExitOK {
		t.Errorf("%s: exit %d, want 0", what, code)
	}
	for _, r := range rep.Results {
		switch r.Status {
		case conformance.Fail, conformance.Warn:
			t.Errorf("%s: %s %s: %s; %+v", what, r.Status, r.ID, r.Note, r.Findings)
		case conformance.Skip:
			t.Logf("%s: skip %s: %s", what, r.ID, r.Note)
		}
		if strings.Contains(r.Note, "retried") || strings.Contains(r.Note, "changed") {
			t.Logf("%s: %s: %s", what, r.ID, r.Note)
		}
	}
	for _, id := range mustPass {
		if r := rep.Result(id); r == nil || r.Status != conformance.Pass {
			t.Errorf("%s: %s is %+v, want pass", what, id, r)
		}
	}
}

// Checks every served scenario must pass, not skip.
var (
	lxdMust = []string{conformance.IDServer, conformance.IDEventsSchema, conformance.IDEventsTimestamp, conformance.IDEventsClock,
		conformance.IDEventsLocation, conformance.IDEventsFrames, conformance.IDEventsMin, conformance.IDFilterType,
		conformance.IDFilterProject, conformance.IDFilterTypeInvalid, conformance.IDFilterProjectBad, conformance.IDEventsUpgrade}
	linodeMust = []string{conformance.IDLinodeAuth, conformance.IDLinodeEnvelope, conformance.IDLinodeEventSchema,
		conformance.IDLinodeWalk, conformance.IDLinodePageSize, conformance.IDLinodeGet, conformance.IDLinodeNotFound,
		conformance.IDLinodeFilterEq, conformance.IDLinodeFilterOps, conformance.IDLinodeFilterOrder,
		conformance.IDLinodeFilterBad, conformance.IDLinodeRateLimit, conformance.IDLinodeSeen}
)

// servedRun is one scenario served and checked.
type servedRun struct {
	name     string
	scenario string
	flavor   catalog.Flavor
	speed    float64
	loop     bool
	lxd      bool // run conform lxd
	linode   bool // run conform linode
}

// TestConformEveryBuiltinScenario serves every built-in scenario as
// `eventsim serve` does and runs `eventsim conform` against it in process:
// no check may fail or warn.
//
// LXD is played at speed 1, with Loop: lxd.events.clock compares each
// timestamp with the local clock, which only a server whose virtual clock
// keeps wall time passes honestly (at speed N the clock runs N times fast).
// Each run listens for one play of the scenario and 2 s more, so every
// part of it is checked; the runs go on at once, so the test takes as long
// as the longest (demo, about 22 s).
//
// Linode-only scenarios are played at speed 0 without Loop: the whole
// account is there at once, with the scenario's faults (linode-failures'
// 503s, 429s, latency and dropped connection) waiting for the runner, which
// retries them as linodego does. The account must hold exactly the
// scenario's events. demo plays both APIs at speed 1, so its Linode account
// grows while it is checked, and linode-catalogue-tour is also played at
// speed 2000 with Loop: about 200 events a second arrive during the walks.
func TestConformEveryBuiltinScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("plays every scenario in real time (about 25 s); not with -short")
	}
	t.Parallel()
	list, err := scenarios.List()
	if err != nil {
		t.Fatal(err)
	}
	var runs []servedRun
	for _, b := range list {
		hasLXD, hasLinode := contains(b.APIs, "lxd"), contains(b.APIs, "linode")
		switch {
		case hasLXD:
			runs = append(runs, servedRun{b.Name, b.Name, "", 1, true, true, hasLinode})
		case hasLinode:
			runs = append(runs, servedRun{b.Name, b.Name, "", 0, false, false, true})
		}
		if b.Name == "lxd-catalogue-tour" {
			for _, f := range catalog.Flavors {
				if f != catalog.DefaultFlavor {
					runs = append(runs, servedRun{b.Name + "/" + string(f), b.Name, f, 1, true, true, false})
				}
			}
		}
		if b.Name == "linode-catalogue-tour" {
			runs = append(runs, servedRun{b.Name + "/growing", b.Name, "", 2000, true, false, true})
		}
	}
	if len(runs) < len(list) {
		t.Fatalf("%d runs for %d scenarios", len(runs), len(list))
	}
	// The runs mostly wait on the clock, so they all run at once rather than
	// -parallel (GOMAXPROCS) at a time: subtests started from goroutines
	// without t.Parallel are not limited.
	var all sync.WaitGroup
	defer all.Wait()
	for _, rn := range runs {
		all.Add(1)
		go func() {
			defer all.Done()
			t.Run(rn.name, func(t *testing.T) { checkServed(t, rn) })
		}()
	}
}

// checkServed serves one scenario as `eventsim serve` does and runs the
// suites it feeds against it; see TestConformEveryBuiltinScenario.
func checkServed(t *testing.T, rn servedRun) {
	scen, err := scenarios.Load(rn.scenario)
	if err != nil {
		t.Fatal(err)
	}
	var once playOnce
	if !scen.Endless() {
		once = measure(t, rn.scenario, rn.flavor)
	}
	sock := filepath.Join(shortTempDir(t), "unix.socket")
	srv := simulator.NewServer(t, simulator.Options{Scenario: rn.scenario, Speed: rn.speed, Loop: rn.loop, Flavor: rn.flavor,
		LXD: lxd.Options{Addr: "127.0.0.1:0", Socket: sock}})
	if rn.speed != 1 {
		// Let the player deliver the whole timeline (once at least)
		// first; with Loop it goes on during the run.
		deadline := time.Now().Add(10 * time.Second)
		for srv.Stats().Records < once.records && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if got := srv.Stats().Records; got < once.records || !rn.loop && got != once.records {
			t.Fatalf("the player delivered %d records, want the scenario's %d", got, once.records)
		}
	}

	var wg sync.WaitGroup
	if rn.lxd {
		duration := 3 * time.Second
		minEvents := 50 // lxd-steady: 200 events a virtual second
		if !scen.Endless() {
			duration = once.lxdLength + 2*time.Second
			// With Loop, a window one play long holds at least
			// one play's events, less what is in flight at the
			// window's edges.
			minEvents = once.lxdEvents * 3 / 4
		}
		flavor := rn.flavor
		if flavor == "" {
			flavor = catalog.DefaultFlavor
		}
		common := []string{"--duration", duration.String(), "--min-events", strconv.Itoa(minEvents), "--flavor", string(flavor)}
		wg.Add(2)
		// The unix socket and TCP at once: two clients of one server.
		go func() {
			defer wg.Done()
			code, rep := conformJSON(t, append([]string{"lxd", "--target", "unix://" + sock}, common...)...)
			clean(t, "lxd over unix", code, rep, lxdMust...)
			t.Logf("lxd over unix: %d events in %s (at least %d wanted)", rep.Events, duration, minEvents)
		}()
		go func() {
			defer wg.Done()
			code, rep := conformJSON(t, append([]string{"lxd", "--target", srv.LXD().URL()}, common...)...)
			clean(t, "lxd over tcp", code, rep, lxdMust...)
		}()
	}
	if rn.linode {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, rep := conformJSON(t, "linode", "--target", srv.Linode().URL()+"/v4", "--token", srv.Linode().Token(), "--mutate")
			clean(t, "linode", code, rep, linodeMust...)
			t.Logf("linode: %d events (one play: %d)", rep.Events, once.linodeIDs)
			switch {
			case !rn.loop && rep.Events != once.linodeIDs:
				t.Errorf("linode: %d events checked, want the scenario's %d", rep.Events, once.linodeIDs)
			case rn.loop && rn.speed > 1 && rep.Events < once.linodeIDs:
				t.Errorf("linode: %d events checked, want at least the scenario's %d", rep.Events, once.linodeIDs)
			}
			if rn.scenario == "linode-failures" && !strings.Contains(rep.Result(conformance.IDLinodeEnvelope).Note, "retried") {
				t.Errorf("linode-failures: the first request met no fault: %q", rep.Result(conformance.IDLinodeEnvelope).Note)
			}
		}()
	}
	wg.Wait()
}
