package schemas

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// byteShape reads a document's shape straight from its JSON bytes, without
// decoding it into Go values first: what appendShape computes from a
// decoded value, with object keys in document order rather than sorted.
// Shapes read from bytes start with 'B' and are remembered apart from those
// of decoded values.
//
// Two documents of the same byte shape have the same keys, kinds, array
// lengths and values where the schema rules on values, and every direct
// rule held for both (they are checked on the decoded strings and numbers
// here as appendShape checks them), so they decode to values of the same
// shape and get the same verdict. Anything this reader is not sure of
// (malformed JSON, a key written twice, an escaped key, invalid UTF-8, a
// number out of range, a const or enum on an object or array) makes it give
// up, and the document is decoded and judged as before.
type byteShape struct {
	doc []byte
	i   int
	b   []byte
	// members collects the members of objects down to depth levels (the
	// document's own members are level 1), for callers that read a few
	// fields as the shape is read (Validator.ValidateMembers); depth 0
	// collects none.
	members []Member
	depth   int
	level   int   // objects entered so far on the way to s.i
	parent  int32 // index in members of the object being read; -1 at the top
}

// Member is one member of an object, read from a document's bytes by
// Validator.ValidateMembers or ReadMembers: its key and where its value is.
type Member struct {
	// Parent is the index of the member whose value holds this one, -1 for
	// a member of the document itself.
	Parent int32
	// Start and End delimit the value in the document (doc[Start:End]).
	Start, End int32
	// Key is the member's key, unescaped (keys with escapes are not read).
	Key []byte
}

