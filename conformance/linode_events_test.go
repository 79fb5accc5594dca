package conformance

import (
	"fmt"
	"strings"
	"testing"
)

// lnEv is a valid Linode Event with the given fields replaced (raw JSON values).
func lnEv(id int, set map[string]string) []byte {
	f := map[string]string{
		"action": `"linode_boot"`, "created": `"2026-11-21T05:00:00"`, "duration": "null",
		"entity":  `{"id":123,"label":"web1","type":"linode","url":"/v4/linode/instances/123"}`,
		"message": "null", "percent_complete": "null", "rate": "null", "read": "false", "seen": "false",
		"status": `"notification"`, "time_remaining": "null", "username": `"alice"`,
	}
	for k, v := range set {
		f[k] = v
	}
	var b strings.Builder
	fmt.Fprintf(&b, `{"id":%d`, id)
	for _, k := range []string{"action", "created", "duration", "entity", "message", "percent_complete", "rate", "read", "seen", "status", "time_remaining", "username"} {
		fmt.Fprintf(&b, `,%q:%s`, k, f[k])
	}
	b.WriteString("}")
	return []byte(b.String())
}

func checkLinodeEvents(t *testing.T, evs ...[]byte) map[string]Result {
	t.Helper()
	c, err := NewLinodeEventChecker(LinodeEventOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		c.Observe(Observation{Raw: e})
	}
	out := map[string]Result{}
	for _, r := range c.Results() {
		out[r.ID] = r
	}
	return out
}

// TestLinodeEntityIDRule: entity.id is an integer for linode, volume,
// domain, nodebalancer, disks, backups and the other numbered entities, and
// the tag's name for tag; a Linode event breaking it fails the check.
func TestLinodeEntityIDRule(t *testing.T) {
	ent := func(id, typ string) map[string]string {
		return map[string]string{"entity": fmt.Sprintf(`{"id":%s,"label":"x","type":%q,"url":"/v4/x"}`, id, typ)}
	}
	tests := []struct {
		name   string
		entity map[string]string
		want   Status
	}{
		{"linode, integer", ent("123", "linode"), Pass},
		{"linode, string", ent(`"123"`, "linode"), Fail},
		{"linode, null", ent("null", "linode"), Fail},
		{"linode, fraction", ent("1.5", "linode"), Fail},
		{"volume, string", ent(`"vol"`, "volume"), Fail},
		{"domain, integer", ent("7", "domain"), Pass},
		{"nodebalancer, string", ent(`"7"`, "nodebalancer"), Fail},
		{"disks, string", ent(`"7"`, "disks"), Fail},
		{"backups, string", ent(`"7"`, "backups"), Fail},
		{"tag, its name", ent(`"prod"`, "tag"), Pass},
		{"tag, an integer", ent("5", "tag"), Fail},
		{"tag, empty", ent(`""`, "tag"), Fail},
		{"account: no id, not checked", ent("null", "account"), Skip},
		{"a type the spec does not list", ent(`"x"`, "newthing"), Skip},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := checkLinodeEvents(t, lnEv(1, tc.entity))[IDLinodeEntity]
			if r.Status != tc.want {
				t.Fatalf("%s: %s %+v, want %s", IDLinodeEntity, r.Status, r.Findings, tc.want)
			}
			if tc.want == Fail && !strings.Contains(r.Findings[0].Problem, "entity.id is") {
				t.Errorf("finding %q does not say what entity.id is", r.Findings[0].Problem)
			}
		})
	}
}

// TestLinodeProgression: an Event seen again may only move forward.
func TestLinodeProgression(t *testing.T) {
	st := func(status, pct, seen string) map[string]string {
		return map[string]string{"status": `"` + status + `"`, "percent_complete": pct, "seen": seen}
	}
	tests := []struct {
		name   string
		states []map[string]string
		want   Status
	}{
		{"scheduled, started, finished", []map[string]string{st("scheduled", "0", "false"), st("started", "40", "false"), st("started", "80", "true"), st("finished", "100", "true")}, Pass},
		{"started, failed", []map[string]string{st("started", "10", "false"), st("failed", "10", "false")}, Pass},
		{"finished, started", []map[string]string{st("started", "50", "false"), st("finished", "100", "false"), st("started", "100", "false")}, Fail},
		{"percent going back", []map[string]string{st("started", "50", "false"), st("started", "20", "false")}, Fail},
		{"seen unset", []map[string]string{st("notification", "null", "true"), st("notification", "null", "false")}, Fail},
		{"identity changed", []map[string]string{st("started", "1", "false"), {"status": `"started"`, "percent_complete": "2", "action": `"linode_reboot"`}}, Fail},
		{"seen once", []map[string]string{st("started", "1", "false")}, Skip},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var evs [][]byte
			for _, s := range tc.states {
				evs = append(evs, lnEv(9, s))
			}
			r := checkLinodeEvents(t, evs...)[IDLinodeProgression]
			if r.Status != tc.want {
				t.Fatalf("%s: %s %s %+v, want %s", IDLinodeProgression, r.Status, r.Note, r.Findings, tc.want)
			}
		})
	}
}
