package scenarios

import "testing"

// deleteVerbs is built from lxdVerbs by ranging over a map: it is only
// deterministic if no kind has two verbs that remove it.
func TestOneDeleteVerbPerKind(t *testing.T) {
	seen := map[string]string{}
	for name, v := range lxdVerbs {
		if !v.remove {
			continue
		}
		if other, ok := seen[v.kind]; ok {
			t.Errorf("kind %s is removed by both %s and %s", v.kind, other, name)
		}
		seen[v.kind] = name
	}
	for kind, name := range seen {
		if got := deleteVerb(kind); got != name {
			t.Errorf("deleteVerb(%s) = %q, want %q", kind, got, name)
		}
	}
	if got := deleteVerb("server"); got != "" {
		t.Errorf("deleteVerb(server) = %q, want none", got)
	}
}

func TestStateIn(t *testing.T) {
	for _, c := range []struct {
		need, state string
		want        bool
	}{
		{"stopped", "stopped", true},
		{"stopped", "running", false},
		{"running|frozen", "frozen", true},
		{"running|frozen", "running", true},
		{"running|frozen", "stopped", false},
		{"running|frozen", "running|frozen", false},
		{"", "", false},
	} {
		if got := stateIn(c.need, c.state); got != c.want {
			t.Errorf("stateIn(%q, %q) = %v, want %v", c.need, c.state, got, c.want)
		}
	}
}
