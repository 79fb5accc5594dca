package scenarios

import (
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/eventsim/eventsim/catalog"
)

// TestLifecycleRecordsCarryTheirAction holds every lifecycle record the
// engine makes, by a verb, a catalogue tour or an emit step, to carry the
// action and old_name its JSON says, so that servers need not read the
// bytes to follow what a record does.
func TestLifecycleRecordsCarryTheirAction(t *testing.T) {
	emit, err := Parse("emit.yaml", []byte(`name: emit
api: lxd
steps:
  - emit:
      lxd:
        type: lifecycle
        project: p9
        metadata: {action: project-renamed, source: /1.0/projects/p9, context: {old_name: p8}}
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		flavor catalog.Flavor
		scen   func() (*Scenario, error)
	}{
		{"lxd-catalogue-tour", catalog.LXD50, func() (*Scenario, error) { return Load("lxd-catalogue-tour") }},
		{"lxd-catalogue-tour incus", catalog.Incus, func() (*Scenario, error) { return Load("lxd-catalogue-tour") }},
		{"lxd-projects", catalog.LXD50, func() (*Scenario, error) { return Load("lxd-projects") }},
		{"emit step", catalog.LXD50, func() (*Scenario, error) { return emit, nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := tc.scen()
			if err != nil {
				t.Fatal(err)
			}
			eng, err := New(s, Options{Flavor: tc.flavor})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for n < 20000 {
				r, err := eng.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				var ev struct {
					Type     string `json:"type"`
					Metadata struct {
						Action  string         `json:"action"`
						Context map[string]any `json:"context"`
					} `json:"metadata"`
				}
				if err := json.Unmarshal(r.AppendJSON(nil), &ev); err != nil {
					t.Fatal(err)
				}
				old, _ := ev.Metadata.Context["old_name"].(string)
				if ev.Type != "lifecycle" {
					if r.Action != "" {
						t.Fatalf("a %s record carries action %q", ev.Type, r.Action)
					}
					continue
				}
				n++
				if r.Action != ev.Metadata.Action || r.OldName != old {
					t.Fatalf("record carries action %q old_name %q, its JSON says %q %q", r.Action, r.OldName, ev.Metadata.Action, old)
				}
			}
			if n == 0 {
				t.Fatal("no lifecycle records")
			}
		})
	}
}
