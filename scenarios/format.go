package scenarios

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/eventsim/eventsim/internal/editdist"
)

// Scenario is a parsed, checked scenario file: what happens and when.
type Scenario struct {
	// File is where the scenario came from ("builtin:demo" for embedded ones).
	File        string
	Name        string
	Description string
	// APIs lists the APIs the scenario feeds: "lxd", "linode" or both.
	APIs []string
	// Start is the virtual time the scenario starts at; StartSet says the
	// file gave it (servers otherwise start at the wall clock's now).
	Start    time.Time
	StartSet bool
	// Seed is the scenario's own seed; a seed given on the command line wins.
	Seed   int64
	LXD    LXDSettings
	Linode LinodeSettings
	Steps  []*Step
}

// SetStart makes the scenario start at t on the virtual clock (a
// recording: its first event at t), as a start in the file would; a zero
// t changes nothing.
func (s *Scenario) SetStart(t time.Time) {
	if t.IsZero() {
		return
	}
	s.Start, s.StartSet = t.UTC(), true
}

// Has reports whether the scenario feeds the given API.
func (s *Scenario) Has(api string) bool {
	for _, a := range s.APIs {
		if a == api {
			return true
		}
	}
	return false
}

// LXDSettings describe the LXD server a scenario plays.
type LXDSettings struct {
	// Members names the cluster members; empty means a standalone server,
	// whose events say location "none".
	Members []string
	// EventMode is server_event_mode in GET /1.0 (clustered only).
	EventMode string
	// Projects lists the projects that exist at start; "default" always does.
	Projects []string
	// Pools, Networks and Profiles exist at start.
	Pools    []string
	Networks []string
	Profiles []string
	// Logging says whether debug logging events ("Handling API request",
	// "New operation", ...) accompany each request, as with `lxc monitor`.
	Logging bool
}

// LinodeSettings describe the Linode account a scenario plays.
type LinodeSettings struct {
	// Username is who causes the events (username in each Event).
	Username string
	// FirstID is the id of the scenario's first event.
	FirstID int64
}

// StepKind names what a step does.
type StepKind string

// Step kinds: the key that names the step in the file.
const (
	StepLXD      StepKind = "lxd"
	StepLinode   StepKind = "linode"
	StepWait     StepKind = "wait"
	StepRepeat   StepKind = "repeat"
	StepParallel StepKind = "parallel"
	StepMix      StepKind = "mix"
	StepEmit     StepKind = "emit"
	StepFault    StepKind = "fault"
)

var stepKinds = []StepKind{StepLXD, StepLinode, StepWait, StepRepeat, StepParallel, StepMix, StepEmit, StepFault}

// Step is one entry of a scenario's steps.
type Step struct {
	Kind StepKind
	Pos  Pos

	// lxd, linode: the verb and its arguments.
	Verb string
	Args map[string]Arg

	// wait: how long, give or take Jitter.
	Wait, Jitter time.Duration

	// repeat: how many times; 0 means forever.
	Count int64
	Steps []*Step

	// parallel: tracks that run side by side.
	Tracks []*Track

	// mix: weighted verbs at a rate, for Count events or Duration (both 0: forever).
	Rate        float64 // verbs per second
	Duration    time.Duration
	Choices     []*Step // lxd or linode steps with Weight
	Weight      int
	Concurrency int

	// emit: one raw event, JSON-compatible.
	API   string
	Event map[string]any
	// Recorded is when a replayed event first happened (see FromRecording);
	// the times inside it move as far as the replay moves it. Zero for
	// events written in a scenario.
	Recorded time.Time

	// fault: what goes wrong and its parameters.
	Fault *Fault
}

// Track is one of the side-by-side step lists of a parallel step.
type Track struct {
	Name  string
	Steps []*Step
}

// Arg is a verb argument as written, with where it was written.
type Arg struct {
	Value any // string, int64, bool, []string or map[string]any
	Pos   Pos
}

// Pos is a place in a scenario file.
type Pos struct {
	File   string
	Line   int
	Column int
	// Path is the field's path, e.g. "steps[3].name".
	Path string
}

func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
}

