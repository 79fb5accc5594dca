package scenarios

import (
	"context"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestEmitFeedsTheVerbs holds that an emit step's lifecycle event changes
// what the verbs know: a verb may act on what an emit made, and `scenarios
// validate` (Check) refuses, at the step's file:line, a verb on what an
// emit deleted or never made.
func TestEmitFeedsTheVerbs(t *testing.T) {
	const head = "name: t\napi: lxd\nlxd:\n  logging: false\n  projects: [default, p1]\nsteps:\n"
	emit := func(action, source string, extra string) string {
		return "  - emit:\n      lxd:\n        type: lifecycle\n        project: default\n        metadata:\n          action: " + action +
			"\n          source: " + source + "\n" + extra
	}
	created := emit("instance-created", "/1.0/instances/web1", "          context: {type: container}\n")
	for _, tt := range []struct {
		name  string
		steps string
		// err is what the check's error says, with its place; "" when the
		// scenario is valid.
		err string
	}{
		{"start an emitted instance", created + "  - lxd: instance.start\n    name: web1\n", ""},
		{"stop after an emitted start", created + emit("instance-started", "/1.0/instances/web1", "") + "  - lxd: instance.stop\n    name: web1\n", ""},
		{"after an emitted delete", created + emit("instance-deleted", "/1.0/instances/web1", "") + "  - lxd: instance.start\n    name: web1\n",
			`t.yaml:24:11: steps[2].name: instance "web1" does not exist in project default`},
		{"never made", "  - lxd: instance.start\n    name: web1\n", `t.yaml:9:11: steps[0].name: instance "web1" does not exist`},
		{"renamed by an emit", created + emit("instance-renamed", "/1.0/instances/web2", "          context: {old_name: web1}\n") +
			"  - lxd: instance.delete\n    name: web2\n", ""},
		{"old name after an emitted rename", created + emit("instance-renamed", "/1.0/instances/web2", "          context: {old_name: web1}\n") +
			"  - lxd: instance.delete\n    name: web1\n", `instance "web1" does not exist in project default; existing: web2`},
		{"snapshot of an emitted instance", created + emit("instance-snapshot-created", "/1.0/instances/web1/snapshots/s0", "") +
			"  - lxd: instance.snapshot-delete\n    name: web1\n    snapshot: s0\n", ""},
		{"snapshots go with their emitted delete", created + emit("instance-snapshot-created", "/1.0/instances/web1/snapshots/s0", "") +
			emit("instance-deleted", "/1.0/instances/web1", "") + "  - lxd: instance.create\n    name: web1\n  - lxd: instance.snapshot-delete\n    name: web1\n    snapshot: s0\n",
			`instance-snapshot "s0" does not exist of web1 in project default`},
		{"project from the source's query", emit("instance-created", "/1.0/instances/db?project=p1", "") + "  - lxd: instance.start\n    name: db\n    project: p1\n", ""},
		{"custom volume, 5.0.2's PROJECT_NAME", emit("storage-volume-created", "/1.0/storage-pools/default/volumes/custom/default_v1", "") +
			"  - lxd: storage-volume.delete\n    name: v1\n    pool: default\n", ""},
		{"an emitted project", emit("project-created", "/1.0/projects/p9", "") + "  - lxd: profile.create\n    name: x\n    project: p9\n", ""},
		{"an emitted network deleted", emit("network-deleted", "/1.0/networks/lxdbr0", "") + "  - lxd: network.update\n    name: lxdbr0\n",
			`network "lxdbr0" does not exist`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// Parse checks the scenario as `scenarios validate` does.
			_, err := Parse("t.yaml", []byte(strings.Replace(head, "[default, p1]", "[default, p1]\n  networks: [lxdbr0]", 1)+tt.steps))
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("validate: %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("validate: %v, want an error with %q", err, tt.err)
			}
		})
	}
}

