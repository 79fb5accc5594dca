package schemas

import (
	"regexp"
	"testing"
)

// patternSamples are strings near each known pattern's edges.
var patternSamples = []string{
	"", "-", "a", "a-", "-a", "a--b", "a-b", "abc-def-ghi", "abc-Def", "instance-created", "é", "a b",
	"/1.0", "/1.0/", "/1.0?x", "/1.0x", "/1.", "/1.00", "1.0/", "/1.0/instances/c1?project=p",
	"fa31dc1e-acec-4273-9abf-a8e64a8311c3", "fa31dc1e-acec-4273-9abf-a8e64a8311c", "FA31DC1E-acec-4273-9abf-a8e64a8311c3",
	"fa31dc1eXacec-4273-9abf-a8e64a8311c3", "fa31dc1e-acec-4273-9abf-a8e64a8311c33", "fa31dc1e-acec-4273-9abf-a8e64a8311cg",
	"2026-11-21T05:26:48Z", "2026-11-21T05:26:48.160339714Z", "2026-11-21T05:26:48.1603397141Z", "2026-11-21T05:26:48.Z",
	"2026-11-21T05:26:48+01:00", "2026-11-21T05:26:48.1-01:00", "2026-11-21T05:26:48+0100", "2026-11-21T05:26:48z",
	"2026-11-21T05:26:48", "2026-11-21 05:26:48Z", "2026-11-21T05:26:48ZZ", "2026-11-21T05:26:48.5", "२०२६-11-21T05:26:48Z",
	"2026-11-21T05:26:48Z\n", "2026-1-21T05:26:48Z", "2026-11-21T05:26:48+01:0a",
}

// TestKnownPatternsAgreeWithRegexp: each hand-written matcher answers as
// regexp does on strings near its pattern's edges and on every prefix of
// them.
func TestKnownPatternsAgreeWithRegexp(t *testing.T) {
	for pat, match := range knownPatterns {
		re := regexp.MustCompile(pat)
		for _, s := range patternSamples {
			for i := 0; i <= len(s); i++ {
				if got, want := match(s[:i]), re.MatchString(s[:i]); got != want {
					t.Errorf("%s on %q: %v, regexp says %v", pat, s[:i], got, want)
				}
			}
		}
	}
}

func FuzzKnownPatterns(f *testing.F) {
	for _, s := range patternSamples {
		f.Add(s)
	}
	res := map[string]*regexp.Regexp{}
	for pat := range knownPatterns {
		res[pat] = regexp.MustCompile(pat)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for pat, match := range knownPatterns {
			if got, want := match(s), res[pat].MatchString(s); got != want {
				t.Errorf("%s on %q: %v, regexp says %v", pat, s, got, want)
			}
		}
	})
}
