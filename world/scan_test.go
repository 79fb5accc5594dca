package world

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// TestScanStringAgreesWithEncodingJSON: the scanner finds where each string
// ends, and whether it holds escapes, as a JSON decoder reads it.
func TestScanStringAgreesWithEncodingJSON(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    string // the decoded string
		escaped bool
	}{
		{`"plain",`, "plain", false},
		{`"",`, "", false},
		{`"a\"b",`, `a"b`, true},
		{`"ends in a backslash\\",`, `ends in a backslash\`, true},
		{`"two\\\\",`, `two\\`, true},
		{`"quote after backslashes\\\"x",`, `quote after backslashes\"x`, true},
		{`"\u00e9t\u00e9",`, "été", true},
	} {
		raw, next, esc, err := scanString([]byte(tc.in), 0)
		if err != nil {
			t.Errorf("scanString(%s): %v", tc.in, err)
			continue
		}
		if tc.in[next] != ',' {
			t.Errorf("scanString(%s) ends at %d (%q), not before the comma", tc.in, next, tc.in[next:])
		}
		if esc != tc.escaped {
			t.Errorf("scanString(%s) escaped = %v, want %v", tc.in, esc, tc.escaped)
		}
		var dec string
		if err := json.Unmarshal([]byte(tc.in[:next]), &dec); err != nil || dec != tc.want {
			t.Errorf("scanString(%s) = %s: decodes to %q, %v; want %q", tc.in, raw, dec, err, tc.want)
		}
		if s, _, err := str([]byte(tc.in), 0); err != nil || s != tc.want {
			t.Errorf("str(%s) = %q, %v; want %q", tc.in, s, err, tc.want)
		}
	}
	for _, bad := range []string{`"never closed`, `"closed by an escaped quote\"`, `x"`} {
		if _, _, _, err := scanString([]byte(bad), 0); err == nil {
			t.Errorf("scanString(%s) read a string", bad)
		}
	}
}

// TestParseStampAgreesWithTimeParse: the fast timestamp reader gives
// time.Parse's time for what daemons write, and leaves the rest to it.
func TestParseStampAgreesWithTimeParse(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool // whether the fast reader takes it
	}{
		{"2026-11-21T05:46:41.353257134Z", true},
		{"2026-11-21T05:46:41.3532571Z", true},
		{"2026-11-21T05:46:41.3Z", true},
		{"2026-11-21T05:46:41Z", true},
		{"2026-01-01T00:00:00Z", true},
		{"2026-12-28T23:59:59.999999999Z", true},
		{"2026-02-29T00:00:00Z", false}, // past the 28th: time.Parse decides (and refuses)
		{"2026-01-31T00:00:00Z", false},
		{"2026-11-21T05:46:41.353257134+01:00", false},
		{"2026-13-01T00:00:00Z", false},
		{"2026-11-21T24:00:00Z", false},
		{"2026-11-21T05:46:41.Z", false},
		{"2026-11-21T05:46:41.1234567890Z", false},
		{"2026-11-21 05:46:41Z", false},
		{"not a time at all, no", false},
	} {
		got, ok := parseStamp([]byte(tc.in))
		if ok != tc.ok {
			t.Errorf("parseStamp(%q) ok = %v, want %v", tc.in, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		want, err := time.Parse(time.RFC3339Nano, tc.in)
		if err != nil {
			t.Errorf("parseStamp(%q) took what time.Parse refuses: %v", tc.in, err)
			continue
		}
		if got != want {
			t.Errorf("parseStamp(%q) = %v, time.Parse = %v", tc.in, got, want)
		}
	}
}

// TestScanStringLong: strings past the byte-by-byte stretch, with and
// without escapes on either side of it.
func TestScanStringLong(t *testing.T) {
	long := "0123456789abcdef0123456789abcdef0123456789"
	for _, want := range []string{long, `a"b` + long, long + `a"b\c`, long + long + `\`, `\` + long} {
		enc, _ := json.Marshal(want)
		in := string(enc) + `,"next":1`
		_, next, esc, err := scanString([]byte(in), 0)
		if err != nil || next != len(enc) {
			t.Errorf("scanString(%s) = next %d, %v; want %d", in, next, err, len(enc))
		}
		if wantEsc := string(enc) != `"`+want+`"`; esc != wantEsc {
			t.Errorf("scanString(%s) escaped = %v, want %v", in, esc, wantEsc)
		}
	}
}

// FuzzScanString: scanString and skipString end a string where a plain
// byte-by-byte reading does (a backslash escapes the next byte), report
// escapes when it holds a backslash, and refuse what it refuses.
func FuzzScanString(f *testing.F) {
	for _, s := range []string{`"plain",`, `"a\"b",`, `"two\\\\",`, `"quote after backslashes\\\"x",`, `"never closed`,
		`"closed by an escaped quote\"`, `x"`, `"0123456789abcdef0123456789abcdef01234\\"`, `""`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		want, wantOK := -1, false
		if len(b) > 0 && b[0] == '"' {
			for j := 1; j < len(b); j++ {
				if b[j] == '\\' {
					j++
				} else if b[j] == '"' {
					want, wantOK = j+1, true
					break
				}
			}
		}
		raw, next, esc, err := scanString(b, 0)
		if (err == nil) != wantOK || wantOK && (next != want || !bytes.Equal(raw, b[1:want-1]) || esc != bytes.Contains(raw, []byte(`\`))) {
			t.Fatalf("%q: scanString = %q %d %v %v; want end %d (%v)", b, raw, next, esc, err, want, wantOK)
		}
		got, err := skipString(b, 0)
		if (err == nil) != wantOK || wantOK && got != want {
			t.Fatalf("%q: skipString = %d, %v; want %d (%v)", b, got, err, want, wantOK)
		}
	})
}
