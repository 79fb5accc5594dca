package world

import (
	"encoding/json"
	"errors"
	"strconv"
)

// A small scanner for the few fields the fold reads from an encoded event.
// It walks the JSON without building it, so folding costs little more than
// reading the bytes; a string with escapes is decoded by encoding/json.

var errSyntax = errors.New("malformed json")

// skipSpace returns the index of the first non-space byte at or after i.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString reads the string starting at b[i] (a '"'): its contents, still
// escaped, the index after its closing quote, and whether it holds escapes.
func scanString(b []byte, i int) (raw []byte, next int, escaped bool, err error) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false, errSyntax
	}
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '"':
			return b[i+1 : j], j + 1, escaped, nil
		case '\\':
			escaped = true
			j++
		}
	}
	return nil, 0, false, errSyntax
}

// str decodes a string value at b[i].
func str(b []byte, i int) (string, int, error) {
	raw, next, esc, err := scanString(b, i)
	if err != nil {
		return "", 0, err
	}
	if !esc {
		return string(raw), next, nil
	}
	var s string
	if err := json.Unmarshal(b[i:next], &s); err != nil {
		return "", 0, err
	}
	return s, next, nil
}

// skipValue returns the index after the JSON value starting at or after i.
func skipValue(b []byte, i int) (int, error) {
	i = skipSpace(b, i)
	if i >= len(b) {
		return 0, errSyntax
	}
	switch b[i] {
	case '"':
		_, next, _, err := scanString(b, i)
		return next, err
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			case '"':
				_, next, _, err := scanString(b, j)
				if err != nil {
					return 0, err
				}
				j = next - 1
			}
		}
		return 0, errSyntax
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' && b[j] != '\r' && b[j] != '\t' {
		j++
	}
	if j == i {
		return 0, errSyntax
	}
	return j, nil
}

// object walks the keys of a JSON object without allocating:
//
//	o := object{b: b}
//	for o.start(i); o.next(); {
//		switch string(o.key) { case "id": v, o.i, err = str(b, o.v) ... default: o.skip() }
//	}
//	if o.err != nil { ... }
//
// After next, o.v is where the key's value starts; the loop body must
// leave o.i after the value (o.skip does that).
type object struct {
	b      []byte
	i, v   int
	key    []byte
	err    error
	opened bool
	done   bool
}

// start begins walking the object at or after i.
func (o *object) start(i int) {
	o.i, o.err, o.opened, o.done = skipSpace(o.b, i), nil, false, false
	if o.i >= len(o.b) || o.b[o.i] != '{' {
		o.err = errSyntax
	}
}

// next moves to the next key; false at the end of the object or on an error.
func (o *object) next() bool {
	if o.err != nil || o.done {
		return false
	}
	b := o.b
	i := skipSpace(b, o.i)
	if !o.opened {
		o.opened = true
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == '}' {
			o.i, o.done = i+1, true
			return false
		}
	} else {
		if i >= len(b) {
			o.err = errSyntax
			return false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			o.i, o.done = i+1, true
			return false
		default:
			o.err = errSyntax
			return false
		}
	}
	key, n, _, err := scanString(b, i)
	if err != nil {
		o.err = err
		return false
	}
	i = skipSpace(b, n)
	if i >= len(b) || b[i] != ':' {
		o.err = errSyntax
		return false
	}
	o.key, o.v = key, skipSpace(b, i+1)
	return true
}

// skip passes over the current value.
func (o *object) skip() { o.i, o.err = skipValueErr(o.b, o.v, o.err) }

// set records where the current value ended, or the error reading it.
func (o *object) set(end int, err error) {
	if err != nil {
		o.err = err
		return
	}
	o.i = end
}

func skipValueErr(b []byte, i int, prev error) (int, error) {
	if prev != nil {
		return 0, prev
	}
	return skipValue(b, i)
}

// number reads an integer value at b[i].
func number(b []byte, i int) (int, int, error) {
	end, err := skipValue(b, i)
	if err != nil {
		return 0, 0, err
	}
	n, err := strconv.Atoi(string(b[i:end]))
	return n, end, err
}
