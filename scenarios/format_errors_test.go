package scenarios

import (
	"errors"
	"strings"
	"testing"
)

// TestEveryMistakeInAFileIsReported: Parse reports every mistake of a file,
// each with its line, column and field, in file order, as docs/scenarios.md
// promises; it used to stop at the first.
func TestEveryMistakeInAFileIsReported(t *testing.T) {
	src := `name: Bad_Name
api: [lxd, linode]
colour: blue
lxd:
  event_mode: star
steps:
  - lxd: instance.create
    nme: web1
  - lxd: instance.strat
  - wait: soon
  - mix:
      rate: lots
      verbs:
        - lxd: instance.start
          weight: 0
        - linode: linode.boot
          label: [a, b]
  - lxd: image.alias
  - linode: linode.create
    async: maybe
`
	_, err := Parse("bad.yaml", []byte(src))
	if err == nil {
		t.Fatal("no error")
	}
	want := []string{
		"bad.yaml:3:1: colour: unknown field",
		"bad.yaml:1:7: name: invalid name \"Bad_Name\"",
		"bad.yaml:5:15: lxd.event_mode: unknown event mode \"star\"",
		"bad.yaml:8:5: steps[0].nme: unknown field \"nme\"",
		"(did you mean \"name\"?)",
		"bad.yaml:9:10: steps[1].lxd: unknown verb \"instance.strat\"",
		"bad.yaml:10:11: steps[2].wait: must be a duration",
		"bad.yaml:12:13: steps[3].mix.rate: invalid rate \"lots\"",
		"bad.yaml:15:19: steps[3].mix.verbs[0].weight: must be at least 1, got 0",
		"bad.yaml:17:18: steps[3].mix.verbs[1].label: must be a string, got a list",
		"bad.yaml:18:5: steps[4].alias: missing: verb image.alias needs alias",
		"bad.yaml:20:12: steps[5].async: must be true or false, got \"maybe\"",
	}
	msg := err.Error()
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("the report does not say %q; it says:\n%s", w, msg)
		}
	}
	var es Errors
	if !errors.As(err, &es) || len(es) != len(want)-1 {
		t.Errorf("got %d mistakes, want %d:\n%s", len(es), len(want)-1, msg)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Error("the report does not wrap ErrInvalid")
	}
	var one *Error
	if !errors.As(err, &one) || one.Pos.Line != 3 {
		t.Errorf("errors.As gives %v, want the first mistake", one)
	}
}

// TestYAMLSyntaxErrorsSayLineAndColumn: a YAML syntax error names the line
// and column of the problem. A tab on line 5 used to be reported on line 4,
// column 0.
func TestYAMLSyntaxErrorsSayLineAndColumn(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"tab in indentation", "name: x\napi: lxd\nsteps:\n  - lxd: instance.create\n\tname: web\n", "x.yaml:5:1: not valid YAML: found a tab character that violates indentation"},
		{"tab after spaces", "name: x\napi: lxd\nsteps:\n  - lxd: instance.create\n  \t name: web\n", "x.yaml:5:3: not valid YAML: found a tab character"},
		{"character that starts no token", "name: x\n@api: lxd\n", "x.yaml:2:1: not valid YAML: found character that cannot start any token"},
		{"mapping value out of place", "name: x\napi: lxd\n  bad: indent\nsteps: []\n", "x.yaml:3:6: not valid YAML: mapping values are not allowed in this context"},
		{"unclosed flow list", "name: x\napi: lxd\nsteps:\n  - lxd: instance.create\n    name: [web\n", "x.yaml:4:3: not valid YAML: did not find expected ',' or ']'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}

// TestStepsForAnUndeclaredAPIAreMistakes: a step for an API the scenario
// does not list under api: used to play nothing, silently.
func TestStepsForAnUndeclaredAPIAreMistakes(t *testing.T) {
	tests := []struct {
		name, steps, want string
	}{
		{"verb", "  - linode: linode.create\n", "s.yaml:4:5: steps[0]: a linode step, but the scenario's api is [lxd]: add linode to api"},
		{"in a repeat", "  - repeat: 2\n    steps:\n      - linode: linode.create\n", "s.yaml:6:9: steps[0].steps[0]: a linode step"},
		{"in a mix", "  - mix:\n      rate: 1/s\n      count: 1\n      verbs:\n        - lxd: instance.create\n        - linode: linode.boot\n", "s.yaml:9:11: steps[0].mix.verbs[1]: a linode step"},
		{"in a track", "  - parallel:\n      - steps: [{wait: 1s}]\n      - steps: [{linode: linode.create}]\n", "s.yaml:6:17: steps[0].parallel[1].steps[0]: a linode step"},
		{"emit", "  - emit:\n      linode: {id: 1, action: linode_boot, status: finished}\n", "s.yaml:4:5: steps[0]: a linode step"},
		{"fault", "  - fault: rate-limit\n", "s.yaml:4:5: steps[0]: a linode step"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("s.yaml", []byte("name: s\napi: [lxd]\nsteps:\n"+tt.steps))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := Parse("s.yaml", []byte("name: s\napi: [lxd, linode]\nsteps:\n  - linode: linode.create\n  - lxd: instance.create\n")); err != nil {
		t.Errorf("both APIs declared: %v", err)
	}
}
