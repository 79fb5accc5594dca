package scenarios

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/schemas"
)

// play returns the encoded records of a scenario, at most max of them.
func play(t *testing.T, s *Scenario, opts Options, max int) [][]byte {
	t.Helper()
	e, err := New(s, opts)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for len(out) < max {
		r, err := e.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if r.Fault == nil {
			out = append(out, r.JSON)
		}
	}
	return out
}

func mustLoad(t *testing.T, name string) *Scenario {
	t.Helper()
	s, err := Load(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestEveryBuiltinScenarioIsValidAndItsEventsValidate(t *testing.T) {
	list, err := List()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"demo", "linode-catalogue-tour", "linode-failures", "linode-provisioning", "lxd-catalogue-tour", "lxd-cluster", "lxd-instance-lifecycle", "lxd-projects", "lxd-steady"}
	if len(list) != len(want) {
		t.Fatalf("built-in scenarios: %v, want %v", list, want)
	}
	for i, b := range list {
		if b.Name != want[i] {
			t.Errorf("scenario %d is %s, want %s", i, b.Name, want[i])
		}
		t.Run(b.Name, func(t *testing.T) {
			s := mustLoad(t, b.Name)
			src, _ := Source(b.Name)
			if err := validateScenarioSchema(src); err != nil {
				t.Errorf("scenario schema: %v", err)
			}
			recs := play(t, s, Options{}, 5000)
			if len(recs) == 0 {
				t.Fatal("no events")
			}
			for _, r := range recs {
				var probe struct {
					Type string `json:"type"`
				}
				_ = json.Unmarshal(r, &probe)
				name := schemas.LinodeEvent
				if probe.Type != "" {
					name = schemas.LXDEvent
				}
				if err := schemas.Validate(name, r); err != nil {
					t.Fatalf("%v: %s", err, r)
				}
			}
		})
	}
}

func TestCatalogueToursCoverEveryAction(t *testing.T) {
	for _, f := range catalog.Flavors {
		t.Run(string(f), func(t *testing.T) {
			seen := map[string]bool{}
			for _, r := range play(t, mustLoad(t, "lxd-catalogue-tour"), Options{Flavor: f}, 1<<20) {
				var ev struct {
					Type     string `json:"type"`
					Metadata struct {
						Action string `json:"action"`
					} `json:"metadata"`
				}
				if err := json.Unmarshal(r, &ev); err != nil {
					t.Fatal(err)
				}
				if ev.Type == "lifecycle" {
					seen[ev.Metadata.Action] = true
				}
			}
			for _, a := range catalog.MustLXD(f).Names() {
				if !seen[a] {
					t.Errorf("action %s never emitted", a)
				}
			}
		})
	}
	seen := map[string]bool{}
	for _, r := range play(t, mustLoad(t, "linode-catalogue-tour"), Options{}, 1<<20) {
		var ev struct{ Action string }
		_ = json.Unmarshal(r, &ev)
		seen[ev.Action] = true
	}
	for _, a := range catalog.Linode().Names() {
		if !seen[a] {
			t.Errorf("Linode action %s never emitted", a)
		}
	}
	if len(seen) < 192 {
		t.Errorf("%d Linode actions seen, want 192", len(seen))
	}
}

func TestSameSeedSameBytesOtherSeedOtherBytes(t *testing.T) {
	for _, name := range []string{"demo", "lxd-steady", "linode-provisioning"} {
		s := mustLoad(t, name)
		a := bytes.Join(play(t, s, Options{Seed: 99, Loop: true}, 3000), []byte("\n"))
		b := bytes.Join(play(t, mustLoad(t, name), Options{Seed: 99, Loop: true}, 3000), []byte("\n"))
		c := bytes.Join(play(t, mustLoad(t, name), Options{Seed: 100, Loop: true}, 3000), []byte("\n"))
		if !bytes.Equal(a, b) {
			t.Errorf("%s: seed 99 twice gave different bytes", name)
		}
		if bytes.Equal(a, c) {
			t.Errorf("%s: seeds 99 and 100 gave the same bytes", name)
		}
	}
}

func TestLoopingKeepsTimeAndIDsGrowing(t *testing.T) {
	e, err := New(mustLoad(t, "linode-provisioning"), Options{Loop: true})
	if err != nil {
		t.Fatal(err)
	}
	var lastTime string
	maxID := int64(0)
	seenIDs := map[int64]bool{}
	for i := 0; i < 1000; i++ {
		r, err := e.Next()
		if err != nil {
			t.Fatal(err)
		}
		if r.Fault != nil {
			continue
		}
		ts := r.Time.Format("2006-01-02T15:04:05.000000000")
		if ts < lastTime {
			t.Fatalf("time went back: %s after %s", ts, lastTime)
		}
		lastTime = ts
		if !seenIDs[r.Linode.ID] && r.Linode.ID <= maxID {
			t.Fatalf("new event id %d not above %d", r.Linode.ID, maxID)
		}
		seenIDs[r.Linode.ID] = true
		maxID = max(maxID, r.Linode.ID)
	}
}

func TestBadScenariosGetOneClearError(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"typo in verb", "name: x\napi: lxd\nsteps:\n  - lxd: instance.strat\n", `x.yaml:4:10: steps[0].lxd: unknown verb "instance.strat"`},
		{"suggestion", "name: x\napi: lxd\nsteps:\n  - lxd: instance.strat\n", `did you mean "instance.start"?`},
		{"wrong type", "name: x\napi: lxd\nseed: abc\nsteps:\n  - wait: 1s\n", `x.yaml:3:7: seed: must be a whole number, got "abc"`},
		{"negative delay", "name: x\napi: lxd\nsteps:\n  - wait: -2s\n", `x.yaml:4:11: steps[0].wait: must not be negative, got "-2s"`},
		{"unknown field", "name: x\napi: lxd\nstpes: []\n", `x.yaml:3:1: stpes: unknown field "stpes"`},
		{"missing entity", "name: x\napi: lxd\nsteps:\n  - lxd: instance.start\n    name: ghost\n", `x.yaml:5:11: steps[0].name: instance "ghost" does not exist in project default`},
		{"unknown action", "name: x\napi: lxd\nsteps:\n  - lxd: action\n    action: instance-teleported\n", `unknown action "instance-teleported" for flavor lxd-5.0`},
		{"unknown api", "name: x\napi: docker\nsteps:\n  - wait: 1s\n", `unknown API "docker", must be lxd or linode`},
		{"not yaml", "name: [x\n", "not valid YAML"},
		{"bad rate", "name: x\napi: lxd\nsteps:\n  - mix:\n      rate: fast\n      verbs:\n        - lxd: instance.create\n", `x.yaml:5:13: steps[0].mix.rate: invalid rate "fast"`},
		{"unknown linode entity", "name: x\napi: linode\nsteps:\n  - linode: linode.boot\n    label: nope\n", `linode "nope" does not exist`},
		{"fault without its duration", "name: x\napi: lxd\nsteps:\n  - fault: pause\n", `x.yaml:4:5: steps[0].for: missing: a pause needs for: DURATION`},
		{"bad close code", "name: x\napi: lxd\nsteps:\n  - fault: disconnect\n    code: 42\n", `x.yaml:5:11: steps[0].code: must be a WebSocket close code from 1000 to 4999, got 42`},
		{"unknown fault", "name: x\napi: lxd\nsteps:\n  - fault: explode\n", `unknown fault "explode"`},
		{"huge reorder", "name: x\napi: lxd\nsteps:\n  - fault: reorder\n    count: 1000000\n", `x.yaml:5:12: steps[0].count: a reorder holds its events in memory: at most 10000, got 1000000`},
		{"endless pause", "name: x\napi: lxd\nsteps:\n  - fault: pause\n    for: 1000000h\n", `x.yaml:5:10: steps[0].for: must be from 0 to 24h0m0s, got 1000000h0m0s`},
		{"operation-error without description", "name: x\napi: lxd\nsteps:\n  - fault: operation-error\n    error: boom\n", `x.yaml:4:5: steps[0].description: missing: an operation-error needs description`},
		{"operation-error without error", "name: x\napi: lxd\nsteps:\n  - fault: operation-error\n    description: Creating instance\n", `x.yaml:4:5: steps[0].error: missing: an operation-error needs error`},
		{"operation-error after too long", "name: x\napi: lxd\nsteps:\n  - fault: operation-error\n    description: Creating instance\n    error: boom\n    after: 2h\n", `x.yaml:7:12: steps[0].after: must be from 0 to 1h0m0s, got 2h0m0s`},
		{"start-failure without instance", "name: x\napi: lxd\nsteps:\n  - fault: start-failure\n", `x.yaml:4:5: steps[0].instance: missing: a start-failure needs instance`},
		{"start-failure of another description", "name: x\napi: lxd\nsteps:\n  - fault: start-failure\n    instance: c1\n    description: Stopping instance\n", `x.yaml:6:18: steps[0].description: a start-failure fails "Starting instance" operations, got "Stopping instance"`},
		{"lxd http-error status", "name: x\napi: lxd\nsteps:\n  - fault: http-error\n    api: lxd\n    status: 302\n", `x.yaml:6:13: steps[0].status: must be an error status from 400 to 599, got 302`},
		{"linode http-error status", "name: x\napi: linode\nsteps:\n  - fault: http-error\n    status: 404\n", `x.yaml:5:13: steps[0].status: must be 500, 502, 503 or 504, got 404`},
		{"http-error method", "name: x\napi: lxd\nsteps:\n  - fault: http-error\n    api: lxd\n    method: get\n", `x.yaml:6:13: steps[0].method: must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, got "get"`},
		{"http-error path", "name: x\napi: lxd\nsteps:\n  - fault: http-error\n    api: lxd\n    path: 1.0/instances\n", `x.yaml:6:11: steps[0].path: must be a path pattern starting with /`},
		{"http-error bad pattern", "name: x\napi: lxd\nsteps:\n  - fault: http-error\n    api: lxd\n    path: /1.0/[\n", `x.yaml:6:11: steps[0].path: must be a path pattern`},
		{"operation-error for linode", "name: x\napi: [lxd, linode]\nsteps:\n  - fault: operation-error\n    api: linode\n", `x.yaml:5:10: steps[0].api: fault operation-error applies to lxd, got "linode"`},
		{"http-error for docker", "name: x\napi: lxd\nsteps:\n  - fault: http-error\n    api: docker\n", `x.yaml:5:10: steps[0].api: fault http-error applies to linode or lxd, got "docker"`},
		{"http-error for an undeclared lxd", "name: x\napi: linode\nsteps:\n  - fault: http-error\n    api: lxd\n", `x.yaml:4:5: steps[0]: a lxd step`},
		{"two kinds", "name: x\napi: lxd\nsteps:\n  - wait: 1s\n    lxd: config.update\n", `a step does one thing`},
		{"missing project", "name: x\napi: lxd\nsteps:\n  - lxd: instance.create\n    project: nope\n", `project "nope" does not exist; projects are default`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tt.src))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\ndoes not contain %q", err, tt.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid")
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, n := range builtinNames() {
		b, _ := Source(n)
		f.Add(b)
	}
	f.Add([]byte("name: x\napi: lxd\nsteps:\n  - repeat: 2\n    steps:\n      - lxd: instance.create\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		s, err := Parse("fuzz.yaml", src)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not say where: %v", err)
			}
			return
		}
		if s.Endless() {
			return
		}
		e, err := New(s, Options{})
		if err != nil {
			return
		}
		for i := 0; i < 2000; i++ {
			if _, err := e.Next(); err != nil {
				return
			}
		}
	})
}
