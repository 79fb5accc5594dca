// Package scenarios reads scenario files (declarative YAML saying what happens
// and when) and plays them on a virtual clock into a timeline of LXD and
// Linode events, deterministic for a given seed.
//
// A scenario is named by a built-in name (`eventsim scenarios list`) or a
// file path; see docs/scenarios.md for the format. A recording made by
// `eventsim record` is a scenario too (FromRecording).
package scenarios

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
)

//go:embed builtin/*.yaml
var builtin embed.FS

// Default is the scenario played when none is named.
const Default = "demo"

// Builtin describes one embedded scenario.
type Builtin struct {
	Name        string
	Description string
	APIs        []string
}

// List returns the built-in scenarios, sorted by name.
func List() ([]Builtin, error) {
	entries, err := fs.ReadDir(builtin, "builtin")
	if err != nil {
		return nil, err
	}
	var out []Builtin
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".yaml")
		s, err := Load(name)
		if err != nil {
			return nil, err
		}
		out = append(out, Builtin{Name: s.Name, Description: strings.TrimSpace(s.Description), APIs: s.APIs})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Source returns the text of a built-in scenario.
func Source(name string) ([]byte, error) {
	b, err := builtin.ReadFile(path.Join("builtin", name+".yaml"))
	if err != nil {
		return nil, fmt.Errorf("unknown scenario %q, must be one of %s", name, strings.Join(builtinNames(), ", "))
	}
	return b, nil
}

func builtinNames() []string {
	entries, _ := fs.ReadDir(builtin, "builtin")
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	return out
}

// ErrNotFound is returned for a name that is neither built in nor a file.
var ErrNotFound = errors.New("scenario not found")

// Load reads a scenario by built-in name or file path and checks it within
// the default Limits.
func Load(nameOrPath string) (*Scenario, error) {
	return LoadContext(context.Background(), nameOrPath, Limits{})
}

// LoadContext reads a scenario by built-in name or file path and checks it
// within lim (see Check), until ctx ends.
func LoadContext(ctx context.Context, nameOrPath string, lim Limits) (*Scenario, error) {
	if nameOrPath == "" {
		nameOrPath = Default
	}
	if b, err := builtin.ReadFile(path.Join("builtin", nameOrPath+".yaml")); err == nil {
		return ParseContext(ctx, "builtin:"+nameOrPath, b, lim)
	}
	b, err := os.ReadFile(nameOrPath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %q is not a built-in scenario (%s) nor a file", ErrNotFound, nameOrPath, strings.Join(builtinNames(), ", "))
		}
		return nil, fmt.Errorf("read scenario: %w", err)
	}
	if IsRecording(b) {
		return FromRecording(nameOrPath, b)
	}
	return ParseContext(ctx, nameOrPath, b, lim)
}

// Endless reports whether the scenario never ends on its own: it holds a mix
// with neither count nor duration, or a repeat forever.
func (s *Scenario) Endless() bool { return endless(s.Steps) }

func endless(steps []*Step) bool {
	for _, st := range steps {
		switch st.Kind {
		case StepMix:
			if st.Count == 0 && st.Duration == 0 {
				return true
			}
		case StepRepeat:
			if st.Count == 0 || endless(st.Steps) {
				return true
			}
		case StepParallel:
			for _, t := range st.Tracks {
				if endless(t.Steps) {
					return true
				}
			}
		}
	}
	return false
}
