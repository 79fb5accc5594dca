package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/schemas"
)

// run drives eventsim in-process with stdin, returning what it wrote and its
// exit code.
func run(t *testing.T, stdin string, args ...string) (stdout, stderr string, code ExitCode) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(args, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), code
}

// mustRun runs eventsim and fails the test unless it exits 0.
func mustRun(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, errOut, code := run(t, stdin, args...)
	if code != ExitOK {
		t.Fatalf("eventsim %s: exit %d, stderr:\n%s", strings.Join(args, " "), code, errOut)
	}
	return out
}

func lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// lxdEvent is the part of an LXD event the tests look at.
type lxdEvent struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Metadata  struct {
		Action string `json:"action"`
	} `json:"metadata"`
}

func decodeNDJSON(t *testing.T, s string) []lxdEvent {
	t.Helper()
	var out []lxdEvent
	for i, l := range lines(s) {
		var ev lxdEvent
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("line %d is not JSON: %v: %s", i+1, err, l)
		}
		out = append(out, ev)
	}
	return out
}

func TestUsageErrorsExit2WithAClearMessage(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"unknown flag", []string{"generate", "--bogus"}, "unknown flag: --bogus"},
		{"unknown flag names help", []string{"generate", "--bogus"}, "run 'eventsim generate --help' for usage"},
		{"unknown format", []string{"generate", "--format", "xml"}, `invalid format "xml", must be one of ndjson, json, yaml`},
		{"count with duration", []string{"generate", "--scenario", "lxd-steady", "--count", "5", "--duration", "1m"}, "--count and --duration cannot be used together"},
		{"negative count", []string{"generate", "--count", "-1"}, "invalid --count -1"},
		{"negative duration", []string{"generate", "--duration", "-1s"}, "invalid --duration -1s"},
		{"unknown scenario", []string{"generate", "--scenario", "nope"}, `"nope" is not a built-in scenario`},
		{"unknown scenario lists built-ins", []string{"generate", "--scenario", "nope"}, "lxd-steady"},
		{"unknown flavor", []string{"generate", "--flavor", "lxd-7"}, `invalid flavor "lxd-7"`},
		{"unknown api", []string{"generate", "--api", "aws"}, `invalid --api "aws"`},
		{"api the scenario lacks", []string{"generate", "--scenario", "lxd-steady", "--count", "1", "--api", "linode"}, "not linode"},
		{"endless without count", []string{"generate", "--scenario", "lxd-steady"}, "never ends; give --count N or --duration D"},
		{"generate takes no args", []string{"generate", "extra"}, "takes no arguments"},
		{"bad duration value", []string{"generate", "--duration", "soon"}, `invalid argument "soon"`},
		{"validate without kind", []string{"validate", "x.ndjson"}, `invalid --kind ""`},
		{"validate bad kind", []string{"validate", "--kind", "aws", "x"}, `invalid --kind "aws", must be lxd or linode`},
		{"validate without files", []string{"validate", "--kind", "lxd"}, "validate needs at least one file"},
		{"validate missing file", []string{"validate", "--kind", "lxd", "/nonexistent/x.ndjson"}, "open /nonexistent/x.ndjson"},
		{"scenarios show unknown", []string{"scenarios", "show", "nope"}, `unknown scenario "nope"`},
		{"scenarios show no name", []string{"scenarios", "show"}, "takes one scenario name"},
		{"scenarios validate missing file", []string{"scenarios", "validate", "/nonexistent/s.yaml"}, "scenario not found"},
		{"scenarios validate nothing", []string{"scenarios", "validate"}, "needs at least one file"},
		{"schemas show unknown", []string{"schemas", "show", "nope"}, `unknown schema "nope", must be one of`},
		{"version takes no args", []string{"version", "x"}, "takes no arguments"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, code := run(t, "", c.args...)
			if code != ExitUsage {
				t.Errorf("exit %d, want %d; stderr: %s", code, ExitUsage, errOut)
			}
			if !strings.Contains(errOut, c.want) {
				t.Errorf("stderr %q does not say %q", errOut, c.want)
			}
			if !strings.HasPrefix(errOut, "eventsim: ") {
				t.Errorf("stderr %q does not start with eventsim:", errOut)
			}
			if out != "" {
				t.Errorf("stdout not empty: %q", out)
			}
		})
	}
}

