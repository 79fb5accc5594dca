// Package conformance judges whether a server speaks LXD's /1.0/events API or
// Linode's /v4/account/events API the way real clients expect.
//
// It is a set of small named checks, each with a stable id (lxd.events.schema,
// linode.page.envelope, ...). Event-level checks work over a stream of
// observations, so the events of a file and the events of a live connection go
// through the same code. RunLXD and RunLinode drive a live target; CheckLXDEvents
// checks events read from a file. Every run ends in a Report that WriteReport
// renders as text, JSON, JUnit XML or HTML; Report.Passed says whether it
// passed. A run that could not take place returns an error instead: a
// *ConfigError for bad options, ErrTarget for an unusable target.
package conformance

import (
	"errors"
	"fmt"
	"sort"
	"time"
)

// Status is how a check ended.
type Status string

// Check outcomes, from best to worst. A skip says why the check could not run.
const (
	Pass Status = "pass"
	Skip Status = "skip"
	Warn Status = "warn"
	Fail Status = "fail"
)

func (s Status) rank() int {
	switch s {
	case Pass:
		return 0
	case Skip:
		return 1
	case Warn:
		return 2
	case Fail:
		return 3
	}
	return 3
}

// maxFindings bounds the findings kept per check; the count of the others is
// still reported.
const maxFindings = 20

// Finding is one precise problem a check found.
type Finding struct {
	// Status is Fail or Warn.
	Status Status `json:"status"`
	// Problem says what is wrong and what was expected.
	Problem string `json:"problem"`
	// Subject is the event, request or response at fault, verbatim (cut to
	// 2 KiB), or "" when the problem is an absence.
	Subject string `json:"subject,omitempty"`
}

// Result is the outcome of one check.
type Result struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status Status `json:"status"`
	// Note says why a check skipped, passed with a known quirk, or what it saw.
	Note     string        `json:"note,omitempty"`
	Findings []Finding     `json:"findings,omitempty"`
	Dropped  int           `json:"dropped_findings,omitempty"`
	Checked  int           `json:"checked"`
	Duration time.Duration `json:"duration_ns"`
}

// Report is the outcome of a whole run.
type Report struct {
	// Suite is "lxd", "lxd-offline" or "linode".
	Suite   string    `json:"suite"`
	Target  string    `json:"target,omitempty"`
	Started time.Time `json:"started"`
	// Elapsed is how long the run took.
	Elapsed time.Duration `json:"elapsed_ns"`
	// Strict says warnings count as failures.
	Strict   bool      `json:"strict"`
	Results  []Result  `json:"results"`
	Coverage *Coverage `json:"coverage,omitempty"`
	// Timeline holds the operations and lifecycle events the HTML report
	// draws (LXD only).
	Timeline *Timeline `json:"timeline,omitempty"`
	// Events is how many events (LXD) or Event objects (Linode) were checked.
	Events int `json:"events"`
}

// Coverage is informational: which event types and lifecycle actions were
// seen, against the flavour's catalogue.
type Coverage struct {
	Flavor        string         `json:"flavor"`
	Types         map[string]int `json:"types"`
	Actions       map[string]int `json:"actions"`
	CatalogueSize int            `json:"catalogue_size"`
	// Missing are catalogue actions never seen, sorted.
	Missing []string `json:"missing,omitempty"`
	// Unknown are actions seen that the catalogue does not know, sorted.
	Unknown []string `json:"unknown,omitempty"`
}

// Counts returns how many results ended in each status.
func (r *Report) Counts() map[Status]int {
	out := map[Status]int{}
	for _, res := range r.Results {
		out[res.Status]++
	}
	return out
}

// Passed reports whether the run passed: no failure, and no warning when strict.
func (r *Report) Passed() bool {
	c := r.Counts()
	if c[Fail] > 0 {
		return false
	}
	return !(r.Strict && c[Warn] > 0)
}

// Result returns the result of the check with the given id, or nil.
func (r *Report) Result(id string) *Result {
	for i := range r.Results {
		if r.Results[i].ID == id {
			return &r.Results[i]
		}
	}
	return nil
}

// ErrTarget reports a target that is not reachable or not usable at all: the
// run could not start.
var ErrTarget = errors.New("target unusable")

// ConfigError reports bad options: a malformed target, a missing token, an
// unknown report format.
type ConfigError struct {
	Field string
	Msg   string
}

func (e *ConfigError) Error() string { return fmt.Sprintf("invalid %s: %s", e.Field, e.Msg) }

// checkInfo names a check and says what it asserts; docs/conformance.md
// lists the same.
type checkInfo struct {
	ID   string
	Name string
}

// recorder gathers the outcome of one check as it runs.
type recorder struct {
	info     checkInfo
	status   Status
	note     string
	findings []Finding
	dropped  int
	checked  int
	skipped  bool
	start    time.Time
}

func newRecorder(id, name string) *recorder {
	return &recorder{info: checkInfo{id, name}, status: Pass, start: time.Now()}
}

func (c *recorder) add(st Status, subject []byte, format string, args ...any) {
	if st.rank() > c.status.rank() {
		c.status = st
	}
	if len(c.findings) >= maxFindings {
		c.dropped++
		return
	}
	s := string(subject)
	if len(s) > 2048 {
		s = s[:2048] + "…"
	}
	c.findings = append(c.findings, Finding{Status: st, Problem: fmt.Sprintf(format, args...), Subject: s})
}

func (c *recorder) fail(subject []byte, format string, args ...any) {
	c.add(Fail, subject, format, args...)
}

func (c *recorder) warn(subject []byte, format string, args ...any) {
	c.add(Warn, subject, format, args...)
}

// quirk records a known quirk of a real daemon: a warning, or a failure when strict.
func (c *recorder) quirk(strict bool, subject []byte, format string, args ...any) {
	if strict {
		c.fail(subject, format+" (a known quirk of a real daemon; failed because --strict)", args...)
		return
	}
	c.warn(subject, format+" (a known quirk of a real daemon)", args...)
}

func (c *recorder) skip(format string, args ...any) {
	c.skipped = true
	c.note = fmt.Sprintf(format, args...)
}

func (c *recorder) notef(format string, args ...any) {
	if c.note != "" {
		c.note += "; "
	}
	c.note += fmt.Sprintf(format, args...)
}

func (c *recorder) result() Result {
	st := c.status
	if c.skipped && st == Pass {
		st = Skip
	}
	return Result{
		ID: c.info.ID, Name: c.info.Name, Status: st, Note: c.note,
		Findings: c.findings, Dropped: c.dropped, Checked: c.checked,
		Duration: time.Since(c.start),
	}
}

// sortResults orders results by id so reports are stable.
func sortResults(rs []Result) {
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].ID < rs[j].ID })
}
