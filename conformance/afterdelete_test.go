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
