// Package fold is how a simulated world changes: its state is a fold of the
// events applied to it, one at a time, in order. A Folder holds the rules
// (one per kind of event) and applies each event to a state; it knows
// nothing of the state's or the events' types, so the Linode account
// (package account) and an LXD world can share the mechanism without
// sharing types.
//
// A Folder holds no lock: the state's owner serialises Apply with its reads.
package fold

import "fmt"

// Rule changes state s by one event e.
type Rule[S, E any] func(s S, e E) error

// Folder applies events to a state of type S by the rule registered for
// each event's kind.
type Folder[S, E any] struct {
	kind  func(E) string
	rules map[string]Rule[S, E]
	// few holds the rules again, in order, while there are at most
	// fewRules of them: a scan of a few kinds is cheaper than hashing the
	// kind, and a world folds millions of events a second.
	few    []kindRule[S, E]
	before []Rule[S, E]
	after  []Rule[S, E]
	other  Rule[S, E]
}

// fewRules is how many rules a Folder finds by scanning instead of hashing.
const fewRules = 4

type kindRule[S, E any] struct {
	kind string
	rule Rule[S, E]
}

// New returns a Folder that finds an event's kind with kind.
func New[S, E any](kind func(E) string) *Folder[S, E] {
	return &Folder[S, E]{kind: kind, rules: map[string]Rule[S, E]{}}
}

// On registers the rule for events of the given kinds; a kind registered
// twice is a programming error and panics.
func (f *Folder[S, E]) On(r Rule[S, E], kinds ...string) *Folder[S, E] {
	for _, k := range kinds {
		if _, dup := f.rules[k]; dup {
			panic(fmt.Sprintf("fold: two rules for kind %q", k))
		}
		f.rules[k] = r
		f.few = append(f.few, kindRule[S, E]{k, r})
	}
	if len(f.rules) > fewRules {
		f.few = nil
	}
	return f
}

// Otherwise registers the rule for events of a kind with no rule of its
// own; without one such events change nothing.
func (f *Folder[S, E]) Otherwise(r Rule[S, E]) *Folder[S, E] {
	f.other = r
	return f
}

// Before registers a rule run on every event before its kind's rule, After
// one run after it (when the kind's rule succeeded).
func (f *Folder[S, E]) Before(r Rule[S, E]) *Folder[S, E] {
	f.before = append(f.before, r)
	return f
}

// After registers a rule run on every event after its kind's rule.
func (f *Folder[S, E]) After(r Rule[S, E]) *Folder[S, E] {
	f.after = append(f.after, r)
	return f
}

// Apply folds one event into s: the Before rules, the rule of its kind (or
// the Otherwise rule), then the After rules. It stops at the first error.
func (f *Folder[S, E]) Apply(s S, e E) error {
	for _, r := range f.before {
		if err := r(s, e); err != nil {
			return err
		}
	}
	r := f.rule(f.kind(e))
	if r != nil {
		if err := r(s, e); err != nil {
			return err
		}
	}
	for _, r := range f.after {
		if err := r(s, e); err != nil {
			return err
		}
	}
	return nil
}

// rule returns the rule for kind, or the Otherwise rule.
func (f *Folder[S, E]) rule(kind string) Rule[S, E] {
	if f.few != nil {
		for _, kr := range f.few {
			if kr.kind == kind {
				return kr.rule
			}
		}
		return f.other
	}
	if r, ok := f.rules[kind]; ok {
		return r
	}
	return f.other
}

// Known reports whether kind has a rule of its own.
func (f *Folder[S, E]) Known(kind string) bool {
	_, ok := f.rules[kind]
	return ok
}
