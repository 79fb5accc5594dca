package conformance

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
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
		for _, f := range []struct{ format, ext string }{{FormatText, "txt"}, {FormatJSON, "json"}, {FormatJUnit, "xml"}, {FormatHTML, "html.outline"}} {
			t.Run(in.name+"/"+f.format, func(t *testing.T) {
				var b bytes.Buffer
				if err := WriteReport(&b, f.format, rep); err != nil {
					t.Fatal(err)
				}
				got := b.Bytes()
				if f.format == FormatHTML {
					got = htmlOutline(t, got)
				}
				golden(t, "report-"+in.name+"."+f.ext, got)
			})
		}
	}
}

var (
	tagRE  = regexp.MustCompile(`<([a-z0-9]+)((?:\s+[a-z-]+(?:="[^"]*")?)*)\s*/?>`)
	attrRE = regexp.MustCompile(`\s([a-z-]+)(?:="([^"]*)")?`)
)

// htmlOutline is the HTML report's structure: each element that carries an
// id, a class or data, in document order, with those attributes (styles and
// titles left out, so a change of colour or wording is not a change of
// structure). It also fails on anything that would fetch: a src, a link, a
// script, a url( in the styles.
func htmlOutline(t *testing.T, page []byte) []byte {
	t.Helper()
	for _, bad := range []string{"<script", "<link", " src=", "url(", "@import"} {
		if bytes.Contains(page, []byte(bad)) {
			t.Errorf("the HTML report holds %q: it must fetch nothing", bad)
		}
	}
	var b bytes.Buffer
	for _, m := range tagRE.FindAllSubmatch(page, -1) {
		var keep []string
		for _, a := range attrRE.FindAllSubmatch(m[2], -1) {
			name := string(a[1])
			if name == "id" || name == "class" || name == "href" || strings.HasPrefix(name, "data-") || name == "open" {
				keep = append(keep, fmt.Sprintf("%s=%q", name, a[2]))
			}
		}
		if len(keep) > 0 {
			fmt.Fprintf(&b, "%s %s\n", m[1], strings.Join(keep, " "))
		}
	}
	return b.Bytes()
}