// TestVerbOnAnEmittedInstance plays a verb on an instance an emit made: the
// verb's events name it, and the state the emits left holds (a start of an
// instance an emit started fails as the daemon's would).
func TestVerbOnAnEmittedInstance(t *testing.T) {
	src := `name: t
api: lxd
lxd: {logging: false}
steps:
  - emit: {lxd: {type: lifecycle, metadata: {action: instance-created, source: /1.0/instances/web1, context: {type: container}}}}
  - lxd: instance.start
    name: web1
  - emit: {lxd: {type: lifecycle, metadata: {action: instance-stopped, source: /1.0/instances/web1}}}
  - lxd: instance.start
    name: web1
  - emit: {lxd: {type: lifecycle, metadata: {action: instance-started, source: /1.0/instances/web1}}}
  - lxd: instance.start
    name: web1
`
	s, err := Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var started, failed int
	for _, b := range play(t, s, Options{}, 100) {
		ev := string(b)
		if strings.Contains(ev, `"action":"instance-started"`) && strings.Contains(ev, `"source":"/1.0/instances/web1"`) {
			started++
		}
		if strings.Contains(ev, `"status":"Failure"`) && strings.Contains(ev, "The instance is already running") {
			failed++
		}
	}
	// Two made by the verbs and one emitted; the last start fails.
	if started != 3 || failed != 1 {
		t.Errorf("instance-started of web1 %d times, failed starts %d; want 3 and 1", started, failed)
	}
}

// TestObserveAndExternalSteps holds the engine to what Observe promises: a
// step marked external acts on an object it was told of, is skipped
// (counted, told to OnSkip) when the object does not exist, and passes
// validation without it; a step not so marked is refused; and a mix never
// picks what was observed.
func TestObserveAndExternalSteps(t *testing.T) {
	src := `name: t
api: lxd
lxd: {logging: false}
steps:
  - lxd: instance.stop
    name: c1
    external: true
  - lxd: instance.delete
    name: c1
    external: true
  - lxd: instance.start
    name: gone
    external: true
`
	s, err := Parse("t.yaml", []byte(src)) // validates: c1 is nowhere in the file
	if err != nil {
		t.Fatalf("validate: %v", err)
	}
	var awaited []time.Time
	var skips []string
	e, err := New(s, Options{
		Await:  func(_ context.Context, at time.Time) error { awaited = append(awaited, at); return nil },
		OnSkip: func(err error) { skips = append(skips, err.Error()) },
	})
	if err != nil {
		t.Fatal(err)
	}
	// A REST request made c1 and started it.
	e.Observe(Observed{Action: "instance-created", Source: "/1.0/instances/c1", Project: "default", Context: map[string]any{"type": "container"}})
	e.Observe(Observed{Action: "instance-started", Source: "/1.0/instances/c1", Project: "default"})
	var lifecycle []string
	for {
		r, err := e.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if r.Action != "" {
			lifecycle = append(lifecycle, r.Action)
		}
	}
	if want := []string{"instance-stopped", "instance-deleted"}; !slices.Equal(lifecycle, want) {
		t.Errorf("lifecycle events %v, want %v", lifecycle, want)
	}
	if len(awaited) != 3 {
		t.Errorf("Await called %d times, want once per external step (3)", len(awaited))
	}
	if e.Skipped() != 1 || len(skips) != 1 || !strings.Contains(skips[0], `t.yaml:12:11: steps[2].name: instance "gone" does not exist`) {
		t.Errorf("skipped %d: %q; want the start of gone, at its line", e.Skipped(), skips)
	}

	// Without external: true, validation refuses the step.
	_, err = Parse("t.yaml", []byte(strings.ReplaceAll(src, "    external: true\n", "")))
	if err == nil || !strings.Contains(err.Error(), `t.yaml:6:11: steps[0].name: instance "c1" does not exist`) {
		t.Errorf("validate without external: %v", err)
	}

	// A mix never picks an observed instance: it makes its own.
	mix := `name: m
api: lxd
lxd: {logging: false}
steps:
  - mix:
      count: 5
      rate: 1/s
      verbs:
        - {lxd: instance.start, weight: 1}
`
	ms, err := Parse("m.yaml", []byte(mix))
	if err != nil {
		t.Fatal(err)
	}
	me, err := New(ms, Options{})
	if err != nil {
		t.Fatal(err)
	}
	me.Observe(Observed{Action: "instance-created", Source: "/1.0/instances/mine", Project: "default"})
	for {
		r, err := me.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(r.JSON), "/1.0/instances/mine") {
			t.Fatalf("the mix acted on the observed instance: %s", r.JSON)
		}
	}
}

