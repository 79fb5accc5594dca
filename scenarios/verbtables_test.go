package scenarios

import (
	"fmt"
	"math/rand"
	"testing"
	"time"
)

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
	for verb := range lxdVerbs {
		// The verb as written (its template made per engine, in cache)
		// and as played (made once, in lxdVerbRefs).
		for _, v := range []lxdVerb{lxdVerbs[verb], *lxdVerbRefs[verb]} {
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
						t.Errorf("%s with name %q (template made once: %v): body\n%s\nwant\n%s", verb, n, v.tmplReady, got, want)
					}
					if got := req.requestMessage(cache).text; want != "" && got != "API Request"+want || want == "" && got != "" {
						t.Errorf("%s with name %q (template made once: %v): message %q, want %q", verb, n, v.tmplReady, got, "API Request"+want)
					}
					if m := req.requestMessage(cache); m.json != "" && m.json != string(appendString(nil, m.text)) {
						t.Errorf("%s with name %q: message made ahead as %s, encodes as %s", verb, n, m.json, appendString(nil, m.text))
					}
				}
			}
			req := &lxdRequest{verb: verb, verbDef: v}
			vals, c := req.bodyValues()
			if got, want := req.requestBody(cache), req.requestBodySlow(vals, c); got != want {
				t.Errorf("%s without entity (template made once: %v): body %q, want %q", verb, v.tmplReady, got, want)
			}
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

// The pending heap gives items back by time, then by order of scheduling,
// whether they came alone or in runs (what one step schedules), the same
// order as a list searched for its smallest item each time.
func TestPendingHeapOrder(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var h pendingHeap
	var want []pendingItem // everything pushed and not yet popped
	var seq uint64
	run := int32(-1) // the run a step would extend: none once anything is popped
	pop := func() {
		t.Helper()
		min := 0
		for i, o := range want {
			if o.at.Before(want[min].at) || o.at.Equal(want[min].at) && o.seq < want[min].seq {
				min = i
			}
		}
		if got := h.pop(); got.at != want[min].at || got.seq != want[min].seq {
			t.Fatalf("popped %v/%d, want %v/%d", got.at, got.seq, want[min].at, want[min].seq)
		}
		want = append(want[:min], want[min+1:]...)
		run = -1
	}
	extended, refused := 0, 0
	for i := 0; i < 20000; i++ {
		if h.Len() == 0 || rng.Intn(3) > 0 {
			seq++
			// Few distinct times, so ties on time are common.
			it := pendingItem{at: base.Add(time.Duration(rng.Intn(50)) * time.Millisecond), seq: seq}
			want = append(want, it)
			if run >= 0 && rng.Intn(2) == 0 {
				if h.extend(run, it) {
					extended++
					continue
				}
				refused++ // it comes before the run's last item
			}
			run = h.push(it)
			continue
		}
		pop()
	}
	if len(want) < 100 || extended < 1000 || refused < 1000 {
		t.Fatalf("%d items left to drain, %d runs extended, %d extensions refused: the test does not test", len(want), extended, refused)
	}
	for len(want) > 0 {
		pop()
	}
	if h.Len() != 0 {
		t.Fatalf("%d runs left in an empty heap", h.Len())
	}
}

// pick reads entInfo rather than the entities: it must always say what the
// entities say, and every entity must know its slot.
func TestRegistryInfoFollowsEntities(t *testing.T) {
	for _, name := range []string{"lxd-steady", "lxd-catalogue-tour", "lxd-cluster", "lxd-projects", "lxd-instance-lifecycle", "demo"} {
		e, err := New(mustLoad(t, name), Options{Loop: true})
		if err != nil {
			t.Fatal(err)
		}
		checked := 0
		for i := 0; i < 60000; i++ {
			if _, err := e.Next(); err != nil {
				t.Fatal(err)
			}
			if i%97 != 0 {
				continue
			}
			for kind, r := range e.lxd.objs {
				if len(r.info) != len(r.list) {
					t.Fatalf("%s: %s: %d infos for %d entities", name, kind, len(r.info), len(r.list))
				}
				for j, x := range r.list {
					if x.slot != j {
						t.Fatalf("%s: %s %s: slot %d, at %d", name, kind, x.name, x.slot, j)
					}
					if r.info[j] != r.infoOf(x) {
						t.Fatalf("%s: %s %s: info %+v, entity says %+v", name, kind, x.name, r.info[j], r.infoOf(x))
					}
					checked++
				}
			}
		}
		if checked == 0 {
			t.Fatalf("%s: no entity checked", name)
		}
	}
}

