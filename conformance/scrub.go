package conformance

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"strings"
)

// Scrubber replaces secrets in recorded events by stand-ins, consistently
// across a recording: one secret, one stand-in, wherever it appears. It
// knows secrets by their keys (usernames, client addresses, certificate
// fingerprints, host and member names, tokens; labels when asked) and by a
// few path shapes (/1.0/certificates/FP, /1.0/cluster/members/NAME), and
// then replaces each secret it knows inside every string, so a username
// also goes from the messages that repeat it. The JSON keeps its layout:
// only string values change. Not safe for concurrent use.
type Scrubber struct {
	// Labels also scrubs labels (Linode entity labels).
	Labels bool

	standIn map[string]string // secret -> stand-in
	count   map[string]int    // per category
	order   []string          // secrets, longest first, for replacing inside strings
	orderB  [][]byte          // order as bytes, for looking in raw bytes
	out     []byte            // Scrub's result, reused
	spans   []strSpan         // the string values of the event being scrubbed
}

// NewScrubber makes a scrubber; labels says whether labels are secrets too.
func NewScrubber(labels bool) *Scrubber {
	return &Scrubber{Labels: labels, standIn: map[string]string{}, count: map[string]int{}}
}

// Secrets returns how many distinct secrets were replaced.
func (s *Scrubber) Secrets() int { return len(s.standIn) }

// category says what kind of secret a key's string value is, or "".
func (s *Scrubber) category(key string) string {
	switch key {
	case "username", "user":
		return "user"
	case "address", "ip", "remote", "client_address", "source_address":
		return "address"
	case "fingerprint", "certificate_fingerprint":
		return "fingerprint"
	case "location", "server_name", "member", "node", "hostname", "host":
		return "host"
	case "secret", "token", "password", "trust_password", "trust_token":
		return "token"
	case "label":
		if s.Labels {
			return "label"
		}
	}
	return ""
}

// notSecret are values under secret keys that reveal nothing: LXD's
// standalone location, the unix socket's address, empty values.
var notSecret = map[string]bool{"": true, "none": true, "@": true, "unix": true, "null": true}

// Remember registers value as a secret of category cat (user, address,
// fingerprint, host, token, label) and returns its stand-in.
func (s *Scrubber) Remember(cat, value string) string {
	if notSecret[value] {
		return value
	}
	if cat == "address" {
		if h, port, err := net.SplitHostPort(value); err == nil && h != "" {
			return net.JoinHostPort(s.Remember("address", h), port)
		}
	}
	if v, ok := s.standIn[value]; ok {
		return v
	}
	s.count[cat]++
	n := s.count[cat]
	var v string
	switch cat {
	case "address":
		if ip := net.ParseIP(value); ip != nil && ip.To4() != nil {
			v = fmt.Sprintf("192.0.2.%d", n%254+1)
			if n >= 254 {
				v = fmt.Sprintf("198.51.100.%d", n%254+1) // a second documentation range
			}
		} else if ip != nil {
			v = fmt.Sprintf("2001:db8::%x", n)
		} else {
			v = fmt.Sprintf("address-%d", n)
		}
	case "fingerprint":
		sum := sha256.Sum256([]byte(fmt.Sprintf("eventsim-fingerprint-%d", n)))
		v = hex.EncodeToString(sum[:])
		if len(value) < len(v) {
			v = v[:len(value)]
		}
	default:
		v = fmt.Sprintf("%s-%d", cat, n)
	}
	s.standIn[value] = v
	s.order = append(s.order, value)
	// Longest first, so a secret inside a longer one does not cut it.
	s.orderB = append(s.orderB, []byte(value))
	for i := len(s.order) - 1; i > 0 && len(s.order[i]) > len(s.order[i-1]); i-- {
		s.order[i], s.order[i-1] = s.order[i-1], s.order[i]
		s.orderB[i], s.orderB[i-1] = s.orderB[i-1], s.orderB[i]
	}
	return v
}

// pathSecrets are path prefixes whose next segment is a secret.
var pathSecrets = []struct{ prefix, cat string }{
	{"/1.0/certificates/", "fingerprint"},
	{"/1.0/cluster/members/", "host"},
}

