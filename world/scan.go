package world

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"time"
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
// Most strings hold none: their first quote ends them.
func scanString(b []byte, i int) (raw []byte, next int, escaped bool, err error) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false, errSyntax
	}
	k := bytes.IndexByte(b[i+1:], '"')
	if k < 0 {
		return nil, 0, false, errSyntax
	}
	j := i + 1 + k
	if bytes.IndexByte(b[i+1:j], '\\') < 0 {
		return b[i+1 : j], j + 1, false, nil
	}
	if next, err = skipString(b, i); err != nil {
		return nil, 0, false, err
	}
	return b[i+1 : next-1], next, true, nil
}

// skipString returns the index after the string starting at b[i] (a '"'),
// as scanString does, in one search for its closing quote: a quote after
// an odd number of backslashes is escaped, and the search goes on.
func skipString(b []byte, i int) (int, error) {
	if i >= len(b) || b[i] != '"' {
		return 0, errSyntax
	}
	for j := i + 1; ; j++ {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return 0, errSyntax
		}
		j += k
		n := 0
		for p := j - 1; p > i && b[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return j + 1, nil
		}
	}
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
		return skipString(b, i)
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
				next, err := skipString(b, j)
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

// parseStamp reads a timestamp as daemons write them, RFC 3339 in UTC
// ("2006-01-02T15:04:05.999999999Z"), without time.Parse's generality; ok
// is false for any other form, which the caller hands to time.Parse.
func parseStamp(b []byte) (t time.Time, ok bool) {
	if len(b) < 20 || b[len(b)-1] != 'Z' || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return t, false
	}
	digits := func(s []byte) (int, bool) {
		n := 0
		for _, c := range s {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	year, ok1 := digits(b[0:4])
	month, ok2 := digits(b[5:7])
	day, ok3 := digits(b[8:10])
	hour, ok4 := digits(b[11:13])
	minute, ok5 := digits(b[14:16])
	sec, ok6 := digits(b[17:19])
	// Days past the 28th are left to time.Parse, which knows each
	// month's length.
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 || month < 1 || month > 12 || day < 1 || day > 28 || hour > 23 || minute > 59 || sec > 59 {
		return t, false
	}
	ns := 0
	if frac := b[19 : len(b)-1]; len(frac) > 0 {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return t, false
		}
		n, ok := digits(frac[1:])
		if !ok {
			return t, false
		}
		for range 10 - len(frac) {
			n *= 10
		}
		ns = n
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, ns, time.UTC), true
}
