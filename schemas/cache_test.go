package schemas_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"sort"
	"strings"
	"testing"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/internal/lxdcapture"
	"github.com/eventsim/eventsim/scenarios"
	"github.com/eventsim/eventsim/schemas"
)

// corpus returns valid events for a schema: the real LXD capture and events
// the built-in scenarios generate, decoded.
func corpus(t *testing.T, schema string) []any {
	t.Helper()
	var raws [][]byte
	if schema == schemas.LXDEvent {
		raws = lxdcapture.Lines()
	}
	type run struct {
		name   string
		flavor catalog.Flavor
		n      int
	}
	runs := []run{{"linode-catalogue-tour", "", 1200}, {"linode-failures", "", 400}}
	if schema == schemas.LXDEvent {
		runs = []run{{"lxd-steady", "", 1500}, {"lxd-catalogue-tour", catalog.LXD50, 1500},
			{"lxd-catalogue-tour", catalog.LXD6, 1500}, {"lxd-catalogue-tour", catalog.Incus, 1500}, {"lxd-cluster", "", 600}}
	}
	api := "lxd"
	if schema == schemas.LinodeEvent {
		api = "linode"
	}
	for _, r := range runs {
		s, err := scenarios.Load(r.name)
		if err != nil {
			t.Fatal(err)
		}
		e, err := scenarios.New(s, scenarios.Options{Flavor: r.flavor, Loop: true})
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; n < r.n; {
			rec, err := e.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if rec.Fault == nil && rec.API == api {
				raws = append(raws, rec.JSON)
				n++
			}
		}
	}
	out := make([]any, 0, len(raws))
	for _, b := range raws {
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// TestValidatorAgreesWithFullValidation corrupts valid events in many ways,
// after the Validator has learnt the shapes of the valid ones, and requires
// the same verdict and the same problem as full validation for every one.
func TestValidatorAgreesWithFullValidation(t *testing.T) {
	for _, schema := range []string{schemas.LXDEvent, schemas.LinodeEvent} {
		t.Run(schema, func(t *testing.T) {
			docs := corpus(t, schema)
			v, err := schemas.NewValidator(schema)
			if err != nil {
				t.Fatal(err)
			}
			if !v.Cached() {
				t.Fatalf("%s is not judged by shape", schema)
			}
			for i, d := range docs {
				if err := v.ValidateValue(d); err != nil {
					t.Fatalf("event %d of the corpus is invalid: %v", i, err)
				}
			}
			learnt := v.Shapes()
			if learnt == 0 || learnt > len(docs)/4 {
				t.Fatalf("%d shapes learnt from %d events", learnt, len(docs))
			}
			rng := rand.New(rand.NewSource(1))
			n := 8000
			if testing.Short() {
				n = 2000
			}
			var mutated, invalid, agreedValid int
			for i := 0; i < n; i++ {
				base := docs[rng.Intn(len(docs))]
				other := docs[rng.Intn(len(docs))]
				doc, what := mutate(rng, base, other)
				mutated++
				full := schemas.ValidateValue(schema, doc)
				got := v.ValidateValue(doc)
				if (full == nil) != (got == nil) || full != nil && full.Error() != got.Error() {
					b, _ := json.Marshal(doc)
					t.Fatalf("%s: full validation says %v, the Validator says %v\n%s", what, full, got, b)
				}
				// And from the bytes, whose shape is read without decoding.
				b, _ := json.Marshal(doc)
				if got := v.Validate(b); (full == nil) != (got == nil) || full != nil && full.Error() != got.Error() {
					t.Fatalf("%s: full validation says %v, the Validator reading bytes says %v\n%s", what, full, got, b)
				}
				if full != nil {
					invalid++
				} else {
					agreedValid++
				}
			}
			// The corruptions must mostly break the event, and some must not,
			// or the comparison says little.
			if invalid < mutated/3 || agreedValid < mutated/50 {
				t.Fatalf("of %d corrupted events %d were invalid and %d valid: corruptions too weak or too strong", mutated, invalid, agreedValid)
			}
			t.Logf("%d corrupted events: %d invalid, %d still valid; %d shapes learnt", mutated, invalid, agreedValid, v.Shapes())
		})
	}
}

// mutate returns a deep copy of doc with one to three places corrupted, and
// what was done.
func mutate(rng *rand.Rand, doc, other any) (any, string) {
	d := deepCopy(doc)
	var what []string
	for k := 1 + rng.Intn(3); k > 0; k-- {
		paths := leafPaths(d, nil)
		p := paths[rng.Intn(len(paths))]
		w := corrupt(rng, &d, p, other)
		what = append(what, strings.Join(p, ".")+": "+w)
	}
	return d, strings.Join(what, "; ")
}

// leafPaths lists the path of every value in v (containers included).
func leafPaths(v any, at []string) [][]string {
	out := [][]string{append([]string(nil), at...)}
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out = append(out, leafPaths(x[k], append(at, k))...)
		}
	case []any:
		for i, e := range x {
			out = append(out, leafPaths(e, append(at, fmt.Sprint(i)))...)
		}
	}
	return out
}

