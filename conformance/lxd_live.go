package conformance

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/events"
	"github.com/eventsim/eventsim/schemas"
)

// Live LXD check ids.
const (
	IDServer            = "lxd.server"
	IDEventsFrames      = "lxd.events.frames"
	IDEventsMin         = "lxd.events.min"
	IDEventsKeepalive   = "lxd.events.keepalive"
	IDEventsUpgrade     = "lxd.events.upgrade"
	IDFilterType        = "lxd.filter.type"
	IDFilterTypeInvalid = "lxd.filter.type-invalid"
	IDFilterProject     = "lxd.filter.project"
	IDFilterProjectBad  = "lxd.filter.project-unknown"
	IDFilterGlobal      = "lxd.filter.global"
	IDExerciseProfile   = "lxd.exercise.profile"
	IDExerciseProject   = "lxd.exercise.project"
	IDExerciseVolume    = "lxd.exercise.volume"
	IDExerciseInstance  = "lxd.exercise.instance"
)

// LXDOptions configures RunLXD. The first fields map 1:1 to the flags of
// `eventsim conform lxd`.
type LXDOptions struct {
	// Target is unix:///path/unix.socket, https://HOST:PORT or http://HOST:PORT (--target).
	Target string
	// Cert and Key are the client certificate and key for https (--cert, --key).
	Cert, Key string
	// Insecure skips verifying the server's certificate (--insecure).
	Insecure bool
	// Project is the project whose listener is compared with an
	// all-projects listener, and where --exercise works; "" means "default" (--project).
	Project string
	// Duration is how long to listen; 0 means 10s, or just as long as the
	// exercise takes with Exercise set. Keepalive is checked from 25s (--duration).
	Duration time.Duration
	// MinEvents fails the run when fewer events arrive; 0 skips that check (--min-events).
	MinEvents int
	// Exercise causes activity through the REST API with short-lived
	// uniquely named objects, always cleaned up (--exercise).
	Exercise bool
	// Strict turns warnings (known quirks of real daemons, unknown actions)
	// into failures (--strict).
	Strict bool

	// Flavor selects the action catalogue; "" means catalog.DefaultFlavor.
	Flavor catalog.Flavor
	// PingInterval is how often the target pings listeners; 0 means LXD's
	// 10s. Keepalive is checked once a run lasts 2.5 intervals.
	PingInterval time.Duration
	// ClockTolerance bounds |event timestamp - arrival|; 0 means 10s.
	ClockTolerance time.Duration
	// Settle is how long to wait for events in flight after connecting and
	// after the last request; 0 means 500ms.
	Settle time.Duration
	// Validate is the schema validator; nil means schemas.Validate.
	Validate Validator
}

// evInfo is one received event, parsed.
type evInfo struct {
	raw     []byte
	typ     string
	project string
	hasProj bool
	at      time.Time
	md      map[string]any
}

func parseFrames(fs []frame) []evInfo {
	out := make([]evInfo, 0, len(fs))
	for _, f := range fs {
		var ev map[string]any
		if json.Unmarshal(f.data, &ev) != nil || ev == nil {
			continue
		}
		e := evInfo{raw: bytes.TrimSpace(f.data), at: f.at}
		e.typ, _ = ev["type"].(string)
		e.project, e.hasProj = ev["project"].(string)
		e.md, _ = ev["metadata"].(map[string]any)
		out = append(out, e)
	}
	return out
}