// petname draws from gofakeit's word lists itself: it must give what
// gofakeit gives from the same seed, draw for draw.
func TestPetnameIsGofakeit(t *testing.T) {
	mine := newFaker(rand.New(rand.NewSource(7)))
	theirs := newFaker(rand.New(rand.NewSource(7)))
	for i := range 20000 {
		want := clean(theirs.f.AdjectiveDescriptive()) + "-" + clean(theirs.f.Animal())
		if got := mine.petname(); got != want {
			t.Fatalf("draw %d: petname %q, gofakeit %q", i, got, want)
		}
	}
}

// A registry's remembered busy bounds hold whatever happens to its objects:
// no object a remembered filter matches is free before the bound, so a pick
// that trusts the bound finds nothing only when a scan would find nothing.
func TestRegistryBusyBoundsHold(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	ids := interned{ids: map[string]int32{}, regs: map[string]*registry{}, limit: 1024}
	r := &registry{idx: map[entKey]int{}, projects: &ids}
	ids.regs["instance"] = r
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	projects, states, parents := []string{"default", "team-a"}, []string{"stopped", "running", "frozen"}, []string{"", "p1"}
	needs := []string{"", "stopped", "running", "running|frozen"}
	randomFilter := func() pickFilter {
		need := needs[rng.Intn(len(needs))]
		return pickFilter{project: ids.id(projects[rng.Intn(2)]), parent: parents[rng.Intn(2)], needBits: stateBits(need), anyState: need == "", skipDefault: rng.Intn(2) == 0}
	}
	remembered := 0
	for step := 0; step < 20000; step++ {
		switch op := rng.Intn(10); {
		case op < 3 && len(r.list) < 60:
			x := &entity{kind: "instance", project: projects[rng.Intn(2)], parent: parents[rng.Intn(2)], name: fmt.Sprintf("i%d", step),
				state: states[rng.Intn(3)], busyUntil: base.Add(time.Duration(rng.Intn(1000)) * time.Millisecond), outside: rng.Intn(10) == 0}
			if rng.Intn(20) == 0 {
				x.name = "default"
			}
			r.add(x)
		case op < 6 && len(r.list) > 0:
			x := r.list[rng.Intn(len(r.list))]
			x.state = states[rng.Intn(3)]
			x.busyUntil = base.Add(time.Duration(rng.Intn(1000)) * time.Millisecond)
			r.sync(x)
		case op < 7 && len(r.list) > 0:
			r.remove(r.list[rng.Intn(len(r.list))])
		default:
			f := randomFilter()
			r.rememberBusy(&f)
			remembered++
		}
		for i := range r.busyLen {
			b := &r.busy[i]
			for j := range r.info {
				if in := &r.info[j]; b.f.matches(in) && (in.busySec < b.sec || in.busySec == b.sec && in.busyNsec < b.nsec) {
					t.Fatalf("step %d: %s is free at %d.%09d, before the bound %d.%09d remembered for %+v", step, r.list[j].name, in.busySec, in.busyNsec, b.sec, b.nsec, b.f)
				}
			}
		}
	}
	if remembered < 1000 || r.busyLen != len(r.busy) {
		t.Fatalf("%d bounds remembered, %d kept: the test does not test", remembered, r.busyLen)
	}
}
