package fold_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/eventsim/eventsim/fold"
)

type ev struct{ kind, name string }

type world struct {
	objs map[string]bool
	log  []string
}

func TestApply(t *testing.T) {
	f := fold.New[*world](func(e ev) string { return e.kind }).
		Before(func(w *world, e ev) error { w.log = append(w.log, "before "+e.kind); return nil }).
		On(func(w *world, e ev) error { w.objs[e.name] = true; return nil }, "created", "renamed-to").
		On(func(w *world, e ev) error { delete(w.objs, e.name); return nil }, "deleted").
		On(func(w *world, e ev) error { return errors.New("refused") }, "broken").
		Otherwise(func(w *world, e ev) error { w.log = append(w.log, "other "+e.kind); return nil }).
		After(func(w *world, e ev) error { w.log = append(w.log, "after "+e.kind); return nil })

	tests := []struct {
		name    string
		events  []ev
		objs    []string
		log     []string
		wantErr bool
	}{
		{name: "create then delete", events: []ev{{"created", "a"}, {"created", "b"}, {"deleted", "a"}},
			objs: []string{"b"}, log: []string{"before created", "after created", "before created", "after created", "before deleted", "after deleted"}},
		{name: "unknown kind goes to Otherwise", events: []ev{{"poked", "x"}},
			log: []string{"before poked", "other poked", "after poked"}},
		{name: "error stops before After", events: []ev{{"broken", "x"}},
			log: []string{"before broken"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := &world{objs: map[string]bool{}}
			var err error
			for _, e := range tc.events {
				if err = f.Apply(w, e); err != nil {
					break
				}
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			var objs []string
			for k := range w.objs {
				objs = append(objs, k)
			}
			slices.Sort(objs)
			if !slices.Equal(objs, tc.objs) {
				t.Errorf("objects = %v, want %v", objs, tc.objs)
			}
			if !slices.Equal(w.log, tc.log) {
				t.Errorf("log = %v, want %v", w.log, tc.log)
			}
		})
	}
	if !f.Known("renamed-to") || f.Known("poked") {
		t.Error("Known does not match the registered kinds")
	}
}

func TestOnTwicePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("registering a kind twice did not panic")
		}
	}()
	r := func(*world, ev) error { return nil }
	fold.New[*world](func(e ev) string { return e.kind }).On(r, "x").On(r, "x")
}

// TestManyRules: past a few kinds the rules are found by hashing, not by a
// scan; every kind still reaches its own rule and an unknown one Otherwise.
func TestManyRules(t *testing.T) {
	for _, n := range []int{1, 4, 5, 40} {
		f := fold.New[*world](func(e ev) string { return e.kind }).
			Otherwise(func(w *world, e ev) error { w.log = append(w.log, "other"); return nil })
		var kinds []string
		for i := range n {
			k := string(rune('a'+i%26)) + string(rune('0'+i/26))
			kinds = append(kinds, k)
			f.On(func(w *world, e ev) error { w.log = append(w.log, k); return nil }, k)
		}
		w := &world{}
		for _, k := range kinds {
			if err := f.Apply(w, ev{kind: k}); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.Apply(w, ev{kind: "unknown"}); err != nil {
			t.Fatal(err)
		}
		if want := append(slices.Clone(kinds), "other"); !slices.Equal(w.log, want) {
			t.Errorf("%d rules: log = %v, want %v", n, w.log, want)
		}
	}
}
