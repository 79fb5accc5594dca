package conformance

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// Report formats WriteReport knows.
const (
	FormatText  = "text"
	FormatJSON  = "json"
	FormatJUnit = "junit"
)

// WriteReport renders a report as text (coloured when w is a terminal, a
// summary table at the end), JSON, JUnit XML (one testcase per check) or
// HTML (one self-contained page; see FormatHTML).
func WriteReport(w io.Writer, format string, r *Report) error {
	switch format {
	case FormatText, "":
		return writeText(w, r, isTerminal(w))
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case FormatJUnit:
		return writeJUnit(w, r)
	case FormatHTML:
		return writeHTML(w, r)
	}
	return &ConfigError{Field: "report", Msg: fmt.Sprintf("format %q, must be one of text, json, junit, html", format)}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0 && os.Getenv("NO_COLOR") == ""
}

var colours = map[Status]string{Pass: "\x1b[32m", Fail: "\x1b[31m", Warn: "\x1b[33m", Skip: "\x1b[36m"}

func writeText(w io.Writer, r *Report, colour bool) error {
	paint := func(s Status) string {
		label := strings.ToUpper(string(s))
		if colour {
			return colours[s] + label + "\x1b[0m"
		}
		return label
	}
	var b strings.Builder
	fmt.Fprintf(&b, "eventsim conform %s", r.Suite)
	if r.Target != "" {
		fmt.Fprintf(&b, " %s", r.Target)
	}
	fmt.Fprintf(&b, ": %d events, %s\n\n", r.Events, r.Elapsed.Round(time.Millisecond))
	for _, res := range r.Results {
		fmt.Fprintf(&b, "%-4s %s  %s\n", paint(res.Status), res.ID, res.Name)
		if res.Note != "" {
			fmt.Fprintf(&b, "     note: %s\n", res.Note)
		}
		for _, f := range res.Findings {
			fmt.Fprintf(&b, "     %s: %s\n", f.Status, f.Problem)
			if f.Subject != "" {
				fmt.Fprintf(&b, "       %s\n", oneLine(f.Subject, 300))
			}
		}
		if res.Dropped > 0 {
			fmt.Fprintf(&b, "     (%d more findings not shown)\n", res.Dropped)
		}
	}
	if cov := r.Coverage; cov != nil {
		fmt.Fprintf(&b, "\ncoverage (%s): types", cov.Flavor)
		for _, t := range sortedKeys(cov.Types) {
			fmt.Fprintf(&b, " %s=%d", t, cov.Types[t])
		}
		fmt.Fprintf(&b, "; %d of %d catalogue actions seen", cov.CatalogueSize-len(cov.Missing), cov.CatalogueSize)
		if len(cov.Unknown) > 0 {
			fmt.Fprintf(&b, "; unknown actions: %s", strings.Join(cov.Unknown, ", "))
		}
		b.WriteString("\n")
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	// Summary table.
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nSTATUS\tCHECKS")
	c := r.Counts()
	for _, s := range []Status{Pass, Warn, Fail, Skip} {
		fmt.Fprintf(tw, "%s\t%d\n", paint(s), c[s])
	}
	verdict := "PASSED"
	if !r.Passed() {
		verdict = "FAILED"
		if r.Strict && c[Fail] == 0 {
			verdict = "FAILED (warnings count as failures with --strict)"
		}
	}
	fmt.Fprintf(tw, "result\t%s\n", verdict)
	return tw.Flush()
}

func oneLine(s string, n int) string {
	s = strings.ReplaceAll(strings.TrimSpace(s), "\n", " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Body    string `xml:",chardata"`
}

func writeJUnit(w io.Writer, r *Report) error {
	s := junitSuite{Name: "eventsim conform " + r.Suite, Time: secs(r.Elapsed)}
	for _, res := range r.Results {
		tc := junitCase{Name: res.ID, Classname: "conform." + r.Suite, Time: secs(res.Duration)}
		var body strings.Builder
		for _, f := range res.Findings {
			fmt.Fprintf(&body, "%s: %s\n", f.Status, f.Problem)
			if f.Subject != "" {
				fmt.Fprintf(&body, "  %s\n", f.Subject)
			}
		}
		failed := res.Status == Fail || (r.Strict && res.Status == Warn)
		switch {
		case failed:
			msg := res.Name
			if len(res.Findings) > 0 {
				msg = res.Findings[0].Problem
			}
			tc.Failure = &junitMessage{Message: msg, Type: string(res.Status), Body: body.String()}
			s.Failures++
		case res.Status == Skip:
			tc.Skipped = &junitMessage{Message: res.Note}
			s.Skipped++
		default:
			out := res.Name
			if res.Note != "" {
				out += "\nnote: " + res.Note
			}
			if body.Len() > 0 {
				out += "\n" + body.String()
			}
			tc.SystemOut = out
		}
		s.Cases = append(s.Cases, tc)
	}
	s.Tests = len(s.Cases)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(junitSuites{Suites: []junitSuite{s}}); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func secs(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