// Error is a problem with a scenario file: where, which field, what was
// given, what is allowed.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string {
	if e.Pos.Path == "" {
		return e.Pos.String() + ": " + e.Msg
	}
	return e.Pos.String() + ": " + e.Pos.Path + ": " + e.Msg
}

// Errors is every mistake found in one scenario file, in the order they
// were found (the file's order, mostly). Parse returns it when there is more
// than one; errors.Is(err, ErrInvalid) holds for it as for one Error.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap gives each mistake, for errors.Is and errors.As.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// ErrInvalid is wrapped by every error about a scenario's content.
var ErrInvalid = errors.New("invalid scenario")

func (e *Error) Unwrap() error { return ErrInvalid }

// Parse reads and checks a scenario, within the default Limits. file names
// it in errors.
func Parse(file string, src []byte) (*Scenario, error) {
	return ParseContext(context.Background(), file, src, Limits{})
}

// ParseContext reads a scenario and checks it within lim (see Check), until
// ctx ends.
func ParseContext(ctx context.Context, file string, src []byte, lim Limits) (*Scenario, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(src))
	if err := dec.Decode(&root); err != nil {
		return nil, yamlError(file, src, err)
	}
	p := &parser{file: file}
	s, err := p.scenario(&root)
	if err != nil {
		p.add(err)
	}
	switch len(p.errs) {
	case 0:
	case 1:
		return nil, p.errs[0]
	default:
		return nil, p.errs
	}
	if err := Check(ctx, s, lim); err != nil {
		return nil, err
	}
	return s, nil
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): `)

// yamlError turns the YAML library's syntax error into an Error at the line
// and column of the problem. The library names the line where the construct
// being read began (a tab on line 5 is reported on line 4) and no column, so
// for the mistakes it describes by their character the position is found in
// the source: a tab where indentation is expected, a character that cannot
// start a token, a ':' that cannot start a mapping value.
func yamlError(file string, src []byte, err error) *Error {
	msg := err.Error()
	line := 0
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	lines := strings.Split(string(src), "\n")
	col := 0
	find := func(from int, match func(l string) int) bool {
		for i := max(from, 1); i <= len(lines); i++ {
			if c := match(lines[i-1]); c >= 0 {
				line, col = i, c+1
				return true
			}
		}
		return false
	}
	switch {
	case strings.Contains(msg, "tab character"):
		// The first tab in a line's indentation.
		find(line, func(l string) int {
			for i := 0; i < len(l) && (l[i] == ' ' || l[i] == '\t' || l[i] == '-'); i++ {
				if l[i] == '\t' {
					return i
				}
			}
			return -1
		})
	case strings.Contains(msg, "cannot start any token"):
		find(line, func(l string) int {
			return strings.IndexAny(l, "\t@`")
		})
	case strings.Contains(msg, "mapping values are not allowed"):
		find(line, func(l string) int {
			if i := strings.Index(l, ": "); i >= 0 {
				return i
			}
			if strings.HasSuffix(l, ":") {
				return len(l) - 1
			}
			return -1
		})
	}
	if col == 0 && line >= 1 && line <= len(lines) {
		// Where the construct the library was reading begins.
		l := lines[line-1]
		col = len(l) - len(strings.TrimLeft(l, " \t")) + 1
	}
	return &Error{Pos: Pos{File: file, Line: line, Column: col}, Msg: "not valid YAML: " + msg}
}

// parser reads a scenario's YAML tree. It goes on past a mistake wherever
// the rest still makes sense (the next field, argument, verb or step), so
// that one run reports every mistake in the file.
type parser struct {
	file string
	errs Errors
}

// add records a mistake and goes on.
func (p *parser) add(err error) {
	if err == nil || errors.Is(err, errReported) {
		return
	}
	var e *Error
	var es Errors
	switch {
	case errors.As(err, &es):
		p.errs = append(p.errs, es...)
	case errors.As(err, &e):
		p.errs = append(p.errs, e)
	default:
		p.errs = append(p.errs, &Error{Pos: Pos{File: p.file}, Msg: err.Error()})
	}
}

func (p *parser) pos(n *yaml.Node, path string) Pos {
	return Pos{File: p.file, Line: n.Line, Column: n.Column, Path: path}
}

func (p *parser) errf(n *yaml.Node, path, format string, args ...any) error {
	return &Error{Pos: p.pos(n, path), Msg: fmt.Sprintf(format, args...)}
}

