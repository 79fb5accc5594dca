package schemas

import (
	"math/rand"
	"regexp"
	"testing"
)

// TestPatternMatchersAgreeWithRegexp holds each hand-written matcher to
// its regular expression on real values and on every one-character
// change, deletion and insertion of them, and on random strings.
func TestPatternMatchersAgreeWithRegexp(t *testing.T) {
	cases := []struct {
		pattern string
		samples []string
	}{
		{`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$`, []string{
			"2026-01-01T00:00:12.345678901Z", "2026-01-01T00:00:12Z", "2026-01-01T00:00:12.5+02:00", "1999-12-31T23:59:59-07:30", "2026-01-01T00:00:12.1234567890Z"}},
		{`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`, []string{
			"2cd559ca-6be3-440e-9cdc-7bc89cba6eb1", "00000000-0000-4000-8000-000000000000"}},
		{`^[a-z]+(-[a-z]+)*$`, []string{"instance-created", "storage-volume-snapshot-deleted", "a", "a-b"}},
		{`^/1\.0(/|$|\?)`, []string{"/1.0", "/1.0/instances/c1", "/1.0?project=a", "/1.0x", "/1.00"}},
	}
	alphabet := []byte("0123456789abcfgzAZ-:.T+/?\\ \n\xc3\xa9")
	rng := rand.New(rand.NewSource(1))
	for _, c := range cases {
		re := regexp.MustCompile(c.pattern)
		match := patternMatcher(re)
		check := func(s string) {
			if got, want := match(s), re.MatchString(s); got != want {
				t.Errorf("%s: matcher says %v for %q, the regexp %v", c.pattern, got, s, want)
			}
		}
		check("")
		for _, s := range c.samples {
			check(s)
			for i := 0; i <= len(s); i++ {
				check(s[:i])
				if i < len(s) {
					check(s[:i] + s[i+1:])
				}
				for _, ch := range alphabet {
					check(s[:i] + string(ch) + s[i:])
					if i < len(s) {
						check(s[:i] + string(ch) + s[i+1:])
					}
				}
			}
		}
		for range 20000 {
			b := make([]byte, rng.Intn(40))
			for i := range b {
				b[i] = alphabet[rng.Intn(len(alphabet))]
			}
			check(string(b))
		}
	}
}
