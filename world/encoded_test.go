package world

import (
	"testing"

	"github.com/eventsim/eventsim/catalog"
)

// TestEncodedDroppedOnChange: an encoding kept with an instance lasts until
// the instance or one of its children changes, and the version moves with
// every change to any object; events on other objects keep the encoding,
// and operations and logging change neither.
func TestEncodedDroppedOnChange(t *testing.T) {
	c1 := lc("instance-created", "/1.0/instances/c1", "default", `{"type":"container"}`)
	c2 := lc("instance-created", "/1.0/instances/c2", "default", `{"type":"container"}`)
	tests := []struct {
		name  string
		event []byte
		kept  bool // whether c1's encoding survives the event
		quiet bool // whether the version stays
	}{
		{"started", lc("instance-started", "/1.0/instances/c1", "default", ""), false, false},
		{"updated", lc("instance-updated", "/1.0/instances/c1", "default", ""), false, false},
		{"snapshot made", lc("instance-snapshot-created", "/1.0/instances/c1/snapshots/s0", "default", ""), false, false},
		{"made again", c1, false, false},
		{"another instance started", lc("instance-started", "/1.0/instances/c2", "default", ""), true, false},
		{"a profile made", lc("profile-created", "/1.0/profiles/p1", "default", ""), true, false},
		{"an operation", []byte(`{"type":"operation","timestamp":"2026-01-01T00:00:02Z","metadata":{"id":"x","status":"Running","status_code":103},"project":"default"}`), true, true},
		{"logging", []byte(`{"type":"logging","timestamp":"2026-01-01T00:00:02Z","metadata":{"message":"m","level":"debug","context":{}}}`), true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := New(catalog.LXD50)
			apply(t, w, c1, c2)
			o := w.Instance("default", "c1")
			o.SetEncoded(0, []byte("zero"))
			o.SetEncoded(1, []byte("one"))
			v := w.Version()
			apply(t, w, tc.event)
			if got := o.Encoded(0) != nil && o.Encoded(1) != nil; got != tc.kept {
				t.Errorf("encodings kept = %v (%q, %q), want %v", got, o.Encoded(0), o.Encoded(1), tc.kept)
			}
			if changed := w.Version() != v; changed == tc.quiet {
				t.Errorf("version changed = %v, want %v", changed, !tc.quiet)
			}
		})
	}

	// A snapshot's removal, and the instance's rename, drop it too.
	w := New(catalog.LXD50)
	apply(t, w, c1, lc("instance-snapshot-created", "/1.0/instances/c1/snapshots/s0", "default", ""))
	o := w.Instance("default", "c1")
	o.SetEncoded(1, []byte("one"))
	apply(t, w, lc("instance-snapshot-deleted", "/1.0/instances/c1/snapshots/s0", "default", ""))
	if o.Encoded(1) != nil {
		t.Error("encoding kept after the instance's snapshot was deleted")
	}
	o.SetEncoded(1, []byte("one"))
	apply(t, w, lc("instance-renamed", "/1.0/instances/c9", "default", `{"old_name":"c1"}`))
	if o.Encoded(1) != nil {
		t.Error("encoding kept after the instance was renamed")
	}
}