// fields checks a mapping's keys against the allowed ones and returns the
// values by key.
func (p *parser) fields(n *yaml.Node, path string, allowed ...string) (map[string]*yaml.Node, error) {
	if n.Kind != yaml.MappingNode {
		return nil, p.errf(n, path, "must be a mapping with keys %s, got %s", strings.Join(allowed, ", "), describeNode(n))
	}
	out := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !contains(allowed, k.Value) {
			p.add(p.errf(k, join(path, k.Value), "unknown field %q, must be one of %s%s", k.Value, strings.Join(allowed, ", "), suggest(k.Value, allowed)))
			continue
		}
		if _, dup := out[k.Value]; dup {
			p.add(p.errf(k, join(path, k.Value), "field given twice"))
			continue
		}
		out[k.Value] = v
	}
	return out, nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	if n.Tag == "!!null" {
		return "nothing"
	}
	return fmt.Sprintf("%q", n.Value)
}

func (p *parser) str(n *yaml.Node, path string) (string, error) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", p.errf(n, path, "must be a string, got %s", describeNode(n))
	}
	return n.Value, nil
}

func (p *parser) strs(n *yaml.Node, path string) ([]string, error) {
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		return []string{n.Value}, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, p.errf(n, path, "must be a list of strings, got %s", describeNode(n))
	}
	out := make([]string, 0, len(n.Content))
	var errs Errors
	for i, c := range n.Content {
		s, err := p.str(c, fmt.Sprintf("%s[%d]", path, i))
		if err != nil {
			errs = append(errs, err.(*Error))
			continue
		}
		out = append(out, s)
	}
	if len(errs) == 1 {
		return out, errs[0]
	}
	if len(errs) > 1 {
		return out, errs
	}
	return out, nil
}

func (p *parser) int(n *yaml.Node, path string, min int64) (int64, error) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		return 0, p.errf(n, path, "must be a whole number, got %s", describeNode(n))
	}
	v, err := strconv.ParseInt(n.Value, 0, 64)
	if err != nil {
		return 0, p.errf(n, path, "must be a whole number, got %q", n.Value)
	}
	if v < min {
		return 0, p.errf(n, path, "must be at least %d, got %d", min, v)
	}
	return v, nil
}

func (p *parser) bool(n *yaml.Node, path string) (bool, error) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		return false, p.errf(n, path, "must be true or false, got %s", describeNode(n))
	}
	return n.Value == "true" || n.Value == "True" || n.Value == "TRUE", nil
}

func (p *parser) duration(n *yaml.Node, path string) (time.Duration, error) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return 0, p.errf(n, path, "must be a duration such as 500ms, 2s or 1m30s, got %s", describeNode(n))
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil {
		if _, nerr := strconv.ParseFloat(n.Value, 64); nerr == nil {
			return 0, p.errf(n, path, "must be a duration with a unit such as 500ms, 2s or 1m30s, got %q", n.Value)
		}
		return 0, p.errf(n, path, "must be a duration such as 500ms, 2s or 1m30s, got %q", n.Value)
	}
	if d < 0 {
		return 0, p.errf(n, path, "must not be negative, got %q", n.Value)
	}
	return d, nil
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

