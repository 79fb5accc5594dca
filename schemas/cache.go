package schemas

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/xeipuuv/gojsonschema"
)

// Validator checks documents against one schema and remembers, for each
// shape of document it found valid, that such documents are valid, so that
// a stream of similar documents (events) is checked at the cost of decoding
// them and computing their shape.
//
// A document's shape is its structure (every key, every array's length, the
// JSON kind of every value, integers told from other numbers) plus the
// values of the places where the schema has a rule on the value itself that
// a shape cannot capture cheaply: const, enum, multipleOf, uniqueItems and
// format on anything but a string. The other value rules (pattern, format on
// strings, minLength, maxLength, minimum, maximum and their exclusive forms)
// are evaluated directly, the way gojsonschema evaluates them, and must all
// hold for a document to be judged from its shape. Rules that apply only
// under a condition (if/then, anyOf, oneOf, $ref) are all counted as
// applying, which can only make the shape finer or the direct rules
// stricter, never skip a rule.
//
// So two documents of the same shape for which every direct rule holds give
// the same result for every keyword of the schema, hence the same verdict.
// A document that is not known valid this way is validated in full, which
// also gives the same problems, in the same order, as ValidateValue.
// TestValidatorAgreesWithFullValidation holds this against many corrupted
// events.
//
// A Validator is safe for concurrent use.
type Validator struct {
	name string
	root *cnode // nil: the schema uses a keyword the shape rules do not cover; every document is validated in full

	mu    sync.RWMutex
	valid map[string]struct{}
}

// maxShapes bounds the shapes a Validator remembers; past it, documents of
// new shapes are still validated, in full.
const maxShapes = 1 << 14

// NewValidator returns a Validator for the named schema.
func NewValidator(name string) (*Validator, error) {
	if _, err := get(name); err != nil {
		return nil, err
	}
	v := &Validator{name: name, valid: map[string]struct{}{}}
	if r := allShapeRules()[name]; r.err == nil {
		v.root = r.root
	}
	return v, nil
}

type shapeRulesOrErr struct {
	root *cnode
	err  error
}

// allShapeRules reduces every schema once; cnodes are never changed after.
var allShapeRules = sync.OnceValue(func() map[string]shapeRulesOrErr {
	out := map[string]shapeRulesOrErr{}
	for _, n := range Names() {
		root, err := shapeRules(n)
		out[n] = shapeRulesOrErr{root, err}
	}
	return out
})

// Cached reports whether the Validator judges documents by shape at all;
// false when the schema uses a keyword it does not know.
func (v *Validator) Cached() bool { return v.root != nil }

// Validate checks a JSON document as Validate(name, doc) does. It reads
// the document's shape from its bytes first (see byteShape), and decodes
// it only when the shape is not one it knows to be valid.
func (v *Validator) Validate(doc []byte) error {
	if v.root == nil {
		var val any
		if err := json.Unmarshal(doc, &val); err != nil {
			return fmt.Errorf("not JSON: %w", err)
		}
		return v.ValidateValue(val)
	}
	sh := byteShape{doc: doc}
	read, err := v.validateBytes(&sh)
	if !read {
		var val any
		if err := json.Unmarshal(doc, &val); err != nil {
			return fmt.Errorf("not JSON: %w", err)
		}
		return v.ValidateValue(val)
	}
	return err
}

// ValidateMembers checks a JSON document as Validate does and, in the same
// pass over its bytes, appends to members the members of its objects down
// to depth levels (the document's own members are level 1), so that a
// caller needing a few fields need not decode the document. read is false
// when the bytes could not be read by shape (malformed JSON, a key written
// twice or escaped, invalid UTF-8, a schema the shapes do not cover...):
// then members is not to be used and the document was not judged; decode
// it and call ValidateValue.
func (v *Validator) ValidateMembers(doc []byte, depth int, members []Member) (_ []Member, read bool, err error) {
	if v.root == nil || len(doc) > math.MaxInt32 {
		return members, false, nil
	}
	sh := byteShape{doc: doc, members: members, depth: depth, parent: -1}
	read, err = v.validateBytes(&sh)
	return sh.members, read, err
}

