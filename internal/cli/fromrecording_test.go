package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eventsim/eventsim/internal/lxdcapture"
	"github.com/eventsim/eventsim/scenarios"
)

// TestScenariosFromRecording: the scenario written from a recording of the
// real daemon's lifecycle events uses verbs where a verb makes exactly the
// event, emits elsewhere, and plays the same events as the recording itself.
func TestScenariosFromRecording(t *testing.T) {
	buf := scenarios.AppendRecordingHeader(nil, scenarios.RecordingHeader{Kind: "lxd", Target: "unix:///x", Server: "lxd",
		ServerVersion: "5.0.2", Flavor: "lxd-5.0", Started: time.Date(2026, 11, 21, 5, 26, 48, 0, time.UTC)})
	n := 0
	for _, l := range lxdcapture.Lines() {
		if strings.Contains(string(l), `"type":"lifecycle"`) {
			buf = scenarios.AppendRecordedEvent(buf, time.Duration(n)*100*time.Millisecond, l)
			n++
		}
	}
	dir := t.TempDir()
	rec, yml := filepath.Join(dir, "lc.recording"), filepath.Join(dir, "lc.yaml")
	if err := os.WriteFile(rec, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := run(t, "", "scenarios", "from-recording", rec, "-o", yml)
	if code != ExitOK || !strings.Contains(errOut, "verbs for ") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	src, err := os.ReadFile(yml)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"- lxd: profile.create\n    name: web\n", "- lxd: storage-pool.create\n", "- wait: 100ms\n", "- emit:\n      lxd:\n"} {
		if !strings.Contains(string(src), want) {
			t.Errorf("the scenario lacks %q:\n%s", want, src)
		}
	}
	fromRec := lines(mustRun(t, "", "generate", "--scenario", rec))
	fromYAML := lines(mustRun(t, "", "generate", "--scenario", yml))
	if len(fromRec) != n || len(fromYAML) != n {
		t.Fatalf("generate: %d events from the recording, %d from its scenario, want %d", len(fromRec), len(fromYAML), n)
	}
	for i := range fromRec {
		var a, b map[string]any
		_ = json.Unmarshal([]byte(fromRec[i]), &a)
		_ = json.Unmarshal([]byte(fromYAML[i]), &b)
		delete(a, "timestamp")
		delete(b, "timestamp")
		if !reflect.DeepEqual(a, b) {
			t.Errorf("event %d: recording %s, its scenario %s", i, fromRec[i], fromYAML[i])
		}
	}
	// Not a recording: said so.
	_, errOut, code = run(t, "", "scenarios", "from-recording", yml)
	if code != ExitUsage || !strings.Contains(errOut, "is not a recording") {
		t.Errorf("a YAML file: exit %d, stderr %q", code, errOut)
	}
}

// fakeVerbs is a scenario of verbs for the fake to play while `record lxd`
// records it.
const fakeVerbs = `name: fake-verbs
api: lxd
lxd:
  logging: true
  projects: [p1]
steps:
  - lxd: instance.create
    name: c1
    project: p1
  - lxd: instance.start
    name: c1
    project: p1
  - lxd: instance.snapshot
    name: c1
    project: p1
    snapshot: s0
  - lxd: instance.stop
    name: c1
    project: p1
  - lxd: instance.rename
    name: c1
    project: p1
    to: c2
  - lxd: instance.delete
    name: c2
    project: p1
  - lxd: profile.create
    name: web
  - lxd: profile.delete
    name: web
`

// TestFromRecordingOfTheFake records, with `record lxd`, the fake playing
// a scenario made of verbs, turns the recording into a scenario and holds
// it to the same verbs, in order, and to the recording's events when
// generate plays it: in order, field for field but for ids and times.
func TestFromRecordingOfTheFake(t *testing.T) {
	scen, err := scenarios.Parse("fake-verbs.yaml", []byte(fakeVerbs))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := scenarios.New(scen, scenarios.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		if _, err := eng.Next(); err != nil {
			break
		}
		n++
	}
	srv, sock := idleSim(t, 0)
	dir := t.TempDir()
	rec, yml := filepath.Join(dir, "fake.recording"), filepath.Join(dir, "fake.yaml")
	type result struct {
		code   ExitCode
		errOut string
	}
	done := make(chan result, 1)
	go func() {
		code, _, errOut := runMain(t, "record", "lxd", "--target", "unix://"+sock, "--all-projects", "--count", strconv.Itoa(n), "-o", rec)
		done <- result{code, errOut}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for srv.LXD().Stats().Clients == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the recorder never connected")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := srv.Run(scen); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.code != ExitOK {
			t.Fatalf("record lxd: exit %d, %s", r.code, r.errOut)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("record lxd did not get the scenario's events")
	}
	_, errOut, code := run(t, "", "scenarios", "from-recording", rec, "-o", yml)
	if code != ExitOK || !strings.Contains(errOut, "wrote "+yml+" (8 verbs for ") {
		src, _ := os.ReadFile(yml)
		t.Fatalf("from-recording: exit %d, stderr %q\n%s", code, errOut, src)
	}
	src, err := os.ReadFile(yml)
	if err != nil {
		t.Fatal(err)
	}
	written, err := scenarios.Parse(yml, src)
	if err != nil {
		t.Fatal(err)
	}
	var got, want []string
	for _, st := range written.Steps {
		if st.Kind == scenarios.StepLXD {
			got = append(got, st.Verb)
		}
	}
	for _, st := range scen.Steps {
		want = append(want, st.Verb)
	}
	if !slices.Equal(got, want) {
		t.Errorf("verbs %q, want %q:\n%s", got, want, src)
	}
	f, err := os.Open(rec)
	if err != nil {
		t.Fatal(err)
	}
	_, evs, err := scenarios.ReadRecording(f, rec)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	played := lines(mustRun(t, "", "generate", "--scenario", yml))
	if len(played) != len(evs) {
		t.Fatalf("generate plays %d events, the recording holds %d", len(played), len(evs))
	}
	varies := regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`)
	for i, e := range evs {
		var a, b map[string]any
		_ = json.Unmarshal(e.Event, &a)
		_ = json.Unmarshal([]byte(played[i]), &b)
		delete(a, "timestamp")
		delete(b, "timestamp")
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if x, y := varies.ReplaceAllString(string(ja), "X"), varies.ReplaceAllString(string(jb), "X"); x != y {
			t.Fatalf("event %d: recorded %s, played %s", i, x, y)
		}
	}
}
