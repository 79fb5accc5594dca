package conformance

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"strings"
	"testing"
)

func sampleReport() *Report {
	return &Report{Suite: "lxd", Target: "unix:///x", Results: []Result{
		{ID: "a.pass", Name: "passes", Status: Pass},
		{ID: "b.fail", Name: "fails", Status: Fail, Findings: []Finding{{Status: Fail, Problem: "broken <thing>", Subject: `{"a":1}`}}},
		{ID: "c.skip", Name: "skips", Status: Skip, Note: "why"},
		{ID: "d.warn", Name: "warns", Status: Warn, Findings: []Finding{{Status: Warn, Problem: "quirk"}}},
	}}
}

func TestWriteReportFormats(t *testing.T) {
	rep := sampleReport()
	var b strings.Builder
	if err := WriteReport(&b, FormatText, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"FAIL b.fail", "broken <thing>", "STATUS", "result  FAILED"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, b.String())
		}
	}
	if strings.Contains(b.String(), "\x1b[") {
		t.Error("colour written to a non-terminal")
	}
	b.Reset()
	if err := WriteReport(&b, FormatJSON, rep); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal([]byte(b.String()), &back); err != nil || len(back.Results) != 4 {
		t.Fatalf("json round trip: %v", err)
	}
	b.Reset()
	if err := WriteReport(&b, FormatJUnit, rep); err != nil {
		t.Fatal(err)
	}
	var ju junitSuites
	if err := xml.Unmarshal([]byte(b.String()), &ju); err != nil {
		t.Fatal(err)
	}
	s := ju.Suites[0]
	if s.Tests != 4 || s.Failures != 1 || s.Skipped != 1 || s.Cases[1].Failure == nil || s.Cases[2].Skipped == nil {
		t.Errorf("junit: %+v", s)
	}
	var ce *ConfigError
	if err := WriteReport(&b, "xml", rep); !errors.As(err, &ce) || ce.Field != "report" {
		t.Errorf("unknown format: %v, want a *ConfigError on the report", err)
	}
}

func TestReportPassed(t *testing.T) {
	warnOnly := &Report{Results: []Result{{ID: "x", Status: Warn}, {ID: "y", Status: Pass}}}
	tests := []struct {
		name string
		rep  *Report
		want bool
	}{
		{"all pass", &Report{Results: []Result{{Status: Pass}, {Status: Skip}}}, true},
		{"warnings allowed", warnOnly, true},
		{"warnings fail when strict", &Report{Strict: true, Results: warnOnly.Results}, false},
		{"a failure", sampleReport(), false},
	}
	for _, tc := range tests {
		if got := tc.rep.Passed(); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// FuzzEventChecker: whatever bytes arrive, the checker neither panics nor
// passes something that is not a JSON object.
func FuzzEventChecker(f *testing.F) {
	for _, e := range loadCapture(f)[:40] {
		f.Add(e)
	}
	f.Add([]byte(`{"type":"operation","metadata":{"status_code":"x"}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := NewEventChecker(EventOptions{})
		if err != nil {
			t.Fatal(err)
		}
		c.Observe(Observation{Raw: raw})
		c.Observe(Observation{Raw: raw})
		res := c.Results()
		var v map[string]any
		if json.Unmarshal(raw, &v) != nil || v == nil {
			for _, r := range res {
				if r.ID == IDEventsSchema && r.Status != Fail {
					t.Errorf("non-object %q passed the schema check", raw)
				}
			}
		}
	})
}
