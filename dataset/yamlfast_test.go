package dataset

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/eventsim/eventsim/scenarios"
)

// TestYAMLFastMatchesYAMLv3 holds the YAML fast path to yaml.v3 on every
// event of every built-in scenario (the first 3,000 of the endless ones):
// where it writes an event, it writes yaml.v3's bytes; and it writes
// nearly all of them, or the speed it exists for is gone.
func TestYAMLFastMatchesYAMLv3(t *testing.T) {
	list, err := scenarios.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range list {
		for _, api := range b.APIs {
			t.Run(b.Name+"/"+api, func(t *testing.T) {
				o := &Options{Scenario: load(t, b.Name), API: api, Format: "ndjson"}
				if o.Scenario.Endless() {
					o.Count = 3000
				}
				var nd bytes.Buffer
				if _, err := o.WriteShard(t.Context(), Part{}, &nd); err != nil {
					t.Fatal(err)
				}
				total, fast := 0, 0
				for _, obj := range bytes.Split(bytes.TrimSuffix(nd.Bytes(), []byte("\n")), []byte("\n")) {
					if len(obj) == 0 {
						continue
					}
					total++
					want, err := appendYAMLv3(nil, obj)
					if err != nil {
						t.Fatal(err)
					}
					got, err := appendYAML(nil, obj)
					if err == errYAMLSlow {
						continue
					}
					fast++
					if err != nil || !bytes.Equal(got, want) {
						t.Fatalf("event %d: fast path wrote\n%s\nyaml.v3 writes\n%s\n(err %v) for %s", total, got, want, err, obj)
					}
				}
				if total == 0 {
					t.Fatal("no events")
				}
				if fast < total*95/100 {
					t.Errorf("the fast path wrote %d of %d events; want at least 95%%", fast, total)
				}
			})
		}
	}
}

// FuzzYAMLFast: for any JSON object, the fast path writes yaml.v3's bytes
// or steps aside.
func FuzzYAMLFast(f *testing.F) {
	for _, seed := range []string{
		`{"type":"logging","timestamp":"2026-01-01T00:00:00.000001Z","metadata":{"message":"API Request\n\t{\n\t\t\"name\": \"x\"\n\t}","level":"debug","context":{"ip":"@","url":"/1.0/instances?recursion=1"}},"location":"none"}`,
		`{"a":[],"b":{},"c":[[1,2],[{"d":null}],{"e":true}],"f":-3,"g":"","h":"100","i":"true","j":"x: y","k":"a\n\nb\n"}`,
		`{"id":"34010cd9-3eab-4c6b-be44-8713a71b20b3","n":0,"m":1.5,"s":"a b","t":"\u00e9","u":"\ud83d\ude00"}`,
		`{"x":"a\nb ","y":" a\nb","z":"a \nb","w":"\ta\n\tb","v":"@x y","q":"'@'","p":"%x"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, obj []byte) {
		var v map[string]any
		if json.Unmarshal(obj, &v) != nil || !json.Valid(obj) {
			return
		}
		got, err := appendYAML(nil, obj)
		if err == errYAMLSlow {
			return
		}
		want, werr := appendYAMLv3(nil, obj)
		if err != nil || werr != nil || !bytes.Equal(got, want) {
			t.Fatalf("fast path wrote\n%q (err %v)\nyaml.v3 writes\n%q (err %v)\nfor %s", got, err, want, werr, obj)
		}
	})
}

// TestYAMLFastEdges: strings and numbers around the edges of each of the
// fast path's rules, as values, as keys and in lists, where it writes
// them: yaml.v3's bytes. Each is alone in its object, so that one string
// the fast path leaves does not hide the others.
func TestYAMLFastEdges(t *testing.T) {
	fast := 0
	for _, v := range []string{
		"word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word ",
		"a\n\nb",
		"x\tb",
		" lead",
		"a\n b",
		"a \nb",
		"a\n",
		"a\n\n",
		"\ta\n\tb",
		"yes",
		"No",
		"nO",
		"@x",
		"`x",
		"-x",
		"?x",
		":x",
		"x:y",
		"x: y",
		"x #y",
		"x#y",
		"\u00e9",
		"a'b",
		"'",
		"1.5",
		"0x1f",
		"1_000",
		"007",
		"1e5",
		"+1",
		"2026-01-01",
		"2026-01-01T00:00:00.1Z",
		"12345678-aaaa-bbbb-cccc-1234567890ab",
		"1234e678-aaaa-bbbb-cccc-1234567890ab",
		"~",
		".inf",
		"<<",
		"=",
		"a,b",
		"[x",
		"x]",
		"a b",
		"a  b",
		"2026-01-01T00:00:00",
		"2026-01-01 00:00:00",
		"fd42::1",
		"10.0.0.1",
		"10.0.0.1/24",
		"1.2.3",
		"x:",
		"a:b:c",
		"http://x/y",
		"(x)",
		"a%b",
		"%x",
		"&x",
		"-",
		"--",
		"a-",
		"0:02:30",
		"1:00",
		"0b101",
		"0x1f",
		"1e10",
		"0e5",
		"TRUE",
		"Null",
		"true",
		"-1",
		"-c",
		"@",
		"@ x",
		"Unpack: 16% (33.33MB/s)",
		"67.27 MB/s",
		"2026-01-01 x",
		"0",
		"",
		"a\n",
		"x\n\ny",
		"1.",
		"1..2",
		"1.2.",
		"84f469a0614e47ec86e2688a12b859c4",
		"0b1f",
		"e5",
		"1e",
		"a:",
		"a: ",
		"a :b",
		strings.Repeat("k", 128), // yaml.v3 writes a key longer than 128 bytes as "? key"
		strings.Repeat("k", 129),
		strings.Repeat("word ", 30) + "end",
	} {
		q, _ := json.Marshal(v)
		for _, obj := range []string{`{"k":` + string(q) + `}`, `{` + string(q) + `:1}`, `{"l":[` + string(q) + `,{"m":` + string(q) + `}]}`} {
			fast += compareYAML(t, obj)
		}
	}
	for _, n := range []string{"1.5", "-0.25", "0", "-7", "12345678901234567890", "1e5", "1E+5", "0.5", "-0", "10.", "007"} {
		fast += compareYAML(t, `{"n":`+n+`,"l":[`+n+`]}`)
	}
	if fast < 120 {
		t.Errorf("the fast path wrote %d of the objects; its rules no longer cover these strings?", fast)
	}
}

// compareYAML checks the fast path against yaml.v3 on obj, and returns 1
// when the fast path wrote it.
func compareYAML(t *testing.T, obj string) int {
	t.Helper()
	got, err := appendYAML(nil, []byte(obj))
	if err == errYAMLSlow {
		return 0
	}
	want, werr := appendYAMLv3(nil, []byte(obj))
	if err != nil || werr != nil || !bytes.Equal(got, want) {
		t.Errorf("%s: fast path wrote\n%q (err %v)\nyaml.v3 writes\n%q (err %v)", obj, got, err, want, werr)
	}
	return 1
}
