package scenarios

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// WriteRecordingScenario writes an editable scenario (YAML) of a recording:
// each event an emit step after a wait of its gap, except where an event is
// exactly what a verb makes, which becomes that verb. It says how many
// events became verbs. The scenario plays the same events as the recording
// (FromRecording), but for the verbs' own times and ids.
func WriteRecordingScenario(w io.Writer, file string, b []byte) (verbs int, err error) {
	s, err := FromRecording(file, b)
	if err != nil {
		return 0, err
	}
	out, verbs, err := recordingYAML(file, s, true)
	if err != nil && verbs > 0 {
		// A verb's object may clash with what emits did after it (a
		// profile deleted by an emit and created again): emits only.
		out, verbs, err = recordingYAML(file, s, false)
	}
	if err != nil {
		return 0, err
	}
	_, err = w.Write(out)
	return verbs, err
}

// recordingYAML writes the scenario of a recording, with verbs where they
// make exactly the recorded event when useVerbs is set, and checks it.
func recordingYAML(file string, s *Scenario, useVerbs bool) (_ []byte, verbs int, err error) {
	var steps []any
	for _, st := range s.Steps {
		switch st.Kind {
		case StepWait:
			steps = append(steps, map[string]any{"wait": yamlDuration(st.Wait)})
		case StepEmit:
			if v := verbFor(s, st); useVerbs && v != nil {
				steps = append(steps, v)
				verbs++
				continue
			}
			steps = append(steps, map[string]any{"emit": map[string]any{st.API: st.Event}})
		}
	}
	doc := yaml.Node{Kind: yaml.DocumentNode}
	var root yaml.Node
	top := map[string]any{"name": s.Name, "description": s.Description, "api": s.APIs[0], "start": s.Start.Format(time.RFC3339), "steps": steps}
	if s.APIs[0] == "lxd" {
		top["lxd"] = map[string]any{"logging": false, "projects": append([]string{"default"}, s.LXD.Projects...)}
	}
	if err := root.Encode(top); err != nil {
		return nil, verbs, err
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
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, verbs, err
	}
	if err := enc.Close(); err != nil {
		return nil, verbs, err
	}
	// The scenario must be one the parser and the engine accept.
	parsed, err := Parse(file+" (scenario)", out.Bytes())
	if err != nil {
		return nil, verbs, fmt.Errorf("the scenario made of %s does not parse: %w", file, err)
	}
	if err := checkPlays(parsed); err != nil {
		return nil, verbs, fmt.Errorf("the scenario made of %s does not play: %w", file, err)
	}
	return out.Bytes(), verbs, nil
}

// yamlDuration writes a gap to the microsecond, as a Go duration (271.616ms).
func yamlDuration(d time.Duration) string {
	return max(d.Round(time.Microsecond), time.Microsecond).String()
}

// checkPlays runs a scenario to its end.
func checkPlays(s *Scenario) error {
	e, err := New(s, Options{})
	if err != nil {
		return err
	}
	for {
		if _, err := e.Next(); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
	}
}

// verbFor returns the verb step that makes exactly st's event, or nil. A
// verb counts only when the engine, playing it alone with logging off,
// makes that one event and nothing else, equal but for its timestamp: a
// create of an object with no parent (profile, project, network, ACL,
// storage pool...) recorded without the operations and logging a verb
// would add.
func verbFor(s *Scenario, st *Step) map[string]any {
	if st.API != "lxd" || str(st.Event["type"]) != "lifecycle" {
		return nil
	}
	md, _ := st.Event["metadata"].(map[string]any)
	action := str(md["action"])
	var verb string
	for name, v := range lxdVerbs {
		if v.action == action && v.create && v.parent == "" && v.parentArg == "" && v.childArg == "" {
			verb = name
		}
	}
	if verb == "" {
		return nil
	}
	src := str(md["source"])
	path, _, _ := strings.Cut(src, "?")
	name := path[strings.LastIndexByte(path, '/')+1:]
	if name == "" {
		return nil
	}
	step := map[string]any{"lxd": verb, "name": name}
	project := str(st.Event["project"])
	if project != "" && project != "default" && verb != "project.create" {
		step["project"] = project
	}
	if req, ok := md["requestor"].(map[string]any); ok {
		step["requestor"] = req
	}
	b, err := yaml.Marshal(map[string]any{"name": "verb", "api": "lxd", "lxd": map[string]any{"logging": false, "projects": append([]string{"default"}, s.LXD.Projects...)},
		"steps": []any{step}})
	if err != nil {
		return nil
	}
	one, err := Parse("verb", b)
	if err != nil {
		return nil
	}
	e, err := New(one, Options{})
	if err != nil {
		return nil
	}
	var made [][]byte
	for {
		r, err := e.Next()
		if err != nil {
			break
		}
		if r.Fault == nil {
			made = append(made, r.JSON)
		}
	}
	if len(made) != 1 {
		return nil
	}
	var got map[string]any
	if json.Unmarshal(made[0], &got) != nil {
		return nil
	}
	delete(got, "timestamp")
	want := map[string]any{}
	for k, v := range st.Event {
		want[k] = v
	}
	if _, ok := want["location"]; !ok {
		want["location"] = got["location"]
	}
	if !reflect.DeepEqual(got, want) {
		return nil
	}
	return step
}