// RunLXD checks a live LXD (or eventsim) daemon. It returns an error only
// when the run could not take place: bad options (*ConfigError) or an
// unreachable target (ErrTarget); failed checks are in the report.
func RunLXD(ctx context.Context, o LXDOptions) (*Report, error) {
	start := time.Now()
	c, err := newLXDClient(o)
	if err != nil {
		return nil, err
	}
	if o.Project == "" {
		o.Project = "default"
	}
	if o.Settle <= 0 {
		o.Settle = 500 * time.Millisecond
	}
	if o.PingInterval <= 0 {
		o.PingInterval = 10 * time.Second
	}
	if o.Duration < 0 || o.MinEvents < 0 {
		return nil, &ConfigError{Field: "duration", Msg: "--duration and --min-events must not be negative"}
	}
	if o.Duration == 0 && !o.Exercise {
		o.Duration = 10 * time.Second
	}
	r := &lxdRun{o: o, c: c, rep: &Report{Suite: "lxd", Target: o.Target, Started: start, Strict: o.Strict}}

	// GET /1.0 first: a target that cannot answer it is unusable.
	x, err := c.do(ctx, "GET", "/1.0", nil, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: GET /1.0 on %s: %v", ErrTarget, o.Target, err)
	}
	if err := untrusted(x, o); err != nil {
		return nil, err
	}
	r.checkServer(x)

	r.checkRefusals(ctx)
	if err := r.listenAndAct(ctx); err != nil {
		return nil, err
	}
	sortResults(r.rep.Results)
	r.rep.Elapsed = time.Since(start)
	return r.rep, nil
}

// untrusted stops a run over TLS that the daemon does not trust: GET /1.0
// says auth "untrusted", and every other check would fail on 403s that say
// nothing of the cause.
func untrusted(x *httpExchange, o LXDOptions) error {
	if x.status != 200 || !strings.HasPrefix(o.Target, "https://") {
		return nil
	}
	var md struct {
		Auth string `json:"auth"`
	}
	if json.Unmarshal(x.env.Metadata, &md) != nil || md.Auth != "untrusted" {
		return nil
	}
	if o.Cert == "" {
		return fmt.Errorf("%w: %s does not trust this client (GET /1.0 says auth \"untrusted\"): pass --cert and --key with a client certificate it trusts (lxc config trust add CERT)", ErrTarget, o.Target)
	}
	return fmt.Errorf("%w: %s does not trust the certificate in --cert %s (GET /1.0 says auth \"untrusted\"): add it on the server with lxc config trust add %s", ErrTarget, o.Target, o.Cert, o.Cert)
}

type lxdRun struct {
	o         LXDOptions
	c         *lxdClient
	rep       *Report
	clustered bool
	extension map[string]bool
}

func (r *lxdRun) add(rec *recorder) { r.rep.Results = append(r.rep.Results, rec.result()) }

func (r *lxdRun) checkServer(x *httpExchange) {
	rec := newRecorder(IDServer, "GET /1.0 is a sync envelope with valid server metadata")
	defer r.add(rec)
	rec.checked++
	subj := x.subject("GET", "/1.0")
	if x.status != 200 {
		rec.fail(subj, "GET /1.0 answered %d, want 200", x.status)
		return
	}
	if ct := x.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		rec.fail(subj, "Content-Type %q, want application/json", ct)
	}
	if err := r.validate(schemas.LXDSyncResponse, x.body); err != nil {
		rec.fail(subj, "not a sync envelope: %v", err)
		return
	}
	if err := r.validate(schemas.LXDServer, x.env.Metadata); err != nil {
		rec.fail(subj, "metadata: %v", err)
	}
	var md struct {
		Extensions  []string `json:"api_extensions"`
		Environment struct {
			Clustered bool   `json:"server_clustered"`
			Version   string `json:"server_version"`
		} `json:"environment"`
	}
	_ = json.Unmarshal(x.env.Metadata, &md)
	r.clustered = md.Environment.Clustered
	r.extension = map[string]bool{}
	for _, e := range md.Extensions {
		r.extension[e] = true
	}
	if md.Environment.Version != "" {
		rec.notef("server_version %s", md.Environment.Version)
	}
}

func (r *lxdRun) validate(name string, doc []byte) error {
	if r.o.Validate != nil {
		return r.o.Validate(name, doc)
	}
	return schemas.Validate(name, doc)
}

