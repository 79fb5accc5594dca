package scenarios

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eventsim/eventsim/catalog"
)

// FuzzEngine feeds scenarios to the engine: the input as a scenario file, and
// the input as the choices of a generator that writes a valid-looking
// scenario from every verb of both APIs, mixes at and past their caps, nested
// repeats, parallel tracks, faults, emits and rates up to the largest a
// scenario may give. Whatever the scenario, parsing either succeeds or says
// where it is wrong, and playing never panics, never runs away (each record
// comes within a bounded time) and gives records in time order, each event
// valid JSON. Seeded from the built-in scenarios and the crash cases of
// issue 13.
func FuzzEngine(f *testing.F) {
	for _, n := range builtinNames() {
		b, _ := Source(n)
		f.Add(b)
	}
	f.Add([]byte("name: m\napi: [linode]\nsteps:\n  - mix:\n      rate: 100/s\n      count: 50\n      verbs:\n        - linode: linode.reboot\n"))
	f.Add([]byte("name: r\napi: [lxd]\nsteps:\n  - repeat: 9223372036854775807\n    steps:\n      - wait: 1s\n"))
	// Generator choices: a mix of every kind of step, nested.
	f.Add([]byte{3, 5, 0, 4, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	f.Add([]byte{1, 2, 1, 5, 2, 0, 3, 255, 7, 7, 7, 7, 1, 0, 2, 200, 9, 4, 4, 4})
	f.Add([]byte{2, 0, 1, 4, 3, 1, 0, 5, 5, 5, 6, 3, 2, 1, 0, 8, 8, 9, 2, 2, 5, 1})
	// Smaller bounds than a user gets, so that the fuzzer tries many
	// scenarios a second; they are bounds all the same.
	idle := maxIdleSteps
	maxIdleSteps = 20_000
	f.Cleanup(func() { maxIdleSteps = idle })
	lim := Limits{Steps: 10_000, Time: 200 * time.Millisecond}
	f.Fuzz(func(t *testing.T, in []byte) {
		if s, err := ParseContext(t.Context(), "fuzz.yaml", in, lim); err != nil {
			checkParseError(t, err, in)
		} else {
			playBounded(t, s, Options{Loop: len(in)%2 == 0}, in)
		}
		g := &scenarioGen{b: in}
		src := g.scenario()
		s, err := ParseContext(t.Context(), "fuzz.yaml", []byte(src), lim)
		if err != nil {
			checkParseError(t, err, []byte(src))
			return
		}
		playBounded(t, s, Options{Loop: g.n(2) == 0, Flavor: g.flavor}, []byte(src))
	})
}

func checkParseError(t *testing.T, err error, src []byte) {
	t.Helper()
	if !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), "fuzz.yaml") {
		t.Fatalf("error does not wrap ErrInvalid or does not say where: %v\nscenario:\n%s", err, src)
	}
}

// Bounds of one play under the fuzzer. An input must take well under a
// second: the fuzzer kills a worker that does not stop within a second or
// two when its time is up, and reports that as a crash.
const (
	fuzzRecords   = 1000
	fuzzPlayTime  = 250 * time.Millisecond // then the play stops, and passes
	fuzzRecordMax = 30 * time.Second       // one record: a thousand times what the idle bound takes, for a busy machine
)