// TestObserveIsBounded holds that Observe never blocks: past the inbox's
// bound it drops and counts.
func TestObserveIsBounded(t *testing.T) {
	e, err := New(mustLoad(t, "demo"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range maxObserved + 10 {
		ok := e.Observe(Observed{Action: "instance-created", Source: "/1.0/instances/x" + strconv.Itoa(i)})
		if ok != (i < maxObserved) {
			t.Fatalf("Observe %d reported %v", i, ok)
		}
	}
	if e.ObserveDropped() != 10 {
		t.Errorf("dropped %d, want 10", e.ObserveDropped())
	}
}

// TestLoopAndResetKnowWhatExists holds the engine to the daemon it plays
// on across a loop pass and a reset: the stream never says an object is
// created while the daemon has it. A pass starts from what the last one
// left and what REST requests made (a named create of a name held is
// skipped, counted, and the next steps act on the object that exists),
// and an engine that replaces another (Carry) starts from the old one's.
func TestLoopAndResetKnowWhatExists(t *testing.T) {
	src := `name: t
api: lxd
lxd: {logging: false}
steps:
  - lxd: instance.create
    name: web1
  - lxd: instance.create
    name: c2
  - lxd: instance.delete
    name: c2
  - wait: 5s
`
	s, err := Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var skips []string
	e, err := New(s, Options{Loop: true, KeepObjects: true, OnSkip: func(err error) { skips = append(skips, err.Error()) }})
	if err != nil {
		t.Fatal(err)
	}
	// next reads one record: its lifecycle event as "action name", or "".
	next := func() string {
		t.Helper()
		r, err := e.Next()
		if err != nil {
			t.Fatal(err)
		}
		if r.Action == "" {
			return ""
		}
		src := string(r.JSON)
		i := strings.Index(src, `"source":"/1.0/instances/`)
		name := src[i+len(`"source":"/1.0/instances/`):]
		return r.Action + " " + name[:strings.IndexByte(name, '"')]
	}
	var pass [3][]string
	for e.Pass() < 3 {
		lc := next()
		if lc == "" {
			continue
		}
		p := e.Pass()
		pass[p] = append(pass[p], lc)
		if p == 0 && lc == "instance-deleted c2" {
			// A REST request makes c2 again once the scenario deleted it.
			e.Observe(Observed{Action: "instance-created", Source: "/1.0/instances/c2", Project: "default", Context: map[string]any{"type": "container"}})
		}
		if p == 2 {
			break
		}
	}
	for _, tt := range []struct {
		pass int
		want []string
	}{
		{0, []string{"instance-created web1", "instance-created c2", "instance-deleted c2"}},
		// web1 is there from pass 0 and c2 from the REST request: both
		// creates are skipped; the delete deletes the REST-made c2.
		{1, []string{"instance-deleted c2"}},
	} {
		if !slices.Equal(pass[tt.pass], tt.want) {
			t.Errorf("pass %d: %q, want %q", tt.pass, pass[tt.pass], tt.want)
		}
	}
	// Pass 2: c2 is gone, so it is made again.
	if len(pass[2]) == 0 || pass[2][0] != "instance-created c2" {
		t.Errorf("pass 2 begins %q, want c2 created again", pass[2])
	}
	if e.Skipped() != 3 || len(skips) != 3 || !strings.Contains(skips[0], `t.yaml:6:11: steps[0].name: instance "web1" already exists`) ||
		!strings.Contains(skips[1], `instance "c2" already exists`) {
		t.Errorf("skipped %d: %q; want web1's create (at its line) and c2's in pass 1, web1's in pass 2", e.Skipped(), skips)
	}

	// An engine replacing this one (a reset) starts from what it knew.
	r, err := New(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r.Carry(e)
	var lc []string
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Action != "" {
			lc = append(lc, rec.Action)
		}
	}
	// The old engine stopped in pass 2 after making c2 again: web1 and c2
	// exist, so their creates are skipped and c2 is deleted.
	if want := []string{"instance-deleted"}; !slices.Equal(lc, want) || r.Skipped() != 2 {
		t.Errorf("after a reset: %q, %d skipped; want %q, the creates of web1 and c2 skipped", lc, r.Skipped(), want)
	}
}