func get(v any, p []string) (any, bool) {
	for _, k := range p {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[k]; !ok {
				return nil, false
			}
		case []any:
			var i int
			fmt.Sscan(k, &i)
			if i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// set replaces (or, with del, removes) the value at p.
func set(root *any, p []string, val any, del bool) {
	if len(p) == 0 {
		*root = val
		return
	}
	parent, _ := get(*root, p[:len(p)-1])
	k := p[len(p)-1]
	switch x := parent.(type) {
	case map[string]any:
		if del {
			delete(x, k)
		} else {
			x[k] = val
		}
	case []any:
		var i int
		fmt.Sscan(k, &i)
		if del {
			copy(x[i:], x[i+1:])
			x[len(x)-1] = "removed"
		} else {
			x[i] = val
		}
	}
}

var replacements = []any{
	nil, true, false, 0.0, -1.0, 1.5, 1e300, 103.0, 999.0, 200.0, "", "x", "Running", "Bogus", "debug", "verbose",
	"logging", "operation", "lifecycle", "Logging", "task", "job", "2026-01-01T00:00:00Z", "2026-01-01 00:00:00",
	"2026-01-01T00:00:00", "not-a-uuid", "2CD559CA-6BE3-440E-9CDC-7BC89CBA6EB1", "2cd559ca-6be3-440e-9cdc-7bc89cba6eb1",
	"/1.0", "/1.0x", "/2.0/instances/x", "linode_boot", "Linode_Boot", "finished", "failed", "linode",
	map[string]any{}, []any{}, []any{"a"}, []any{1.0}, map[string]any{"k": "v"}, map[string]any{"k": 1.0},
}

func corrupt(rng *rand.Rand, root *any, p []string, other any) string {
	cur, _ := get(*root, p)
	switch op := rng.Intn(10); {
	case op == 0 && len(p) > 0:
		set(root, p, nil, true)
		return "deleted"
	case op == 1:
		// The value the other event has at the same place, if any.
		if ov, ok := get(other, p); ok {
			set(root, p, deepCopy(ov), false)
			return fmt.Sprintf("other event's value %v", ov)
		}
	case op == 2:
		if m, ok := cur.(map[string]any); ok {
			m["zz_extra"] = "v"
			return "extra key"
		}
	case op <= 5:
		switch x := cur.(type) {
		case string:
			variants := []string{x + "x", strings.ToUpper(x), strings.TrimPrefix(x, x[:min(1, len(x))]), " " + x,
				strings.Replace(x, "Z", "+02:00", 1), strings.Replace(x, "Z", ".1234567890Z", 1), strings.Replace(x, "0", "a", 1),
				strings.Replace(x, "-", "_", 1), strings.Replace(x, "/", "", 1), x + "\n"}
			s := variants[rng.Intn(len(variants))]
			set(root, p, s, false)
			return fmt.Sprintf("string %q", s)
		case float64:
			variants := []float64{x + 1, -x, x + 0.5, x * 1000, 0, 1e21}
			f := variants[rng.Intn(len(variants))]
			set(root, p, f, false)
			return fmt.Sprintf("number %v", f)
		}
	}
	r := deepCopy(replacements[rng.Intn(len(replacements))])
	set(root, p, r, false)
	return fmt.Sprintf("replaced by %v", r)
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = deepCopy(e)
		}
		return l
	}
	return v
}