// ReadMembers reads the members of a JSON document's objects down to depth
// levels, as ValidateMembers does, judging nothing. ok is false when the
// document is not one JSON value that it reads (see ValidateMembers).
func ReadMembers(doc []byte, depth int, members []Member) (_ []Member, ok bool) {
	if len(doc) > math.MaxInt32 {
		return members, false
	}
	kb := keyBufs.Get().(*[]byte)
	defer keyBufs.Put(kb)
	sh := byteShape{doc: doc, b: (*kb)[:0], members: members, depth: depth, parent: -1}
	ok = sh.value(nil) && sh.end()
	*kb = sh.b
	return sh.members, ok
}

// validateBytes reads sh's document by shape and judges it: known valid,
// or decoded and validated in full (and remembered when valid). read is
// false when the shape could not be read; the document is not judged then.
func (v *Validator) validateBytes(sh *byteShape) (read bool, err error) {
	kb := keyBufs.Get().(*[]byte)
	defer keyBufs.Put(kb)
	sh.b = append((*kb)[:0], 'B')
	read = sh.value([]*cnode{v.root}) && sh.end()
	*kb = sh.b
	if !read {
		return false, nil
	}
	v.mu.RLock()
	_, known := v.valid[string(sh.b)]
	v.mu.RUnlock()
	if known {
		return true, nil
	}
	var val any
	if err := json.Unmarshal(sh.doc, &val); err != nil {
		return true, fmt.Errorf("not JSON: %w", err)
	}
	// In full, remembering the byte shape only: each distinct shape is
	// validated in full once and counted once (Shapes).
	err = ValidateValue(v.name, val)
	if err == nil {
		v.mu.Lock()
		if len(v.valid) < maxShapes {
			v.valid[string(sh.b)] = struct{}{}
		}
		v.mu.Unlock()
	}
	return true, err
}

// ValidateValue checks a decoded JSON value as ValidateValue(name, val) does.
func (v *Validator) ValidateValue(val any) error {
	if v.root == nil {
		return ValidateValue(v.name, val)
	}
	kb := keyBufs.Get().(*[]byte)
	defer keyBufs.Put(kb)
	key, ok := appendShape((*kb)[:0], val, []*cnode{v.root})
	*kb = key
	if ok {
		v.mu.RLock()
		_, known := v.valid[string(key)]
		v.mu.RUnlock()
		if known {
			return nil
		}
	}
	err := ValidateValue(v.name, val)
	if err == nil && ok {
		v.mu.Lock()
		if len(v.valid) < maxShapes {
			v.valid[string(key)] = struct{}{}
		}
		v.mu.Unlock()
	}
	return err
}

var keyBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// cnode is one schema (or subschema) reduced to what shapes need.
type cnode struct {
	props map[string]*cnode
	addl  *cnode // additionalProperties, when a schema
	items *cnode // items, when a single schema
	subs  []*cnode
	// byValue: the value at this place is part of the shape (const, enum,
	// multipleOf, uniqueItems); formatOther: so is any non-string value
	// (format applies to numbers too).
	byValue, formatOther bool
	str                  []func(string) bool   // pattern, format, minLength, maxLength
	num                  []func(*big.Rat) bool // minimum, maximum, exclusive forms
	// all is this node and every node that applies at the same place
	// through subs, each once.
	all []*cnode
	// members lists, for each key some node of all names, the nodes that
	// apply to that member's value: each node's property, or its
	// additionalProperties where it has no such property; otherMembers
	// those for any other key. One lookup instead of one per node of all.
	members      map[string][]*cnode
	otherMembers []*cnode
}

// Keywords that shapes capture by structure, or that say nothing.
var structural = map[string]bool{
	"$schema": true, "$id": true, "$comment": true, "title": true, "description": true,
	"examples": true, "default": true, "definitions": true, "type": true, "required": true,
	"minItems": true, "maxItems": true, "minProperties": true, "maxProperties": true,
}

