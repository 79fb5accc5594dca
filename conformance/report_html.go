package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"
	"time"
)

// FormatHTML is the HTML report: one self-contained page (no script, no
// fetch): the verdict and summary, each check with its findings and the
// events that show them, the catalogue coverage as a grid, and a timeline of
// operations and lifecycle events with the failures marked.
const FormatHTML = "html"

type htmlFinding struct {
	Finding
	N       int
	Pretty  string
	OpID    string
	Project string
	At      string
}

type htmlCheck struct {
	Result
	Findings []htmlFinding
	Open     bool
}

type htmlCell struct {
	Action string
	Count  int
	Class  string // seen, missing, unknown
}

type htmlSpan struct {
	Class, Title string
	Left, Width  float64
}

type htmlMark struct {
	Class, Title, Href string
	Left               float64
}

type htmlRow struct {
	ID, Label, Sub, Class string
	Spans                 []htmlSpan
	Marks                 []htmlMark
}

type htmlPage struct {
	R        *Report
	Verdict  string
	Passed   bool
	Counts   map[Status]int
	Checks   []htmlCheck
	Cells    []htmlCell
	Seen     int
	Rows     []htmlRow
	Legend   []string
	TLStart  string
	TLEnd    string
	TLNote   string
	Elapsed  string
	Started  string
	Statuses []Status
}

// opStatusClass is the colour class of an operation status.
func opStatusClass(status string) string {
	switch strings.ToLower(status) {
	case "pending":
		return "st-pending"
	case "running":
		return "st-running"
	case "success":
		return "st-success"
	case "failure":
		return "st-failure"
	case "cancelling", "cancelled":
		return "st-cancelled"
	}
	return "st-other"
}

// subjectFacts reads what a finding's subject (an event, verbatim) says of
// where it belongs: its operation, project and time.
func subjectFacts(subject string) (op, project string, at time.Time) {
	var ev struct {
		Type      string `json:"type"`
		Timestamp string `json:"timestamp"`
		Project   string `json:"project"`
		Metadata  struct {
			ID string `json:"id"`
		} `json:"metadata"`
	}
	if json.Unmarshal([]byte(subject), &ev) != nil {
		return "", "", time.Time{}
	}
	at, _ = time.Parse(time.RFC3339Nano, ev.Timestamp)
	if ev.Type == "operation" {
		op = ev.Metadata.ID
	}
	return op, ev.Project, at
}

func prettyJSON(s string) string {
	var b bytes.Buffer
	if json.Indent(&b, []byte(s), "", "  ") == nil {
		return b.String()
	}
	return s
}

