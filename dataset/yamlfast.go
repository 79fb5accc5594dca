package dataset

import (
	"errors"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// The YAML writer's fast path. Converting each event through yaml.v3 (a
// node tree, then its emitter) costs about 60 µs an event, so a YAML
// dataset of ten million events took ten minutes. Most of what events
// hold is simple: ASCII words, paths, UUIDs, timestamps, numbers and log
// messages of a few lines. appendYAML writes such an event directly from
// its JSON bytes, byte for byte as yaml.v3 writes it (block style, indent
// 2: TestYAMLFastMatchesYAMLv3 and FuzzYAMLFast hold it to that), and
// reports errYAMLSlow for anything outside what it knows, which the
// writer then sends through yaml.v3 as before.

var errYAMLSlow = errors.New("yaml: not on the fast path")

// yamlTimeLayout is the layout yaml.v3 reads a zoned timestamp with.
const yamlTimeLayout = "2006-1-2T15:4:5.999999999Z07:00"

// maxSimpleKey is the longest key yaml.v3 writes as "key: value"; a longer
// one it writes as an explicit "? key" entry (its emitter's simple key
// check).
const maxSimpleKey = 128

// appendYAML appends obj, one JSON object, as an item of a top-level YAML
// sequence ("- key: value\n  key: value\n").
func appendYAML(dst, obj []byte) ([]byte, error) {
	p := jsonWalker{b: obj}
	p.space()
	if p.i >= len(p.b) || p.b[p.i] != '{' {
		return dst, errYAMLSlow
	}
	dst = append(dst, "- "...)
	dst, err := p.appendValue(dst, 2, inSeq)
	if err != nil {
		return dst, err
	}
	p.space()
	if p.i != len(p.b) {
		return dst, errYAMLSlow
	}
	return dst, nil
}

// Where a value goes: after "key:" in a mapping, or after "- " in a
// sequence (where a mapping or sequence starts on the same line).
const (
	inMap = iota
	inSeq
)

type jsonWalker struct {
	b   []byte
	i   int
	str []byte // scratch for unescaped strings
}

func (p *jsonWalker) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// appendValue writes the value at p.i. indent is the column of the line's
// content for this value's children: the key's column plus 2, or the
// column after "- ". In a mapping, dst ends with "key:"; in a sequence
// with "- ".
func (p *jsonWalker) appendValue(dst []byte, indent int, where int) ([]byte, error) {
	p.space()
	if p.i >= len(p.b) {
		return dst, errYAMLSlow
	}
	switch c := p.b[p.i]; {
	case c == '{':
		var empty bool
		if dst, empty = p.open(dst, '}', where); empty {
			return dst, nil
		}
		first := true
		for {
			p.space()
			key, err := p.string()
			if err != nil {
				return dst, err
			}
			if len(key) > maxSimpleKey {
				return dst, errYAMLSlow // yaml.v3 writes it as "? key\n: value"
			}
			if !first || where == inMap {
				dst = appendIndent(dst, indent)
			}
			first = false
			style := yamlStyle(key)
			if style != stylePlain && (style != styleDouble || len(key) == 0) {
				return dst, errYAMLSlow
			}
			dst = appendScalar(dst, key, style)
			dst = append(dst, ':')
			p.space()
			if p.i >= len(p.b) || p.b[p.i] != ':' {
				return dst, errYAMLSlow
			}
			p.i++
			if dst, err = p.appendValue(dst, indent+2, inMap); err != nil {
				return dst, err
			}
			if end, err := p.more('}'); end || err != nil {
				return dst, err
			}
		}
	case c == '[':
		// A sequence in a mapping is indented under its key; in a
		// sequence it starts on the item's line.
		var empty bool
		if dst, empty = p.open(dst, ']', where); empty {
			return dst, nil
		}
		first := true
		for {
			if !first || where == inMap {
				dst = appendIndent(dst, indent)
			}
			first = false
			dst = append(dst, "- "...)
			var err error
			if dst, err = p.appendValue(dst, indent+2, inSeq); err != nil {
				return dst, err
			}
			if end, err := p.more(']'); end || err != nil {
				return dst, err
			}
		}
	case c == '"':
		s, err := p.string()
		if err != nil {
			return dst, err
		}
		if where == inMap {
			dst = append(dst, ' ')
		}
		switch style := yamlStyle(s); style {
		case stylePlain, styleDouble, styleSingle:
			return append(appendScalar(dst, s, style), '\n'), nil
		case styleLiteral:
			if where != inMap {
				return dst, errYAMLSlow
			}
			return appendLiteral(dst, s, indent), nil
		}
		return dst, errYAMLSlow
	default:
		start := p.i
		for p.i < len(p.b) {
			if c := p.b[p.i]; c == ',' || c == '}' || c == ']' || c == ' ' || c == '\n' || c == '\t' || c == '\r' {
				break
			}
			p.i++
		}
		lit := p.b[start:p.i]
		switch string(lit) {
		case "true", "false", "null":
		default:
			if !isPlainNumber(lit) {
				return dst, errYAMLSlow // exponents and anything else: yaml.v3 decides
			}
		}
		if where == inMap {
			dst = append(dst, ' ')
		}
		dst = append(dst, lit...)
		return append(dst, '\n'), nil
	}
}

// open reads the opening bracket of an object or array at p.i, and an
// empty one whole, writing it ("{}" or "[]"); otherwise it ends the line
// of the collection's key, if it has one.
func (p *jsonWalker) open(dst []byte, close byte, where int) (_ []byte, empty bool) {
	p.i++
	p.space()
	if p.i < len(p.b) && p.b[p.i] == close {
		p.i++
		if where == inMap {
			dst = append(dst, ' ')
		}
		if close == '}' {
			return append(dst, "{}\n"...), true
		}
		return append(dst, "[]\n"...), true
	}
	if where == inMap {
		dst = append(dst, '\n')
	}
	return dst, false
}

// appendScalar writes s in a single-line style yamlStyle picked: plain,
// or quoted (yamlStyle gives the quoted styles only to strings that need
// no escapes).
func appendScalar(dst, s []byte, style int) []byte {
	switch style {
	case styleDouble:
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"')
	case styleSingle:
		dst = append(dst, '\'')
		dst = append(dst, s...)
		return append(dst, '\'')
	}
	return append(dst, s...)
}

// more reads what follows a member of an object or array: its end (close),
// reported as end, or a comma before the next member.
func (p *jsonWalker) more(close byte) (end bool, err error) {
	p.space()
	switch {
	case p.i >= len(p.b):
		return false, errYAMLSlow
	case p.b[p.i] == close:
		p.i++
		return true, nil
	case p.b[p.i] != ',':
		return false, errYAMLSlow
	}
	p.i++
	return false, nil
}

func appendIndent(dst []byte, n int) []byte {
	for range n {
		dst = append(dst, ' ')
	}
	return dst
}

// appendLiteral writes s, which yamlStyle found fit for it, as a literal
// block scalar ("|-" or "|") whose lines are indented to col.
func appendLiteral(dst []byte, s []byte, col int) []byte {
	chomp := "-"
	if s[len(s)-1] == '\n' {
		chomp, s = "", s[:len(s)-1]
	}
	dst = append(dst, '|')
	dst = append(dst, chomp...)
	dst = append(dst, '\n')
	for len(s) >= 0 {
		line := s
		i := indexByte(s, '\n')
		if i >= 0 {
			line = s[:i]
		}
		if len(line) > 0 {
			dst = appendIndent(dst, col)
			dst = append(dst, line...)
		}
		dst = append(dst, '\n')
		if i < 0 {
			break
		}
		s = s[i+1:]
	}
	return dst
}

func indexByte(s []byte, c byte) int {
	for i, b := range s {
		if b == c {
			return i
		}
	}
	return -1
}

// isPlainNumber reports whether lit is a JSON number yaml.v3 writes as it
// is: an optional minus, digits without a leading zero and an optional
// fraction, short enough to be an int64 or an exact float.
func isPlainNumber(lit []byte) bool {
	s := lit
	if len(s) > 0 && s[0] == '-' {
		s = s[1:]
	}
	if len(s) == 0 || len(s) > 17 || (s[0] == '0' && len(s) > 1 && s[1] != '.') {
		return false
	}
	dot := false
	for i, c := range s {
		switch {
		case c >= '0' && c <= '9':
		case c == '.' && !dot && i > 0 && i < len(s)-1:
			dot = true
		default:
			return false
		}
	}
	return true
}

// string reads a JSON string at p.i, returning its value: a slice of the
// input when it has no escapes, else of p.str.
func (p *jsonWalker) string() ([]byte, error) {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return nil, errYAMLSlow
	}
	p.i++
	start := p.i
	for p.i < len(p.b) {
		switch c := p.b[p.i]; {
		case c == '"':
			s := p.b[start:p.i]
			p.i++
			return s, nil
		case c == '\\':
			return p.escaped(start)
		case c < 0x20:
			return nil, errYAMLSlow
		}
		p.i++
	}
	return nil, errYAMLSlow
}

