package conformance

import (
	"encoding/json"
	"testing"

	"github.com/eventsim/eventsim/schemas"
)

// TestShapeCacheAgreesWithSchema holds the claim behind the default
// validation mode: with the shape cache warmed on the real capture, mutated
// events get the same verdict as full schema validation.
func TestShapeCacheAgreesWithSchema(t *testing.T) {
	evs := loadCapture(t)
	c, err := NewEventChecker(EventOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		c.Observe(Observation{Raw: e})
	}
	mutations := []struct {
		name string
		f    func(ev map[string]any)
	}{
		{"unchanged", func(map[string]any) {}},
		{"bad level", func(ev map[string]any) { md(ev)["level"] = "verbose" }},
		{"bad status", func(ev map[string]any) { md(ev)["status"] = "Bogus" }},
		{"bad status_code", func(ev map[string]any) { md(ev)["status_code"] = 999 }},
		{"fractional status_code", func(ev map[string]any) { md(ev)["status_code"] = 103.5 }},
		{"bad class", func(ev map[string]any) { md(ev)["class"] = "job" }},
		{"bad timestamp", func(ev map[string]any) { ev["timestamp"] = "2026-11-21 05:26:48" }},
		{"ten fraction digits", func(ev map[string]any) { ev["timestamp"] = "2026-11-21T05:26:48.1234567890Z" }},
		{"offset timestamp", func(ev map[string]any) { ev["timestamp"] = "2026-11-21T05:26:48.1+02:00" }},
		{"bad id", func(ev map[string]any) { md(ev)["id"] = "not-a-uuid" }},
		{"upper-case id", func(ev map[string]any) { md(ev)["id"] = "2CD559CA-6BE3-440E-9CDC-7BC89CBA6EB1" }},
		{"bad created_at", func(ev map[string]any) { md(ev)["created_at"] = "yesterday" }},
		{"bad source", func(ev map[string]any) { md(ev)["source"] = "/2.0/profiles/x" }},
		{"source /1.0x", func(ev map[string]any) { md(ev)["source"] = "/1.0x" }},
		{"bad action", func(ev map[string]any) { md(ev)["action"] = "Profile_Created" }},
		{"bad type", func(ev map[string]any) { ev["type"] = "Logging" }},
		{"no metadata", func(ev map[string]any) { delete(ev, "metadata") }},
		{"numeric location", func(ev map[string]any) { ev["location"] = 3 }},
		{"context value number", func(ev map[string]any) {
			if ctx, ok := md(ev)["context"].(map[string]any); ok {
				for k := range ctx {
					ctx[k] = 1
					break
				}
			}
		}},
		{"no requestor protocol", func(ev map[string]any) {
			if req, ok := md(ev)["requestor"].(map[string]any); ok {
				delete(req, "protocol")
			}
		}},
	}
	for _, m := range mutations {
		disagree := 0
		for _, raw := range evs {
			var ev map[string]any
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatal(err)
			}
			m.f(ev)
			b, _ := json.Marshal(ev)
			full := schemas.Validate(schemas.LXDEvent, b) != nil
			fast := c.prepare(Observation{Raw: b}).schemaErr != nil
			if full != fast {
				disagree++
				if disagree < 3 {
					t.Errorf("%s: full validation says invalid=%v, shape cache says %v: %s", m.name, full, fast, b)
				}
			}
		}
	}
}

func md(ev map[string]any) map[string]any {
	m, _ := ev["metadata"].(map[string]any)
	if m == nil {
		return map[string]any{}
	}
	return m
}
