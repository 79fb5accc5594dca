package conformance

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// miniLXD speaks just enough LXD over a unix socket: GET /1.0, /1.0/events,
// profiles, projects and operations. Each knob breaks one rule.
type miniLXD struct {
	mu        sync.Mutex
	listeners map[*miniListener]bool
	projects  map[string]bool

	wrongStatusCode   bool // Running sent with status_code 105
	illegalTransition bool // Running again after Success
	ignoreTypeFilter  bool
	projectLeak       bool // project listeners get every project's events
	badTimestamp      bool
	missingOldName    bool
	badSource         bool
	binaryFrames      bool
	acceptBadType     bool
	plainErrors       bool // refusals in plain text
	notSync           bool // GET /1.0 answers an "async" envelope
	noRequestor       bool
	dropGlobal        bool // project listeners miss project-less events
	clockSkew         bool
	noLocation        bool
	updatedBefore     bool          // updated_at before created_at
	silentProfile     bool          // profile-created never sent
	status500         bool          // refusals answered 500, as LXD 5.0.2 does
	pingEvery         time.Duration // 0: no pings
	hangUpgrades      bool          // WebSocket handshakes never answered
	lagTyped          time.Duration // type-filtered listeners get each event this late (legal: LXD writes from goroutines)
}

type miniListener struct {
	types   map[string]bool
	project string
	all     bool
	out     chan []byte
}

var upgrader = websocket.Upgrader{}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func (m *miniLXD) now() string {
	t := time.Now().UTC()
	if m.clockSkew {
		t = t.Add(-time.Hour)
	}
	if m.badTimestamp {
		return t.Format("2006-01-02 15:04:05")
	}
	return t.Format(time.RFC3339Nano)
}

func (m *miniLXD) emit(typ, project string, md map[string]any) {
	// Stamped and queued under one lock, so listeners get events in
	// timestamp order (lxd.events.order is strict here).
	m.mu.Lock()
	defer m.mu.Unlock()
	ev := map[string]any{"type": typ, "timestamp": m.now(), "metadata": md}
	if !m.noLocation {
		ev["location"] = "none"
	}
	if project != "" {
		ev["project"] = project
	}
	b, _ := json.Marshal(ev)
	b = append(b, '\n') // encoded once, shared read-only by every listener
	for l := range m.listeners {
		if len(l.types) > 0 && !l.types[typ] && !m.ignoreTypeFilter {
			continue
		}
		if !l.all {
			if project != "" && project != l.project && !m.projectLeak {
				continue
			}
			if project == "" && m.dropGlobal {
				continue
			}
		}
		if m.lagTyped > 0 && len(l.types) > 0 {
			time.AfterFunc(m.lagTyped, func() {
				select {
				case l.out <- b:
				default:
				}
			})
			continue
		}
		select {
		case l.out <- b:
		default:
		}
	}
}

func (m *miniLXD) lifecycle(project, action, source string, ctx map[string]any) {
	md := map[string]any{"action": action, "source": source}
	if ctx != nil {
		md["context"] = ctx
	}
	if !m.noRequestor {
		md["requestor"] = map[string]any{"username": "root", "protocol": "unix", "address": "@"}
	}
	m.emit("lifecycle", project, md)
}

func (m *miniLXD) operation(project, desc string, run func()) string {
	id := newUUID()
	created := time.Now().UTC()
	op := func(code int, status string) {
		upd := created
		if m.updatedBefore {
			upd = created.Add(-time.Second)
		}
		if m.wrongStatusCode && code == 103 {
			code = 105
		}
		m.emit("operation", project, map[string]any{
			"id": id, "class": "task", "description": desc,
			"created_at": created.Format(time.RFC3339Nano), "updated_at": upd.Format(time.RFC3339Nano),
			"status": status, "status_code": code, "resources": nil, "metadata": nil,
			"may_cancel": false, "err": "", "location": "none",
		})
	}
	op(105, "Pending")
	op(103, "Running")
	run()
	op(200, "Success")
	if m.illegalTransition {
		op(103, "Running")
	}
	return id
}

func (m *miniLXD) writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (m *miniLXD) sync(w http.ResponseWriter, status int, md any) {
	typ := "sync"
	if m.notSync {
		typ = "async"
	}
	m.writeJSON(w, status, map[string]any{"type": typ, "status": "Success", "status_code": 200, "operation": "", "error_code": 0, "error": "", "metadata": md})
}

