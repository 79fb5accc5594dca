package conformance

import (
	"fmt"
	"testing"
)

func TestLifecycleAfterDelete(t *testing.T) {
	ev := func(i int, action, source, ctx string) []byte {
		if ctx == "" {
			ctx = "null"
		}
		return fmt.Appendf(nil, `{"type":"lifecycle","timestamp":"2026-01-01T00:00:%02dZ","metadata":{"action":%q,"source":%q,"context":%s},"location":"none","project":"default"}`, i, action, source, ctx)
	}
	snap := func(i int, instance string) []byte {
		return ev(i, "instance-snapshot-created", "/1.0/instances/"+instance+"/snapshots/snap0", "")
	}
	created := ev(1, "instance-created", "/1.0/instances/c1", `{"type":"container","storage-pool":"default"}`)
	deleted := ev(2, "instance-deleted", "/1.0/instances/c1", "")
	tests := []struct {
		name   string
		events [][]byte
		want   Status
	}{
		{"made, deleted", [][]byte{created, deleted}, Pass},
		{"made again after deletion", [][]byte{created, deleted, ev(3, "instance-created", "/1.0/instances/c1", `{"type":"container","storage-pool":"default"}`), ev(4, "instance-started", "/1.0/instances/c1", "")}, Pass},
		{"started after deletion", [][]byte{created, deleted, ev(3, "instance-started", "/1.0/instances/c1", "")}, Fail},
		{"deleted twice", [][]byte{created, deleted, ev(3, "instance-deleted", "/1.0/instances/c1", "")}, Fail},
		{"old name after rename", [][]byte{created, ev(2, "instance-renamed", "/1.0/instances/c2", `{"old_name":"c1"}`), ev(3, "instance-updated", "/1.0/instances/c1", "")}, Fail},
		{"new name after rename", [][]byte{created, ev(2, "instance-renamed", "/1.0/instances/c2", `{"old_name":"c1"}`), ev(3, "instance-updated", "/1.0/instances/c2", "")}, Pass},
		// lxd-instance-lifecycle as it loops: c2 and its snapshot are
		// deleted, then c1 is made with a snapshot and renamed onto c2,
		// which brings c2/snap0 back; deleting c2 deletes it first.
		{"snapshot brought back by a rename", [][]byte{
			created, snap(2, "c1"), ev(3, "instance-renamed", "/1.0/instances/c2", `{"old_name":"c1"}`),
			ev(4, "instance-snapshot-deleted", "/1.0/instances/c2/snapshots/snap0", ""), ev(5, "instance-deleted", "/1.0/instances/c2", ""),
			ev(6, "instance-created", "/1.0/instances/c1", `{"type":"container","storage-pool":"default"}`), snap(7, "c1"), ev(8, "instance-renamed", "/1.0/instances/c2", `{"old_name":"c1"}`),
			ev(9, "instance-snapshot-deleted", "/1.0/instances/c2/snapshots/snap0", ""), ev(10, "instance-deleted", "/1.0/instances/c2", ""),
		}, Pass},
		{"snapshot deleted twice under a parent that was not made again", [][]byte{
			created, snap(2, "c1"), ev(3, "instance-snapshot-deleted", "/1.0/instances/c1/snapshots/snap0", ""),
			ev(4, "instance-snapshot-deleted", "/1.0/instances/c1/snapshots/snap0", ""),
		}, Fail},
		{"snapshot of the old name after a rename", [][]byte{
			created, snap(2, "c1"), ev(3, "instance-snapshot-deleted", "/1.0/instances/c1/snapshots/snap0", ""), ev(4, "instance-renamed", "/1.0/instances/c2", `{"old_name":"c1"}`),
			ev(5, "instance-snapshot-deleted", "/1.0/instances/c1/snapshots/snap0", ""),
		}, Fail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewEventChecker(EventOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range tt.events {
				c.Observe(Observation{Raw: e})
			}
			for _, r := range c.Results() {
				if r.ID == IDLifecycleAfterDelete && r.Status != tt.want {
					t.Errorf("%s: %s %+v, want %s", r.ID, r.Status, r.Findings, tt.want)
				}
			}
		})
	}
}