// is502 reports LXD 5.0.2's wrong 500 for a refusal that later daemons
// answer with want.
func refusal(rec *recorder, strict bool, x *httpExchange, subj []byte, want int, what string) {
	rec.checked++
	switch {
	case x.status == 101:
		rec.fail(subj, "%s was accepted (101); it must be refused before the upgrade", what)
		return
	case x.status == 500:
		rec.quirk(strict, subj, "%s answered 500; LXD 5.0.3 and later answer %d (5.0.2 answers 500)", what, want)
	case x.status != want:
		rec.fail(subj, "%s answered %d, want %d", what, x.status, want)
	}
	if err := schemas.Validate(schemas.LXDErrorResponse, x.body); err != nil {
		rec.fail(subj, "%s: the body is not LXD's error envelope: %v", what, err)
	} else if x.env.ErrorCode != x.status {
		rec.fail(subj, "%s: error_code %d differs from the HTTP status %d", what, x.env.ErrorCode, x.status)
	}
}

// checkRefusals asks for what a daemon must refuse before upgrading.
func (r *lxdRun) checkRefusals(ctx context.Context) {
	token := randomToken()
	typ := newRecorder(IDFilterTypeInvalid, "an unknown event type is refused before the upgrade, in the error envelope")
	if l, x, err := r.c.listen(ctx, "bogus-type", "type=eventsim-bogus-"+token); l != nil {
		l.close()
		typ.fail([]byte("GET /1.0/events?type=eventsim-bogus-"+token+" -> 101"), "an unknown type was accepted (101); it must be refused before the upgrade with 400")
	} else if x != nil {
		refusal(typ, r.o.Strict, x, x.subject("GET", "/1.0/events?type=eventsim-bogus-"+token), 400, "an unknown type")
	} else {
		typ.fail(nil, "GET /1.0/events?type=eventsim-bogus: %v", err)
	}
	r.add(typ)

	proj := newRecorder(IDFilterProjectBad, "an unknown project is refused before the upgrade, in the error envelope")
	q := "project=eventsim-missing-" + token
	if l, x, err := r.c.listen(ctx, "bogus-project", q); l != nil {
		l.close()
		proj.fail([]byte("GET /1.0/events?"+q+" -> 101"), "a project that does not exist was accepted (101); it must be refused with 404")
	} else if x != nil {
		refusal(proj, r.o.Strict, x, x.subject("GET", "/1.0/events?"+q), 404, "an unknown project")
	} else {
		proj.fail(nil, "GET /1.0/events?%s: %v", q, err)
	}
	r.add(proj)

	up := newRecorder(IDEventsUpgrade, "a plain GET /1.0/events without upgrade headers is refused")
	up.checked++
	if x, err := r.c.do(ctx, "GET", "/1.0/events", nil, nil); err != nil {
		up.fail(nil, "GET /1.0/events: %v", err)
	} else if x.status < 400 || x.status > 499 {
		up.fail(x.subject("GET", "/1.0/events"), "a GET without upgrade headers answered %d, want 400", x.status)
	} else if x.envErr != nil {
		up.notef("answered %d in plain text, as LXD's WebSocket upgrader does", x.status)
	}
	r.add(up)
}