func (p *parser) scenario(doc *yaml.Node) (*Scenario, error) {
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, &Error{Pos: Pos{File: p.file}, Msg: "empty file: a scenario needs at least name, api and steps"}
	}
	root := doc.Content[0]
	f, err := p.fields(root, "", "name", "description", "api", "start", "seed", "lxd", "linode", "steps")
	if err != nil {
		return nil, err
	}
	s := &Scenario{File: p.file, Seed: 1, Start: DefaultStart, Linode: LinodeSettings{Username: "", FirstID: 1000}}
	for _, req := range []string{"name", "api", "steps"} {
		if f[req] == nil {
			p.add(p.errf(root, req, "missing; a scenario needs name, api and steps"))
		}
	}
	if n := f["name"]; n != nil {
		if s.Name, err = p.str(n, "name"); err != nil {
			p.add(err)
		} else if !nameRE.MatchString(s.Name) {
			p.add(p.errf(n, "name", "invalid name %q, must be lower-case letters, digits and dashes", s.Name))
		}
	}
	if n := f["description"]; n != nil {
		if s.Description, err = p.str(n, "description"); err != nil {
			p.add(err)
		}
	}
	if n := f["api"]; n != nil {
		s.APIs, err = p.strs(n, "api")
		p.add(err)
		for i, a := range s.APIs {
			if a != "lxd" && a != "linode" {
				p.add(p.errf(n, fmt.Sprintf("api[%d]", i), "unknown API %q, must be lxd or linode", a))
			}
		}
	}
	if n := f["start"]; n != nil {
		if v, err := p.str(n, "start"); err != nil {
			p.add(err)
		} else if t, err := time.Parse(time.RFC3339Nano, v); err != nil {
			p.add(p.errf(n, "start", "must be an RFC 3339 time such as 2026-01-01T00:00:00Z, got %q", v))
		} else {
			s.Start = t.UTC()
			s.StartSet = true
		}
	}
	if n := f["seed"]; n != nil {
		if s.Seed, err = p.int(n, "seed", math.MinInt64); err != nil {
			p.add(err)
		}
	}
	if n := f["lxd"]; n != nil {
		p.add(p.lxdSettings(n, &s.LXD))
	} else {
		s.LXD.Logging = true
	}
	if n := f["linode"]; n != nil {
		p.add(p.linodeSettings(n, &s.Linode))
	}
	if n := f["steps"]; n != nil {
		s.Steps, err = p.steps(n, "steps")
		p.add(err)
	}
	if f["api"] != nil {
		p.declared(s, s.Steps)
	}
	return s, nil
}

// declared reports every step for an API the scenario does not declare:
// it would play nothing, silently.
func (p *parser) declared(s *Scenario, steps []*Step) {
	for _, st := range steps {
		api := ""
		switch st.Kind {
		case StepLXD, StepLinode:
			api = string(st.Kind)
		case StepEmit:
			api = st.API
		case StepFault:
			if st.Fault != nil {
				api = st.Fault.API
			}
		case StepRepeat:
			p.declared(s, st.Steps)
		case StepParallel:
			for _, t := range st.Tracks {
				p.declared(s, t.Steps)
			}
		case StepMix:
			p.declared(s, st.Choices)
		}
		if api != "" && !s.Has(api) {
			p.add(&Error{Pos: st.Pos, Msg: fmt.Sprintf("a %s step, but the scenario's api is [%s]: add %s to api, or the step plays nothing", api, strings.Join(s.APIs, ", "), api)})
		}
	}
}

// DefaultStart is the virtual time a scenario starts at unless it says.
var DefaultStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func (p *parser) lxdSettings(n *yaml.Node, out *LXDSettings) error {
	f, err := p.fields(n, "lxd", "members", "event_mode", "projects", "pools", "networks", "profiles", "logging")
	if err != nil {
		return err
	}
	out.Logging = true
	for _, k := range []string{"members", "projects", "pools", "networks", "profiles"} {
		dst := map[string]*[]string{"members": &out.Members, "projects": &out.Projects, "pools": &out.Pools, "networks": &out.Networks, "profiles": &out.Profiles}[k]
		if v := f[k]; v != nil {
			*dst, err = p.strs(v, "lxd."+k)
			p.add(err)
			for i, name := range *dst {
				if name == "" || strings.ContainsAny(name, "/?#") {
					p.add(p.errf(v, fmt.Sprintf("lxd.%s[%d]", k, i), "invalid name %q", name))
				}
			}
		}
	}
	if v := f["event_mode"]; v != nil {
		if out.EventMode, err = p.str(v, "lxd.event_mode"); err != nil {
			p.add(err)
		} else if !contains([]string{"full-mesh", "hub-server", "hub-client"}, out.EventMode) {
			p.add(p.errf(v, "lxd.event_mode", "unknown event mode %q, must be one of full-mesh, hub-server, hub-client", out.EventMode))
		}
	}
	if v := f["logging"]; v != nil {
		if out.Logging, err = p.bool(v, "lxd.logging"); err != nil {
			p.add(err)
		}
	}
	return nil
}