// escaped reads the rest of a string that has escapes, from start.
func (p *jsonWalker) escaped(start int) ([]byte, error) {
	p.str = append(p.str[:0], p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return p.str, nil
		case c < 0x20:
			return nil, errYAMLSlow
		case c != '\\':
			p.str = append(p.str, c)
			p.i++
			continue
		}
		if p.i+1 >= len(p.b) {
			return nil, errYAMLSlow
		}
		e := p.b[p.i+1]
		p.i += 2
		switch e {
		case '"', '\\', '/':
			p.str = append(p.str, e)
		case 'b':
			p.str = append(p.str, '\b')
		case 'f':
			p.str = append(p.str, '\f')
		case 'n':
			p.str = append(p.str, '\n')
		case 'r':
			p.str = append(p.str, '\r')
		case 't':
			p.str = append(p.str, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return nil, errYAMLSlow
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if p.i+1 < len(p.b) && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
					p.i += 2
					r2, _ = p.hex4()
				}
				r = utf16.DecodeRune(r, r2)
			}
			p.str = utf8.AppendRune(p.str, r)
		default:
			return nil, errYAMLSlow
		}
	}
	return nil, errYAMLSlow
}

func (p *jsonWalker) hex4() (rune, bool) {
	if p.i+4 > len(p.b) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(p.b[p.i:p.i+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	p.i += 4
	return rune(v), true
}

// How yaml.v3 writes a string scalar, for the strings the fast path knows;
// styleSlow for the others.
const (
	styleSlow = iota
	stylePlain
	styleSingle  // '…': starts with an indicator yaml.v3 quotes so
	styleDouble  // "…": would read back as another type
	styleLiteral // |- block: several lines
)

// yamlStyle picks the style yaml.v3 gives s, when s is one of the kinds of
// string the fast path knows:
//   - ASCII words and paths (letters, digits and _ . / - = , ? & % + ( )
//     with single inner spaces): plain, unless they read back as a
//     boolean or null (double-quoted);
//   - integers, and timestamps such as events carry: double-quoted, as
//     they would read back as numbers and times;
//   - UUIDs: plain;
//   - the same words starting with @ or `: single-quoted;
//   - the empty string: "";
//   - several lines of printable ASCII and tabs, with no blank at a line's
//     end and no space at the start: a literal block.
func yamlStyle(s []byte) int {
	if len(s) == 0 {
		return styleDouble
	}
	if indexByte(s, '\n') >= 0 {
		return literalStyle(s)
	}
	first := s[0]
	switch {
	case first == '@' || first == '`' || first == '%' || first == '&':
		if len(s) == 1 || wordChars(s[1:]) {
			return styleSingle
		}
		return styleSlow
	case first == '-':
		if len(s) > 1 && isLetter(s[1]) && wordChars(s) {
			return stylePlain
		}
		return styleSlow
	case first >= '0' && first <= '9':
		switch {
		case allDigits(s):
			return styleDouble
		case isTimestamp(s, true):
			// yaml.v3 reads it back as a time, and so quotes it, only if
			// it is a real one; "0000-00-00T…Z" it writes plain.
			if _, err := time.Parse(yamlTimeLayout, string(s)); err == nil {
				return styleDouble
			}
			return styleSlow
		case isUUID(s), isTimestamp(s, false), isDotted(s), isHex(s):
			return stylePlain
		case isClock(s):
			return stylePlain // Linode's time_remaining, "0:02:30"
		case hasByte(s, ' ') && !hasByte(s, ':') && wordChars(s):
			// With a space, no number; without a colon, no time.
			return stylePlain
		}
		return styleSlow
	case isLetter(first) || first == '/' || first == '_':
		if !wordChars(s) {
			if looseChars(s) {
				return styleSingle // "Unpack: 16% (33.33MB/s)"
			}
			return styleSlow
		}
		switch string(s) {
		case "true", "True", "TRUE", "false", "False", "FALSE", "null", "Null", "NULL":
			return styleDouble
		}
		return stylePlain
	}
	return styleSlow
}

func hasByte(s []byte, c byte) bool { return indexByte(s, c) >= 0 }

// isHex: lower-case hexadecimal digits with a letter other than e (so no
// float), not starting 0b or 0x (so no integer).
func isHex(s []byte) bool {
	letter := false
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9', c == 'e':
		case c >= 'a' && c <= 'f':
			letter = true
		default:
			return false
		}
	}
	return letter && !(s[0] == '0' && len(s) > 1 && (s[1] == 'b' || s[1] == 'x'))
}