func randomToken() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// listenAndAct opens the listeners, causes or awaits activity, and judges
// what each listener received.
func (r *lxdRun) listenAndAct(ctx context.Context) error {
	o := r.o
	projQ := "project=" + url.QueryEscape(o.Project)
	specs := []struct{ name, query string }{
		{"all", "all-projects=true"},
		{"project", projQ},
		{"logging", "all-projects=true&type=logging"},
		{"operation", "all-projects=true&type=operation"},
		{"lifecycle", "all-projects=true&type=lifecycle"},
	}
	ls := map[string]*listener{}
	closed := false
	closeAll := func() {
		if !closed {
			closed = true
			for _, l := range ls {
				l.close()
			}
		}
	}
	defer closeAll()
	for _, s := range specs {
		l, x, err := r.c.listen(ctx, s.name, s.query)
		if err != nil {
			// The target answered GET /1.0, so an events endpoint that
			// refuses, breaks or never answers is a departure, not an
			// unreachable target.
			id, name := IDEventsFrames, "events arrive as text frames holding one JSON object each"
			if s.name == "project" {
				id, name = IDFilterProject, "a project listener gets its project's events and project-less ones, nothing else"
			}
			subj := []byte("GET /1.0/events?" + s.query + " -> no answer")
			if x != nil {
				subj = x.subject("GET", "/1.0/events?"+s.query)
			}
			rec := newRecorder(id, name)
			rec.fail(subj, "the listener %q could not connect: %v", s.query, err)
			r.add(rec)
			return nil
		}
		ls[s.name] = l
	}
	time.Sleep(o.Settle)
	t0 := time.Now()

	var ex *exercise
	if o.Exercise {
		ex = r.runExercise(ctx, ls["all"])
	}
	if rest := o.Duration - time.Since(t0); rest > 0 {
		select {
		case <-time.After(rest):
		case <-ctx.Done():
		}
	}
	// Listeners are compared on what reached the all-projects listener
	// up to tEnd; the settle after it lets those events reach the other
	// listeners too (LXD writes to each listener on its own).
	tEnd := time.Now()
	time.Sleep(o.Settle)
	t1 := time.Now()
	closeAll()
	frames := map[string][]frame{}
	pings := map[string]int{}
	for name, l := range ls {
		frames[name], pings[name] = l.snapshot()
	}
	r.judge(ex, t0, tEnd, t1, frames, pings)
	return nil
}

