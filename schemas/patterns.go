package schemas

import (
	"regexp"
	"strings"
)

// patternMatcher returns the check of a schema's pattern: a hand-written
// matcher for the patterns every LXD event meets (its timestamp, an
// operation's id, a lifecycle action and source), which decide exactly what
// the regular expression does (a test holds them to it), and the regular
// expression's own for any other.
func patternMatcher(re *regexp.Regexp) func(string) bool {
	switch re.String() {
	case `^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$`:
		return matchTimestamp
	case `^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`:
		return matchUUID
	case `^[a-z]+(-[a-z]+)*$`:
		return matchKebab
	case `^/1\.0(/|$|\?)`:
		return matchAPIPath
	}
	return re.MatchString
}

func digits(s string, i, n int) bool {
	if i+n > len(s) {
		return false
	}
	for _, c := range []byte(s[i : i+n]) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// matchTimestamp: YYYY-MM-DDTHH:MM:SS, up to 9 digits of fraction, then Z
// or an offset.
func matchTimestamp(s string) bool {
	if len(s) < 20 || !digits(s, 0, 4) || s[4] != '-' || !digits(s, 5, 2) || s[7] != '-' || !digits(s, 8, 2) ||
		s[10] != 'T' || !digits(s, 11, 2) || s[13] != ':' || !digits(s, 14, 2) || s[16] != ':' || !digits(s, 17, 2) {
		return false
	}
	i := 19
	if s[i] == '.' {
		j := i + 1
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if n := j - i - 1; n < 1 || n > 9 {
			return false
		}
		i = j
	}
	rest := s[i:]
	if rest == "Z" {
		return true
	}
	return len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && digits(rest, 1, 2) && rest[3] == ':' && digits(rest, 4, 2)
}

// matchUUID: lower-case hex in groups of 8, 4, 4, 4 and 12.
func matchUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
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

// matchKebab: lower-case words joined by single dashes.
func matchKebab(s string) bool {
	if s == "" || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '-' {
			if s[i-1] == '-' {
				return false
			}
			continue
		}
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// matchAPIPath: /1.0, alone or followed by / or ?.
func matchAPIPath(s string) bool {
	rest, ok := strings.CutPrefix(s, "/1.0")
	return ok && (rest == "" || rest[0] == '/' || rest[0] == '?')
}
