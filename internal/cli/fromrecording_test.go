package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
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
