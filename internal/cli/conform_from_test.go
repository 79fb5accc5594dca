package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eventsim/eventsim/conformance"
	"github.com/eventsim/eventsim/internal/lxdcapture"
)

// TestConformFrom: conform lxd|linode --from checks a file with the same
// reports and exit codes as a live run: 0 for the real LXD 5.0.2 capture
// (warnings only), 1 with the failing checks named for broken inputs, 2 for
// a file that cannot be read or is a recording of the other API.
func TestConformFrom(t *testing.T) {
	dir := t.TempDir()
	capture := filepath.Join(dir, "capture.ndjson")
	if err := os.WriteFile(capture, lxdcapture.NDJSON, 0o644); err != nil {
		t.Fatal(err)
	}
	lxdBroken := filepath.Join("..", "..", "conformance", "testdata", "lxd-broken.ndjson")
	linodeBroken := filepath.Join("..", "..", "conformance", "testdata", "linode-broken.recording")
	tests := []struct {
		name     string
		args     []string
		stdin    string
		code     ExitCode
		failing  []string // check ids that must fail (json report)
		inStderr string
	}{
		{"real capture passes", []string{"conform", "lxd", "--from", capture}, "", ExitOK, nil, ""},
		{"real capture on stdin", []string{"conform", "lxd", "--from", "-"}, string(lxdcapture.NDJSON), ExitOK, nil, ""},
		{"broken lxd", []string{"conform", "lxd", "--from", lxdBroken}, "", ExitFailed,
			[]string{conformance.IDEventsSchema, conformance.IDEventsTimestamp, conformance.IDLifecycleSource}, ""},
		{"strict turns the unknown action into a failure", []string{"conform", "lxd", "--from", lxdBroken, "--strict"}, "", ExitFailed,
			[]string{conformance.IDLifecycleAction}, ""},
		{"broken linode", []string{"conform", "linode", "--from", linodeBroken}, "", ExitFailed,
			[]string{conformance.IDLinodeEntity, conformance.IDLinodeProgression, conformance.IDLinodeEventSchema}, ""},
		{"missing file", []string{"conform", "lxd", "--from", filepath.Join(dir, "none")}, "", ExitUsage, nil, "invalid from: open "},
		{"a linode recording given to lxd", []string{"conform", "lxd", "--from", linodeBroken}, "", ExitUsage, nil, "is a recording of linode events; use conform linode --from"},
		{"--from with --target", []string{"conform", "lxd", "--from", capture, "--target", "unix:///x"}, "", ExitUsage, nil, "--target is for a live run; --from checks a file"},
		{"--from with --token", []string{"conform", "linode", "--from", capture, "--token", "t"}, "", ExitUsage, nil, "--token is for a live run"},
	}
	// The HTML report of a file: one page, the same exit code.
	out, _, code := run(t, "", "conform", "lxd", "--from", lxdBroken, "--report", "html")
	if code != ExitFailed || !strings.HasPrefix(out, "<!DOCTYPE html>") || !strings.Contains(out, `data-check="lxd.lifecycle.source" data-status="fail"`) {
		t.Errorf("--report html: exit %d, page starts %.60q", code, out)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.failing != nil {
				args = append(args, "--report", "json")
			}
			out, errOut, code := run(t, tc.stdin, args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, tc.code, errOut)
			}
			if !strings.Contains(errOut, tc.inStderr) {
				t.Errorf("stderr %q, want %q", errOut, tc.inStderr)
			}
			if tc.failing != nil {
				var rep conformance.Report
				if err := json.Unmarshal([]byte(out), &rep); err != nil {
					t.Fatal(err)
				}
				for _, id := range tc.failing {
					if r := rep.Result(id); r == nil || r.Status != conformance.Fail {
						t.Errorf("%s: %+v, want fail", id, r)
					}
				}
			}
			if tc.code == ExitOK && !strings.Contains(out, "result  PASSED") {
				t.Errorf("stdout lacks the verdict:\n%s", out)
			}
		})
	}
}