func (p *parser) linodeSettings(n *yaml.Node, out *LinodeSettings) error {
	f, err := p.fields(n, "linode", "username", "first_id")
	if err != nil {
		return err
	}
	if v := f["username"]; v != nil {
		if out.Username, err = p.str(v, "linode.username"); err != nil {
			p.add(err)
		}
	}
	if v := f["first_id"]; v != nil {
		if out.FirstID, err = p.int(v, "linode.first_id", 1); err != nil {
			p.add(err)
		}
	}
	return nil
}

func (p *parser) steps(n *yaml.Node, path string) ([]*Step, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, p.errf(n, path, "must be a list of steps, got %s", describeNode(n))
	}
	if len(n.Content) == 0 {
		return nil, p.errf(n, path, "must hold at least one step")
	}
	out := make([]*Step, 0, len(n.Content))
	for i, c := range n.Content {
		st, err := p.step(c, fmt.Sprintf("%s[%d]", path, i))
		if err != nil {
			p.add(err)
			continue
		}
		out = append(out, st)
	}
	return out, nil
}

// stepKind finds the one key of a step mapping that says what the step is.
func (p *parser) stepKind(n *yaml.Node, path string) (StepKind, error) {
	var kinds []string
	for _, k := range stepKinds {
		kinds = append(kinds, string(k))
	}
	if n.Kind != yaml.MappingNode {
		return "", p.errf(n, path, "a step must be a mapping with one of %s, got %s", strings.Join(kinds, ", "), describeNode(n))
	}
	var found StepKind
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		if contains(kinds, k) {
			if found != "" {
				return "", p.errf(n.Content[i], join(path, k), "a step does one thing: it has both %q and %q", found, k)
			}
			found = StepKind(k)
		}
	}
	if found == "" {
		keys := make([]string, 0, len(n.Content)/2)
		for i := 0; i < len(n.Content); i += 2 {
			keys = append(keys, n.Content[i].Value)
		}
		hint := ""
		if len(keys) > 0 {
			hint = suggest(keys[0], kinds)
		}
		return "", p.errf(n, path, "a step needs one of %s; it has %s%s", strings.Join(kinds, ", "), strings.Join(keys, ", "), hint)
	}
	return found, nil
}

func (p *parser) step(n *yaml.Node, path string) (*Step, error) {
	kind, err := p.stepKind(n, path)
	if err != nil {
		return nil, err
	}
	st := &Step{Kind: kind, Pos: p.pos(n, path)}
	switch kind {
	case StepLXD, StepLinode:
		return st, p.verbStep(n, path, st, false)
	case StepWait:
		f, err := p.fields(n, path, "wait", "jitter")
		if err != nil {
			return nil, err
		}
		if st.Wait, err = p.duration(f["wait"], join(path, "wait")); err != nil {
			return nil, err
		}
		if v := f["jitter"]; v != nil {
			if st.Jitter, err = p.duration(v, join(path, "jitter")); err != nil {
				return nil, err
			}
			if st.Jitter > st.Wait {
				return nil, p.errf(v, join(path, "jitter"), "must not exceed wait (%s), got %s", st.Wait, st.Jitter)
			}
		}
	case StepRepeat:
		f, err := p.fields(n, path, "repeat", "steps")
		if err != nil {
			return nil, err
		}
		if v := f["repeat"]; v.Kind == yaml.ScalarNode && v.Value == "forever" {
			st.Count = 0
		} else if st.Count, err = p.int(v, join(path, "repeat"), 1); err != nil {
			p.add(p.errf(v, join(path, "repeat"), "must be a whole number of at least 1 or forever, got %s", describeNode(v)))
		}
		if f["steps"] == nil {
			return nil, p.errf(n, join(path, "steps"), "missing: repeat needs the steps to repeat")
		}
		if st.Steps, err = p.steps(f["steps"], join(path, "steps")); err != nil {
			return nil, err
		}
	case StepParallel:
		f, err := p.fields(n, path, "parallel")
		if err != nil {
			return nil, err
		}
		list := f["parallel"]
		if list.Kind != yaml.SequenceNode || len(list.Content) < 2 {
			return nil, p.errf(list, join(path, "parallel"), "must be a list of at least two tracks, each {name, steps}")
		}
		for i, c := range list.Content {
			tp := fmt.Sprintf("%s.parallel[%d]", path, i)
			tf, err := p.fields(c, tp, "name", "steps")
			if err != nil {
				p.add(err)
				continue
			}
			tr := &Track{Name: fmt.Sprintf("track-%d", i+1)}
			if v := tf["name"]; v != nil {
				if tr.Name, err = p.str(v, join(tp, "name")); err != nil {
					p.add(err)
				}
			}
			if tf["steps"] == nil {
				p.add(p.errf(c, join(tp, "steps"), "missing: a track needs steps"))
				continue
			}
			if tr.Steps, err = p.steps(tf["steps"], join(tp, "steps")); err != nil {
				p.add(err)
				continue
			}
			st.Tracks = append(st.Tracks, tr)
		}
	case StepMix:
		return st, p.mixStep(n, path, st)
	case StepEmit:
		return st, p.emitStep(n, path, st)
	case StepFault:
		return st, p.faultStep(n, path, st)
	}
	return st, nil
}