func buildHTMLPage(r *Report) *htmlPage {
	p := &htmlPage{R: r, Passed: r.Passed(), Counts: r.Counts(), Statuses: []Status{Fail, Warn, Pass, Skip},
		Elapsed: r.Elapsed.Round(time.Millisecond).String(), Started: r.Started.UTC().Format(time.RFC3339)}
	p.Verdict = "PASSED"
	if !p.Passed {
		p.Verdict = "FAILED"
	}
	// Checks, worst first, then by id.
	res := append([]Result(nil), r.Results...)
	sort.SliceStable(res, func(i, j int) bool {
		if a, b := res[i].Status.rank(), res[j].Status.rank(); a != b {
			return a > b
		}
		return res[i].ID < res[j].ID
	})
	n := 0
	type failAt struct {
		check, problem, href string
		op, project          string
		at                   time.Time
		warn                 bool
	}
	var fails []failAt
	for _, x := range res {
		c := htmlCheck{Result: x, Open: x.Status == Fail || x.Status == Warn}
		for _, f := range x.Findings {
			n++
			hf := htmlFinding{Finding: f, N: n, Pretty: prettyJSON(f.Subject)}
			op, project, at := subjectFacts(f.Subject)
			hf.OpID, hf.Project = op, project
			if !at.IsZero() {
				hf.At = at.UTC().Format(time.RFC3339Nano)
				fails = append(fails, failAt{x.ID, f.Problem, fmt.Sprintf("#f-%d", n), op, project, at, f.Status == Warn})
			}
			c.Findings = append(c.Findings, hf)
		}
		p.Checks = append(p.Checks, c)
	}
	// Coverage grid.
	if cov := r.Coverage; cov != nil {
		missing := map[string]bool{}
		for _, a := range cov.Missing {
			missing[a] = true
			p.Cells = append(p.Cells, htmlCell{Action: a, Class: "missing"})
		}
		unknown := map[string]bool{}
		for _, a := range cov.Unknown {
			unknown[a] = true
		}
		for a, n := range cov.Actions {
			cls := "seen"
			if unknown[a] {
				cls = "unknown"
			} else {
				p.Seen++
			}
			p.Cells = append(p.Cells, htmlCell{Action: a, Count: n, Class: cls})
		}
		sort.Slice(p.Cells, func(i, j int) bool { return p.Cells[i].Action < p.Cells[j].Action })
	}
	// Timeline: a row per project for its lifecycle events, a row per
	// operation, failures marked where they happened.
	if tl := r.Timeline; tl != nil {
		span := tl.End.Sub(tl.Start)
		if span <= 0 {
			span = time.Millisecond
		}
		pos := func(t time.Time) float64 {
			x := float64(t.Sub(tl.Start)) / float64(span) * 100
			return min(max(x, 0), 100)
		}
		p.TLStart, p.TLEnd = tl.Start.UTC().Format(time.RFC3339Nano), tl.End.UTC().Format(time.RFC3339Nano)
		if tl.Dropped > 0 {
			p.TLNote = fmt.Sprintf("%d more operations and lifecycle events are not drawn", tl.Dropped)
		}
		projRow := map[string]int{}
		var projects []string
		for _, m := range tl.Marks {
			if _, ok := projRow[m.Project]; !ok {
				projRow[m.Project] = -1
				projects = append(projects, m.Project)
			}
		}
		for _, f := range fails {
			if f.op == "" && f.project != "" {
				if _, ok := projRow[f.project]; !ok {
					projRow[f.project] = -1
					projects = append(projects, f.project)
				}
			}
		}
		sort.Strings(projects)
		for _, pr := range projects {
			projRow[pr] = len(p.Rows)
			p.Rows = append(p.Rows, htmlRow{ID: "project-" + pr, Label: "project " + pr, Sub: "lifecycle events", Class: "project"})
		}
		for _, m := range tl.Marks {
			row := &p.Rows[projRow[m.Project]]
			row.Marks = append(row.Marks, htmlMark{Class: "lc", Left: pos(m.At), Title: m.Action + " at " + m.At.UTC().Format(time.RFC3339Nano)})
		}
		opRow := map[string]int{}
		for _, op := range tl.Operations {
			opRow[op.ID] = len(p.Rows)
			row := htmlRow{ID: "op-" + op.ID, Label: op.Description, Sub: shortID(op.ID), Class: "op"}
			if op.Project != "" {
				row.Sub += " · " + op.Project
			}
			for i, st := range op.States {
				end := tl.End
				if i+1 < len(op.States) {
					end = op.States[i+1].At
				} else if st.Code >= 200 {
					end = st.At
				}
				row.Spans = append(row.Spans, htmlSpan{Class: opStatusClass(st.Status), Left: pos(st.At), Width: max(pos(end)-pos(st.At), 0),
					Title: fmt.Sprintf("%s (%d) from %s", st.Status, st.Code, st.At.UTC().Format(time.RFC3339Nano))})
			}
			p.Rows = append(p.Rows, row)
		}
		otherRow := -1
		for _, f := range fails {
			i, ok := opRow[f.op]
			if !ok {
				i, ok = projRow[f.project]
			}
			if !ok {
				if otherRow < 0 {
					otherRow = len(p.Rows)
					p.Rows = append(p.Rows, htmlRow{ID: "other", Label: "other events", Sub: "logging and project-less", Class: "other"})
				}
				i = otherRow
			}
			cls := "fail"
			if f.warn {
				cls = "warn"
			}
			p.Rows[i].Marks = append(p.Rows[i].Marks, htmlMark{Class: cls, Left: pos(f.at), Href: f.href, Title: f.check + ": " + f.problem})
		}
	}
	return p
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

var htmlFuncs = template.FuncMap{
	"lower": func(s Status) string { return string(s) },
	"upper": func(s Status) string { return strings.ToUpper(string(s)) },
	"pct":   func(f float64) template.CSS { return template.CSS(fmt.Sprintf("%.3f%%", f)) },
}

var htmlTemplate = template.Must(template.New("report").Funcs(htmlFuncs).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>eventsim conform {{.R.Suite}}: {{.Verdict}}</title>
<style>
:root{--pass:#1a7f37;--fail:#cf222e;--warn:#9a6700;--skip:#0969da;--muted:#57606a;--line:#d0d7de;--bg:#f6f8fa}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1f2328}
main{max-width:1200px;margin:0 auto;padding:0 24px 48px}
header.verdict{padding:20px 24px;color:#fff}
header.verdict.pass{background:var(--pass)} header.verdict.fail{background:var(--fail)}
header h1{margin:0;font-size:28px} header p{margin:4px 0 0;opacity:.95}
.summary{display:flex;gap:12px;margin:16px 0 8px}
.summary div{border:1px solid var(--line);border-radius:6px;padding:8px 14px;min-width:90px;background:#fff}
.summary b{display:block;font-size:22px}
h2{border-bottom:1px solid var(--line);padding-bottom:4px;margin-top:32px}
.badge{display:inline-block;min-width:46px;text-align:center;border-radius:4px;color:#fff;font-size:12px;font-weight:600;padding:1px 6px;margin-right:6px}
.badge.pass{background:var(--pass)}.badge.fail{background:var(--fail)}.badge.warn{background:var(--warn)}.badge.skip{background:var(--skip)}
details.check{border:1px solid var(--line);border-radius:6px;margin:6px 0;background:#fff}
details.check.fail{border-left:4px solid var(--fail)} details.check.warn{border-left:4px solid var(--warn)}
details.check>summary{cursor:pointer;padding:8px 10px}
details.check .body{padding:0 12px 10px}
.note{color:var(--muted)} .count{color:var(--muted);float:right}
.finding{border-top:1px solid var(--line);padding:8px 0}
.finding p{margin:0 0 4px} .finding.fail p{color:var(--fail)} .finding.warn p{color:var(--warn)}
.finding pre{background:var(--bg);padding:8px;border-radius:4px;overflow:auto;max-height:260px;margin:4px 0;font-size:12px}
.finding a{font-size:12px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(210px,1fr));gap:4px}
.cell{font:12px ui-monospace,monospace;padding:3px 6px;border-radius:3px;border:1px solid var(--line);overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.cell.seen{background:#dafbe1;border-color:#aceebb}.cell.missing{background:#fff;color:var(--muted)}.cell.unknown{background:#fff8c5;border-color:#d4a72c}
.legend span{margin-right:14px}.sw{display:inline-block;width:12px;height:12px;border-radius:2px;vertical-align:-1px;margin-right:4px}
.timeline{border:1px solid var(--line);border-radius:6px;background:#fff}
.row{display:flex;border-top:1px solid #eaeef2;min-height:22px}
.row:first-child{border-top:0}
.row .label{width:280px;flex:none;padding:2px 8px;font-size:12px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;border-right:1px solid var(--line)}
.row .label small{color:var(--muted);margin-left:6px;font-family:ui-monospace,monospace}
.row.project .label{font-weight:600;background:var(--bg)}
.row:target{background:#fff8c5}
.lane{position:relative;flex:1;margin:0 8px}
.span{position:absolute;top:6px;height:10px;min-width:3px;border-radius:2px}
.mk{position:absolute;top:4px;width:10px;height:14px;margin-left:-5px}
.mk.lc{background:#8250df;border-radius:50%;width:9px;height:9px;top:6px}
.mk.fail{background:var(--fail);clip-path:polygon(50% 0,100% 100%,0 100%)}
.mk.warn{background:var(--warn);clip-path:polygon(50% 0,100% 100%,0 100%)}
.st-pending{background:#8c959f}.st-running{background:#0969da}.st-success{background:#1a7f37}.st-failure{background:#cf222e}.st-cancelled{background:#bf8700}.st-other{background:#6e7781}
.axis{display:flex;justify-content:space-between;font-size:11px;color:var(--muted);margin:4px 8px 0 296px}
code{font-family:ui-monospace,monospace}
</style>
</head>
<body>
<header class="verdict {{if .Passed}}pass{{else}}fail{{end}}" id="verdict">
<h1>{{.Verdict}}</h1>
<p>eventsim conform {{.R.Suite}}{{if .R.Target}} <code>{{.R.Target}}</code>{{end}}: {{.R.Events}} events checked in {{.Elapsed}}, started {{.Started}}{{if .R.Strict}}, strict (warnings fail){{end}}</p>
</header>
<main>
<section id="summary" class="summary">
{{range .Statuses}}<div class="{{lower .}}"><b>{{index $.Counts .}}</b><span class="badge {{lower .}}">{{upper .}}</span></div>{{end}}
</section>
<section id="checks">
<h2>Checks</h2>
{{range .Checks}}<details class="check {{lower .Status}}" id="check-{{.ID}}" data-check="{{.ID}}" data-status="{{.Status}}"{{if .Open}} open{{end}}>
<summary><span class="badge {{lower .Status}}">{{upper .Status}}</span><code>{{.ID}}</code> {{.Name}}<span class="count">{{.Checked}} checked</span></summary>
<div class="body">
{{if .Note}}<p class="note">{{.Note}}</p>{{end}}
{{range .Findings}}<div class="finding {{lower .Status}}" id="f-{{.N}}"{{if .OpID}} data-op="{{.OpID}}"{{end}}{{if .At}} data-at="{{.At}}"{{end}}>
<p>{{.Problem}}</p>
{{if .Pretty}}<pre>{{.Pretty}}</pre>{{end}}
{{if .OpID}}<a href="#op-{{.OpID}}">operation {{.OpID}} on the timeline</a>{{else if .At}}<a href="#timeline">on the timeline at {{.At}}</a>{{end}}
</div>
{{end}}{{if .Dropped}}<p class="note">{{.Dropped}} more findings not shown</p>{{end}}
</div>
</details>
{{end}}
</section>
{{with .R.Coverage}}<section id="coverage">
<h2>Catalogue coverage</h2>
<p>{{$.Seen}} of {{.CatalogueSize}} {{.Flavor}} catalogue actions seen{{if .Unknown}}; {{len .Unknown}} unknown{{end}}. Types:{{range $k, $v := .Types}} <code>{{$k}}</code> {{$v}}{{end}}</p>
<p class="legend"><span><i class="sw cell seen"></i>seen</span><span><i class="sw cell missing"></i>not seen</span><span><i class="sw cell unknown"></i>not in the catalogue</span></p>
<div class="grid">{{range $.Cells}}<div class="cell {{.Class}}" data-action="{{.Action}}" title="{{.Action}}{{if .Count}}: {{.Count}}{{end}}">{{.Action}}{{if .Count}} ×{{.Count}}{{end}}</div>{{end}}</div>
</section>{{end}}
{{if .Rows}}<section id="timeline">
<h2>Timeline</h2>
<p class="legend"><span><i class="sw st-pending"></i>Pending</span><span><i class="sw st-running"></i>Running</span><span><i class="sw st-success"></i>Success</span><span><i class="sw st-failure"></i>Failure</span><span><i class="sw st-cancelled"></i>Cancel</span><span><i class="sw" style="background:#8250df;border-radius:50%"></i>lifecycle event</span><span><i class="sw" style="background:var(--fail)"></i>failure</span></p>
{{if .TLNote}}<p class="note">{{.TLNote}}</p>{{end}}
<div class="timeline">
{{range .Rows}}<div class="row {{.Class}}" id="{{.ID}}">
<div class="label" title="{{.Label}} {{.Sub}}">{{.Label}}<small>{{.Sub}}</small></div>
<div class="lane">{{range .Spans}}<span class="span {{.Class}}" style="left:{{pct .Left}};width:{{pct .Width}}" title="{{.Title}}"></span>{{end}}{{range .Marks}}{{if .Href}}<a class="mk {{.Class}}" href="{{.Href}}" style="left:{{pct .Left}}" title="{{.Title}}"></a>{{else}}<span class="mk {{.Class}}" style="left:{{pct .Left}}" title="{{.Title}}"></span>{{end}}{{end}}</div>
</div>
{{end}}</div>
<div class="axis"><span>{{.TLStart}}</span><span>{{.TLEnd}}</span></div>
</section>{{end}}
</main>
</body>
</html>
`))

func writeHTML(w io.Writer, r *Report) error {
	return htmlTemplate.Execute(w, buildHTMLPage(r))
}
