package lxd

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/scenarios"
	"github.com/eventsim/eventsim/schemas"
)

func TestGetServer(t *testing.T) {
	tests := []struct {
		name      string
		opts      Options
		query     string
		server    string
		version   string
		clustered bool
		srvName   string
		mode      string
		project   string
	}{
		{name: "standalone", server: "lxd", version: "5.0.2", mode: "full-mesh", project: "default"},
		{name: "cluster", opts: Options{Members: []string{"m1", "m2"}, EventMode: "hub-server"}, server: "lxd", version: "5.0.2", clustered: true, srvName: "m1", mode: "hub-server", project: "default"},
		{name: "incus", opts: Options{Flavor: catalog.Incus}, server: "incus", version: "6.0.4", mode: "full-mesh", project: "default"},
		{name: "project", opts: Options{Projects: []string{"p1"}}, query: "?project=p1", server: "lxd", version: "5.0.2", mode: "full-mesh", project: "p1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewServer(t, tt.opts)
			code, h, body := get(t, http.DefaultClient, s.URL()+"/1.0"+tt.query)
			if code != 200 || h.Get("Content-Type") != "application/json" {
				t.Fatalf("status %d, content type %q", code, h.Get("Content-Type"))
			}
			if err := schemas.Validate(schemas.LXDSyncResponse, body); err != nil {
				t.Errorf("sync response: %v", err)
			}
			var env struct {
				Type     string          `json:"type"`
				Metadata json.RawMessage `json:"metadata"`
			}
			json.Unmarshal(body, &env)
			if err := schemas.Validate(schemas.LXDServer, env.Metadata); err != nil {
				t.Errorf("server metadata: %v", err)
			}
			var info serverInfo
			if err := json.Unmarshal(env.Metadata, &info); err != nil {
				t.Fatal(err)
			}
			e := info.Environment
			if e.Server != tt.server || e.ServerVersion != tt.version || e.ServerClustered != tt.clustered ||
				e.ServerEventMode != tt.mode || e.Project != tt.project || e.Storage == "" {
				t.Errorf("environment: %+v", e)
			}
			if tt.srvName != "" && e.ServerName != tt.srvName {
				t.Errorf("server_name %q, want %q", e.ServerName, tt.srvName)
			}
			if !slices.Contains(info.APIExtensions, "projects") || len(info.APIExtensions) < 318 {
				t.Errorf("api_extensions: %d, projects %v", len(info.APIExtensions), slices.Contains(info.APIExtensions, "projects"))
			}
			if info.Auth != "trusted" || info.APIVersion != "1.0" || e.Certificate == "" || e.CertificateFingerprint == "" {
				t.Errorf("info: auth %q version %q", info.Auth, info.APIVersion)
			}
		})
	}
}

func TestProjects(t *testing.T) {
	s := NewServer(t, Options{Projects: []string{"p1"}})
	s.AddProject("p2")
	s.AddProject("p1")
	_, _, body := get(t, http.DefaultClient, s.URL()+"/1.0/projects")
	var list struct{ Metadata []string }
	json.Unmarshal(body, &list)
	if want := []string{"/1.0/projects/default", "/1.0/projects/p1", "/1.0/projects/p2"}; !slices.Equal(list.Metadata, want) {
		t.Errorf("projects %v, want %v", list.Metadata, want)
	}
	_, _, body = get(t, http.DefaultClient, s.URL()+"/1.0/projects?recursion=1")
	var objs struct{ Metadata []projectObj }
	json.Unmarshal(body, &objs)
	if len(objs.Metadata) != 3 || objs.Metadata[2].Name != "p2" || objs.Metadata[0].Config == nil {
		t.Errorf("projects recursion=1: %s", body)
	}
	code, _, body := get(t, http.DefaultClient, s.URL()+"/1.0/projects/p2")
	if code != 200 || !strings.Contains(string(body), `"name":"p2"`) {
		t.Errorf("project p2: %d %s", code, body)
	}
	code, _, _ = get(t, http.DefaultClient, s.URL()+"/1.0/projects/nope")
	if code != 404 {
		t.Errorf("unknown project: %d, want 404", code)
	}
}

