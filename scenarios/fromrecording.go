package scenarios

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/eventsim/eventsim/catalog"

	"go.yaml.in/yaml/v3"
)

// WriteRecordingScenario writes an editable scenario (YAML) of a recording:
// each event an emit step after a wait of its gap, except where a run of
// events is exactly what a verb makes (an operation's Pending, Running and
// Success with its lifecycle event and, when recorded, its logging), which
// becomes that verb. It says how many verbs it wrote and how many events
// they stand for. The scenario plays the same events as the recording, in
// its order (FromRecording), but for ids and times: it is played and
// compared before it is written.
func WriteRecordingScenario(w io.Writer, file string, b []byte) (verbs, events int, err error) {
	s, err := FromRecording(file, b)
	if err != nil {
		return 0, 0, err
	}
	h, _, err := ReadRecording(bytes.NewReader(b), file)
	if err != nil {
		return 0, 0, err
	}
	flavor := catalog.Flavor(h.Flavor)
	if _, err := catalog.LXD(flavor); err != nil {
		flavor = ""
	}
	var emits []*Step
	for _, st := range s.Steps {
		if st.Kind == StepEmit {
			emits = append(emits, st)
		}
	}
	declarePreexisting(s, emits, flavor)
	// Verbs make logging when the scenario says so: the recording's
	// groups are looked for both ways, and the way that finds more wins.
	groups := findVerbGroups(s, emits, flavor)
	if hasLogging(emits) {
		s.LXD.Logging = true
		if logged := findVerbGroups(s, emits, flavor); covered(logged) > covered(groups) {
			groups = logged
		} else {
			s.LXD.Logging = false
		}
	}
	out, verbs, events, err := recordingYAML(file, s, emits, groups, flavor)
	if err != nil && verbs > 0 {
		// The verbs do not play the recording back (an object a verb
		// needs clashes with what emits did): emits only.
		out, verbs, events, err = recordingYAML(file, s, emits, nil, flavor)
	}
	if err != nil {
		return 0, 0, err
	}
	_, err = w.Write(out)
	return verbs, events, err
}

// recordingYAML writes the scenario of a recording, with the verbs of
// groups (by the index of their first event among emits), and checks that
// it parses and plays the recording's events.
func recordingYAML(file string, s *Scenario, emits []*Step, groups map[int]verbGroup, flavor catalog.Flavor) (_ []byte, verbs, events int, err error) {
	var steps []any
	// at is when each event comes after the first, as the recording's
	// waits say; cur is where the scenario's clock stands.
	var at, cur time.Duration
	j := 0
	for i := 0; i < len(s.Steps); i++ {
		st := s.Steps[i]
		if st.Kind == StepWait {
			at += st.Wait
			continue
		}
		if st.Kind != StepEmit {
			continue
		}
		if at > cur {
			steps = append(steps, map[string]any{"wait": yamlDuration(at - cur)})
			cur = at
		}
		g, ok := groups[j]
		if !ok {
			steps = append(steps, map[string]any{"emit": map[string]any{st.API: st.Event}})
			j++
			continue
		}
		steps = append(steps, g.step)
		verbs++
		events += g.n
		cur = at + g.span
		// Skip the group's other events and the waits between them.
		for left := g.n - 1; left > 0; {
			i++
			if s.Steps[i].Kind == StepWait {
				at += s.Steps[i].Wait
			} else if s.Steps[i].Kind == StepEmit {
				left--
			}
		}
		j += g.n
	}
	doc := yaml.Node{Kind: yaml.DocumentNode}
	var root yaml.Node
	top := map[string]any{"name": s.Name, "description": s.Description, "api": s.APIs[0], "start": s.Start.Format(time.RFC3339), "steps": steps}
	if s.APIs[0] == "lxd" {
		lxd := map[string]any{"logging": s.LXD.Logging && len(groups) > 0, "projects": append([]string{"default"}, s.LXD.Projects...)}
		for k, v := range map[string][]string{"pools": s.LXD.Pools, "networks": s.LXD.Networks, "profiles": s.LXD.Profiles} {
			if len(v) > 0 {
				lxd[k] = v
			}
		}
		top["lxd"] = lxd
	}
	if err := root.Encode(top); err != nil {
		return nil, verbs, events, err
	}
	// Keys in the order a person reads a scenario.
	order := map[string]int{"name": 0, "description": 1, "api": 2, "start": 3, "lxd": 4, "steps": 5}
	pairs := root.Content
	type kv struct{ k, v *yaml.Node }
	var kvs []kv
	for i := 0; i+1 < len(pairs); i += 2 {
		kvs = append(kvs, kv{pairs[i], pairs[i+1]})
	}
	sort.SliceStable(kvs, func(i, j int) bool { return order[kvs[i].k.Value] < order[kvs[j].k.Value] })
	root.Content = root.Content[:0]
	for _, p := range kvs {
		root.Content = append(root.Content, p.k, p.v)
	}
	doc.Content = []*yaml.Node{&root}
	var out bytes.Buffer
	fmt.Fprintf(&out, "# Made by `eventsim scenarios from-recording %s`.\n# Each emit step is one recorded event; waits are the gaps between them.\n", file)
	if verbs > 0 {
		fmt.Fprintf(&out, "# Each verb step makes exactly the recorded events it stands for, but for ids and times.\n")
	}
	if flavor != "" && flavor != catalog.DefaultFlavor {
		fmt.Fprintf(&out, "# Recorded from %s: play it with --flavor %s.\n", flavor, flavor)
	}
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, verbs, events, err
	}
	if err := enc.Close(); err != nil {
		return nil, verbs, events, err
	}
	// The scenario must be one the parser and the engine accept, and play
	// the recording's events.
	parsed, err := Parse(file+" (scenario)", out.Bytes())
	if err != nil {
		return nil, verbs, events, fmt.Errorf("the scenario made of %s does not parse: %w", file, err)
	}
	if err := playsBack(parsed, emits, flavor); err != nil {
		return nil, verbs, events, fmt.Errorf("the scenario made of %s does not play it back: %w", file, err)
	}
	return out.Bytes(), verbs, events, nil
}

// yamlDuration writes a gap to the microsecond, as a Go duration (271.616ms).
func yamlDuration(d time.Duration) string {
	return max(d.Round(time.Microsecond), time.Microsecond).String()
}

// playsBack plays a scenario made of a recording and compares its events
// with the recorded ones (emits), in order, but for ids and times.
func playsBack(s *Scenario, emits []*Step, flavor catalog.Flavor) error {
	e, err := New(s, Options{Flavor: flavor})
	if err != nil {
		return err
	}
	for i := 0; ; i++ {
		r, err := e.Next()
		if errors.Is(err, io.EOF) {
			if i != len(emits) {
				return fmt.Errorf("it plays %d events, the recording has %d", i, len(emits))
			}
			return nil
		}
		if err != nil {
			return err
		}
		if r.API != "lxd" {
			if i >= len(emits) {
				return fmt.Errorf("it plays more events than the recording's %d", len(emits))
			}
			continue // a Linode recording is emits only
		}
		if i >= len(emits) {
			return fmt.Errorf("it plays more events than the recording's %d", len(emits))
		}
		if !sameEvents(r.JSON, emits[i].Event) {
			return fmt.Errorf("event %d: it plays %s where %s", i+1, r.JSON, emits[i].Pos)
		}
	}
}
