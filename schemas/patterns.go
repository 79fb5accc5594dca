package schemas

// knownPatterns are hand-written matchers for the patterns the LXD event
// schemas put on every event (timestamps, operation ids, lifecycle actions
// and sources). Go's regexp takes microseconds for each on a busy stream,
// more than reading the rest of the event; these take tens of nanoseconds.
// TestKnownPatternsAgreeWithRegexp and FuzzKnownPatterns hold each to
// regexp.MatchString of its pattern.
var knownPatterns = map[string]func(string) bool{
	`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$`: matchTimestamp,
	`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`:       matchUUID,
	`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$`:                                matchLinodeTime,
	`^[a-z]+(-[a-z]+)*$`:                                                   matchKebab,
	`^/1\.0(/|$|\?)`:                                                       matchAPIPath,
}

func digits(s string, n int) bool {
	if len(s) < n {
		return false
	}
	for i := range n {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

const timestampHead = "dddd-dd-ddTdd:dd:dd"

// matchTimestampHead reports whether s starts with timestampHead, each d
// an ASCII digit.
func matchTimestampHead(s string) bool {
	if len(s) < len(timestampHead) {
		return false
	}
	for i := range len(timestampHead) {
		if timestampHead[i] == 'd' {
			if s[i] < '0' || s[i] > '9' {
				return false
			}
		} else if s[i] != timestampHead[i] {
			return false
		}
	}
	return true
}

// matchTimestamp: ^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$
// (\d is ASCII only in Go's regexp).
func matchTimestamp(s string) bool {
	if !matchTimestampHead(s) {
		return false
	}
	s = s[len(timestampHead):]
	if len(s) > 0 && s[0] == '.' {
		n := 0
		for n < len(s)-1 && s[1+n] >= '0' && s[1+n] <= '9' {
			n++
		}
		if n < 1 || n > 9 {
			return false
		}
		s = s[1+n:]
	}
	if s == "Z" {
		return true
	}
	return len(s) == 6 && (s[0] == '+' || s[0] == '-') && digits(s[1:], 2) && s[3] == ':' && digits(s[4:], 2)
}

// matchLinodeTime: ^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$ (Linode's times).
func matchLinodeTime(s string) bool {
	return len(s) == len("dddd-dd-ddTdd:dd:dd") && matchTimestampHead(s)
}

// matchUUID: ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$
func matchUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := range len(s) {
		c := s[i]
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

// matchKebab: ^[a-z]+(-[a-z]+)*$
func matchKebab(s string) bool {
	if s == "" {
		return false
	}
	prevDash := true // a word must start the string and follow every dash
	for i := range len(s) {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z':
			prevDash = false
		case c == '-' && !prevDash:
			prevDash = true
		default:
			return false
		}
	}
	return !prevDash
}

// matchAPIPath: ^/1\.0(/|$|\?)
func matchAPIPath(s string) bool {
	if len(s) < 4 || s[:4] != "/1.0" {
		return false
	}
	return len(s) == 4 || s[4] == '/' || s[4] == '?'
}