// shapeRules reduces the named schema, and those it refers to, to cnodes.
func shapeRules(name string) (*cnode, error) {
	docs := map[string]any{}
	for _, n := range Names() {
		b, _ := Source(n)
		var d any
		if err := json.Unmarshal(b, &d); err != nil {
			return nil, err
		}
		docs[n+".json"] = d
	}
	b := &ruleBuilder{docs: docs, memo: map[string]*cnode{}}
	root, err := b.node(name+".json", "", docs[name+".json"])
	if err != nil {
		return nil, err
	}
	for _, n := range b.made {
		n.all = closure(n)
	}
	for _, n := range b.made {
		n.members = map[string][]*cnode{}
		for _, c := range n.all {
			for k := range c.props {
				n.members[k] = nil
			}
			if c.addl != nil {
				n.otherMembers = append(n.otherMembers, c.addl)
			}
		}
		for k := range n.members {
			var l []*cnode
			for _, c := range n.all {
				if p, found := c.props[k]; found {
					l = append(l, p)
				} else if c.addl != nil {
					l = append(l, c.addl)
				}
			}
			n.members[k] = l
		}
	}
	return root, nil
}

type ruleBuilder struct {
	docs map[string]any
	memo map[string]*cnode // by file#pointer of schemas reached by $ref
	made []*cnode
}

func (b *ruleBuilder) node(file, ptr string, s any) (*cnode, error) {
	n := &cnode{}
	b.made = append(b.made, n)
	switch x := s.(type) {
	case bool:
		return n, nil // true or false: decided by structure alone
	case map[string]any:
		return n, b.fill(n, file, ptr, x)
	}
	return nil, fmt.Errorf("%s#%s: a schema must be an object or a boolean", file, ptr)
}

func (b *ruleBuilder) fill(n *cnode, file, ptr string, s map[string]any) error {
	for k, v := range s {
		at := ptr + "/" + k
		switch {
		case structural[k]:
		case k == "properties":
			props, ok := v.(map[string]any)
			if !ok {
				return fmt.Errorf("%s#%s: not an object", file, at)
			}
			n.props = map[string]*cnode{}
			for name, ps := range props {
				c, err := b.node(file, at+"/"+name, ps)
				if err != nil {
					return err
				}
				n.props[name] = c
			}
		case k == "additionalProperties" || k == "items":
			if _, isBool := v.(bool); isBool {
				continue // decided by which keys and elements there are
			}
			if _, isObj := v.(map[string]any); !isObj {
				return fmt.Errorf("%s#%s: only a single schema is supported", file, at)
			}
			c, err := b.node(file, at, v)
			if err != nil {
				return err
			}
			if k == "items" {
				n.items = c
			} else {
				n.addl = c
			}
		case k == "allOf" || k == "anyOf" || k == "oneOf":
			list, ok := v.([]any)
			if !ok {
				return fmt.Errorf("%s#%s: not an array", file, at)
			}
			for i, e := range list {
				c, err := b.node(file, at+"/"+strconv.Itoa(i), e)
				if err != nil {
					return err
				}
				n.subs = append(n.subs, c)
			}
		case k == "if" || k == "then" || k == "else" || k == "not":
			c, err := b.node(file, at, v)
			if err != nil {
				return err
			}
			n.subs = append(n.subs, c)
		case k == "$ref":
			c, err := b.ref(file, v)
			if err != nil {
				return err
			}
			n.subs = append(n.subs, c)
		case k == "const" || k == "enum" || k == "multipleOf" || k == "uniqueItems":
			n.byValue = true
		case k == "pattern":
			p, _ := v.(string)
			re, err := regexp.Compile(p)
			if err != nil {
				return fmt.Errorf("%s#%s: %w", file, at, err)
			}
			if match := knownPatterns[p]; match != nil {
				n.str = append(n.str, match)
			} else {
				n.str = append(n.str, re.MatchString)
			}
		case k == "format":
			f, _ := v.(string)
			n.str = append(n.str, formatCheck(f))
			n.formatOther = true
		case k == "minLength" || k == "maxLength":
			lim, ok := v.(float64)
			if !ok {
				return fmt.Errorf("%s#%s: not a number", file, at)
			}
			if k == "minLength" {
				n.str = append(n.str, func(s string) bool { return utf8.RuneCountInString(s) >= int(lim) })
			} else {
				n.str = append(n.str, func(s string) bool { return utf8.RuneCountInString(s) <= int(lim) })
			}
		case k == "minimum" || k == "maximum" || k == "exclusiveMinimum" || k == "exclusiveMaximum":
			f, ok := v.(float64)
			if !ok {
				return fmt.Errorf("%s#%s: not a number", file, at)
			}
			lim, ok := new(big.Rat).SetString(strconv.FormatFloat(f, 'g', -1, 64))
			if !ok {
				return fmt.Errorf("%s#%s: bad number", file, at)
			}
			switch k {
			case "minimum":
				n.num = append(n.num, func(x *big.Rat) bool { return x.Cmp(lim) >= 0 })
			case "maximum":
				n.num = append(n.num, func(x *big.Rat) bool { return x.Cmp(lim) <= 0 })
			case "exclusiveMinimum":
				n.num = append(n.num, func(x *big.Rat) bool { return x.Cmp(lim) > 0 })
			case "exclusiveMaximum":
				n.num = append(n.num, func(x *big.Rat) bool { return x.Cmp(lim) < 0 })
			}
		default:
			// contains, propertyNames, patternProperties, dependencies,
			// additionalItems and anything newer: not covered, so no
			// document of this schema is judged by shape.
			return fmt.Errorf("%s#%s: keyword %s is not covered by shapes", file, at, k)
		}
	}
	return nil
}