func (p *parser) verbStep(n *yaml.Node, path string, st *Step, inMix bool) error {
	api := string(st.Kind)
	verbs := LXDVerbs
	if api == "linode" {
		verbs = LinodeVerbs
	}
	allowed := append([]string{api}, argNames(api)...)
	if inMix {
		allowed = append(allowed, "weight")
	}
	f, err := p.fields(n, path, allowed...)
	if err != nil {
		return err
	}
	vn := f[api]
	if st.Verb, err = p.str(vn, join(path, api)); err != nil {
		return err
	}
	spec, ok := verbs[st.Verb]
	if !ok {
		return p.errf(vn, join(path, api), "unknown verb %q, must be one of %s%s", st.Verb, strings.Join(sortedKeys(verbs), ", "), suggest(st.Verb, sortedKeys(verbs)))
	}
	st.Args = make(map[string]Arg)
	var errs Errors
	bad := func(err error) {
		var es Errors
		var e *Error
		if errors.As(err, &es) {
			errs = append(errs, es...)
		} else if errors.As(err, &e) {
			errs = append(errs, e)
		}
	}
	// In file order, so mistakes are reported as they come.
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, n.Content[i+1]
		if k == api || k == "weight" || f[k] != v {
			continue
		}
		ap := join(path, k)
		if !contains(spec.Args, k) {
			bad(p.errf(v, ap, "verb %s takes no %q; it takes %s%s", st.Verb, k, listOrNone(spec.Args), suggest(k, spec.Args)))
			continue
		}
		val, err := p.argValue(v, ap, argTypes[api][k])
		if err != nil {
			bad(err)
			continue
		}
		st.Args[k] = Arg{Value: val, Pos: p.pos(v, ap)}
	}
	for _, r := range spec.Required {
		if _, ok := f[r]; !ok {
			bad(p.errf(n, join(path, r), "missing: verb %s needs %s", st.Verb, r))
		}
	}
	st.Weight = 1
	if v := f["weight"]; v != nil {
		w, err := p.int(v, join(path, "weight"), 1)
		if err != nil {
			bad(err)
		}
		st.Weight = int(w)
	}
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return errs
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// argType says how a verb argument is written.
type argType int

const (
	argString argType = iota
	argInt
	argBool
	argStrings
	argDuration
	argMap
)

func (p *parser) argValue(n *yaml.Node, path string, t argType) (any, error) {
	switch t {
	case argInt:
		return p.int(n, path, 0)
	case argBool:
		return p.bool(n, path)
	case argStrings:
		return p.strs(n, path)
	case argDuration:
		return p.duration(n, path)
	case argMap:
		var m map[string]any
		if n.Kind != yaml.MappingNode {
			return nil, p.errf(n, path, "must be a mapping, got %s", describeNode(n))
		}
		if err := n.Decode(&m); err != nil {
			return nil, p.errf(n, path, "%v", err)
		}
		return normalize(m), nil
	}
	return p.str(n, path)
}

