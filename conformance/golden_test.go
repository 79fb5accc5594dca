package conformance

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./conformance -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./conformance -run %s -update rewrites it after a deliberate change):\n--- got\n%s\n--- want\n%s", path, t.Name(), got, want)
	}
}

// steady fixes what changes from run to run: the start and every duration.
func steady(rep *Report) *Report {
	rep.Started = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	rep.Elapsed = 1500 * time.Millisecond
	for i := range rep.Results {
		rep.Results[i].Duration = 0
	}
	return rep
}

// TestReportGolden renders the offline reports of two broken inputs in every
// format and compares them with their golden files: an LXD capture with a
// bad source, an unknown action, a bad timestamp and a misspelt type, and a
// Linode recording with an entity id of the wrong type, an event that moved
// back and a created with a zone.
func TestReportGolden(t *testing.T) {
	inputs := []struct {
		name  string
		file  string
		check func(*testing.T, string) *Report
	}{
		{"lxd", "lxd-broken.ndjson", func(t *testing.T, file string) *Report {
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rep, err := CheckLXDFile(t.Context(), f, OfflineOptions{Name: "lxd-broken.ndjson"})
			if err != nil {
				t.Fatal(err)
			}
			return rep
		}},
		{"linode", "linode-broken.recording", func(t *testing.T, file string) *Report {
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rep, err := CheckLinodeFile(t.Context(), f, OfflineOptions{Name: "linode-broken.recording"})
			if err != nil {
				t.Fatal(err)
			}
			return rep
		}},
	}
	for _, in := range inputs {
		rep := steady(in.check(t, filepath.Join("testdata", in.file)))
		if rep.Passed() {
			t.Errorf("%s: the report of a broken input passed", in.name)
		}
		for _, f := range []struct{ format, ext string }{{FormatText, "txt"}, {FormatJSON, "json"}, {FormatJUnit, "xml"}} {
			t.Run(in.name+"/"+f.format, func(t *testing.T) {
				var b bytes.Buffer
				if err := WriteReport(&b, f.format, rep); err != nil {
					t.Fatal(err)
				}
				golden(t, "report-"+in.name+"."+f.ext, b.Bytes())
			})
		}
	}
}