// ref resolves "other.json", "#/definitions/x" and "other.json#/definitions/x"
// against the embedded schemas.
func (b *ruleBuilder) ref(file string, v any) (*cnode, error) {
	r, _ := v.(string)
	target, ptr, _ := strings.Cut(r, "#")
	if target == "" {
		target = file
	}
	key := target + "#" + ptr
	if n, ok := b.memo[key]; ok {
		return n, nil
	}
	s, ok := b.docs[target]
	if !ok {
		return nil, fmt.Errorf("%s: $ref %q: no such schema", file, r)
	}
	for _, part := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		if part == "" {
			continue
		}
		m, ok := s.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: $ref %q does not resolve", file, r)
		}
		if s, ok = m[part]; !ok {
			return nil, fmt.Errorf("%s: $ref %q does not resolve", file, r)
		}
	}
	// Placed in the memo before it is filled, so recursive schemas end.
	n := &cnode{}
	b.memo[key] = n
	b.made = append(b.made, n)
	switch x := s.(type) {
	case bool:
		return n, nil
	case map[string]any:
		return n, b.fill(n, target, ptr, x)
	}
	return nil, fmt.Errorf("%s: $ref %q is not a schema", file, r)
}

func closure(n *cnode) []*cnode {
	var out []*cnode
	var walk func(*cnode)
	walk = func(x *cnode) {
		if slices.Contains(out, x) {
			return
		}
		out = append(out, x)
		for _, s := range x.subs {
			walk(s)
		}
	}
	walk(n)
	return out
}