var rateRE = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)\s*/\s*(ms|s|m|h)$`)

// ParseRate reads "100/s", "5/m", "0.5/s" as events per second.
func ParseRate(s string) (float64, error) {
	m := rateRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("invalid rate %q, must be a number per unit such as 100/s, 5/m or 2/h", s)
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	per := map[string]float64{"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m[2]]
	r := v / per
	if r <= 0 || math.IsInf(r, 0) {
		return 0, fmt.Errorf("invalid rate %q, must be more than zero", s)
	}
	return r, nil
}

func (p *parser) mixStep(n *yaml.Node, path string, st *Step) error {
	f, err := p.fields(n, path, "mix")
	if err != nil {
		return err
	}
	mp := join(path, "mix")
	m, err := p.fields(f["mix"], mp, "rate", "count", "duration", "concurrency", "verbs")
	if err != nil {
		return err
	}
	if m["rate"] == nil {
		p.add(p.errf(f["mix"], join(mp, "rate"), "missing: mix needs a rate such as 100/s"))
	} else if rs, err := p.str(m["rate"], join(mp, "rate")); err != nil {
		p.add(err)
	} else if st.Rate, err = ParseRate(rs); err != nil {
		p.add(p.errf(m["rate"], join(mp, "rate"), "%v", err))
	}
	if v := m["count"]; v != nil {
		if st.Count, err = p.int(v, join(mp, "count"), 1); err != nil {
			p.add(err)
		}
	}
	if v := m["duration"]; v != nil {
		if st.Duration, err = p.duration(v, join(mp, "duration")); err != nil {
			p.add(err)
		}
	}
	st.Concurrency = 32
	if v := m["concurrency"]; v != nil {
		c, err := p.int(v, join(mp, "concurrency"), 1)
		if err != nil {
			p.add(err)
		}
		st.Concurrency = max(int(c), 1)
	}
	vl := m["verbs"]
	if vl == nil {
		return p.errf(f["mix"], join(mp, "verbs"), "missing: mix needs a list of verbs with weights")
	}
	if vl.Kind != yaml.SequenceNode || len(vl.Content) == 0 {
		return p.errf(vl, join(mp, "verbs"), "must be a non-empty list of {lxd|linode: VERB, weight: N}")
	}
	for i, c := range vl.Content {
		cp := fmt.Sprintf("%s.verbs[%d]", mp, i)
		kind, err := p.stepKind(c, cp)
		if err != nil {
			p.add(err)
			continue
		}
		if kind != StepLXD && kind != StepLinode {
			p.add(p.errf(c, cp, "a mix holds lxd or linode verbs, got %s", kind))
			continue
		}
		ch := &Step{Kind: kind, Pos: p.pos(c, cp)}
		if err := p.verbStep(c, cp, ch, true); err != nil {
			p.add(err)
			continue
		}
		st.Choices = append(st.Choices, ch)
	}
	if st.Rate == 0 || len(st.Choices) == 0 {
		// A mistake above is reported; the step is not played.
		return errReported
	}
	return nil
}

// errReported says a step's mistakes are already recorded.
var errReported = errors.New("mistakes already reported")

func (p *parser) emitStep(n *yaml.Node, path string, st *Step) error {
	f, err := p.fields(n, path, "emit")
	if err != nil {
		return err
	}
	ep := join(path, "emit")
	m, err := p.fields(f["emit"], ep, "lxd", "linode")
	if err != nil {
		return err
	}
	if len(m) != 1 {
		return p.errf(f["emit"], ep, "must hold exactly one of lxd or linode")
	}
	for api, v := range m {
		st.API = api
		if v.Kind != yaml.MappingNode {
			return p.errf(v, join(ep, api), "must be a mapping: the event to emit, got %s", describeNode(v))
		}
		var ev map[string]any
		if err := v.Decode(&ev); err != nil {
			return p.errf(v, join(ep, api), "%v", err)
		}
		st.Event = normalize(ev).(map[string]any)
		if err := checkEmit(api, st.Event); err != nil {
			return p.errf(v, join(ep, api), "%v", err)
		}
	}
	return nil
}

// normalize turns YAML-decoded values into what encoding/json would decode,
// so emitted events validate like any other.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
		return x
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	}
	return v
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// suggest returns ` (did you mean "x"?)` for the closest allowed word.
func suggest(got string, allowed []string) string {
	best, bestD := "", 1<<30
	for _, a := range allowed {
		if d := editdist.Levenshtein(got, a); d < bestD {
			best, bestD = a, d
		}
	}
	if best != "" && bestD <= max(2, len(got)/3) {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}
