package linode

import (
	"cmp"
	"encoding/json"
	"math"
	"slices"
	"strings"

	"github.com/eventsim/eventsim/account"
)

// efilter is a parsed X-Filter over the objects of a list (Linodes,
// volumes...): the same grammar as for events, over the fields the
// objects' kind has.
type efilter struct {
	conds   []*econd // ANDed
	orderBy string
	desc    bool
}

// econd is one condition: key op value, or +and/+or of sub-filters.
type econd struct {
	op   op
	key  []string // dotted path
	val  any      // string, float64, bool or nil
	kids [][]*econd
}

// parseEntityFilter parses an X-Filter for a list of objects whose fields
// are those of sample (nil: any field).
func parseEntityFilter(h string, sample map[string]any) (*efilter, error) {
	f := &efilter{}
	m, err := decodeFilter(h)
	if m == nil || err != nil {
		return f, err
	}
	p := &efParser{sample: sample}
	if ob, ok := m["+order_by"]; ok {
		s, ok := ob.(string)
		if !ok || !p.known(s) {
			return nil, filterError("Cannot filter on %v", ob)
		}
		f.orderBy = s
	}
	if o, ok := m["+order"]; ok {
		switch o {
		case "asc":
		case "desc":
			f.desc = true
		default:
			return nil, filterError("Could not apply filter: +order must be asc or desc")
		}
	}
	conds, err := p.object(m, 0)
	if err != nil {
		return nil, err
	}
	f.conds = conds
	return f, nil
}

type efParser struct {
	sample map[string]any
	count  int
}

func (p *efParser) known(key string) bool {
	if p.sample == nil {
		return true
	}
	first, _, _ := strings.Cut(key, ".")
	_, ok := p.sample[first]
	return ok
}

func (p *efParser) object(m map[string]any, depth int) ([]*econd, error) {
	if depth > MaxFilterDepth {
		return nil, filterError("Could not apply filter: +and/+or nested more than %d levels", MaxFilterDepth)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var out []*econd
	for _, k := range keys {
		v := m[k]
		switch k {
		case "+order_by", "+order":
			if depth > 0 {
				return nil, filterError("Could not apply filter: %s only at the top level", k)
			}
			continue
		case "+and", "+or":
			arr, ok := v.([]any)
			if !ok || len(arr) == 0 {
				return nil, filterError("Could not apply filter: %s must be a non-empty array of filter objects", k)
			}
			c := &econd{op: opAnd}
			if k == "+or" {
				c.op = opOr
			}
			for _, x := range arr {
				sub, ok := x.(map[string]any)
				if !ok {
					return nil, filterError("Could not apply filter: %s must be a non-empty array of filter objects", k)
				}
				kids, err := p.object(sub, depth+1)
				if err != nil {
					return nil, err
				}
				c.kids = append(c.kids, kids)
			}
			out = append(out, c)
			continue
		}
		if strings.HasPrefix(k, "+") {
			return nil, filterError("Could not apply filter: unknown operator %s", k)
		}
		if !p.known(k) {
			return nil, filterError("Cannot filter on %s", k)
		}
		key := strings.Split(k, ".")
		if ops, ok := v.(map[string]any); ok {
			for name, val := range ops {
				o, ok := operators[name]
				if !ok {
					return nil, filterError("Could not apply filter: unknown operator %s", name)
				}
				c, err := p.cond(o, key, val)
				if err != nil {
					return nil, err
				}
				out = append(out, c)
			}
			continue
		}
		c, err := p.cond(opEq, key, v)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func (p *efParser) cond(o op, key []string, v any) (*econd, error) {
	p.count++
	if p.count > MaxFilterConditions {
		return nil, filterError("Could not apply filter: more than %d conditions", MaxFilterConditions)
	}
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return nil, filterError("Could not apply filter: %s: bad number %s", strings.Join(key, "."), x)
		}
		v = f
	case string, bool, nil:
	default:
		return nil, filterError("Could not apply filter: %s: value must be a string, number, boolean or null", strings.Join(key, "."))
	}
	if o == opContains {
		if _, ok := v.(string); !ok {
			return nil, filterError("Could not apply filter: %s: +contains takes a string", strings.Join(key, "."))
		}
	}
	return &econd{op: o, key: key, val: v}, nil
}

func (f *efilter) match(o *account.Object) bool { return matchAll(f.conds, o) }

func matchAll(cs []*econd, o *account.Object) bool {
	for _, c := range cs {
		if !c.match(o) {
			return false
		}
	}
	return true
}

func (c *econd) match(o *account.Object) bool {
	switch c.op {
	case opAnd:
		for _, k := range c.kids {
			if !matchAll(k, o) {
				return false
			}
		}
		return true
	case opOr:
		for _, k := range c.kids {
			if matchAll(k, o) {
				return true
			}
		}
		return false
	}
	var v any
	if len(c.key) == 1 && c.key[0] == "tags" {
		v = o.Tags() // kept apart: the cloud controller manager's filter
	} else {
		v = lookup(o.Fields, c.key)
	}
	// A list field (tags, ipv4) matches when one of its items does.
	switch l := v.(type) {
	case []string:
		for _, x := range l {
			if c.test(x) {
				return c.op != opNeq
			}
		}
		return c.op == opNeq
	case []any:
		for _, x := range l {
			if c.test(x) {
				return c.op != opNeq
			}
		}
		return c.op == opNeq
	}
	return c.test(v)
}

// test compares one value with the condition's.
func (c *econd) test(v any) bool {
	if c.op == opContains {
		s, ok := v.(string)
		return ok && strings.Contains(strings.ToLower(s), strings.ToLower(c.val.(string)))
	}
	r, ok := compareValues(v, c.val)
	if !ok {
		return c.op == opNeq
	}
	return cmpOp(c.op, r)
}

// compareValues compares a field's value with a filter's: numbers with
// numbers, strings with strings, booleans and null by equality.
func compareValues(v, want any) (int, bool) {
	switch w := want.(type) {
	case float64:
		if f, ok := number(v); ok {
			return cmp.Compare(f, w), true
		}
	case string:
		if s, ok := v.(string); ok {
			return strings.Compare(s, w), true
		}
		if f, ok := number(v); ok && w != "" { // ids given as strings
			if n, ok := number(json.Number(w)); ok {
				return cmp.Compare(f, n), true
			}
		}
	case bool:
		if b, ok := v.(bool); ok {
			if b == w {
				return 0, true
			}
			return 1, true
		}
	case nil:
		if v == nil {
			return 0, true
		}
		return 1, true
	}
	return 0, false
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil && !math.IsInf(f, 0)
	}
	return 0, false
}

func lookup(m map[string]any, key []string) any {
	var v any = m
	for _, k := range key {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

// sortObjects orders objects by the filter's +order_by, ties by id.
func (f *efilter) sortObjects(l []*account.Object) {
	if f.orderBy == "" {
		if f.desc {
			slices.Reverse(l)
		}
		return
	}
	key := strings.Split(f.orderBy, ".")
	slices.SortStableFunc(l, func(a, b *account.Object) int {
		r, ok := compareValues(lookup(a.Fields, key), normWant(lookup(b.Fields, key)))
		if !ok {
			r = 0
		}
		if f.desc {
			return -r
		}
		return r
	})
}

// normWant turns a field value into the form compareValues takes as want.
func normWant(v any) any {
	if f, ok := number(v); ok {
		return f
	}
	switch v.(type) {
	case string, bool, nil:
		return v
	}
	return nil
}