func (s *byteShape) ws() {
	for s.i < len(s.doc) {
		switch s.doc[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// end reports whether only white space follows the value.
func (s *byteShape) end() bool {
	s.ws()
	return s.i == len(s.doc)
}

// value reads the value at s.i under the schema nodes at, appending its
// shape, and reports whether the document can still be judged by shape.
func (s *byteShape) value(at []*cnode) bool {
	s.ws()
	if s.i >= len(s.doc) {
		return false
	}
	var all [16]*cnode
	nodes := all[:0]
	byValue, formatOther, strRules := false, false, false
	for _, n := range at {
		for _, c := range n.all {
			nodes = append(nodes, c)
			byValue = byValue || c.byValue
			formatOther = formatOther || c.formatOther
			strRules = strRules || len(c.str) > 0
		}
	}
	switch c := s.doc[s.i]; {
	case c == '{':
		if byValue {
			return false
		}
		// A copy: handing at itself on would make escape analysis see the
		// callers' buffers flow round the recursion and move them to the heap.
		var abuf [8]*cnode
		return s.object(append(abuf[:0], at...))
	case c == '[':
		if byValue {
			return false
		}
		return s.array(nodes)
	case c == '"':
		start := s.i
		escaped, ok := s.str()
		if !ok {
			return false
		}
		if !byValue && !strRules {
			s.b = append(s.b, 's')
			return true
		}
		var str string
		if escaped {
			var unquoted string
			if json.Unmarshal(s.doc[start:s.i], &unquoted) != nil {
				return false
			}
			str = unquoted
		} else if n := s.i - 1 - (start + 1); n > 0 {
			// A view of the document, not a copy: the checks below keep
			// no reference to the string they are given.
			str = unsafe.String(&s.doc[start+1], n)
		}
		for _, n := range nodes {
			for _, check := range n.str {
				if !check(str) {
					return false
				}
			}
		}
		if byValue {
			s.b = append(s.b, '=')
			s.b = appendRaw(s.b, str)
			return true
		}
		s.b = append(s.b, 's')
		return true
	case c == '-' || c >= '0' && c <= '9':
		return s.number(nodes, byValue || formatOther)
	case c == 't':
		return s.literal("true", 'T', 'b', byValue || formatOther)
	case c == 'f':
		return s.literal("false", 'F', 'b', byValue || formatOther)
	case c == 'n':
		return s.literal("null", 'z', 'z', false)
	}
	return false
}

func (s *byteShape) literal(word string, byValue, plain byte, exact bool) bool {
	if len(s.doc)-s.i < len(word) || string(s.doc[s.i:s.i+len(word)]) != word {
		return false
	}
	s.i += len(word)
	if exact {
		s.b = append(s.b, byValue)
	} else {
		s.b = append(s.b, plain)
	}
	return true
}

// object reads an object under the schema nodes at (not expanded: see
// cnode.members).
func (s *byteShape) object(at []*cnode) bool {
	s.i++ // {
	s.level++
	defer func() { s.level-- }()
	s.b = append(s.b, '{')
	var kbuf [24][]byte
	keys := kbuf[:0]
	s.ws()
	if s.i < len(s.doc) && s.doc[s.i] == '}' {
		s.i++
		s.b = append(s.b, '}')
		return true
	}
	for {
		s.ws()
		if s.i >= len(s.doc) || s.doc[s.i] != '"' {
			return false
		}
		start := s.i
		escaped, ok := s.str()
		if !ok || escaped {
			return false
		}
		key := s.doc[start+1 : s.i-1]
		for _, k := range keys {
			if string(k) == string(key) {
				return false // decoding keeps the last; leave it to decoding
			}
		}
		keys = append(keys, key)
		s.ws()
		if s.i >= len(s.doc) || s.doc[s.i] != ':' {
			return false
		}
		s.i++
		s.b = strconv.AppendInt(s.b, int64(len(key)), 10)
		s.b = append(s.b, ':')
		s.b = append(s.b, key...)
		mi, parent := int32(-1), s.parent
		if s.level <= s.depth {
			s.ws()
			mi = int32(len(s.members))
			s.members = append(s.members, Member{Parent: parent, Start: int32(s.i), Key: key})
			s.parent = mi
		}
		var cbuf [8]*cnode
		child := cbuf[:0]
		for _, n := range at {
			l, found := n.members[string(key)]
			if !found {
				l = n.otherMembers
			}
			for _, c := range l {
				child = append(child, c)
			}
		}
		if !s.value(child) {
			return false
		}
		if mi >= 0 {
			s.members[mi].End = int32(s.i)
			s.parent = parent
		}
		if done, ok := s.next('}'); done || !ok {
			return ok
		}
	}
}

// next moves past what follows a member or an element: a comma (more to
// come) or the closing bracket (done).
func (s *byteShape) next(closing byte) (done, ok bool) {
	s.b = append(s.b, ',')
	s.ws()
	if s.i >= len(s.doc) {
		return true, false
	}
	switch s.doc[s.i] {
	case ',':
		s.i++
		return false, true
	case closing:
		s.i++
		s.b = append(s.b, closing)
		return true, true
	}
	return true, false
}

func (s *byteShape) array(nodes []*cnode) bool {
	s.i++ // [
	s.b = append(s.b, '[')
	var cbuf [8]*cnode
	child := cbuf[:0]
	for _, n := range nodes {
		if n.items != nil {
			child = append(child, n.items)
		}
	}
	s.ws()
	if s.i < len(s.doc) && s.doc[s.i] == ']' {
		s.i++
		s.b = append(s.b, ']')
		return true
	}
	for {
		if !s.value(child) {
			return false
		}
		if done, ok := s.next(']'); done || !ok {
			return ok
		}
	}
}

// str moves past the string at s.i, checking it as encoding/json would
// accept it, and reports whether it holds escapes.
func (s *byteShape) str() (escaped, ok bool) {
	start := s.i
	s.i++
	ascii := true
	for s.i < len(s.doc) {
		c := s.doc[s.i]
		switch {
		case c == '"':
			s.i++
			if !ascii && !utf8.Valid(s.doc[start:s.i]) {
				return escaped, false // decoding would replace the bad bytes
			}
			return escaped, true
		case c == '\\':
			escaped = true
			if s.i+1 >= len(s.doc) {
				return escaped, false
			}
			switch s.doc[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if s.i+6 > len(s.doc) {
					return escaped, false
				}
				for _, h := range s.doc[s.i+2 : s.i+6] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return escaped, false
					}
				}
				s.i += 6
			default:
				return escaped, false
			}
		case c < 0x20:
			return escaped, false
		default:
			if c >= 0x80 {
				ascii = false
			}
			s.i++
		}
	}
	return escaped, false
}

// number reads a JSON number (its grammar checked here: strconv accepts
// more) and appends its shape as appendShape does for a float64.
func (s *byteShape) number(nodes []*cnode, exact bool) bool {
	start := s.i
	d := s.doc
	if s.i < len(d) && d[s.i] == '-' {
		s.i++
	}
	digits := func() int {
		n := 0
		for s.i < len(d) && d[s.i] >= '0' && d[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	switch {
	case s.i < len(d) && d[s.i] == '0':
		s.i++
	case digits() == 0:
		return false
	}
	if s.i < len(d) && d[s.i] == '.' {
		s.i++
		if digits() == 0 {
			return false
		}
	}
	if s.i < len(d) && (d[s.i] == 'e' || d[s.i] == 'E') {
		s.i++
		if s.i < len(d) && (d[s.i] == '+' || d[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			return false
		}
	}
	x, err := strconv.ParseFloat(string(d[start:s.i]), 64)
	if err != nil {
		return false // out of range: decoding fails too
	}
	var ok bool
	s.b, ok = appendNumber(s.b, x, nodes, exact)
	return ok
}