// Scrub returns the event with every secret replaced. raw must be one JSON
// value; anything else is returned unchanged. The result may be raw itself
// or a buffer the next call reuses: use it before calling Scrub again.
func (s *Scrubber) Scrub(raw []byte) []byte {
	// First learn the secrets this event names, wherever they are, then
	// rewrite every string knowing all of them. Strings are looked at in
	// their raw bytes; only those that may change are decoded.
	s.spans = s.spans[:0]
	if walkStrings(raw, func(key, val []byte, escaped bool) {
		cat := s.category(string(key))
		pathBytes := val
		if escaped && bytes.Contains(val, []byte(`\/`)) {
			pathBytes = []byte(unquote(val, escaped))
		}
		hasPath := bytes.Contains(pathBytes, []byte("/1.0/c")) &&
			(bytes.Contains(pathBytes, []byte("/1.0/certificates/")) || bytes.Contains(pathBytes, []byte("/1.0/cluster/members/")))
		if cat == "" && !hasPath {
			return
		}
		if !hasPath && !escaped {
			if _, known := s.standIn[string(val)]; known || notSecret[string(val)] {
				return
			}
		}
		v := unquote(val, escaped)
		if cat != "" {
			s.Remember(cat, v)
		}
		for _, p := range pathSecrets {
			if i := strings.Index(v, p.prefix); i >= 0 {
				seg := v[i+len(p.prefix):]
				if j := strings.IndexAny(seg, "/?"); j >= 0 {
					seg = seg[:j]
				}
				s.Remember(p.cat, seg)
			}
		}
	}, &s.spans) != nil {
		return raw
	}
	if len(s.standIn) == 0 || !s.mayHold(raw) && !bytes.Contains(raw, []byte(`\u`)) && !bytes.Contains(raw, []byte(`\/`)) {
		return raw
	}
	// Then rewrite the string values the walk found, copying the bytes
	// between them as they are.
	out, flushed := s.out[:0], 0
	for _, sp := range s.spans {
		val := raw[sp.start:sp.end]
		nv, changed := s.rewrite(val, sp.escaped)
		if changed {
			out = append(out, raw[flushed:sp.start-1]...)
			out = appendJSONString(out, nv)
			flushed = sp.end + 1
		}
	}
	if flushed == 0 {
		return raw
	}
	out = append(out, raw[flushed:]...)
	s.out = out
	return out
}

// rewrite returns a string value with the known secrets replaced, and
// whether it changed; val is its raw bytes between the quotes.
func (s *Scrubber) rewrite(val []byte, escaped bool) (string, bool) {
	if !escaped {
		if v, ok := s.standIn[string(val)]; ok {
			return v, true
		}
	}
	// A secret may hide behind \u or \/ escapes; other escapes
	// (newlines, quotes) are not in secrets, so the raw bytes tell.
	hidden := escaped && (bytes.Contains(val, []byte(`\u`)) || bytes.Contains(val, []byte(`\/`)))
	if !hidden && !s.mayHold(val) {
		return "", false
	}
	v := unquote(val, escaped)
	if sv, ok := s.standIn[v]; ok {
		return sv, true
	}
	nv := s.replaceInside(v)
	return nv, nv != v
}

// mayHold reports whether b holds some known secret's bytes (escaping aside,
// which secrets rarely need).
func (s *Scrubber) mayHold(b []byte) bool {
	for _, sec := range s.orderB {
		if bytes.Contains(b, sec) {
			return true
		}
	}
	return false
}

func unquote(val []byte, escaped bool) string {
	if !escaped {
		return string(val)
	}
	var v string
	q := make([]byte, 0, len(val)+2)
	q = append(append(append(q, '"'), val...), '"')
	if json.Unmarshal(q, &v) != nil {
		return string(val)
	}
	return v
}

// replaceInside replaces the known secrets that stand as whole words inside val.
func (s *Scrubber) replaceInside(val string) string {
	for _, sec := range s.order {
		if len(sec) > len(val) || !strings.Contains(val, sec) {
			continue
		}
		var b strings.Builder
		rest := val
		for {
			i := strings.Index(rest, sec)
			if i < 0 {
				b.WriteString(rest)
				break
			}
			end := i + len(sec)
			whole := (i == 0 || !wordByte(rest[i-1])) && (end == len(rest) || !wordByte(rest[end]))
			b.WriteString(rest[:i])
			if whole {
				b.WriteString(s.standIn[sec])
			} else {
				b.WriteString(sec)
			}
			rest = rest[end:]
		}
		val = b.String()
	}
	return val
}

func wordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// strSpan is where a string value is in a document: its bytes between the
// quotes, and whether they hold escapes.
type strSpan struct {
	start, end int
	escaped    bool
}

// walkStrings calls f on every string value of the JSON document raw with
// the key it belongs to (the nearest object key; empty at the top), as raw
// bytes between the quotes (escaped says they hold escapes), and appends
// where each is to *spans. It returns an error for input that is not JSON.
func walkStrings(raw []byte, f func(key, val []byte, escaped bool), spans *[]strSpan) error {
	w := &strWalker{b: raw, f: f, spans: spans}
	w.space()
	if err := w.value(nil); err != nil {
		return err
	}
	w.space()
	if w.i != len(w.b) {
		return fmt.Errorf("trailing data at %d", w.i)
	}
	return nil
}

type strWalker struct {
	b     []byte
	i     int
	f     func(key, val []byte, escaped bool)
	spans *[]strSpan
}

func (w *strWalker) space() {
	for w.i < len(w.b) && (w.b[w.i] == ' ' || w.b[w.i] == '\t' || w.b[w.i] == '\n' || w.b[w.i] == '\r') {
		w.i++
	}
}

func (w *strWalker) value(key []byte) error {
	if w.i >= len(w.b) {
		return fmt.Errorf("unexpected end")
	}
	switch c := w.b[w.i]; {
	case c == '{':
		w.i++
		for {
			w.space()
			if w.i < len(w.b) && w.b[w.i] == '}' {
				w.i++
				return nil
			}
			k, _, err := w.str()
			if err != nil {
				return err
			}
			w.space()
			if w.i >= len(w.b) || w.b[w.i] != ':' {
				return fmt.Errorf("want : at %d", w.i)
			}
			w.i++
			w.space()
			if err := w.value(k); err != nil {
				return err
			}
			w.space()
			if w.i < len(w.b) && w.b[w.i] == ',' {
				w.i++
				continue
			}
			if w.i < len(w.b) && w.b[w.i] == '}' {
				w.i++
				return nil
			}
			return fmt.Errorf("want , or } at %d", w.i)
		}
	case c == '[':
		w.i++
		for {
			w.space()
			if w.i < len(w.b) && w.b[w.i] == ']' {
				w.i++
				return nil
			}
			if err := w.value(key); err != nil {
				return err
			}
			w.space()
			if w.i < len(w.b) && w.b[w.i] == ',' {
				w.i++
				continue
			}
			if w.i < len(w.b) && w.b[w.i] == ']' {
				w.i++
				return nil
			}
			return fmt.Errorf("want , or ] at %d", w.i)
		}
	case c == '"':
		start := w.i
		s, esc, err := w.str()
		if err != nil {
			return err
		}
		*w.spans = append(*w.spans, strSpan{start + 1, w.i - 1, esc})
		w.f(key, s, esc)
		return nil
	default:
		// A number, true, false or null: skip to the next delimiter.
		start := w.i
	skip:
		for ; w.i < len(w.b); w.i++ {
			switch w.b[w.i] {
			case ',', '}', ']', ' ', '\t', '\r', '\n':
				break skip
			}
		}
		if w.i == start {
			return fmt.Errorf("unexpected %q at %d", c, w.i)
		}
		return nil
	}
}

// str reads a JSON string at w.i and returns its bytes between the quotes,
// and whether they hold escapes.
func (w *strWalker) str() ([]byte, bool, error) {
	if w.i >= len(w.b) || w.b[w.i] != '"' {
		return nil, false, fmt.Errorf("want a string at %d", w.i)
	}
	start := w.i + 1
	w.i++
	escaped := false
	for w.i < len(w.b) {
		switch w.b[w.i] {
		case '\\':
			escaped = true
			w.i += 2
		case '"':
			w.i++
			return w.b[start : w.i-1], escaped, nil
		default:
			w.i++
		}
	}
	return nil, false, fmt.Errorf("unterminated string")
}

// appendJSONString appends s as a JSON string: quotes, backslashes and
// control characters escaped, everything else as it is.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}
