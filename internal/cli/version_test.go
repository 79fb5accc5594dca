package cli

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionTextSaysWhatTheBinaryIs(t *testing.T) {
	stamped := func(modified string) *debug.BuildInfo {
		return &debug.BuildInfo{
			GoVersion: "go1.26.8",
			Main:      debug.Module{Path: "github.com/eventsim/eventsim", Version: "v0.0.0-20261202114113-e26e879cda41"},
			Settings: []debug.BuildSetting{
				{Key: "vcs", Value: "git"},
				{Key: "vcs.revision", Value: "e26e879cda410fbaaed0660f8d60a89d7bc5b7fc"},
				{Key: "vcs.time", Value: "2026-12-02T11:41:13Z"},
				{Key: "vcs.modified", Value: modified},
			},
		}
	}
	for _, tt := range []struct {
		name    string
		ld      string
		bi      *debug.BuildInfo
		want    []string
		notWant []string
	}{
		{"go install from a clone", "dev", stamped("false"),
			[]string{"eventsim v0.0.0-20261202114113-e26e879cda41 (go1.26.8, ", "revision e26e879cda410fbaaed0660f8d60a89d7bc5b7fc, committed 2026-12-02T11:41:13Z"},
			[]string{"dev", "modified"}},
		{"uncommitted changes", "dev", stamped("true"),
			[]string{"revision e26e879cda410fbaaed0660f8d60a89d7bc5b7fc (modified)"}, nil},
		{"ldflags version wins", "v1.2.3", stamped("false"),
			[]string{"eventsim v1.2.3 (go1.26.8, ", "revision e26e879cda41"}, []string{"v0.0.0-"}},
		{"go run: no VCS stamp", "dev", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			[]string{"eventsim (devel) (go1.26.8, ", "revision unknown (built outside a git checkout, or with -buildvcs=false)"}, nil},
		{"no build info", "dev", nil, []string{"eventsim dev (go", "revision unknown"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := versionText(tt.ld, tt.bi)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("version text %q lacks %q", got, w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(got, w) {
					t.Errorf("version text %q has %q", got, w)
				}
			}
		})
	}
}