// appendShape appends v's shape under the schema nodes that apply at its
// place (each node's closure is expanded here) and reports whether every
// direct rule holds.
func appendShape(b []byte, v any, at []*cnode) ([]byte, bool) {
	var all [16]*cnode
	nodes := all[:0]
	byValue, formatOther := false, false
	for _, n := range at {
		for _, c := range n.all {
			nodes = append(nodes, c)
			byValue = byValue || c.byValue
			formatOther = formatOther || c.formatOther
		}
	}
	ok := true
	switch x := v.(type) {
	case map[string]any:
		if byValue {
			b = appendValue(b, x)
		}
		var kbuf [16]string
		keys := kbuf[:0]
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for _, k := range keys {
			b = appendRaw(b, k)
			var cbuf [8]*cnode
			child := cbuf[:0]
			for _, n := range nodes {
				if p, found := n.props[k]; found {
					child = append(child, p)
				} else if n.addl != nil {
					child = append(child, n.addl)
				}
			}
			var okc bool
			b, okc = appendShape(b, x[k], child)
			ok = ok && okc
			b = append(b, ',')
		}
		return append(b, '}'), ok
	case []any:
		if byValue {
			b = appendValue(b, x)
		}
		var cbuf [8]*cnode
		child := cbuf[:0]
		for _, n := range nodes {
			if n.items != nil {
				child = append(child, n.items)
			}
		}
		b = append(b, '[')
		for _, e := range x {
			var okc bool
			b, okc = appendShape(b, e, child)
			ok = ok && okc
			b = append(b, ',')
		}
		return append(b, ']'), ok
	case string:
		for _, n := range nodes {
			for _, check := range n.str {
				if !check(x) {
					ok = false
				}
			}
		}
		if byValue {
			b = append(b, '=')
			return appendRaw(b, x), ok
		}
		return append(b, 's'), ok
	case float64:
		return appendNumber(b, x, nodes, byValue || formatOther)
	case bool:
		if byValue || formatOther {
			if x {
				return append(b, 'T'), ok
			}
			return append(b, 'F'), ok
		}
		return append(b, 'b'), ok
	case nil:
		return append(b, 'z'), ok
	}
	// Not a decoded JSON value: never judged by shape.
	return append(b, '?'), false
}

// appendValue appends a value in canonical JSON (sorted keys).
func appendValue(b []byte, v any) []byte {
	m, err := json.Marshal(v)
	if err != nil {
		return append(b, '?')
	}
	b = append(b, '=')
	b = strconv.AppendInt(b, int64(len(m)), 10)
	b = append(b, ':')
	return append(b, m...)
}

// Shapes returns how many shapes the Validator knows to be valid.
func (v *Validator) Shapes() int {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return len(v.valid)
}

// appendRaw appends s with its length in front, which keeps shapes
// unambiguous whatever s holds.
func appendRaw(b []byte, s string) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	return append(b, s...)
}

// formatCheck is gojsonschema's check of a format. For date-time it tries
// RFC 3339 first, which gojsonschema accepts too: most strings pass that way
// without the failed parses (and their errors) of the other layouts it tries.
func formatCheck(f string) func(string) bool {
	if f == "date-time" {
		return func(s string) bool {
			if _, err := time.Parse(time.RFC3339, s); err == nil {
				return true
			}
			return gojsonschema.FormatCheckers.IsFormat(f, s)
		}
	}
	return func(s string) bool { return gojsonschema.FormatCheckers.IsFormat(f, s) }
}

// appendNumber appends a number's shape under the schema nodes at its
// place: its value when exact, else whether it is an integer; and reports
// whether the nodes' numeric rules hold.
func appendNumber(b []byte, x float64, nodes []*cnode, exact bool) ([]byte, bool) {
	ok := true
	var r *big.Rat
	for _, n := range nodes {
		for _, check := range n.num {
			if r == nil {
				r, _ = new(big.Rat).SetString(strconv.FormatFloat(x, 'g', -1, 64))
			}
			if r == nil || !check(r) {
				ok = false
			}
		}
	}
	if exact {
		b = append(b, '=')
		return strconv.AppendFloat(b, x, 'g', -1, 64), ok
	}
	// gojsonschema calls a number an integer when the shortest decimal
	// form of the float64 is one, which is when the float64 is integral.
	if x == math.Trunc(x) {
		return append(b, 'i'), ok
	}
	return append(b, 'f'), ok
}
