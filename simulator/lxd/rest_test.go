package lxd

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/eventsim/eventsim/events"
	"github.com/eventsim/eventsim/scenarios"
)

// do sends one request with an optional JSON body and returns the status
// and the decoded envelope.
func do(t *testing.T, s *Server, method, path, body string) (int, http.Header, envelope) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatalf("%s %s: body is not JSON: %s", method, path, b)
	}
	if !bytes.HasSuffix(b, []byte("}\n")) {
		t.Errorf("%s %s: body does not end in a newline: %q", method, path, b)
	}
	return resp.StatusCode, resp.Header, env
}

type envelope = events.LXDResponse[json.RawMessage]

// lifecycleOf reads a frame and returns action, source and project of a
// lifecycle event ("" for other types).
func lifecycleOf(t *testing.T, frame string) (action, source, project string) {
	t.Helper()
	var ev struct {
		Type     string `json:"type"`
		Project  string `json:"project"`
		Metadata struct {
			Action string `json:"action"`
			Source string `json:"source"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal([]byte(frame), &ev); err != nil {
		t.Fatalf("frame %q: %v", frame, err)
	}
	if ev.Type != "lifecycle" {
		return "", "", ""
	}
	return ev.Metadata.Action, ev.Metadata.Source, ev.Project
}

func TestRESTErrors(t *testing.T) {
	s := NewServer(t, Options{Projects: []string{"p1"}})
	tests := []struct {
		name, method, path, body string
		code                     int
		msg                      string
	}{
		{"unknown profile", "GET", "/1.0/profiles/nope", "", 404, "Profile not found"},
		{"unknown profile put", "PUT", "/1.0/profiles/nope", `{"config":{}}`, 404, "Profile not found"},
		{"unknown project param", "GET", "/1.0/profiles?project=nope", "", 404, "Project not found"},
		{"unknown project", "DELETE", "/1.0/projects/nope", "", 404, "Project not found"},
		{"profile exists", "POST", "/1.0/profiles", `{"name":"default"}`, 409, `Profile "default" already exists`},
		{"project exists", "POST", "/1.0/projects", `{"name":"p1"}`, 409, `Project "p1" already exists`},
		{"no body", "POST", "/1.0/profiles", "", 400, "request body is empty; a JSON object is required"},
		{"broken json", "POST", "/1.0/profiles", `{"name":`, 400, "invalid request body: unexpected EOF"},
		{"wrong type", "POST", "/1.0/profiles", `{"name":5}`, 400, `invalid request body: field "name" must be string, not number`},
		{"config not strings", "POST", "/1.0/projects", `{"name":"x","config":{"limits.cpu":2}}`, 400, `invalid request body: field "config" must be string, not number`},
		{"two values", "PUT", "/1.0/profiles/default", `{} {}`, 400, "invalid request body: more than one JSON value"},
		{"no name", "POST", "/1.0/profiles", `{}`, 400, "No name provided"},
		{"slash in name", "POST", "/1.0/projects", `{"name":"a/b"}`, 400, `Invalid project name "a/b": it may not contain slashes, spaces or control characters`},
		{"default profile delete", "DELETE", "/1.0/profiles/default", "", 403, `The "default" profile cannot be deleted`},
		{"default project rename", "POST", "/1.0/projects/default", `{"name":"x"}`, 403, "The 'default' project cannot be renamed"},
		{"default project delete", "DELETE", "/1.0/projects/default", "", 403, "The 'default' project cannot be deleted"},
		{"unknown pool", "GET", "/1.0/storage-pools/nope/volumes", "", 404, "Storage pool not found"},
		{"unknown volume", "DELETE", "/1.0/storage-pools/default/volumes/custom/nope", "", 404, "Storage volume not found"},
		{"bad volume type", "GET", "/1.0/storage-pools/default/volumes/bogus", "", 400, `Invalid storage volume type "bogus", must be one of custom, container, virtual-machine, image`},
		{"container volume create", "POST", "/1.0/storage-pools/default/volumes/container", `{"name":"c"}`, 400, `Currently not allowed to create storage volumes of type "container"`},
		{"bad content type", "POST", "/1.0/storage-pools/default/volumes/custom", `{"name":"v","content_type":"tape"}`, 400, `Invalid content type "tape", must be filesystem or block`},
		{"unknown operation", "GET", "/1.0/operations/nope", "", 404, "Operation not found"},
		{"bad wait timeout", "GET", "/1.0/operations/nope/wait?timeout=x", "", 404, "Operation not found"},
		{"unknown route", "POST", "/1.0/nothing-here", `{}`, 404, "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, env := do(t, s, tt.method, tt.path, tt.body)
			if code != tt.code || env.Type != "error" || env.ErrorCode != tt.code || env.Error != tt.msg || string(env.Metadata) != "null" {
				t.Errorf("%s %s: %d %+v, want %d %q", tt.method, tt.path, code, env, tt.code, tt.msg)
			}
		})
	}
	// Still serving, and nothing was changed by the refusals.
	code, _, env := do(t, s, "GET", "/1.0/profiles", "")
	if code != 200 || string(env.Metadata) != `["/1.0/profiles/default"]` {
		t.Errorf("after the errors: %d %s", code, env.Metadata)
	}
	code, _, env = do(t, s, "GET", "/1.0/projects", "")
	if code != 200 || string(env.Metadata) != `["/1.0/projects/default","/1.0/projects/p1"]` {
		t.Errorf("after the errors: %d %s", code, env.Metadata)
	}
	if st := s.Stats(); st.Emitted != 0 {
		t.Errorf("refused requests emitted %d events (logging is off)", st.Emitted)
	}
}

// TestRESTGarbage sends bodies no client should; the server answers each
// in its envelope and keeps serving.
func TestRESTGarbage(t *testing.T) {
	s := NewServer(t, Options{Logging: true})
	bodies := []string{"\x00\xff", "null", "[]", `"x"`, "1e999", `{"name":"` + strings.Repeat("a", 70000) + `"}`, `{"name":"x","devices":{"d":{"k":[1]}}}`, `{"name":"x","description":null}`}
	paths := []string{"/1.0/profiles", "/1.0/projects", "/1.0/profiles/default", "/1.0/projects/default", "/1.0/storage-pools/default/volumes/custom", "/1.0/storage-pools/default/volumes"}
	for _, p := range paths {
		for _, b := range bodies {
			for _, m := range []string{"POST", "PUT", "PATCH"} {
				req, _ := http.NewRequest(m, s.URL()+p, strings.NewReader(b))
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatalf("%s %s %q: %v", m, p, b, err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				var env envelope
				if json.Unmarshal(body, &env) != nil || (resp.StatusCode >= 400 && env.ErrorCode != resp.StatusCode) {
					t.Errorf("%s %s %.20q: %d %s", m, p, b, resp.StatusCode, body)
				}
			}
		}
	}
	big := bytes.Repeat([]byte("x"), maxBody+10)
	resp, err := http.Post(s.URL()+"/1.0/profiles", "application/json", bytes.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("a body over %d bytes answered %d, want 400", maxBody, resp.StatusCode)
	}
	if code, _, _ := do(t, s, "GET", "/1.0", ""); code != 200 {
		t.Errorf("GET /1.0 after garbage: %d", code)
	}
}

func TestRESTProfiles(t *testing.T) {
	s := NewServer(t, Options{Projects: []string{"p1"}})
	c := dial(t, s, "all-projects=true")
	code, h, env := do(t, s, "POST", "/1.0/profiles?project=p1", `{"name":"web","config":{"limits.cpu":"2"},"devices":{"root":{"type":"disk","path":"/","pool":"default"}}}`)
	if code != 201 || h.Get("Location") != "/1.0/profiles/web?project=p1" || string(env.Metadata) != "null" {
		t.Fatalf("create: %d %v %+v", code, h, env)
	}
	if code, _, _ := do(t, s, "GET", "/1.0/profiles/web", ""); code != 404 {
		t.Errorf("a profile of p1 is visible in default: %d", code)
	}
	code, _, env = do(t, s, "PATCH", "/1.0/profiles/web?project=p1", `{"config":{"limits.memory":"1GiB"},"description":"patched"}`)
	if code != 200 || string(env.Metadata) != "{}" {
		t.Errorf("patch: %d %+v", code, env)
	}
	_, _, env = do(t, s, "GET", "/1.0/profiles/web?project=p1", "")
	var p profile
	json.Unmarshal(env.Metadata, &p)
	if p.Config["limits.cpu"] != "2" || p.Config["limits.memory"] != "1GiB" || p.Description != "patched" || p.Devices["root"]["pool"] != "default" {
		t.Errorf("after patch: %+v", p)
	}
	do(t, s, "PUT", "/1.0/profiles/web?project=p1", `{"config":{"a":"b"}}`)
	_, _, env = do(t, s, "GET", "/1.0/profiles/web?project=p1", "")
	p = profile{}
	json.Unmarshal(env.Metadata, &p)
	if len(p.Config) != 1 || p.Description != "" || len(p.Devices) != 0 {
		t.Errorf("after put: %+v", p)
	}
	if code, _, _ := do(t, s, "POST", "/1.0/profiles/web?project=p1", `{"name":"default"}`); code != 409 {
		t.Errorf("rename onto default: %d, want 409", code)
	}
	do(t, s, "POST", "/1.0/profiles/web?project=p1", `{"name":"web2"}`)
	_, _, env = do(t, s, "GET", "/1.0/profiles?project=p1", "")
	if string(env.Metadata) != `["/1.0/profiles/default?project=p1","/1.0/profiles/web2?project=p1"]` {
		t.Errorf("list: %s", env.Metadata)
	}
	do(t, s, "DELETE", "/1.0/profiles/web2?project=p1", "")
	var got []string
	for _, f := range readFrames(t, c, 5) {
		a, src, proj := lifecycleOf(t, f)
		got = append(got, a+" "+src+" "+proj)
	}
	want := []string{
		"profile-created /1.0/profiles/web?project=p1 p1",
		"profile-updated /1.0/profiles/web?project=p1 p1",
		"profile-updated /1.0/profiles/web?project=p1 p1",
		"profile-renamed /1.0/profiles/web2?project=p1 p1",
		"profile-deleted /1.0/profiles/web2?project=p1 p1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	expectQuiet(t, c, 100*time.Millisecond)
}

// TestRESTProjectFeatures: a project without its own profiles uses
// default's, as in LXD.
func TestRESTProjectFeatures(t *testing.T) {
	s := NewServer(t, Options{})
	do(t, s, "POST", "/1.0/projects", `{"name":"shared","config":{"features.profiles":"false"}}`)
	do(t, s, "POST", "/1.0/profiles?project=shared", `{"name":"x"}`)
	if code, _, _ := do(t, s, "GET", "/1.0/profiles/x", ""); code != 200 {
		t.Errorf("a profile made in a project without features.profiles is not in default: %d", code)
	}
	if code, _, env := do(t, s, "DELETE", "/1.0/projects/shared", ""); code != 200 {
		t.Errorf("delete: %d %+v", code, env)
	}
	do(t, s, "POST", "/1.0/projects", `{"name":"own"}`)
	do(t, s, "POST", "/1.0/profiles?project=own", `{"name":"x"}`)
	if code, _, env := do(t, s, "DELETE", "/1.0/projects/own", ""); code != 400 || env.Error != "Only empty projects can be removed" {
		t.Errorf("delete of a project with a profile: %d %+v", code, env)
	}
	// Renaming a non-empty project is a failed operation, as in LXD.
	code, _, env := do(t, s, "POST", "/1.0/projects/own", `{"name":"own2"}`)
	if code != 202 || env.Type != "async" {
		t.Fatalf("rename: %d %+v", code, env)
	}
	_, _, env = do(t, s, "GET", env.Operation+"/wait", "")
	var op struct {
		Status string `json:"status"`
		Err    string `json:"err"`
	}
	json.Unmarshal(env.Metadata, &op)
	if op.Status != "Failure" || op.Err != "Only empty projects can be renamed" {
		t.Errorf("rename of a non-empty project: %+v", op)
	}
}

// TestRESTProjectsAndFilters: a created project becomes a valid ?project=
// filter and is listed; a deleted one is neither.
func TestRESTProjectsAndFilters(t *testing.T) {
	s := NewServer(t, Options{})
	if _, err := websocketDial(s, "project=demo"); err == nil {
		t.Fatal("a listener on a project that does not exist was accepted")
	}
	do(t, s, "POST", "/1.0/projects", `{"name":"demo","description":"d","config":{"limits.instances":"5"}}`)
	c := dial(t, s, "project=demo")
	_, _, env := do(t, s, "GET", "/1.0/projects/demo", "")
	var p projectObj
	json.Unmarshal(env.Metadata, &p)
	if p.Description != "d" || p.Config["limits.instances"] != "5" || p.Config["features.profiles"] != "true" {
		t.Errorf("project: %s", env.Metadata)
	}
	do(t, s, "PATCH", "/1.0/projects/demo", `{"description":"e"}`)
	code, _, env := do(t, s, "POST", "/1.0/projects/demo", `{"name":"demo2"}`)
	if code != 202 || !strings.HasPrefix(env.Operation, "/1.0/operations/") {
		t.Fatalf("rename: %d %+v", code, env)
	}
	_, _, list := do(t, s, "GET", "/1.0/projects", "")
	if string(list.Metadata) != `["/1.0/projects/default","/1.0/projects/demo2"]` {
		t.Errorf("projects after rename: %s", list.Metadata)
	}
	do(t, s, "DELETE", "/1.0/projects/demo2", "")
	_, _, list = do(t, s, "GET", "/1.0/projects", "")
	if string(list.Metadata) != `["/1.0/projects/default"]` {
		t.Errorf("projects after delete: %s", list.Metadata)
	}
	if _, err := websocketDial(s, "project=demo2"); err == nil {
		t.Error("a listener on a deleted project was accepted")
	}
	// The demo listener connected after the creation; it hears
	// project-updated (project demo), then the rename's operation, which
	// has no project and so goes to everyone; project-renamed and
	// project-deleted belong to demo2.
	got := readFrames(t, c, 4)
	if a, src, proj := lifecycleOf(t, got[0]); a != "project-updated" || src != "/1.0/projects/demo" || proj != "demo" {
		t.Errorf("demo listener got %s", got[0])
	}
	for i, st := range []string{"Pending", "Running", "Success"} {
		if !strings.Contains(got[i+1], `"description":"Renaming project","created_at"`) || !strings.Contains(got[i+1], `"status":"`+st+`"`) {
			t.Errorf("frame %d: %s, want the rename's %s", i+1, got[i+1], st)
		}
	}
	expectQuiet(t, c, 100*time.Millisecond)
}

// TestRESTInterleaving: events of REST requests and delivered records share
// one ordered stream, and REST events are stamped with the server's clock,
// never before what was delivered (equal is allowed: played records may
// share a time, and a REST event between them must not run ahead).
func TestRESTInterleaving(t *testing.T) {
	virtual := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s := NewServer(t, Options{Clock: func() time.Time { return virtual }})
	c := dial(t, s, "")
	rec := func(sec int) *scenarios.Record {
		at := virtual.Add(time.Duration(sec) * time.Second)
		j := `{"type":"lifecycle","timestamp":"` + at.Format(time.RFC3339Nano) + `","metadata":{"action":"profile-updated","source":"/1.0/profiles/default"},"location":"none","project":"default"}`
		return recordOf(t, []byte(j))
	}
	s.Deliver(t.Context(), rec(0))
	do(t, s, "POST", "/1.0/profiles", `{"name":"a"}`)
	s.Deliver(t.Context(), rec(5))
	do(t, s, "POST", "/1.0/profiles", `{"name":"b"}`)
	frames := readFrames(t, c, 4)
	var last time.Time
	for i, f := range frames {
		var ev struct {
			Timestamp time.Time `json:"timestamp"`
		}
		json.Unmarshal([]byte(f), &ev)
		if ev.Timestamp.Before(last) {
			t.Errorf("frame %d goes back in time: %s", i, f)
		}
		last = ev.Timestamp
	}
	if _, src, _ := lifecycleOf(t, frames[1]); src != "/1.0/profiles/a" || !strings.Contains(frames[1], `"timestamp":"2030-01-01T00:00:00Z"`) {
		t.Errorf("first REST event: %s", frames[1])
	}
	if _, src, _ := lifecycleOf(t, frames[3]); src != "/1.0/profiles/b" || !strings.Contains(frames[3], `"timestamp":"2030-01-01T00:00:05Z"`) {
		t.Errorf("second REST event is not stamped with the delivered one's time: %s", frames[3])
	}
}

// TestRESTOperations: the operation of an async request, by id, waited on
// and listed.
func TestRESTOperations(t *testing.T) {
	s := NewServer(t, Options{})
	do(t, s, "POST", "/1.0/storage-pools/default/volumes/custom", `{"name":"v"}`)
	code, h, env := do(t, s, "POST", "/1.0/storage-pools/default/volumes/custom/v/snapshots", `{}`)
	if code != 202 || env.Type != "async" || env.StatusCode != 100 || env.Status != "Operation created" || h.Get("Location") != env.Operation {
		t.Fatalf("snapshot: %d %v %+v", code, h, env)
	}
	var op map[string]any
	json.Unmarshal(env.Metadata, &op)
	if op["status"] != "Running" || op["description"] != "Creating storage volume snapshot" {
		t.Errorf("202 metadata: %s", env.Metadata)
	}
	for _, path := range []string{env.Operation, env.Operation + "/wait", env.Operation + "/wait?timeout=1"} {
		code, _, w := do(t, s, "GET", path, "")
		json.Unmarshal(w.Metadata, &op)
		if code != 200 || op["status"] != "Success" || op["status_code"] != 200.0 {
			t.Errorf("%s: %d %s", path, code, w.Metadata)
		}
	}
	_, _, list := do(t, s, "GET", "/1.0/operations", "")
	if !strings.Contains(string(list.Metadata), `"success":["`+env.Operation+`"]`) {
		t.Errorf("operations: %s", list.Metadata)
	}
	_, _, snaps := do(t, s, "GET", "/1.0/storage-pools/default/volumes/custom/v/snapshots", "")
	if string(snaps.Metadata) != `["/1.0/storage-pools/default/volumes/custom/v/snapshots/snap0"]` {
		t.Errorf("snapshots: %s", snaps.Metadata)
	}
	if code, _, _ := do(t, s, "POST", "/1.0/storage-pools/default/volumes/custom/v/snapshots", `{"name":"snap0"}`); code != 409 {
		t.Errorf("a second snap0: %d, want 409", code)
	}
}

// TestRESTOperationsPerProject: GET /1.0/operations lists the project's
// operations and those of no project, as LXD does.
func TestRESTOperationsPerProject(t *testing.T) {
	s := NewServer(t, Options{Projects: []string{"p1"}})
	do(t, s, "POST", "/1.0/storage-pools/default/volumes/custom?project=p1", `{"name":"v"}`)
	_, _, inP1 := do(t, s, "POST", "/1.0/storage-pools/default/volumes/custom/v/snapshots?project=p1", `{}`)
	do(t, s, "POST", "/1.0/projects", `{"name":"p2"}`)
	_, _, rename := do(t, s, "POST", "/1.0/projects/p2", `{"name":"p3"}`)
	if inP1.Operation == "" || rename.Operation == "" {
		t.Fatalf("no operations: %+v %+v", inP1, rename)
	}
	for _, tt := range []struct {
		query     string
		want, not []string
	}{
		{"", []string{rename.Operation}, []string{inP1.Operation}},
		{"?project=p1", []string{rename.Operation, inP1.Operation}, nil},
	} {
		_, _, list := do(t, s, "GET", "/1.0/operations"+tt.query, "")
		for _, op := range tt.want {
			if !strings.Contains(string(list.Metadata), op) {
				t.Errorf("operations%s: %s lacks %s", tt.query, list.Metadata, op)
			}
		}
		for _, op := range tt.not {
			if strings.Contains(string(list.Metadata), op) {
				t.Errorf("operations%s: %s lists %s of another project", tt.query, list.Metadata, op)
			}
		}
	}
}

// websocketDial tries to connect an events client and hangs up at once.
func websocketDial(s *Server, query string) (int, error) {
	c, resp, err := websocket.DefaultDialer.Dial(wsURL(s, query), nil)
	if err != nil {
		if resp != nil {
			return resp.StatusCode, err
		}
		return 0, err
	}
	c.Close()
	return 101, nil
}

// TestPlayedProjects: projects created and deleted by played events come
// and go like those of REST requests.
func TestPlayedProjects(t *testing.T) {
	s := NewServer(t, Options{})
	played := func(action string) {
		t.Helper()
		j := `{"type":"lifecycle","timestamp":"2026-01-01T00:00:00Z","metadata":{"action":"` + action + `","source":"/1.0/projects/played"},"location":"none","project":"played"}`
		if err := s.Deliver(t.Context(), recordOf(t, []byte(j))); err != nil {
			t.Fatal(err)
		}
	}
	played("project-created")
	if _, _, env := do(t, s, "GET", "/1.0/projects", ""); string(env.Metadata) != `["/1.0/projects/default","/1.0/projects/played"]` {
		t.Errorf("after project-created: %s", env.Metadata)
	}
	dial(t, s, "project=played")
	played("project-updated")
	played("project-deleted")
	if _, _, env := do(t, s, "GET", "/1.0/projects", ""); string(env.Metadata) != `["/1.0/projects/default"]` {
		t.Errorf("after project-deleted: %s", env.Metadata)
	}
	if code, err := websocketDial(s, "project=played"); err == nil || code != 404 {
		t.Errorf("a listener on a played-and-deleted project: %d %v", code, err)
	}

	// A played rename moves the project with its objects: the new name is
	// valid, the old one is gone.
	played("project-created")
	if code, _, env := do(t, s, "POST", "/1.0/profiles?project=played", `{"name":"web"}`); code != 201 {
		t.Fatalf("profile in played: %d %s", code, env.Error)
	}
	renamed := `{"type":"lifecycle","timestamp":"2026-01-01T00:00:01Z","metadata":{"action":"project-renamed","source":"/1.0/projects/moved","context":{"old_name":"played"}},"location":"none","project":"moved"}`
	if err := s.Deliver(t.Context(), recordOf(t, []byte(renamed))); err != nil {
		t.Fatal(err)
	}
	if _, _, env := do(t, s, "GET", "/1.0/projects", ""); string(env.Metadata) != `["/1.0/projects/default","/1.0/projects/moved"]` {
		t.Errorf("after project-renamed: %s", env.Metadata)
	}
	if code, err := websocketDial(s, "project=played"); err == nil || code != 404 {
		t.Errorf("a listener on a renamed project's old name: %d %v", code, err)
	}
	dial(t, s, "project=moved")
	if _, _, env := do(t, s, "GET", "/1.0/profiles?project=moved", ""); string(env.Metadata) != `["/1.0/profiles/default?project=moved","/1.0/profiles/web?project=moved"]` {
		t.Errorf("profiles of the renamed project: %s", env.Metadata)
	}
}

// FuzzREST sends arbitrary methods, paths and bodies to the REST routes:
// every answer is LXD's envelope with a status the API uses, and the
// server keeps its invariants (default project and profile).
func FuzzREST(f *testing.F) {
	for _, seed := range []struct{ method, path, body string }{
		{"POST", "/1.0/profiles", `{"name":"web","config":null,"description":"","devices":null}`},
		{"PATCH", "/1.0/profiles/default", `{"config":{"a":"b"}}`},
		{"POST", "/1.0/projects", `{"name":"p","config":{"features.profiles":"false"}}`},
		{"POST", "/1.0/projects/p", `{"name":"q"}`},
		{"DELETE", "/1.0/projects/default", ``},
		{"POST", "/1.0/storage-pools/default/volumes/custom", `{"name":"v","content_type":"block"}`},
		{"POST", "/1.0/storage-pools/default/volumes/custom/v/snapshots", `{}`},
		{"PUT", "/1.0/storage-pools/default/volumes/custom/v", `{"restore":"snap0"}`},
		{"GET", "/1.0/operations/x/wait?timeout=0", ``},
		{"POST", "/1.0/profiles?project=%00", "\x00"},
		{"POST", "/1.0/instances", `{"name":"c1","source":{"type":"none"}}`},
		{"PUT", "/1.0/instances/c1/state", `{"action":"start"}`},
		{"POST", "/1.0/instances/c1/snapshots", `{}`},
		{"PUT", "/1.0/instances/c1", `{"restore":"c1/snap0"}`},
		{"GET", "/1.0/instances?recursion=2&filter=name%20eq%20c1%20or", ``},
		{"POST", "/1.0/images/aliases", `{"name":"a","target":""}`},
		{"POST", "/1.0/networks", `{"name":"br0","type":"bridge"}`},
		{"POST", "/1.0/images", "\x1f\x8b"},
	} {
		f.Add(seed.method, seed.path, seed.body)
	}
	s := NewServer(f, Options{Logging: true})
	h := s.Handler()
	allowed := map[int]bool{200: true, 201: true, 202: true, 400: true, 403: true, 404: true, 409: true, 500: true, 501: true}
	f.Fuzz(func(t *testing.T, method, path, body string) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req, err := http.NewRequest(method, "http://lxd"+path, strings.NewReader(body))
		if err != nil {
			return // not a request a client could send
		}
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if !allowed[rec.Code] {
			t.Fatalf("%s %q: status %d: %s", method, path, rec.Code, rec.Body.String())
		}
		var env envelope
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env.Type == "" {
			t.Fatalf("%s %q: not an envelope: %s", method, path, rec.Body.String())
		}
		if !s.hasProject("default") {
			t.Fatal("the default project is gone")
		}
		if s.existing(profileKey("default", "default")) == nil {
			t.Fatal("the default profile is gone")
		}
	})
}