// looseChars: the characters of wordChars with colons anywhere, which
// yaml.v3 single-quotes ("key: value", "x:").
func looseChars(s []byte) bool {
	for i, c := range s {
		switch {
		case isLetter(c), c >= '0' && c <= '9':
		case c == '_', c == '.', c == '/', c == '-', c == '=', c == ',', c == '?', c == '&', c == '%', c == '+', c == '(', c == ')', c == ':':
		case c == ' ':
			if i == 0 || i == len(s)-1 || s[i+1] == ' ' {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// wordChars: the characters a plain scalar may hold anywhere, with no
// space at either end or before another space.
func wordChars(s []byte) bool {
	for i, c := range s {
		switch {
		case isLetter(c), c >= '0' && c <= '9':
		case c == '_', c == '.', c == '/', c == '-', c == '=', c == ',', c == '?', c == '&', c == '%', c == '+', c == '(', c == ')':
		case c == ':':
			if i == len(s)-1 || s[i+1] == ' ' {
				return false // "x:" and "x: y" are quoted
			}
		case c == ' ':
			if i == 0 || i == len(s)-1 || s[i+1] == ' ' {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func allDigits(s []byte) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// isTimestamp: 2006-01-02T15:04:05 with an optional fraction, and with a
// Z when zoned, as events carry them. yaml.v3 reads zoned ones back as
// times, so quotes them; Linode's, without a zone, it writes plain.
func isTimestamp(s []byte, zoned bool) bool {
	const shape = "dddd-dd-ddTdd:dd:dd"
	if zoned {
		if len(s) < len(shape)+1 || s[len(s)-1] != 'Z' {
			return false
		}
		s = s[:len(s)-1]
	} else if len(s) < len(shape) {
		return false
	}
	for i := range len(shape) {
		if shape[i] == 'd' {
			if s[i] < '0' || s[i] > '9' {
				return false
			}
		} else if s[i] != shape[i] {
			return false
		}
	}
	rest := s[len(shape):]
	if len(rest) == 0 {
		return true
	}
	return rest[0] == '.' && len(rest) > 1 && allDigits(rest[1:])
}

// isDotted: digits with at least two dots, and an optional /prefix, as an
// IPv4 address or a version (yaml.v3 reads "1.2" as a number, "1.2.3" not).
func isDotted(s []byte) bool {
	dots := 0
	for i, c := range s {
		switch {
		case c >= '0' && c <= '9':
		case c == '.' && i > 0 && s[i-1] != '.':
			dots++
		case c == '/' && dots >= 2 && i < len(s)-1 && allDigits(s[i+1:]):
			return s[i-1] != '.'
		default:
			return false
		}
	}
	return dots >= 2 && s[len(s)-1] != '.'
}

// isClock: digits in groups split by single colons.
func isClock(s []byte) bool {
	colons := 0
	for i, c := range s {
		switch {
		case c >= '0' && c <= '9':
		case c == ':' && i > 0 && i < len(s)-1 && s[i-1] != ':':
			colons++
		default:
			return false
		}
	}
	return colons > 0
}

// isUUID: 8-4-4-4-12 lower-case hexadecimal digits.
func isUUID(s []byte) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// literalStyle: a string of several lines that yaml.v3 writes as a literal
// block without an indentation or keep indicator.
func literalStyle(s []byte) int {
	if s[0] == ' ' || s[0] == '\n' {
		return styleSlow
	}
	body := s
	if s[len(s)-1] == '\n' {
		body = s[:len(s)-1]
		if len(body) == 0 || body[len(body)-1] == '\n' {
			return styleSlow // trailing empty lines: "|+"
		}
	}
	for i, c := range body {
		switch {
		case c == '\n':
			if prev := body[i-1]; prev == ' ' || prev == '\t' {
				return styleSlow
			}
		case c == '\t', c >= 0x20 && c <= 0x7e:
		default:
			return styleSlow
		}
	}
	if last := body[len(body)-1]; last == ' ' || last == '\t' {
		return styleSlow
	}
	return styleLiteral
}