func (m *miniLXD) refuse(w http.ResponseWriter, code int, msg string) {
	if m.status500 {
		code = 500
	}
	if m.plainErrors {
		http.Error(w, msg, code)
		return
	}
	m.writeJSON(w, code, map[string]any{"type": "error", "status": "", "status_code": 0, "operation": "", "error_code": code, "error": msg, "metadata": nil})
}

func (m *miniLXD) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, q := r.URL.Path, r.URL.Query()
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	name, _ := body["name"].(string)
	proj := q.Get("project")
	if proj == "" {
		proj = "default"
	}
	switch {
	case p == "/1.0" && r.Method == "GET":
		m.sync(w, 200, map[string]any{"api_extensions": []string{"projects"}, "api_status": "stable", "api_version": "1.0",
			"auth": "trusted", "public": false, "auth_methods": []string{"tls"},
			"environment": map[string]any{"server_clustered": false, "server_version": "5.0.2", "server_name": "mini"}})
	case p == "/1.0/events":
		m.events(w, r)
	case p == "/1.0/profiles" && r.Method == "POST":
		if !m.silentProfile {
			src := "/1.0/profiles/" + name
			if m.badSource {
				src = "/1.0/profile/" + name
			}
			m.lifecycle(proj, "profile-created", src, nil)
		}
		m.sync(w, 201, nil)
	case strings.HasPrefix(p, "/1.0/profiles/"):
		n := strings.TrimPrefix(p, "/1.0/profiles/")
		switch r.Method {
		case "PUT":
			m.lifecycle(proj, "profile-updated", "/1.0/profiles/"+n, nil)
		case "POST":
			ctx := map[string]any{"old_name": n}
			if m.missingOldName {
				ctx = nil
			}
			m.lifecycle(proj, "profile-renamed", "/1.0/profiles/"+name, ctx)
		case "DELETE":
			m.lifecycle(proj, "profile-deleted", "/1.0/profiles/"+n, nil)
		}
		m.sync(w, 200, nil)
	case p == "/1.0/projects" && r.Method == "POST":
		m.mu.Lock()
		m.projects[name] = true
		m.mu.Unlock()
		m.lifecycle(name, "project-created", "/1.0/projects/"+name, nil)
		m.sync(w, 201, nil)
	case strings.HasPrefix(p, "/1.0/projects/"):
		n := strings.TrimPrefix(p, "/1.0/projects/")
		switch r.Method {
		case "POST":
			id := m.operation("", "Renaming project", func() {
				m.lifecycle(name, "project-renamed", "/1.0/projects/"+name, map[string]any{"old_name": n})
			})
			m.writeJSON(w, 202, map[string]any{"type": "async", "status": "Operation created", "status_code": 100, "operation": "/1.0/operations/" + id, "error_code": 0, "error": "", "metadata": nil})
			return
		case "DELETE":
			m.lifecycle(n, "project-deleted", "/1.0/projects/"+n, nil)
		}
		m.sync(w, 200, nil)
	case strings.HasPrefix(p, "/1.0/operations/") && strings.HasSuffix(p, "/wait"):
		m.sync(w, 200, map[string]any{})
	case p == "/1.0/storage-pools":
		m.sync(w, 200, []string{})
	default:
		m.refuse(w, 404, "not found")
	}
}

func (m *miniLXD) events(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	l := &miniListener{types: map[string]bool{}, project: q.Get("project"), all: q.Get("all-projects") == "true", out: make(chan []byte, 1000)}
	if l.project == "" {
		l.project = "default"
	}
	m.mu.Lock()
	known := m.projects[l.project]
	m.mu.Unlock()
	if !known && !l.all {
		m.refuse(w, 404, "Project not found")
		return
	}
	if t := q.Get("type"); t != "" {
		for _, x := range strings.Split(t, ",") {
			if x != "logging" && x != "operation" && x != "lifecycle" && !m.acceptBadType {
				m.refuse(w, 400, fmt.Sprintf("%q isn't a supported event type", x))
				return
			}
			l.types[x] = true
		}
	}
	if m.hangUpgrades && websocket.IsWebSocketUpgrade(r) {
		<-r.Context().Done()
		return
	}
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	m.mu.Lock()
	m.listeners[l] = true
	m.mu.Unlock()
	m.emit("logging", "", map[string]any{"message": "Event listener server handler started", "level": "debug", "context": map[string]string{"id": newUUID()}})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	mt := websocket.TextMessage
	if m.binaryFrames {
		mt = websocket.BinaryMessage
	}
	defer func() {
		m.mu.Lock()
		delete(m.listeners, l)
		m.mu.Unlock()
		conn.Close()
	}()
	var ping <-chan time.Time
	if m.pingEvery > 0 {
		t := time.NewTicker(m.pingEvery)
		defer t.Stop()
		ping = t.C
	}
	for {
		select {
		case b := <-l.out:
			_ = conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if err := conn.WriteMessage(mt, b); err != nil {
				return
			}
		case <-ping:
			if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second)); err != nil {
				return
			}
		case <-done:
			return
		}
	}
}