// judge runs every check on what the listeners received.
// Listeners are compared on the events that reached the all-projects
// listener from t0 to tEnd; t1 is when they were closed.
func (r *lxdRun) judge(ex *exercise, t0, tEnd, t1 time.Time, frames map[string][]frame, pings map[string]int) {
	o := r.o
	// Frames: text, one JSON object each, on every listener.
	fr := newRecorder(IDEventsFrames, "events arrive as text frames holding one JSON object each")
	for _, name := range []string{"all", "project", "logging", "operation", "lifecycle"} {
		for _, f := range frames[name] {
			fr.checked++
			if f.binary {
				fr.fail(f.data, "listener %s got a binary frame; LXD sends each event as a text frame", name)
				continue
			}
			if p := oneJSONObject(f.data); p != "" {
				fr.fail(f.data, "listener %s: %s", name, p)
			}
		}
	}
	r.add(fr)

	// Event-level checks on the all-projects listener, with arrival times.
	ec, err := NewEventChecker(EventOptions{Flavor: o.Flavor, Strict: o.Strict, Validate: o.Validate, ClockTolerance: o.ClockTolerance, Clustered: r.clustered})
	if err != nil {
		rec := newRecorder(IDEventsSchema, eventCheckNames[IDEventsSchema])
		rec.fail(nil, "%v", err)
		r.add(rec)
		return
	}
	for _, f := range frames["all"] {
		if !f.binary {
			ec.Observe(Observation{Raw: f.data, Received: f.at})
		}
	}
	r.rep.Results = append(r.rep.Results, ec.Results()...)
	r.rep.Coverage = ec.Coverage()
	r.rep.Timeline = ec.Timeline()
	r.rep.Events = ec.Events()

	mn := newRecorder(IDEventsMin, "at least --min-events events arrive")
	mn.checked = ec.Events()
	switch {
	case o.MinEvents == 0:
		mn.skip("--min-events not set")
	case ec.Events() < o.MinEvents:
		mn.fail(nil, "%d events arrived on the all-projects listener, want at least %d", ec.Events(), o.MinEvents)
	}
	r.add(mn)

	all := parseFrames(frames["all"])
	inWindow := func(e evInfo) bool { return !e.at.Before(t0) && !e.at.After(tEnd) }
	present := func(name string) map[string]bool {
		m := map[string]bool{}
		for _, e := range parseFrames(frames[name]) {
			m[string(e.raw)] = true
		}
		return m
	}

	// Type filters.
	tf := newRecorder(IDFilterType, "a listener for one type gets only, and all, events of that type")
	for _, typ := range []string{events.LXDTypeLogging, events.LXDTypeOperation, events.LXDTypeLifecycle} {
		got := parseFrames(frames[typ])
		for _, e := range got {
			tf.checked++
			if e.typ != typ {
				tf.fail(e.raw, "the type=%s listener got a %q event", typ, e.typ)
			}
		}
		has := present(typ)
		want := 0
		for _, e := range all {
			if e.typ == typ && inWindow(e) {
				want++
				if !has[string(e.raw)] {
					tf.fail(e.raw, "the all-projects listener got this %s event but the type=%s listener did not", typ, typ)
				}
			}
		}
		if want == 0 {
			tf.notef("no %s event arrived to compare", typ)
		}
	}
	if tf.checked == 0 && len(all) == 0 {
		tf.skip("no events arrived; use --exercise or a longer --duration")
	}
	r.add(tf)

	// Project filter and project-less delivery.
	pf := newRecorder(IDFilterProject, "a project listener gets its project's events and project-less ones, nothing else")
	gf := newRecorder(IDFilterGlobal, "events without a project reach every listener")
	proj := parseFrames(frames["project"])
	for _, e := range proj {
		pf.checked++
		if e.project != "" && e.project != o.Project {
			pf.fail(e.raw, "the project=%s listener got an event of project %q", o.Project, e.project)
		}
	}
	has := present("project")
	others, own, global := 0, 0, 0
	for _, e := range all {
		if !inWindow(e) {
			continue
		}
		switch {
		case e.project == "":
			global++
			gf.checked++
			if !has[string(e.raw)] {
				gf.fail(e.raw, "this project-less event reached the all-projects listener but not the project=%s listener", o.Project)
			}
		case e.project == o.Project:
			own++
			if !has[string(e.raw)] {
				pf.fail(e.raw, "this event of project %q reached the all-projects listener but not the project=%s listener", e.project, o.Project)
			}
		default:
			others++
		}
	}
	if global == 0 {
		gf.skip("no project-less event arrived during the run")
	}
	if others == 0 {
		pf.notef("no event of another project arrived, so no leak could be seen (--exercise creates one)")
	}
	if own+others == 0 && len(proj) == 0 {
		pf.skip("no project event arrived; use --exercise")
	}
	r.add(pf)
	r.add(gf)

	// Keepalive.
	ka := newRecorder(IDEventsKeepalive, "the server pings listeners (LXD: every 10 s)")
	length, every := t1.Sub(t0), r.o.PingInterval
	if from := every * 5 / 2; length < from {
		ka.skip("the run lasted %s; keepalive is checked from %s (--duration 30s)", length.Round(time.Millisecond), from)
	} else {
		// One ping an interval, less one for the phase of the server's timer.
		want := max(2, int(length/every)-1)
		for _, name := range []string{"all", "project"} {
			ka.checked++
			if pings[name] < want {
				ka.fail(nil, "listener %s got %d pings in %s, want at least %d: the server should ping every %s", name, pings[name], length.Round(time.Millisecond), want, every)
			}
		}
	}
	r.add(ka)

	if ex != nil {
		r.judgeExercise(ex, all)
	} else {
		for _, id := range []string{IDExerciseProfile, IDExerciseProject, IDExerciseVolume, IDExerciseInstance} {
			rec := newRecorder(id, exerciseNames[id])
			rec.skip("--exercise not set")
			r.add(rec)
		}
	}
}

// oneJSONObject says what is wrong with a frame that should hold exactly one
// JSON object, or "".
func oneJSONObject(b []byte) string {
	dec := json.NewDecoder(bytes.NewReader(b))
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Sprintf("the frame is not JSON: %v", err)
	}
	if _, ok := v.(map[string]any); !ok {
		return "the frame holds JSON that is not an object"
	}
	if dec.More() {
		return "the frame holds more than one JSON value"
	}
	var extra any
	if err := dec.Decode(&extra); err == nil {
		return "the frame holds more than one JSON value"
	}
	return ""
}