// playBounded plays s for at most fuzzRecords records or fuzzPlayTime, each
// record within fuzzRecordMax: Next runs on its own goroutine so that a
// runaway fails the test, showing the scenario, instead of hanging it.
func playBounded(t *testing.T, s *Scenario, opts Options, src []byte) {
	t.Helper()
	e, err := New(s, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	progress := make(chan struct{}, fuzzRecords)
	var stop atomic.Bool
	go func() {
		// A panic here would kill the fuzzer's worker without a word.
		defer func() {
			if p := recover(); p != nil {
				done <- result{-1, fmt.Errorf("panic: %v\n%s", p, debug.Stack())}
			}
		}()
		var last time.Time
		for n := 0; n < fuzzRecords && !stop.Load(); n++ {
			r, err := e.Next()
			if err != nil {
				done <- result{n, err}
				return
			}
			if r.Time.Before(last) {
				done <- result{n, fmt.Errorf("record %d at %s comes before the previous one at %s", n, r.Time, last)}
				return
			}
			last = r.Time
			if r.Fault == nil && !json.Valid(r.JSON) {
				done <- result{n, fmt.Errorf("record %d is not valid JSON: %s", n, r.JSON)}
				return
			}
			progress <- struct{}{}
		}
		done <- result{fuzzRecords, nil}
	}()
	all := time.After(fuzzPlayTime)
	for {
		select {
		case res := <-done:
			if res.err == nil || errors.Is(res.err, io.EOF) {
				return
			}
			// The engine may refuse what the scenario asks (an object that
			// does not exist by then, a mix that makes nothing), but only
			// with an error that says where.
			if !errors.Is(res.err, ErrInvalid) || !strings.HasPrefix(res.err.Error(), "fuzz.yaml") {
				t.Fatalf("after %d records: %v\nscenario:\n%s", res.n, res.err, src)
			}
			return
		case <-progress:
		case <-time.After(fuzzRecordMax):
			t.Fatalf("no record for %v: the engine ran away\nscenario:\n%s", fuzzRecordMax, src)
		case <-all:
			// Enough: the goroutine ends after the record it is on,
			// and is waited for, so nothing plays on past this input.
			stop.Store(true)
		}
	}
}

// scenarioGen writes a scenario from a fuzzer's bytes, each byte a choice;
// past the end every choice is the first.
type scenarioGen struct {
	b      []byte
	i      int
	out    strings.Builder
	flavor catalog.Flavor
	budget int // steps left to write, so a scenario stays small
}

func (g *scenarioGen) n(k int) int {
	if g.i >= len(g.b) || k <= 1 {
		return 0
	}
	v := int(g.b[g.i]) % k
	g.i++
	return v
}

func (g *scenarioGen) pick(list ...string) string { return list[g.n(len(list))] }

func (g *scenarioGen) line(indent int, format string, args ...any) {
	g.out.WriteString(strings.Repeat(" ", indent))
	fmt.Fprintf(&g.out, format, args...)
	g.out.WriteByte('\n')
}

func (g *scenarioGen) scenario() string {
	g.flavor = catalog.Flavor(g.pick("lxd-5.0", "lxd-6", "incus"))
	g.budget = 24
	g.line(0, "name: fuzz")
	g.line(0, "api: %s", g.pick("[lxd, linode]", "[lxd, linode]", "[lxd]", "[linode]"))
	g.line(0, "seed: %d", g.n(256)-128)
	if g.n(2) == 0 {
		g.line(0, "lxd:")
		g.line(2, "projects: [default, team]")
		g.line(2, "pools: [default]")
		g.line(2, "networks: [lxdbr0]")
		if g.n(2) == 0 {
			g.line(2, "members: [m1, m2, m3]")
			g.line(2, "event_mode: %s", g.pick("full-mesh", "hub-server", "hub-client"))
		}
		g.line(2, "logging: %v", g.n(2) == 0)
	}
	g.line(0, "steps:")
	g.steps(2, 0)
	return g.out.String()
}

func (g *scenarioGen) steps(indent, depth int) {
	for k := 1 + g.n(4); k > 0; k-- {
		g.step(indent, depth)
	}
}

func (g *scenarioGen) step(indent, depth int) {
	g.budget--
	kind := g.n(9)
	if g.budget <= 0 || depth >= 3 && kind >= 3 && kind <= 5 {
		kind = 0 // a verb: nothing nested
	}
	switch kind {
	case 0, 1:
		g.verb(indent, g.pick("lxd", "linode"), false)
	case 2:
		g.line(indent, "- wait: %s", g.pick("0s", "1ms", "1s", "90s", "1h"))
		if g.n(3) == 0 {
			g.line(indent+2, "jitter: 0s")
		}
	case 3:
		g.line(indent, "- repeat: %s", g.pick("1", "2", "3", "49", "1000", "forever", "9223372036854775807"))
		g.line(indent+2, "steps:")
		g.steps(indent+4, depth+1)
	case 4:
		g.line(indent, "- parallel:")
		for k := 2 + g.n(2); k > 0; k-- {
			g.line(indent+4, "- name: t%d", k)
			g.line(indent+4, "  steps:")
			g.steps(indent+8, depth+1)
		}
	case 5, 6:
		g.line(indent, "- mix:")
		g.line(indent+4, "rate: %s", g.pick("1/h", "5/m", "100/s", "1000/s", "1000000/ms", "999999999999999/ms"))
		switch g.n(4) {
		case 0:
			g.line(indent+4, "count: %s", g.pick("1", "47", "48", "49", "200"))
		case 1:
			g.line(indent+4, "duration: %s", g.pick("1ms", "1s", "1m", "1h"))
		case 2:
			g.line(indent+4, "count: %s", g.pick("100", "500"))
			g.line(indent+4, "duration: %s", g.pick("1s", "1h"))
		}
		if g.n(2) == 0 {
			g.line(indent+4, "concurrency: %s", g.pick("1", "2", "32", "1000"))
		}
		g.line(indent+4, "verbs:")
		for k := 1 + g.n(4); k > 0; k-- {
			g.verb(indent+6, g.pick("lxd", "linode"), true)
		}
	case 7:
		if g.n(2) == 0 {
			g.line(indent, "- emit:")
			g.line(indent+4, "lxd: {type: logging, metadata: {message: hi, level: info, context: {}}}")
		} else {
			g.line(indent, "- emit:")
			g.line(indent+4, "linode: {id: %d, action: linode_boot, status: finished, entity: {id: 1, label: a, type: linode, url: /v4/linode/instances/1}}", 1+g.n(100))
		}
	case 8:
		kinds := sortedKeys(FaultKinds)
		g.line(indent, "- fault: %s", kinds[g.n(len(kinds))])
		if g.n(2) == 0 {
			g.line(indent+2, "count: %d", g.n(4))
		}
	}
}

// Values arguments take, by type; names come from a small pool so steps meet
// the objects earlier steps made.
var (
	fuzzNames = []string{"web", "db", "default", "team", "lxdbr0", "m1", "a/b", ""}
	fuzzArgs  = map[argType][]string{
		argString:   fuzzNames,
		argInt:      {"0", "1", "100"},
		argBool:     {"true", "false"},
		argStrings:  {"[/bin/true]", "[]"},
		argDuration: {"0s", "1ms", "10s", "2h"},
		argMap:      {"{}", "{username: bob, protocol: tls}", "{id: 7, label: x}"},
	}
)

func (g *scenarioGen) verb(indent int, api string, inMix bool) {
	verbs := LXDVerbs
	if api == "linode" {
		verbs = LinodeVerbs
	}
	names := sortedKeys(verbs)
	name := names[g.n(len(names))]
	spec := verbs[name]
	g.line(indent, "- %s: %s", api, name)
	for _, a := range spec.Args {
		required := contains(spec.Required, a)
		if !required && g.n(3) != 1 {
			continue
		}
		var v string
		switch a {
		case "action":
			v = g.action(api)
		case "project":
			v = g.pick("default", "team", "nope")
		case "member":
			v = g.pick("m1", "m2", "m4")
		default:
			v = g.pick(fuzzArgs[argTypes[api][a]]...)
		}
		if a == "fail" && g.n(2) == 0 {
			v = "disk full"
		}
		if v == "" {
			v = `""`
		}
		g.line(indent+2, "%s: %s", a, v)
	}
	if inMix {
		g.line(indent+2, "weight: %s", g.pick("1", "5", "1000"))
	}
}

func (g *scenarioGen) action(api string) string {
	if api == "linode" {
		names := catalog.Linode().Names()
		return names[g.n(len(names))]
	}
	cat, err := catalog.LXD(g.flavor)
	if err != nil {
		return "instance-created"
	}
	names := cat.Names()
	return names[g.n(len(names))]
}
