package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/eventsim/eventsim/conformance"
	"github.com/eventsim/eventsim/scenarios"
	"github.com/eventsim/eventsim/simulator"
)

func TestRecordUsageErrors(t *testing.T) {
	t.Setenv(TokenEnv, "")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no kind", []string{"record"}, "record needs a kind"},
		{"unknown kind", []string{"record", "openstack"}, `unknown kind "openstack"`},
		{"no target", []string{"record", "lxd", "-o", "x"}, "missing --target"},
		{"no output", []string{"record", "lxd", "--target", "unix:///x"}, "missing --output FILE"},
		{"bad type", []string{"record", "lxd", "--target", "unix:///x", "-o", "x", "--type", "lifecyle"}, `invalid --type "lifecyle"`},
		{"project and all", []string{"record", "lxd", "--target", "unix:///x", "-o", "x", "--project", "p", "--all-projects"}, "do not go together"},
		{"negative count", []string{"record", "lxd", "--target", "unix:///x", "-o", "x", "--count", "-1"}, "invalid --count -1"},
		{"no-scrub and scrub-labels", []string{"record", "lxd", "--target", "unix:///x", "-o", "x", "--no-scrub", "--scrub-labels"}, "do not go together"},
		{"linode without token", []string{"record", "linode", "--target", "http://h/v4", "-o", "x"}, "missing token"},
		{"linode tiny interval", []string{"record", "linode", "--target", "http://h/v4", "--token", "t", "-o", "x", "--interval", "1ms"}, "invalid --interval 1ms"},
		{"unreachable", []string{"record", "lxd", "--target", "unix:///nonexistent/s", "-o", filepath.Join(t.TempDir(), "r")}, "target unusable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runMain(t, tc.args...)
			if code != ExitUsage || out != "" || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2 and %q", code, out, errOut, tc.want)
			}
		})
	}
}

// TestRecordTheFake records eventsim's own LXD and Linode fakes through the
// command, then checks each recording with conform --from: a valid
// recording whose checks pass, Linode events kept in each state they went
// through.
func TestRecordTheFake(t *testing.T) {
	lxdTarget, _, _ := startSim(t, lxdLive, nil)
	_, linodeTarget, token := startSim(t, simulator.Options{Scenario: "linode-provisioning", Speed: 30}, nil)
	dir := t.TempDir()
	lxdFile, linodeFile := filepath.Join(dir, "lxd.recording"), filepath.Join(dir, "linode.recording")

	code, _, errOut := runMain(t, "record", "lxd", "--target", lxdTarget, "--all-projects", "--count", "50", "-o", lxdFile)
	if code != ExitOK || !strings.Contains(errOut, "recorded 50 events in ") {
		t.Fatalf("record lxd: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = runMain(t, "record", "linode", "--target", linodeTarget, "--token", token, "--interval", "100ms", "--duration", "3s", "-o", linodeFile)
	if code != ExitOK || !strings.Contains(errOut, "recorded ") {
		t.Fatalf("record linode: exit %d, stderr %q", code, errOut)
	}
	b, err := os.ReadFile(linodeFile)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(token)) {
		t.Error("the token is in the recording")
	}
	// Labels are kept by default and scrubbed with --scrub-labels.
	labels := regexp.MustCompile(`"label":"([^"]+)"`).FindAllSubmatch(b, -1)
	if len(labels) == 0 {
		t.Fatal("the Linode recording holds no label")
	}
	scrubbed := filepath.Join(dir, "labels.recording")
	if code, _, errOut := runMain(t, "record", "linode", "--target", linodeTarget, "--token", token, "--duration", "500ms", "--scrub-labels", "-o", scrubbed); code != ExitOK {
		t.Fatalf("record linode --scrub-labels: exit %d, %s", code, errOut)
	}
	sb, err := os.ReadFile(scrubbed)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range labels {
		if bytes.Contains(sb, []byte(`"`+string(l[1])+`"`)) {
			t.Errorf("label %q survived --scrub-labels", l[1])
		}
	}
	for _, c := range []struct {
		kind, file string
		progressed bool
	}{{"lxd", lxdFile, false}, {"linode", linodeFile, true}} {
		f, err := os.Open(c.file)
		if err != nil {
			t.Fatal(err)
		}
		hdr, evs, err := scenarios.ReadRecording(f, c.file)
		f.Close()
		if err != nil || hdr == nil || hdr.Kind != c.kind || !hdr.Scrubbed || hdr.EventsimVersion != Version || len(evs) == 0 {
			t.Fatalf("%s recording: %v, header %+v, %d events", c.kind, err, hdr, len(evs))
		}
		code, out, errOut := runMain(t, "conform", c.kind, "--from", c.file, "--report", "json")
		var rep conformance.Report
		if err := json.Unmarshal([]byte(out), &rep); err != nil || code != ExitOK {
			t.Fatalf("conform %s --from: exit %d, %v, stderr %q\n%s", c.kind, code, err, errOut, out)
		}
		if c.progressed {
			if r := rep.Result(conformance.IDLinodeProgression); r.Status != conformance.Pass || r.Checked == 0 {
				t.Errorf("%s: %s %s, want events seen in several states", r.ID, r.Status, r.Note)
			}
		}
	}

	// Each recording is a scenario: generate plays its events in order,
	// the same bytes every time; a Linode event keeps each recorded state.
	for _, c := range []struct{ kind, file string }{{"lxd", lxdFile}, {"linode", linodeFile}} {
		f, err := os.Open(c.file)
		if err != nil {
			t.Fatal(err)
		}
		_, evs, err := scenarios.ReadRecording(f, c.file)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		out := mustRun(t, "", "generate", "--scenario", c.file)
		if again := mustRun(t, "", "generate", "--scenario", c.file); again != out {
			t.Errorf("%s: generate from a recording is not deterministic", c.kind)
		}
		got := lines(out)
		if len(got) != len(evs) {
			t.Fatalf("%s: generate wrote %d events, the recording holds %d", c.kind, len(got), len(evs))
		}
		for i, e := range evs {
			var w, g map[string]any
			_ = json.Unmarshal(e.Event, &w)
			_ = json.Unmarshal([]byte(got[i]), &g)
			for _, k := range []string{"type", "metadata", "project", "location", "id", "action", "status", "percent_complete", "entity"} {
				if k == "metadata" && w["type"] == "operation" {
					continue // its times move with the replay
				}
				if !reflect.DeepEqual(w[k], g[k]) {
					t.Errorf("%s event %d: %s is %v, recorded %v", c.kind, i, k, g[k], w[k])
				}
			}
		}
	}
}
