package scenarios

import (
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/eventsim/eventsim/schemas"
)

// TestDocsExamplesAreValid loads and checks every YAML example of
// docs/scenarios.md, against the scenario schema too, so that no example can
// go stale: the page's example used to be invalid as written.
func TestDocsExamplesAreValid(t *testing.T) {
	doc, err := os.ReadFile("../docs/scenarios.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := yamlBlocks(string(doc))
	if len(blocks) == 0 {
		t.Fatal("docs/scenarios.md has no YAML example")
	}
	for _, b := range blocks {
		t.Run("line "+itoa(b.line), func(t *testing.T) {
			// Blank lines in front, so mistakes are reported at the
			// page's own line numbers.
			src := strings.Repeat("\n", b.line-1) + b.src
			s, err := Parse("docs/scenarios.md", []byte(src))
			if err != nil {
				t.Fatalf("the example does not load:\n%v", err)
			}
			if err := validateScenarioSchema([]byte(src)); err != nil {
				t.Errorf("the example fails the scenario schema: %v", err)
			}
			if recs := play(t, s, Options{}, 200); len(recs) == 0 {
				t.Error("the example makes no events")
			}
		})
	}
}

type yamlBlock struct {
	line int // of the block's first line
	src  string
}

var fenceRE = regexp.MustCompile("(?m)^```yaml\n")

// yamlBlocks returns the ```yaml blocks of a Markdown text with the line
// each starts on.
func yamlBlocks(doc string) []yamlBlock {
	var out []yamlBlock
	for _, m := range fenceRE.FindAllStringIndex(doc, -1) {
		rest := doc[m[1]:]
		end := strings.Index(rest, "\n```")
		if end < 0 {
			continue
		}
		line := strings.Count(doc[:m[1]], "\n") + 1
		out = append(out, yamlBlock{line: line, src: rest[:end+1]})
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestDocsNameEveryArgument: docs/scenarios.md documents every argument the
// parser and the scenario schema accept, for both APIs.
func TestDocsNameEveryArgument(t *testing.T) {
	doc, err := os.ReadFile("../docs/scenarios.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	i := strings.Index(text, "## Arguments")
	if i < 0 {
		t.Fatal("docs/scenarios.md has no Arguments section")
	}
	section := text[i:]
	var schema struct {
		Definitions map[string]struct {
			Properties map[string]any `json:"properties"`
		} `json:"definitions"`
	}
	src, err := schemas.Source(schemas.Scenario)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(src, &schema); err != nil {
		t.Fatal(err)
	}
	for api, def := range map[string]string{"lxd": "lxdStep", "linode": "linodeStep"} {
		accepted := map[string]bool{}
		for k := range argTypes[api] {
			accepted[k] = true
		}
		for k := range schema.Definitions[def].Properties {
			if k != api {
				accepted[k] = true
			}
		}
		for k := range accepted {
			if !strings.Contains(section, "`"+k+"`") {
				t.Errorf("docs/scenarios.md does not document the %s argument %q", api, k)
			}
		}
	}
}

// TestLXDImageArgumentIsInTheRequestBody: instance.create's image argument,
// once accepted and ignored, is the alias the logged request body names.
func TestLXDImageArgumentIsInTheRequestBody(t *testing.T) {
	for image, want := range map[string]string{"": `"alias": "debian/12"`, "\n    image: ubuntu/24.04": `"alias": "ubuntu/24.04"`} {
		s, err := Parse("i.yaml", []byte("name: i\napi: lxd\nsteps:\n  - lxd: instance.create"+image+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, r := range play(t, s, Options{}, 100) {
			var ev struct {
				Metadata struct {
					Message string `json:"message"`
				} `json:"metadata"`
			}
			if json.Unmarshal(r, &ev) == nil && strings.HasPrefix(ev.Metadata.Message, "API Request") && strings.Contains(ev.Metadata.Message, want) {
				found = true
			}
		}
		if !found {
			t.Errorf("no API Request logging event's body says %s", want)
		}
	}
}