func TestNotFound(t *testing.T) {
	s := NewServer(t, Options{})
	want := `{"type":"error","status":"","status_code":0,"operation":"","error_code":404,"error":"not found","metadata":null}` + "\n"
	for _, tt := range []struct{ name, method, path string }{
		{"unknown path", "GET", "/1.0/nothing-here"},
		{"unknown root", "GET", "/nope"},
		{"unknown method, unknown path", "FOO", "/1.0/nothing-here"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, s.URL()+tt.path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var b strings.Builder
			buf := make([]byte, 4096)
			n, _ := resp.Body.Read(buf)
			b.Write(buf[:n])
			if resp.StatusCode != 404 || b.String() != want || resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("%s %s: %d %q", tt.method, tt.path, resp.StatusCode, b.String())
			}
		})
	}
}

// TestKnownPathOtherMethod: a known path asked with a method it has no
// handler for is answered as LXD answers it: 501 for GET, PUT, POST, DELETE
// and PATCH, 404 naming the method for any other.
func TestKnownPathOtherMethod(t *testing.T) {
	s := NewServer(t, Options{})
	for _, tt := range []struct {
		method, path string
		code         int
		err          string
	}{
		{"POST", "/1.0", 501, "not implemented"},
		{"DELETE", "/1.0/events", 501, "not implemented"},
		{"PUT", "/1.0/profiles", 501, "not implemented"},
		{"DELETE", "/1.0/operations/x/wait", 501, "not implemented"},
		{"FOO", "/1.0/events", 404, "Method 'FOO' not found"},
	} {
		req, _ := http.NewRequest(tt.method, s.URL()+tt.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var env struct {
			Type      string `json:"type"`
			ErrorCode int    `json:"error_code"`
			Error     string `json:"error"`
		}
		err = json.NewDecoder(resp.Body).Decode(&env)
		resp.Body.Close()
		if err != nil || resp.StatusCode != tt.code || env.Type != "error" || env.ErrorCode != tt.code || env.Error != tt.err {
			t.Errorf("%s %s: %d %+v (%v), want %d %q", tt.method, tt.path, resp.StatusCode, env, err, tt.code, tt.err)
		}
	}
}

// TestEventsRejected covers every bad /1.0/events request: each is answered
// with LXD's error envelope before any upgrade, and the server goes on
// serving a good client.
func TestEventsRejected(t *testing.T) {
	s := NewServer(t, Options{Projects: []string{"p1"}})
	good := dial(t, s, "")
	tests := []struct {
		name   string
		query  string
		plain  bool // no upgrade headers
		status int
		err    string
	}{
		{name: "unknown type", query: "type=bogus", status: 400, err: `"bogus" isn't a supported event type`},
		{name: "newer type on 5.0", query: "type=lifecycle,ovn", status: 400, err: `"ovn" isn't a supported event type`},
		{name: "empty type entry", query: "type=logging,", status: 400, err: `"" isn't a supported event type`},
		{name: "unknown project", query: "project=nope", status: 404, err: "Project not found"},
		{name: "project and all-projects", query: "project=p1&all-projects=true", status: 400, err: "Cannot specify a project when requesting all projects"},
		{name: "conflict checked before project", query: "project=nope&all-projects=on", status: 400, err: "Cannot specify a project when requesting all projects"},
		{name: "project checked before type", query: "project=nope&type=bogus", status: 404, err: "Project not found"},
		{name: "plain GET", plain: true, status: 400, err: "websocket: the client is not using the websocket protocol"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var status int
			var body []byte
			if tt.plain {
				status, _, body = get(t, http.DefaultClient, s.URL()+"/1.0/events?"+tt.query)
			} else {
				c, resp, err := websocket.DefaultDialer.Dial(wsURL(s, tt.query), nil)
				if err == nil {
					c.Close()
					t.Fatal("upgrade succeeded")
				}
				status = resp.StatusCode
				body = make([]byte, 4096)
				n, _ := resp.Body.Read(body)
				body = body[:n]
				resp.Body.Close()
			}
			if status != tt.status {
				t.Errorf("status %d, want %d", status, tt.status)
			}
			if err := schemas.Validate(schemas.LXDErrorResponse, body); err != nil {
				t.Errorf("error envelope: %v: %s", err, body)
			}
			var env struct {
				ErrorCode int    `json:"error_code"`
				Error     string `json:"error"`
			}
			json.Unmarshal(body, &env)
			if env.ErrorCode != tt.status || env.Error != tt.err {
				t.Errorf("envelope %d %q, want %d %q", env.ErrorCode, env.Error, tt.status, tt.err)
			}
		})
	}
	if err := s.Deliver(t.Context(), seqRecord(1, "logging", "")); err != nil {
		t.Fatal(err)
	}
	if f := readFrames(t, good, 1); seqOf(t, f[0]) != 1 {
		t.Errorf("good client got %q", f[0])
	}
	if st := s.Stats(); st.Rejected != uint64(len(tests)) || st.Clients != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestEventsTypesPerFlavor(t *testing.T) {
	s := NewServer(t, Options{Flavor: catalog.LXD6})
	dial(t, s, "type=lifecycle%2Covn,security")
	if _, _, err := websocket.DefaultDialer.Dial(wsURL(s, "type=bogus"), nil); err == nil {
		t.Error("type=bogus accepted on lxd-6")
	}
}

// TestFilters checks the server-side filters: types, a project, all
// projects, and events without a project, which reach everyone.
func TestFilters(t *testing.T) {
	s := NewServer(t, Options{Projects: []string{"p1", "p2"}})
	clients := map[string]*websocket.Conn{}
	queries := []string{"", "type=lifecycle", "type=logging%2Coperation", "project=p1", "project=default", "all-projects=YES", "all-projects=1&type=operation", "all-projects=false&project=p2"}
	for _, q := range queries {
		clients[q] = dial(t, s, q)
	}
	var recs []*scenarios.Record
	n := 0
	for _, typ := range []string{"logging", "operation", "lifecycle"} {
		for _, p := range []string{"", "default", "p1", "p2"} {
			n++
			recs = append(recs, seqRecord(n, typ, p))
		}
	}
	for _, r := range recs {
		if err := s.Deliver(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	want := func(types []string, project string, all bool) []int {
		var out []int
		for i, r := range recs {
			if types != nil && !slices.Contains(types, r.Type) {
				continue
			}
			if r.Project == "" || all || r.Project == project {
				out = append(out, i+1)
			}
		}
		return out
	}
	expect := map[string][]int{
		"":                              want(nil, "default", false),
		"type=lifecycle":                want([]string{"lifecycle"}, "default", false),
		"type=logging%2Coperation":      want([]string{"logging", "operation"}, "default", false),
		"project=p1":                    want(nil, "p1", false),
		"project=default":               want(nil, "default", false),
		"all-projects=YES":              want(nil, "", true),
		"all-projects=1&type=operation": want([]string{"operation"}, "", true),
		"all-projects=false&project=p2": want(nil, "p2", false),
	}
	for _, q := range queries {
		frames := readFrames(t, clients[q], len(expect[q]))
		var got []int
		for _, f := range frames {
			if !strings.HasSuffix(f, "}\n") {
				t.Errorf("frame does not end in a newline: %q", f)
			}
			got = append(got, seqOf(t, f))
		}
		if !slices.Equal(got, expect[q]) {
			t.Errorf("?%s got %v, want %v", q, got, expect[q])
		}
		expectQuiet(t, clients[q], 50*time.Millisecond)
	}
}

// TestOrdering sends many events to several clients and checks each gets
// them all, in order, byte for byte.
func TestOrdering(t *testing.T) {
	s := NewServer(t, Options{QueueSize: 20000})
	const n = 5000
	var cs []*websocket.Conn
	for range 3 {
		cs = append(cs, dial(t, s, ""))
	}
	recs := make([]*scenarios.Record, n)
	for i := range recs {
		recs[i] = seqRecord(i, "logging", "")
		if err := s.Deliver(t.Context(), recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range cs {
		for i, f := range readFrames(t, c, n) {
			if f != string(recs[i].JSON)+"\n" {
				t.Fatalf("frame %d: %q, want %q", i, f, recs[i].JSON)
			}
		}
	}
}

// TestCapturedEvents delivers the real daemon's events and checks that a
// client gets each unchanged, valid against the schema.
func TestCapturedEvents(t *testing.T) {
	s := NewServer(t, Options{})
	c := dial(t, s, "")
	recs := captured(t)
	for _, r := range recs {
		if err := s.Deliver(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	for i, f := range readFrames(t, c, len(recs)) {
		if f != string(recs[i].JSON)+"\n" {
			t.Errorf("frame %d changed: %q", i, f)
		}
		if err := schemas.Validate(schemas.LXDEvent, []byte(f)); err != nil {
			t.Errorf("frame %d: %v", i, err)
		}
	}
}

func TestKeepalive(t *testing.T) {
	s := NewServer(t, Options{pingPeriod: 30 * time.Millisecond})
	alive := dial(t, s, "")
	got := make(chan string, 1)
	go func() { // gorilla answers pings while reading
		_, b, _ := alive.ReadMessage()
		got <- string(b)
	}()
	deaf := dial(t, s, "")
	pings := 0
	deaf.SetPingHandler(func(string) error { pings++; return nil }) // never pongs
	code, text := expectClose(t, deaf)
	if code != websocket.CloseGoingAway || text != "keepalive timeout" {
		t.Errorf("deaf client closed with %d %q", code, text)
	}
	if pings != maxMissedPongs+1 {
		t.Errorf("deaf client got %d pings before the close, want %d", pings, maxMissedPongs+1)
	}
	// The client that answers stays.
	time.Sleep(200 * time.Millisecond)
	s.Deliver(t.Context(), seqRecord(7, "logging", ""))
	if f := <-got; !strings.Contains(f, "event 7") {
		t.Errorf("alive client got %q", f)
	}
	if st := s.Stats(); st.Clients != 1 {
		t.Errorf("clients %d, want 1", st.Clients)
	}
}

// TestClientPing checks that a client's ping gets a pong with its payload.
func TestClientPing(t *testing.T) {
	s := NewServer(t, Options{})
	c := dial(t, s, "")
	got := make(chan string, 1)
	c.SetPongHandler(func(p string) error { got <- p; return nil })
	if err := c.WriteControl(websocket.PingMessage, []byte("hello"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	go c.ReadMessage()
	select {
	case p := <-got:
		if p != "hello" {
			t.Errorf("pong %q", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no pong")
	}
}

// TestDataFrameFromClient checks that a client sending data is cut off and
// the others are not.
func TestDataFrameFromClient(t *testing.T) {
	s := NewServer(t, Options{})
	good := dial(t, s, "")
	for _, mt := range []int{websocket.TextMessage, websocket.BinaryMessage} {
		bad := dial(t, s, "")
		if err := bad.WriteMessage(mt, []byte(`{"type":"hello"}`)); err != nil {
			t.Fatal(err)
		}
		if code, _ := expectClose(t, bad); code != websocket.ClosePolicyViolation {
			t.Errorf("message type %d: close %d, want 1008", mt, code)
		}
	}
	// A frame over the 4 KiB read limit.
	big := dial(t, s, "")
	big.WriteMessage(websocket.TextMessage, make([]byte, 64<<10))
	if code, _ := expectClose(t, big); code != websocket.CloseMessageTooBig && code != websocket.ClosePolicyViolation && code != websocket.CloseAbnormalClosure {
		t.Errorf("oversized frame: close %d", code)
	}
	// Garbage that is not even WebSocket framing.
	raw, err := net.Dial("tcp", s.Addrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	raw.Write([]byte("GET /1.0/events HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"))
	raw.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	for {
		if _, err := raw.Read(buf); err != nil {
			break // the server hung up
		}
	}
	raw.Close()
	s.Deliver(t.Context(), seqRecord(3, "logging", ""))
	if f := readFrames(t, good, 1); seqOf(t, f[0]) != 3 {
		t.Errorf("good client got %q", f[0])
	}
	waitFor(t, func() bool { return s.Stats().Clients == 1 }, "bad clients to go")
}

// TestSlowClientEvicted checks that a client that never reads is evicted
// with a close frame while a fast one gets everything and Deliver never
// waits.
func TestSlowClientEvicted(t *testing.T) {
	s := NewServer(t, Options{QueueSize: 1024, writeWait: 2 * time.Second})
	fast := dial(t, s, "")
	slow := dial(t, s, "")
	const n = 5000
	got := make(chan []int, 1)
	go func() {
		var seqs []int
		fast.SetReadDeadline(time.Now().Add(20 * time.Second))
		for len(seqs) < n {
			_, b, err := fast.ReadMessage()
			if err != nil {
				break
			}
			seqs = append(seqs, seqOf(t, string(b)))
		}
		got <- seqs
	}()
	start := time.Now()
	var slowest time.Duration
	for i := range n {
		t0 := time.Now()
		if err := s.Deliver(t.Context(), bigRecord(i, 2000)); err != nil {
			t.Fatal(err)
		}
		slowest = max(slowest, time.Since(t0))
		if i%100 == 0 {
			time.Sleep(2 * time.Millisecond) // let the fast reader keep up
		}
	}
	t.Logf("delivered %d events in %s, slowest Deliver %s", n, time.Since(start), slowest)
	if slowest > time.Second { // blocking on the slow client would take its 2 s write timeout
		t.Errorf("a Deliver took %s", slowest)
	}
	seqs := <-got
	if len(seqs) != n {
		t.Fatalf("fast client got %d of %d events (stats %+v)", len(seqs), n, s.Stats())
	}
	for i, v := range seqs {
		if v != i {
			t.Fatalf("fast client: event %d is %d", i, v)
		}
	}
	code, text := expectClose(t, slow)
	if code != websocket.ClosePolicyViolation && code != websocket.CloseAbnormalClosure {
		t.Errorf("slow client closed with %d %q", code, text)
	}
	if st := s.Stats(); st.Evicted != 1 || st.Clients != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestSlowReaderGetsCloseFrame checks that a client that reads, but too
// slowly, gets a 1008 close frame with a reason after what was queued.
func TestSlowReaderGetsCloseFrame(t *testing.T) {
	s := NewServer(t, Options{QueueSize: 8})
	c := dial(t, s, "")
	for i := range 5000 {
		s.Deliver(t.Context(), seqRecord(i, "logging", ""))
	}
	code, text := expectClose(t, c)
	if code != websocket.ClosePolicyViolation || !strings.Contains(text, "queue full") {
		t.Errorf("close %d %q, want 1008 queue full", code, text)
	}
}

func TestBackpressure(t *testing.T) {
	s := NewServer(t, Options{QueueSize: 32, Backpressure: true, stallLimit: 300 * time.Millisecond, writeWait: 2 * time.Second})
	reader := dial(t, s, "")
	stuck := dial(t, s, "")
	const n = 5000
	done := make(chan int)
	go func() {
		count := 0
		for count < n {
			if _, _, err := reader.ReadMessage(); err != nil {
				break
			}
			count++
			if count%100 == 0 {
				time.Sleep(time.Millisecond) // slower than Deliver
			}
		}
		done <- count
	}()
	for i := range n {
		if err := s.Deliver(t.Context(), bigRecord(i, 2000)); err != nil {
			t.Fatal(err)
		}
	}
	if got := <-done; got != n {
		t.Errorf("reader got %d of %d", got, n)
	}
	if code, _ := expectClose(t, stuck); code != websocket.ClosePolicyViolation && code != websocket.CloseAbnormalClosure {
		t.Errorf("stuck client closed with %d", code)
	}
	if st := s.Stats(); st.Evicted != 1 {
		t.Errorf("stats %+v, want the stuck client evicted", st)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Deliver(ctx, seqRecord(0, "logging", "")); err != nil {
		t.Errorf("deliver with no full queue: %v", err)
	}
}

func TestFaults(t *testing.T) {
	ev := func(n int) *scenarios.Record { return seqRecord(n, "logging", "") }
	fault := func(f scenarios.Fault) *scenarios.Record {
		f.API = "lxd"
		return &scenarios.Record{API: "lxd", Fault: &f}
	}
	tests := []struct {
		name  string
		recs  []*scenarios.Record
		want  []int // numbered events received, in order
		close int   // close code expected after them; 0 none
		check func(t *testing.T, frames []string, times []time.Duration)
	}{
		{name: "duplicate", recs: []*scenarios.Record{ev(1), fault(scenarios.Fault{Kind: scenarios.FaultDuplicate, Count: 2}), ev(2), ev(3), ev(4)}, want: []int{1, 2, 2, 3, 3, 4}},
		{name: "drop", recs: []*scenarios.Record{ev(1), fault(scenarios.Fault{Kind: scenarios.FaultDrop, Count: 2}), ev(2), ev(3), ev(4)}, want: []int{1, 4}},
		{name: "reorder", recs: []*scenarios.Record{ev(1), fault(scenarios.Fault{Kind: scenarios.FaultReorder, Count: 3}), ev(2), ev(3), ev(4), ev(5)}, want: []int{1, 4, 3, 2, 5}},
		{name: "disconnect", recs: []*scenarios.Record{ev(1), ev(2), fault(scenarios.Fault{Kind: scenarios.FaultDisconnect, Code: 4000})}, want: []int{1, 2}, close: 4000},
		{name: "disconnect default code", recs: []*scenarios.Record{ev(1), fault(scenarios.Fault{Kind: scenarios.FaultDisconnect})}, want: []int{1}, close: 1001},
		{name: "disconnect 1006 is abrupt", recs: []*scenarios.Record{ev(1), fault(scenarios.Fault{Kind: scenarios.FaultDisconnect, Code: 1006})}, want: []int{1}, close: websocket.CloseAbnormalClosure},
		{name: "disconnect 1005 has no status", recs: []*scenarios.Record{ev(1), fault(scenarios.Fault{Kind: scenarios.FaultDisconnect, Code: 1005})}, want: []int{1}, close: websocket.CloseNoStatusReceived},
		{name: "disconnect abrupt", recs: []*scenarios.Record{ev(1), fault(scenarios.Fault{Kind: scenarios.FaultDisconnect, Abrupt: true})}, want: []int{1}, close: websocket.CloseAbnormalClosure},
		{name: "malformed", recs: []*scenarios.Record{ev(1), fault(scenarios.Fault{Kind: scenarios.FaultMalformed}), ev(2)}, want: []int{1, -1, 2},
			check: func(t *testing.T, frames []string, _ []time.Duration) {
				if json.Valid([]byte(frames[1])) {
					t.Errorf("malformed frame is JSON: %q", frames[1])
				}
			}},
		{name: "pause", recs: []*scenarios.Record{ev(1), fault(scenarios.Fault{Kind: scenarios.FaultPause, For: 300 * time.Millisecond}), ev(2), ev(3)}, want: []int{1, 2, 3},
			check: func(t *testing.T, _ []string, times []time.Duration) {
				if times[0] > 200*time.Millisecond || times[1] < 290*time.Millisecond || times[2] < 290*time.Millisecond {
					t.Errorf("arrival times %v", times)
				}
			}},
		{name: "latency by count", recs: []*scenarios.Record{fault(scenarios.Fault{Kind: scenarios.FaultLatency, Delay: 250 * time.Millisecond, Count: 2}), ev(1), ev(2), ev(3)}, want: []int{1, 2, 3},
			check: func(t *testing.T, _ []string, times []time.Duration) {
				// ev(3) is not delayed itself but may not overtake ev(2).
				if times[0] < 240*time.Millisecond || times[1] < 240*time.Millisecond {
					t.Errorf("arrival times %v", times)
				}
			}},
		{name: "latency by time", recs: []*scenarios.Record{fault(scenarios.Fault{Kind: scenarios.FaultLatency, Delay: 200 * time.Millisecond, For: time.Hour}), ev(1), ev(2)}, want: []int{1, 2},
			check: func(t *testing.T, _ []string, times []time.Duration) {
				if times[0] < 190*time.Millisecond || times[1] < 190*time.Millisecond {
					t.Errorf("arrival times %v", times)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewServer(t, Options{})
			c := dial(t, s, "type=logging")
			start := time.Now()
			for _, r := range tt.recs {
				if err := s.Deliver(t.Context(), r); err != nil {
					t.Fatal(err)
				}
			}
			var frames []string
			var times []time.Duration
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			for len(frames) < len(tt.want) {
				_, b, err := c.ReadMessage()
				if err != nil {
					t.Fatalf("after %v: %v", frames, err)
				}
				frames = append(frames, string(b))
				times = append(times, time.Since(start))
			}
			for i, f := range frames {
				if tt.want[i] >= 0 && seqOf(t, f) != tt.want[i] {
					t.Fatalf("frames %q, want events %v", frames, tt.want)
				}
			}
			if tt.check != nil {
				tt.check(t, frames, times)
			}
			if tt.close != 0 {
				if code, _ := expectClose(t, c); code != tt.close {
					t.Errorf("close %d, want %d", code, tt.close)
				}
			} else {
				expectQuiet(t, c, 50*time.Millisecond)
			}
		})
	}
}

func TestDeliverErrors(t *testing.T) {
	s := NewServer(t, Options{})
	if err := s.Deliver(t.Context(), &scenarios.Record{API: "linode"}); !errors.Is(err, ErrNotLXD) {
		t.Errorf("linode record: %v", err)
	}
	if err := s.Deliver(t.Context(), &scenarios.Record{API: "lxd"}); err == nil {
		t.Error("record without json accepted")
	}
	if err := s.Deliver(t.Context(), &scenarios.Record{API: "lxd", Fault: &scenarios.Fault{Kind: scenarios.FaultRateLimit, API: "lxd"}}); err == nil {
		t.Error("linode fault accepted")
	}
	s.Close()
	if err := s.Deliver(t.Context(), seqRecord(1, "logging", "")); !errors.Is(err, ErrClosed) {
		t.Errorf("after close: %v", err)
	}
}

func TestUnixSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "unix.socket")
	s := NewServer(t, Options{Socket: sock, Addr: "-"})
	if s.URL() != "" || s.SocketPath() != sock || !slices.Equal(s.Addrs(), []string{sock}) {
		t.Errorf("URL %q, SocketPath %q, Addrs %v", s.URL(), s.SocketPath(), s.Addrs())
	}
	fi, err := os.Stat(sock)
	if err != nil || fi.Mode().Perm() != 0o660 {
		t.Fatalf("socket %v: %v", fi, err)
	}
	d := websocket.Dialer{NetDial: func(string, string) (net.Conn, error) { return net.Dial("unix", sock) }}
	c, _, err := d.Dial("ws://unix.socket/1.0/events?type=lifecycle", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitFor(t, func() bool { return s.Stats().Clients == 1 }, "client")
	s.Deliver(t.Context(), seqRecord(1, "logging", ""))
	s.Deliver(t.Context(), seqRecord(2, "lifecycle", "default"))
	if f := readFrames(t, c, 1); seqOf(t, f[0]) != 2 {
		t.Errorf("got %q", f[0])
	}
	if _, err := New(Options{Socket: sock, Addr: "-"}); err == nil {
		t.Error("second server on a socket in use started")
	}
	s.Close()
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket left after Close: %v", err)
	}
}

// TestClose checks that Close sends 1001 to every client, removes the
// socket and leaves no goroutine behind.
func TestClose(t *testing.T) {
	base := runtime.NumGoroutine()
	sock := filepath.Join(t.TempDir(), "s")
	s, err := New(Options{Socket: sock})
	if err != nil {
		t.Fatal(err)
	}
	var cs []*websocket.Conn
	for range 5 {
		c, _, err := websocket.DefaultDialer.Dial(wsURL(s, ""), nil)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	waitFor(t, func() bool { return s.Stats().Clients == 5 }, "clients")
	// One client that never reads, with events stuck behind it.
	for i := range 100 {
		s.Deliver(t.Context(), seqRecord(i, "logging", ""))
	}
	closed := make(chan error)
	go func() { closed <- s.Close() }()
	for i, c := range cs[1:] {
		if code, text := expectClose(t, c); code != websocket.CloseGoingAway {
			t.Errorf("client %d: close %d %q, want 1001", i, code, text)
		}
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	for _, c := range cs {
		c.Close()
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket left: %v", err)
	}
	if s.Close() != nil {
		t.Error("second Close failed")
	}
	http.DefaultClient.CloseIdleConnections()
	goroutinesSettle(t, base)
}

func TestControlMounted(t *testing.T) {
	ctl := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("control " + r.URL.Path))
	})
	s := NewServer(t, Options{Control: ctl})
	code, _, body := get(t, http.DefaultClient, s.URL()+"/eventsim/v1/stats")
	if code != 200 || string(body) != "control /eventsim/v1/stats" {
		t.Errorf("control: %d %q", code, body)
	}
	s2 := NewServer(t, Options{})
	if code, _, _ := get(t, http.DefaultClient, s2.URL()+"/eventsim/v1/stats"); code != 404 {
		t.Errorf("no control: %d, want 404", code)
	}
}

// TestFrameSizes checks the ready-made frames of every header size: short,
// 16-bit and 64-bit lengths, and JSON that already ends in a newline.
func TestFrameSizes(t *testing.T) {
	s := NewServer(t, Options{})
	c := dial(t, s, "")
	recs := []*scenarios.Record{bigRecord(1, 0), bigRecord(2, 1), bigRecord(3, 200), bigRecord(4, 65400), bigRecord(5, 70000), bigRecord(6, 1<<20)}
	for i := range 200 { // every length around the 125 and 65535 boundaries
		recs = append(recs, bigRecord(7, i), bigRecord(8, 65400+i))
	}
	nl := bigRecord(9, 10)
	nl.JSON = append(nl.JSON, '\n')
	recs = append(recs, nl)
	for _, r := range recs {
		if err := s.Deliver(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	for i, f := range readFrames(t, c, len(recs)) {
		want := strings.TrimSuffix(string(recs[i].JSON), "\n") + "\n"
		if f != want {
			t.Fatalf("frame %d: %d bytes, want %d", i, len(f), len(want))
		}
	}
}
