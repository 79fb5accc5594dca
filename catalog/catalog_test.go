package catalog

import (
	"strings"
	"testing"
)

func TestLXDCataloguesCoverTheirLists(t *testing.T) {
	want := map[Flavor]int{LXD50: 117, LXD6: 145, Incus: 138}
	for f, n := range want {
		c, err := LXD(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Actions) != n {
			t.Errorf("%s: %d actions, want %d", f, len(c.Actions), n)
		}
		for _, a := range c.Actions {
			if !strings.HasPrefix(a.Source, "/1.0") {
				t.Errorf("%s %s: source %q does not start with /1.0", f, a.Name, a.Source)
			}
			if strings.HasSuffix(a.Name, "-renamed") && a.Operation == "" && a.Method != "POST" {
				t.Errorf("%s %s: rename is method %q, want POST", f, a.Name, a.Method)
			}
		}
	}
	ref := LXDReferenceActions()
	if len(ref) != 108 {
		t.Fatalf("reference table: %d actions, want 108", len(ref))
	}
	c := MustLXD(LXD50)
	for _, n := range ref {
		if c.Action(n) == nil {
			t.Errorf("reference action %q missing from lxd-5.0", n)
		}
	}
}

func TestLXDSourcePath(t *testing.T) {
	c := MustLXD(LXD50)
	tests := []struct {
		name, action, project, want string
		names                       map[string]string
	}{
		{"instance default project", "instance-started", "default", "/1.0/instances/c1", map[string]string{"name": "c1"}},
		{"instance other project", "instance-started", "web", "/1.0/instances/c1?project=web", map[string]string{"name": "c1"}},
		{"project never takes project", "project-created", "web", "/1.0/projects/web", map[string]string{"name": "web"}},
		{"escaped parts", "instance-snapshot-created", "", "/1.0/instances/c1/snapshots/snap%201", map[string]string{"instance": "c1", "name": "snap 1"}},
		{"volume snapshot", "storage-volume-snapshot-created", "", "/1.0/storage-pools/p/volumes/custom/v/snapshots/s", map[string]string{"pool": "p", "type": "custom", "volume": "v", "name": "s"}},
		{"log quirk", "instance-log-retrieved", "", "/1.0/instances/c1/backups/lxc.log", map[string]string{"instance": "c1", "name": "lxc.log"}},
		{"config", "config-updated", "web", "/1.0", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Action(tt.action).SourcePath(tt.names, tt.project); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLinodeCatalogue(t *testing.T) {
	c := Linode()
	if len(c.Actions) != 192 {
		t.Fatalf("%d actions, want 192", len(c.Actions))
	}
	ref := 0
	types := map[string]bool{}
	for _, tp := range LinodeEntityTypes {
		types[tp] = true
	}
	for _, a := range c.Actions {
		if a.Reference {
			ref++
		}
		if !types[a.EntityType] {
			t.Errorf("%s: entity type %q not in the spec's enum", a.Name, a.EntityType)
		}
		if a.Long && (a.MinDuration <= 0 || a.MaxDuration < a.MinDuration) {
			t.Errorf("%s: bad duration range %v..%v", a.Name, a.MinDuration, a.MaxDuration)
		}
	}
	if ref != 116 {
		t.Errorf("%d reference actions, want 116", ref)
	}
	if b := c.Action("linode_boot"); !b.Long || b.SecondaryType != "linode_config" {
		t.Errorf("linode_boot: %+v", b)
	}
	if s := c.Action("linode_shutdown"); s.SecondaryType != "" {
		t.Errorf("linode_shutdown has a secondary entity %q, want none", s.SecondaryType)
	}
}

func TestLXDEffects(t *testing.T) {
	tests := []struct {
		action string
		effect LXDEffect
		status string
	}{
		{"instance-created", EffectCreate, "Stopped"},
		{"instance-started", EffectTouch, "Running"},
		{"instance-shutdown", EffectTouch, "Stopped"},
		{"instance-paused", EffectTouch, "Frozen"},
		{"instance-renamed", EffectRename, ""},
		{"instance-deleted", EffectDelete, ""},
		{"instance-restored", EffectUpdate, ""},
		{"instance-log-retrieved", EffectNone, ""},
		{"config-updated", EffectNone, ""},
		{"cluster-token-created", EffectNone, ""},
		{"image-secret-created", EffectNone, ""},
		{"cluster-member-added", EffectCreate, "Online"},
		{"warning-acknowledged", EffectUpdate, "Acknowledged"},
		{"network-zone-record-deleted", EffectDelete, ""},
	}
	c := MustLXD(LXD50)
	for _, tt := range tests {
		a := c.Action(tt.action)
		if a.Effect != tt.effect || a.Status != tt.status {
			t.Errorf("%s: effect %s status %q, want %s %q", tt.action, a.Effect, a.Status, tt.effect, tt.status)
		}
	}
}

func TestLXDMatchSource(t *testing.T) {
	c := MustLXD(LXD50)
	tests := []struct {
		action, path string
		want         []string
		ok           bool
	}{
		{"instance-snapshot-created", "/1.0/instances/c1/snapshots/snap0", []string{"c1", "snap0"}, true},
		{"storage-volume-created", "/1.0/storage-pools/p/volumes/custom/v", []string{"p", "custom", "v"}, true},
		{"instance-created", "/1.0/instances/c1/snapshots/s", nil, false},
		{"instance-created", "/1.0/instances/", nil, false},
		{"instance-created", "/1.0/profiles/c1", nil, false},
		{"config-updated", "/1.0", []string{}, true},
	}
	for _, tt := range tests {
		got, ok := c.Action(tt.action).MatchSource(tt.path, nil)
		if ok != tt.ok || (ok && strings.Join(got, "|") != strings.Join(tt.want, "|")) {
			t.Errorf("%s %q: %q %v, want %q %v", tt.action, tt.path, got, ok, tt.want, tt.ok)
		}
	}
}