// startMiniLXD serves m on a unix socket and returns the target.
func startMiniLXD(t *testing.T, m *miniLXD) string {
	t.Helper()
	m.listeners = map[*miniListener]bool{}
	m.projects = map[string]bool{"default": true}
	dir, err := os.MkdirTemp("", "eslxd")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "unix.socket")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: m}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.Close()
		_ = os.RemoveAll(dir)
	})
	return "unix://" + sock
}

func runMiniLXD(t *testing.T, m *miniLXD, strict bool) *Report {
	t.Helper()
	target := startMiniLXD(t, m)
	rep, err := RunLXD(t.Context(), LXDOptions{Target: target, Exercise: true, Settle: 150 * time.Millisecond, Strict: strict, MinEvents: 5})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestLXDCorrectMiniServerPasses(t *testing.T) {
	rep := runMiniLXD(t, &miniLXD{}, true)
	for _, r := range rep.Results {
		switch {
		case r.ID == IDEventsKeepalive || r.ID == IDExerciseVolume || r.ID == IDExerciseInstance:
			if r.Status != Skip {
				t.Errorf("%s: %s, want skip", r.ID, r.Status)
			}
		case r.Status != Pass:
			t.Errorf("%s: %s %s %+v", r.ID, r.Status, r.Note, r.Findings)
		}
	}
	if !rep.Passed() {
		t.Error("the report did not pass")
	}
}

func TestLXDBrokenServersAreCaught(t *testing.T) {
	tests := []struct {
		name   string
		break_ func(*miniLXD)
		id     string
		want   Status
		strict bool
	}{
		{"wrong status code", func(m *miniLXD) { m.wrongStatusCode = true }, IDOperationStatus, Fail, false},
		{"illegal transition", func(m *miniLXD) { m.illegalTransition = true }, IDOperationTransitions, Fail, false},
		{"type filter ignored", func(m *miniLXD) { m.ignoreTypeFilter = true }, IDFilterType, Fail, false},
		{"project leak", func(m *miniLXD) { m.projectLeak = true }, IDFilterProject, Fail, false},
		{"bad timestamp", func(m *miniLXD) { m.badTimestamp = true }, IDEventsTimestamp, Fail, false},
		{"missing old_name", func(m *miniLXD) { m.missingOldName = true }, IDLifecycleContext, Fail, false},
		{"bad source path", func(m *miniLXD) { m.badSource = true }, IDLifecycleSource, Fail, false},
		{"binary frames", func(m *miniLXD) { m.binaryFrames = true }, IDEventsFrames, Fail, false},
		{"unknown type accepted", func(m *miniLXD) { m.acceptBadType = true }, IDFilterTypeInvalid, Fail, false},
		{"wrong error envelope", func(m *miniLXD) { m.plainErrors = true }, IDFilterProjectBad, Fail, false},
		{"GET /1.0 not sync", func(m *miniLXD) { m.notSync = true }, IDServer, Fail, false},
		{"no requestor", func(m *miniLXD) { m.noRequestor = true }, IDLifecycleRequestor, Fail, false},
		{"project-less events dropped", func(m *miniLXD) { m.dropGlobal = true }, IDFilterGlobal, Fail, false},
		{"clock skew", func(m *miniLXD) { m.clockSkew = true }, IDEventsClock, Fail, false},
		{"no location", func(m *miniLXD) { m.noLocation = true }, IDEventsLocation, Fail, false},
		{"updated_at before created_at", func(m *miniLXD) { m.updatedBefore = true }, IDOperationTimes, Fail, false},
		{"exercise event missing", func(m *miniLXD) { m.silentProfile = true }, IDExerciseProfile, Fail, false},
		{"5.0.2's 500 is a warning", func(m *miniLXD) { m.status500 = true }, IDFilterTypeInvalid, Warn, false},
		{"5.0.2's 500 fails when strict", func(m *miniLXD) { m.status500 = true }, IDFilterTypeInvalid, Fail, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := &miniLXD{}
			tc.break_(m)
			rep := runMiniLXD(t, m, tc.strict)
			r := rep.Result(tc.id)
			if r == nil || r.Status != tc.want {
				t.Fatalf("%s: got %+v, want %s", tc.id, r, tc.want)
			}
			t.Logf("%s: %s", tc.id, r.Findings[0].Problem)
		})
	}
}

