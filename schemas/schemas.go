// Package schemas holds the project's JSON Schemas (draft-07): the LXD event
// envelope and its payloads, LXD's responses, Linode's Event, page and error
// envelopes, and the scenario file format. One set validates what `generate`
// writes, what the servers send, what `validate` reads and what `conform`
// observes.
package schemas

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/xeipuuv/gojsonschema"
)

//go:embed json/*.json
var files embed.FS

// Schema names, as `eventsim schemas list` shows them.
const (
	LXDEvent         = "lxd-event"
	LXDLogging       = "lxd-logging"
	LXDOperation     = "lxd-operation"
	LXDLifecycle     = "lxd-lifecycle"
	LXDSyncResponse  = "lxd-sync-response"
	LXDAsyncResponse = "lxd-async-response"
	LXDErrorResponse = "lxd-error-response"
	LXDServer        = "lxd-server"
	LinodeEvent      = "linode-event"
	LinodeEventPage  = "linode-event-page"
	LinodeErrors     = "linode-errors"
	Scenario         = "scenario"
)

// Names lists every schema, sorted.
func Names() []string {
	entries, _ := fs.ReadDir(files, "json")
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ".json"))
	}
	sort.Strings(out)
	return out
}

// Source returns a schema's text.
func Source(name string) ([]byte, error) {
	b, err := files.ReadFile(path.Join("json", name+".json"))
	if err != nil {
		return nil, fmt.Errorf("unknown schema %q, must be one of %s", name, strings.Join(Names(), ", "))
	}
	return b, nil
}

// compiled holds every schema compiled once, each able to refer to the others.
var compiled = sync.OnceValues(func() (map[string]*gojsonschema.Schema, error) {
	names := Names()
	out := make(map[string]*gojsonschema.Schema, len(names))
	for _, root := range names {
		sl := gojsonschema.NewSchemaLoader()
		sl.Draft = gojsonschema.Draft7
		for _, n := range names {
			if n == root {
				continue
			}
			b, _ := Source(n)
			if err := sl.AddSchemas(gojsonschema.NewBytesLoader(b)); err != nil {
				return nil, fmt.Errorf("schema %s: %w", n, err)
			}
		}
		b, _ := Source(root)
		s, err := sl.Compile(gojsonschema.NewBytesLoader(b))
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", root, err)
		}
		out[root] = s
	}
	return out, nil
})

func get(name string) (*gojsonschema.Schema, error) {
	all, err := compiled()
	if err != nil {
		return nil, err
	}
	s, ok := all[name]
	if !ok {
		return nil, fmt.Errorf("unknown schema %q, must be one of %s", name, strings.Join(Names(), ", "))
	}
	return s, nil
}

// Problem is one way a document departs from a schema.
type Problem struct {
	// Field is the dotted path to the value at fault ("metadata.status_code"),
	// or "(root)".
	Field string
	// Description says what is wrong and what is allowed.
	Description string
	// Value is the value found, when there is one.
	Value any
	// Type is the kind of rule broken, as gojsonschema names it: "required",
	// "enum", "format", "condition_then"...
	Type string
}

func (p Problem) String() string { return p.Field + ": " + p.Description }

// Error reports that a document does not match a schema. Problems are ordered
// most specific first.
type Error struct {
	Schema   string
	Problems []Problem
}

func (e *Error) Error() string {
	if len(e.Problems) == 0 {
		return "does not match schema " + e.Schema
	}
	return e.Problems[0].String()
}

// Validate checks a JSON document against the named schema. It returns nil,
// an *Error naming the most specific problem first, or an error for a
// document that is not JSON at all.
func Validate(name string, doc []byte) error {
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return ValidateValue(name, v)
}

// ValidateValue checks a decoded JSON value (maps, slices, strings, float64,
// bool, nil, as encoding/json produces) against the named schema.
func ValidateValue(name string, v any) error {
	s, err := get(name)
	if err != nil {
		return err
	}
	res, err := s.Validate(gojsonschema.NewGoLoader(v))
	if err != nil {
		return err
	}
	if res.Valid() {
		return nil
	}
	return &Error{Schema: name, Problems: problems(res.Errors())}
}

// problems orders the validator's findings most specific first: those on the
// deepest field first, and conditional wrappers ("must validate then") last,
// since the error they wrap is already in the list.
func problems(errs []gojsonschema.ResultError) []Problem {
	type ranked struct {
		p     Problem
		depth int
		weak  bool
	}
	rs := make([]ranked, 0, len(errs))
	for _, e := range errs {
		field := e.Field()
		t := e.Type()
		weak := t == "condition_then" || t == "condition_else" || t == "number_any_of" ||
			t == "number_one_of" || t == "number_all_of"
		depth := 0
		if field != "(root)" {
			depth = strings.Count(field, ".") + 1
		}
		rs = append(rs, ranked{Problem{Field: field, Description: describe(e), Value: e.Value(), Type: t}, depth, weak})
	}
	// gojsonschema reports in an order that follows Go map iteration, so
	// ties are broken by field and description: the same document always
	// gets the same first problem.
	sort.SliceStable(rs, func(i, j int) bool {
		if rs[i].weak != rs[j].weak {
			return !rs[i].weak
		}
		if rs[i].depth != rs[j].depth {
			return rs[i].depth > rs[j].depth
		}
		if rs[i].p.Field != rs[j].p.Field {
			return rs[i].p.Field < rs[j].p.Field
		}
		return rs[i].p.Description < rs[j].p.Description
	})
	out := make([]Problem, len(rs))
	for i, r := range rs {
		out[i] = r.p
	}
	return out
}

// describe words a finding with the value found, which gojsonschema leaves out
// of most descriptions.
func describe(e gojsonschema.ResultError) string {
	d := e.Description()
	switch e.Type() {
	case "required", "additional_property_not_allowed":
		return d
	}
	if v := e.Value(); v != nil {
		b, err := json.Marshal(v)
		if err == nil && len(b) <= 80 {
			return fmt.Sprintf("%s (got %s)", d, b)
		}
	}
	return d
}