// FuzzValidatorAgrees checks arbitrary documents with a Validator that has
// learnt the shapes of real events: whatever the bytes, it must give what
// full validation gives, problem for problem.
func FuzzValidatorAgrees(f *testing.F) {
	raw := lxdcapture.NDJSON
	lxd, err := schemas.NewValidator(schemas.LXDEvent)
	if err != nil {
		f.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if err := lxd.Validate([]byte(l)); err != nil {
			f.Fatal(err)
		}
		f.Add([]byte(l))
	}
	linode, err := schemas.NewValidator(schemas.LinodeEvent)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(`{"id":1,"action":"linode_boot","created":"2026-01-01T00:00:00","duration":null,"entity":null,"percent_complete":null,"rate":null,"read":false,"seen":false,"status":"notification","time_remaining":null,"username":null}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		var v any
		if json.Unmarshal(doc, &v) != nil {
			if lxd.Validate(doc) == nil {
				t.Fatalf("not JSON, yet valid: %q", doc)
			}
			return
		}
		// From the decoded value and from the bytes, whose shape is read
		// without decoding, the Validator judges as full validation does.
		for _, c := range []struct {
			name string
			v    *schemas.Validator
		}{{schemas.LXDEvent, lxd}, {schemas.LinodeEvent, linode}} {
			full := schemas.ValidateValue(c.name, v)
			for how, got := range map[string]error{"the decoded value": c.v.ValidateValue(v), "the bytes": c.v.Validate(doc)} {
				if (full == nil) != (got == nil) || full != nil && full.Error() != got.Error() {
					t.Fatalf("%s: full validation says %v, the Validator reading %s says %v: %s", c.name, full, how, got, doc)
				}
			}
		}
	})
}

// TestValidatorReadsShapesFromBytes learns shapes from real event lines,
// then edits lines the ways JSON can be written differently or wrongly
// (escapes, keys twice, spacing, number forms, bad UTF-8, garbage) and
// requires Validate, which reads shapes from bytes, to say what full
// validation says of the same bytes.
func TestValidatorReadsShapesFromBytes(t *testing.T) {
	v, err := schemas.NewValidator(schemas.LXDEvent)
	if err != nil {
		t.Fatal(err)
	}
	lines := lxdcapture.Lines()
	for _, l := range lines {
		if err := v.Validate(l); err != nil {
			t.Fatalf("capture line invalid: %v", err)
		}
	}
	line := string(lines[len(lines)/2])
	edits := []struct{ name, from, to string }{
		{"unchanged", "", ""},
		{"spaces", `":`, `" : `},
		{"newlines", `,"`, ",\n\t\""},
		{"escaped key", `"type"`, `"typ\u0065"`},
		{"key twice, last valid", `"type":`, `"type":"nonsense","type":`},
		{"key twice, last invalid", `"location":`, `"location":"none","location":7,"x":`},
		{"escaped slash in value", `/1.0`, `\/1.0`},
		{"unicode escape in value", `"none"`, `"n\u006fne"`},
		{"bad escape", `"none"`, `"n\qne"`},
		{"control char", `"none"`, "\"no\x01ne\""},
		{"bad UTF-8", `"none"`, "\"no\xffne\""},
		{"big number", `"metadata":{`, `"metadata":{"n":1e999,`},
		{"number forms", `"metadata":{`, `"metadata":{"a":-0.0e+0,"b":01,`},
		{"trailing garbage", "", ""},
		{"truncated", "", ""},
		{"bad timestamp", `"timestamp":"2`, `"timestamp":"x2`},
		{"true misspelt", `"metadata":{`, `"metadata":{"a":tru,`},
	}
	for _, e := range edits {
		doc := strings.Replace(line, e.from, e.to, 1)
		switch e.name {
		case "trailing garbage":
			doc += " x"
		case "truncated":
			doc = doc[:len(doc)-1]
		}
		for range 2 { // a second time, once the shape may be known
			full := schemas.Validate(schemas.LXDEvent, []byte(doc))
			got := v.Validate([]byte(doc))
			if (full == nil) != (got == nil) || full != nil && full.Error() != got.Error() {
				t.Errorf("%s: full validation says %v, the Validator says %v: %s", e.name, full, got, doc)
			}
		}
	}
}
