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

// The cached body templates must give exactly what filling the template and
// pretty-printing it gives, for every verb and for awkward names.
func TestRequestBodyTemplatesMatchSlowPath(t *testing.T) {
	names := []string{"web1", "a<b>&c", "ünï✓", "line\u2028sep", `quo"te`, `back\slash`, "bad\xffutf8", "{name}", "tab\there", ""}
	cache := map[string]*bodyTemplate{}
	for verb, v := range lxdVerbs {
		if v.body == "" {
			continue
		}
		for _, n := range names {
			for _, cmd := range []any{nil, []any{"/bin/sh", "-c", "uptime"}, []any{"echo", "<x>"}} {
				req := &lxdRequest{verb: verb, verbDef: v, newName: n + "2", child: "snap" + n,
					entity:  &entity{kind: v.kind, name: n, parent: "default/" + n, typ: "virtual-machine"},
					context: map[string]any{"command": cmd}}
				vals, c := req.bodyValues()
				want := req.requestBodySlow(vals, c)
				if got := req.requestBody(cache); got != want {
					t.Errorf("%s with name %q: body\n%s\nwant\n%s", verb, n, got, want)
				}
			}
		}
		req := &lxdRequest{verb: verb, verbDef: v}
		vals, c := req.bodyValues()
		if got, want := req.requestBody(cache), req.requestBodySlow(vals, c); got != want {
			t.Errorf("%s without entity: body %q, want %q", verb, got, want)
		}
	}
	if len(cache) == 0 {
		t.Fatal("no body template was cached")
	}
}

// pick filters states by bits; they must agree with stateIn for every need a
// verb has and every state a verb leaves.
func TestStateBitsAgreeWithStateIn(t *testing.T) {
	states := map[string]bool{"": true}
	needs := map[string]bool{}
	for _, v := range lxdVerbs {
		states[v.to] = true
		if v.need != "" {
			needs[v.need] = true
		}
	}
	for need := range needs {
		for state := range states {
			if got, want := stateBit(state)&stateBits(need) != 0, stateIn(need, state); got != want {
				t.Errorf("need %q, state %q: bits say %v, stateIn says %v", need, state, got, want)
			}
		}
	}
}
