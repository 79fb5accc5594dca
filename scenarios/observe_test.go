package scenarios

import (
	"strings"
	"testing"
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