// TestRunLXDBadTargets: a run that cannot take place returns no report and
// an error that says what was wrong: a *ConfigError naming the target for a
// malformed one, ErrTarget naming the socket for one that cannot be reached.
// (The CLI turns both into exit 2 with that message; TestConformUsageErrors.)
func TestRunLXDBadTargets(t *testing.T) {
	tests := []struct {
		target      string
		unreachable bool
		want        string
	}{
		{"", false, `invalid target: "", must be unix:///path/unix.socket`},
		{"ftp://x", false, `invalid target: scheme "ftp", must be unix, https or http`},
		{"unix://", false, `invalid target: "unix://" names no socket path`},
		{"http://", false, `invalid target: "http://" names no host`},
		{"unix:///nonexistent/unix.socket", true, "target unusable: GET /1.0 on unix:///nonexistent/unix.socket: "},
	}
	for _, tc := range tests {
		rep, err := RunLXD(t.Context(), LXDOptions{Target: tc.target})
		if rep != nil {
			t.Errorf("target %q: a report %+v, want none", tc.target, rep)
		}
		var ce *ConfigError
		switch {
		case err == nil:
			t.Errorf("target %q: no error", tc.target)
			continue
		case tc.unreachable && (!errors.Is(err, ErrTarget) || errors.As(err, &ce)):
			t.Errorf("target %q: %v, want ErrTarget", tc.target, err)
		case !tc.unreachable && (!errors.As(err, &ce) || ce.Field != "target" || errors.Is(err, ErrTarget)):
			t.Errorf("target %q: %v, want a *ConfigError on the target", tc.target, err)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("target %q: %q, want it to contain %q", tc.target, err, tc.want)
		}
	}
}

// TestLXDKeepalive: a server that pings as often as it promises passes the
// keepalive check; one that stops pinging fails it; a run too short for it
// skips it.
func TestLXDKeepalive(t *testing.T) {
	const every = 100 * time.Millisecond
	run := func(m *miniLXD, d time.Duration) *Result {
		t.Helper()
		target := startMiniLXD(t, m)
		rep, err := RunLXD(t.Context(), LXDOptions{Target: target, Duration: d, PingInterval: every, Settle: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		for i := range rep.Results {
			if rep.Results[i].ID == IDEventsKeepalive {
				return &rep.Results[i]
			}
		}
		t.Fatalf("no %s result", IDEventsKeepalive)
		return nil
	}
	if r := run(&miniLXD{pingEvery: every}, 600*time.Millisecond); r.Status != Pass {
		t.Errorf("pinging server: %s %s %+v, want pass", r.Status, r.Note, r.Findings)
	}
	if r := run(&miniLXD{pingEvery: time.Second}, 600*time.Millisecond); r.Status != Fail {
		t.Errorf("server pinging 10 times too slowly: %s %s, want fail", r.Status, r.Note)
	}
	if r := run(&miniLXD{}, 600*time.Millisecond); r.Status != Fail {
		t.Errorf("server that never pings: %s %s, want fail", r.Status, r.Note)
	}
	if r := run(&miniLXD{pingEvery: every}, 150*time.Millisecond); r.Status != Skip {
		t.Errorf("short run: %s %s, want skip", r.Status, r.Note)
	}
}

// TestLXDEventsEndpointThatNeverAnswers: a target that answers GET /1.0 but
// never completes a WebSocket handshake is judged (a failed check, exit 1),
// not called unreachable (exit 2).
func TestLXDEventsEndpointThatNeverAnswers(t *testing.T) {
	t.Parallel()
	target := startMiniLXD(t, &miniLXD{hangUpgrades: true})
	rep, err := RunLXD(t.Context(), LXDOptions{Target: target, Duration: 100 * time.Millisecond, Settle: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("RunLXD: %v, want a report", err)
	}
	if r := rep.Result(IDEventsFrames); r == nil || r.Status != Fail {
		t.Errorf("%s: %+v, want fail", IDEventsFrames, r)
	}
	if rep.Passed() {
		t.Error("the report passed, want failed")
	}
}