// The parsing of generate's flags, apart from running it.
func TestGenerateFlagsParseIntoOptions(t *testing.T) {
	var got *GenerateOptions
	streams := &IO{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &bytes.Buffer{}}
	cmd := NewCmdGenerate(streams, func(o *GenerateOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--scenario", "x.yaml", "--seed", "7", "--duration", "90s", "--format", "yaml", "-o", "out.yaml", "--flavor", "incus", "--api", "lxd"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	want := GenerateOptions{IO: streams, Scenario: "x.yaml", Seed: 7, Duration: 90 * time.Second, Format: "yaml", Output: "out.yaml", Flavor: "incus", API: "lxd"}
	if *got != want {
		t.Errorf("options %+v, want %+v", *got, want)
	}
	cmd = NewCmdGenerate(streams, func(o *GenerateOptions) error { got = o; return nil })
	cmd.SetArgs(nil)
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Scenario != "demo" || got.Format != "ndjson" || got.Flavor != "lxd-5.0" || got.Count != 0 || got.Output != "" {
		t.Errorf("defaults %+v", *got)
	}
}

func TestGenerateFormatsParseBackToTheSameEvents(t *testing.T) {
	const n = 250
	nd := mustRun(t, "", "generate", "--scenario", "lxd-steady", "--count", "250")
	ls := lines(nd)
	if len(ls) != n {
		t.Fatalf("ndjson: %d lines, want %d", len(ls), n)
	}
	var want []any
	for _, l := range ls {
		var v any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatal(err)
		}
		want = append(want, v)
	}
	js := mustRun(t, "", "generate", "--scenario", "lxd-steady", "--count", "250", "--format", "json")
	var arr []any
	if err := json.Unmarshal([]byte(js), &arr); err != nil {
		t.Fatalf("json output is not a JSON array: %v", err)
	}
	ys := mustRun(t, "", "generate", "--scenario", "lxd-steady", "--count", "250", "--format", "yaml")
	var ylist []any
	if err := yaml.Unmarshal([]byte(ys), &ylist); err != nil {
		t.Fatalf("yaml output does not parse: %v", err)
	}
	for _, c := range []struct {
		format string
		got    []any
	}{{"json", arr}, {"yaml", ylist}} {
		if len(c.got) != n {
			t.Fatalf("%s: %d events, want %d", c.format, len(c.got), n)
		}
		for i := range want {
			// Re-encoded, so YAML's ints and JSON's float64s compare alike.
			a, err1 := json.Marshal(want[i])
			b, err2 := json.Marshal(c.got[i])
			if err1 != nil || err2 != nil || string(a) != string(b) {
				t.Fatalf("%s: event %d is\n%s\nin ndjson\n%s", c.format, i, b, a)
			}
		}
	}
	// No events: still a document of the format.
	for format, empty := range map[string]string{"json": "[]\n", "yaml": "[]\n", "ndjson": ""} {
		out := mustRun(t, "", "generate", "--scenario", "lxd-steady", "--duration", "1ns", "--format", format)
		if out != empty {
			t.Errorf("%s with no events: %q, want %q", format, out, empty)
		}
	}
}

func TestGenerateSeeds(t *testing.T) {
	a := mustRun(t, "", "generate", "--scenario", "lxd-steady", "--count", "2000", "--seed", "5")
	b := mustRun(t, "", "generate", "--scenario", "lxd-steady", "--count", "2000", "--seed", "5")
	c := mustRun(t, "", "generate", "--scenario", "lxd-steady", "--count", "2000", "--seed", "6")
	if a != b {
		t.Error("the same seed gave different output")
	}
	if a == c {
		t.Error("another seed gave the same output")
	}
	if len(lines(c)) != 2000 {
		t.Errorf("seed 6: %d events, want 2000", len(lines(c)))
	}
}

func TestGenerateLoopsAFiniteScenarioWithTimeRunningOn(t *testing.T) {
	once := decodeNDJSON(t, mustRun(t, "", "generate", "--scenario", "lxd-instance-lifecycle"))
	if len(once) == 0 {
		t.Fatal("no events")
	}
	want := 3*len(once) + 7
	more := decodeNDJSON(t, mustRun(t, "", "generate", "--scenario", "lxd-instance-lifecycle", "--count", itoa(want)))
	if len(more) != want {
		t.Fatalf("%d events, want %d", len(more), want)
	}
	for i := 1; i < len(more); i++ {
		if more[i].Timestamp.Before(more[i-1].Timestamp) {
			t.Fatalf("event %d at %s is before event %d at %s", i, more[i].Timestamp, i-1, more[i-1].Timestamp)
		}
	}
	endOfFirst := once[len(once)-1].Timestamp
	if second := more[len(once)]; !second.Timestamp.After(endOfFirst) {
		t.Errorf("second pass starts at %s, not after the first pass ended (%s)", second.Timestamp, endOfFirst)
	}
	for i := range once {
		if more[i] != once[i] {
			t.Fatalf("event %d of the looped output differs from the single pass", i)
		}
	}
}

func TestGenerateDuration(t *testing.T) {
	evs := decodeNDJSON(t, mustRun(t, "", "generate", "--scenario", "lxd-steady", "--duration", "2s"))
	if len(evs) < 100 {
		t.Fatalf("only %d events in 2s of a 200/s mix", len(evs))
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, ev := range evs {
		if !ev.Timestamp.Before(start.Add(2 * time.Second)) {
			t.Fatalf("event %d at %s is past the 2s asked for", i, ev.Timestamp)
		}
	}
}

func TestGenerateOutputFileAndAPI(t *testing.T) {
	path := filepath.Join(t.TempDir(), "linode.ndjson")
	out, errOut, code := run(t, "", "generate", "--scenario", "demo", "--api", "linode", "--count", "50", "-o", path)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if out != "" {
		t.Errorf("stdout %q with --output", out)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(lines(string(b))); n != 50 {
		t.Fatalf("%d events in the file, want 50", n)
	}
	if _, errOut, code := run(t, "", "validate", "--kind", "linode", path); code != ExitOK {
		t.Errorf("linode events do not validate: %s", errOut)
	}
	// demo feeds both APIs: without --api it says which it writes.
	_, errOut, _ = run(t, "", "generate", "--scenario", "demo", "--count", "1")
	if !strings.Contains(errOut, "writing lxd events (--api linode for the others)") {
		t.Errorf("stderr %q does not say which API is written", errOut)
	}
}

// For each flavour, the catalogue tour's output validates with the validate
// command and holds every lifecycle action of the flavour's catalogue.
func TestCatalogueTourCoversEveryActionOfEachFlavour(t *testing.T) {
	for _, fl := range catalog.Flavors {
		t.Run(string(fl), func(t *testing.T) {
			out := mustRun(t, "", "generate", "--scenario", "lxd-catalogue-tour", "--flavor", string(fl))
			stdout, errOut, code := run(t, out, "validate", "--kind", "lxd", "-")
			if code != ExitOK {
				t.Fatalf("validate: exit %d\n%s%s", code, stdout, errOut)
			}
			evs := decodeNDJSON(t, out)
			if !strings.Contains(errOut, itoa(len(evs))+" records checked, 0 invalid") {
				t.Errorf("validate says %q for %d events", errOut, len(evs))
			}
			seen := map[string]bool{}
			for _, ev := range evs {
				if ev.Type == "lifecycle" {
					seen[ev.Metadata.Action] = true
				}
			}
			cat, err := catalog.LXD(fl)
			if err != nil {
				t.Fatal(err)
			}
			var missing []string
			for _, a := range cat.Actions {
				if !seen[a.Name] {
					missing = append(missing, a.Name)
				}
				delete(seen, a.Name)
			}
			if len(missing) > 0 {
				t.Errorf("%d of %d actions missing: %v", len(missing), len(cat.Actions), missing)
			}
			if len(seen) > 0 {
				t.Errorf("actions outside the %s catalogue: %v", fl, seen)
			}
		})
	}
}

func TestValidateReportsLineAndMostSpecificProblem(t *testing.T) {
	good := lines(mustRun(t, "", "generate", "--scenario", "lxd-steady", "--count", "3"))
	badLevel := strings.Replace(good[0], `"level":"debug"`, `"level":"verbose"`, 1)
	if badLevel == good[0] {
		t.Fatalf("first event has no debug level: %s", good[0])
	}
	badTime := strings.Replace(good[1], `"timestamp":"2026-`, `"timestamp":"26-`, 1)
	nd := good[0] + "\n" + badLevel + "\n\n" + "{not json\n" + badTime + "\n" + good[2] + "\n"
	dir := t.TempDir()
	file := filepath.Join(dir, "events.ndjson")
	if err := os.WriteFile(file, []byte(nd), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, stdin string
		args        []string
		where       string
	}{
		{"file", "", []string{"validate", "--kind", "lxd", file}, file},
		{"stdin", nd, []string{"validate", "--kind", "lxd", "-"}, "<stdin>"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, code := run(t, c.stdin, c.args...)
			if code != ExitFailed {
				t.Fatalf("exit %d, want 1; stderr %s", code, errOut)
			}
			got := lines(out)
			if len(got) != 3 {
				t.Fatalf("want 3 problems, got:\n%s", out)
			}
			for i, want := range []string{c.where + ":2: metadata.level: ", c.where + ":4: not JSON", c.where + ":5: timestamp: "} {
				if !strings.HasPrefix(got[i], want) {
					t.Errorf("problem %d is %q, want it to start %q", i, got[i], want)
				}
			}
			if !strings.Contains(got[0], "must be one of the following") || !strings.Contains(got[0], `"debug"`) {
				t.Errorf("level problem %q does not say what is allowed", got[0])
			}
			if !strings.Contains(errOut, "5 records checked, 3 invalid") {
				t.Errorf("summary %q", errOut)
			}
		})
	}
	// A JSON array: problems are reported at the line each element starts.
	arr := "[\n  " + good[0] + ",\n  " + badLevel + ",\n\n  " + good[2] + "\n]\n"
	out, errOut, code := run(t, arr, "validate", "--kind", "lxd", "-")
	if code != ExitFailed || strings.TrimSpace(out) == "" || !strings.HasPrefix(out, "<stdin>:3: [1].metadata.level: ") || len(lines(out)) != 1 {
		t.Errorf("array: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// Elements spread over several lines: the line each one starts on.
	var g0, b1 bytes.Buffer
	_ = json.Indent(&g0, []byte(good[0]), "  ", "  ")
	_ = json.Indent(&b1, []byte(badLevel), "  ", "  ")
	arr = "[\n  " + g0.String() + ",\n  " + b1.String() + "\n]\n"
	wantLine := 2 + strings.Count(g0.String(), "\n") + 1
	out, _, code = run(t, arr, "validate", "--kind", "lxd", "-")
	if code != ExitFailed || !strings.HasPrefix(out, "<stdin>:"+itoa(wantLine)+": [1].metadata.level: ") {
		t.Errorf("indented array: exit %d, stdout %q, want line %d", code, out, wantLine)
	}
	// Good input, both forms.
	for _, in := range []string{strings.Join(good, "\n") + "\n", "[" + strings.Join(good, ",") + "]"} {
		out, errOut, code := run(t, in, "validate", "--kind", "lxd", "-")
		if code != ExitOK || out != "" || !strings.Contains(errOut, "3 records checked, 0 invalid") {
			t.Errorf("good input: exit %d, stdout %q, stderr %q", code, out, errOut)
		}
	}
	// Linode events are not LXD events.
	lin := mustRun(t, "", "generate", "--scenario", "linode-provisioning", "--count", "2")
	if _, _, code := run(t, lin, "validate", "--kind", "lxd", "-"); code != ExitFailed {
		t.Errorf("linode events as lxd: exit %d, want 1", code)
	}
}

func TestScenariosCommands(t *testing.T) {
	out := mustRun(t, "", "scenarios", "list")
	ls := lines(out)
	if !strings.HasPrefix(ls[0], "NAME") {
		t.Errorf("no header: %q", ls[0])
	}
	var names []string
	for _, l := range ls[1:] {
		names = append(names, strings.Fields(l)[0])
	}
	for _, want := range []string{"demo", "lxd-steady", "lxd-catalogue-tour", "linode-provisioning", "linode-catalogue-tour"} {
		if !contains(names, want) {
			t.Errorf("list lacks %s: %v", want, names)
		}
	}
	if !sort.StringsAreSorted(names) {
		t.Errorf("list not sorted: %v", names)
	}
	show := mustRun(t, "", "scenarios", "show", "lxd-steady")
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(show), &doc); err != nil || doc["name"] != "lxd-steady" {
		t.Errorf("show lxd-steady: %v, name %v", err, doc["name"])
	}
	// validate: built-in names and files; a bad file is reported as
	// file:line:column and exits 1.
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte(show), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	badYAML := "name: bad\napi: lxd\nsteps:\n  - lxd: instance.strat\n    name: web1\n"
	if err := os.WriteFile(bad, []byte(badYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	out = mustRun(t, "", "scenarios", "validate", "demo", good)
	if !strings.Contains(out, "demo: ok") || !strings.Contains(out, good+": ok (lxd-steady, lxd)") {
		t.Errorf("validate good: %q", out)
	}
	out, errOut, code := run(t, "", "scenarios", "validate", good, bad)
	if code != ExitFailed {
		t.Fatalf("bad file: exit %d, want 1 (%s)", code, errOut)
	}
	if !strings.Contains(out, bad+":4:") || !strings.Contains(out, "instance.strat") {
		t.Errorf("bad file report %q lacks file:line:col and the verb", out)
	}
	if !strings.Contains(out, good+": ok") {
		t.Errorf("the good file beside the bad one is not reported ok: %q", out)
	}
	verbs := mustRun(t, "", "scenarios", "verbs")
	for _, want := range []string{"lxd:", "linode:", "instance.create", "linode.boot"} {
		if !strings.Contains(verbs, want) {
			t.Errorf("verbs lack %q", want)
		}
	}
}

func TestSchemasAndVersionCommands(t *testing.T) {
	list := lines(mustRun(t, "", "schemas", "list"))
	if strings.Join(list, ",") != strings.Join(schemas.Names(), ",") {
		t.Errorf("schemas list %v, want %v", list, schemas.Names())
	}
	for _, n := range list {
		var doc map[string]any
		if err := json.Unmarshal([]byte(mustRun(t, "", "schemas", "show", n)), &doc); err != nil {
			t.Errorf("schemas show %s: %v", n, err)
		}
		if doc["$schema"] == nil {
			t.Errorf("schemas show %s: no $schema", n)
		}
	}
	v := mustRun(t, "", "version")
	if !strings.HasPrefix(v, "eventsim (devel) (go") || !strings.Contains(v, "\nrevision ") {
		t.Errorf("version %q", v)
	}
}

func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"generate", "--help"}, {"validate", "--help"}} {
		out, errOut, code := run(t, "", args...)
		if code != ExitOK || !strings.Contains(out, "Usage:") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// Check that output ends with a newline and that NDJSON has nothing but
// events on its lines.
func TestGenerateNDJSONLines(t *testing.T) {
	out := mustRun(t, "", "generate", "--scenario", "lxd-projects")
	if !strings.HasSuffix(out, "\n") {
		t.Error("output does not end with a newline")
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if !json.Valid(sc.Bytes()) || !bytes.HasPrefix(sc.Bytes(), []byte(`{"type":`)) {
			t.Fatalf("line %d: %s", n, sc.Bytes())
		}
	}
}

// failingWriter fails every write after the first n bytes.
type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n <= 0 {
		return 0, os.ErrClosed
	}
	w.n -= len(p)
	return len(p), nil
}

// A write error stops generate (and its engine goroutine) with exit 2.
func TestGenerateStopsOnWriteError(t *testing.T) {
	var errOut bytes.Buffer
	code := Main([]string{"generate", "--scenario", "lxd-steady", "--count", "1000000"}, strings.NewReader(""), &failingWriter{n: 1 << 20}, &errOut)
	if code != ExitUsage || !strings.Contains(errOut.String(), "write: ") || !strings.Contains(errOut.String(), "file already closed") {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
}

func TestValidateNamesEveryMissingFieldIndexesArraysAndCollapsesRuns(t *testing.T) {
	good := lines(mustRun(t, "", "generate", "--scenario", "lxd-steady", "--count", "2"))
	linode := lines(mustRun(t, "", "generate", "--scenario", "linode-provisioning", "--count", "2"))
	const many = 20000
	var manyBad strings.Builder
	manyBad.WriteString(good[0] + "\n")
	for range many {
		manyBad.WriteString(`{"type":"lifecycle"}` + "\n")
	}
	manyBad.WriteString(good[1] + "\n")
	for _, tt := range []struct {
		name, kind, in string
		code           ExitCode
		out, errOut    []string // lines wanted, in order
	}{
		{"every missing field", "lxd", good[0] + "\n" + `{"type":"lifecycle"}` + "\n", ExitFailed,
			[]string{"<stdin>:2: (root): metadata and timestamp are required"}, []string{"2 records checked, 1 invalid"}},
		{"nested and top-level problems", "lxd", `{"type":"lifecycle","timestamp":"x","metadata":{"action":"instance-created"}}` + "\n", ExitFailed,
			[]string{`<stdin>:1: timestamp: Does not match format 'date-time' (got "x"); metadata: source is required`}, nil},
		{"array index", "lxd", "[" + good[0] + ",\n" + `{"type":"lifecycle"}, {"type":"lifecycle","metadata":{}}` + "]", ExitFailed,
			[]string{"<stdin>:2: [1]: metadata and timestamp are required", "<stdin>:2: [2].metadata: action and source are required; [2]: timestamp is required"}, nil},
		{"a run collapsed", "lxd", manyBad.String(), ExitFailed,
			[]string{"<stdin>:2: (root): metadata and timestamp are required", "<stdin>:3-20001: … and 19,999 more like it"},
			[]string{"20002 records checked, 20000 invalid"}},
		{"linode events as lxd", "lxd", strings.Join(linode, "\n"), ExitFailed, nil,
			[]string{"hint: no record is valid as LXD events, but the records checked are valid Linode events: use --kind linode", "2 records checked, 2 invalid"}},
		{"lxd events as linode", "linode", strings.Join(good, "\n"), ExitFailed, nil,
			[]string{"hint: no record is valid as Linode events, but the records checked are valid LXD events: use --kind lxd"}},
		{"neither kind", "linode", `{"x":1}`, ExitFailed, nil,
			[]string{"hint: no record is valid as Linode events, and the first records are not valid LXD events (--kind lxd) either"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := run(t, tt.in, "validate", "--kind", tt.kind, "-")
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr %s", code, tt.code, errOut)
			}
			if tt.out != nil && strings.Join(lines(out), "\n") != strings.Join(tt.out, "\n") {
				t.Errorf("stdout:\n%s\nwant:\n%s", out, strings.Join(tt.out, "\n"))
			}
			for _, w := range tt.errOut {
				if !strings.Contains(errOut, w+"\n") {
					t.Errorf("stderr %q lacks %q", errOut, w)
				}
			}
		})
	}
	// Some valid: no hint.
	if _, errOut, _ := run(t, good[0]+"\n{}\n", "validate", "--kind", "lxd", "-"); strings.Contains(errOut, "hint") {
		t.Errorf("a hint although a record was valid: %q", errOut)
	}
}
