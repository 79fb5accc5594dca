package lxd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/eventsim/eventsim/internal/lxdcapture"
	"github.com/eventsim/eventsim/scenarios"
)

// wsURL is the events URL of a server's TCP listener with a query.
func wsURL(s *Server, query string) string {
	u := strings.Replace(s.URL(), "http", "ws", 1) + "/1.0/events"
	if query != "" {
		u += "?" + query
	}
	return u
}

// dial connects an events client and waits until the server has it.
func dial(t testing.TB, s *Server, query string) *websocket.Conn {
	t.Helper()
	before := s.Stats().Connections
	c, resp, err := websocket.DefaultDialer.Dial(wsURL(s, query), nil)
	if err != nil {
		t.Fatalf("dial %q: %v (%v)", query, err, resp)
	}
	t.Cleanup(func() { c.Close() })
	waitFor(t, func() bool { return s.Stats().Connections > before }, "server to register the client")
	return c
}

// waitFor polls cond for up to 20 s.
func waitFor(t testing.TB, cond func() bool, what string) {
	t.Helper()
	// Generous: a condition that holds ends the wait at once, and a loaded
	// CI machine under -race can take seconds to get there.
	waitWithin(t, 20*time.Second, cond, what)
}

// waitWithin polls cond for up to d.
func waitWithin(t testing.TB, d time.Duration, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// readFrames reads n text frames, failing on anything else.
func readFrames(t testing.TB, c *websocket.Conn, n int) []string {
	t.Helper()
	out := make([]string, 0, n)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	for len(out) < n {
		mt, b, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("after %d of %d frames: %v", len(out), n, err)
		}
		if mt != websocket.TextMessage {
			t.Fatalf("frame %d: message type %d, want text", len(out), mt)
		}
		out = append(out, string(b))
	}
	return out
}

// expectQuiet checks that no frame arrives within d.
func expectQuiet(t testing.TB, c *websocket.Conn, d time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	defer c.SetReadDeadline(time.Time{})
	_, b, err := c.ReadMessage()
	if err == nil {
		t.Fatalf("unexpected frame %q", b)
	}
	var ne interface{ Timeout() bool }
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("want a timeout, got %v", err)
	}
}

// expectClose reads until the connection ends and returns the close code
// (1006 when it ended without a close frame).
func expectClose(t testing.TB, c *websocket.Conn) (code int, text string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := c.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code, ce.Text
		}
		var ne interface{ Timeout() bool }
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("connection still open: %v", err)
		}
		return websocket.CloseAbnormalClosure, err.Error()
	}
}

// captured returns, as records, the real daemon's events of the reference
// capture: every operation and lifecycle event and the first 60 logging
// events, in the capture's order.
func captured(t testing.TB) []*scenarios.Record {
	t.Helper()
	var out []*scenarios.Record
	logs := 0
	for _, line := range lxdcapture.Lines() {
		if bytes.Contains(line, []byte(`"type":"logging"`)) {
			if logs == 60 {
				continue
			}
			logs++
		}
		out = append(out, recordOf(t, line))
	}
	return out
}

// recordOf makes a record of an encoded event, as the engine would.
func recordOf(t testing.TB, j []byte) *scenarios.Record {
	t.Helper()
	var e struct {
		Type      string    `json:"type"`
		Timestamp time.Time `json:"timestamp"`
		Location  string    `json:"location"`
		Project   string    `json:"project"`
		Metadata  struct {
			Action  string `json:"action"`
			Context struct {
				OldName string `json:"old_name"`
			} `json:"context"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(j, &e); err != nil {
		t.Fatalf("bad test event %s: %v", j, err)
	}
	return &scenarios.Record{Time: e.Timestamp, API: "lxd", JSON: j, Type: e.Type, Project: e.Project, Location: e.Location,
		Action: e.Metadata.Action, OldName: e.Metadata.Context.OldName}
}

// inProject moves a record to another project ("" takes it out of any).
func inProject(t testing.TB, r *scenarios.Record, project string) *scenarios.Record {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.JSON, &m); err != nil {
		t.Fatal(err)
	}
	if project == "" {
		delete(m, "project")
	} else {
		m["project"] = project
	}
	j, _ := json.Marshal(m)
	return recordOf(t, j)
}

// seqRecord is a small logging event numbered n, in project p.
func seqRecord(n int, typ, project string) *scenarios.Record {
	j := fmt.Sprintf(`{"type":%q,"timestamp":"2026-01-01T00:00:00.%09dZ","metadata":{"message":"event %d","level":"info","context":{}},"location":"none"`, typ, n%1e9, n)
	if project != "" {
		j += fmt.Sprintf(`,"project":%q`, project)
	}
	j += "}"
	return &scenarios.Record{API: "lxd", JSON: []byte(j), Type: typ, Project: project, Location: "none"}
}

// bigRecord is seqRecord with about size bytes of padding in its context,
// to fill socket buffers quickly.
func bigRecord(n, size int) *scenarios.Record {
	j := fmt.Sprintf(`{"type":"logging","timestamp":"2026-01-01T00:00:00Z","metadata":{"message":"event %d","level":"info","context":{"pad":%q}},"location":"none"}`, n, strings.Repeat("x", size))
	return &scenarios.Record{API: "lxd", JSON: []byte(j), Type: "logging", Location: "none"}
}

// seqOf reads the number of an event made by seqRecord.
func seqOf(t testing.TB, frame string) int {
	t.Helper()
	i := strings.Index(frame, `"message":"event `)
	if i < 0 {
		t.Fatalf("not a numbered event: %s", frame)
	}
	rest := frame[i+len(`"message":"event `):]
	n, err := strconv.Atoi(rest[:strings.IndexByte(rest, '"')])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// canonical re-encodes a JSON document with sorted keys.
func canonical(t testing.TB, b []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("not JSON: %v: %q", err, b)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// multiset counts canonical documents.
func multiset(t testing.TB, docs [][]byte) map[string]int {
	m := map[string]int{}
	for _, d := range docs {
		m[canonical(t, d)]++
	}
	return m
}

// shape describes an event's keys and value types, two levels deep:
// "location:string metadata:{action:string source:string} ...".
func shape(v any, depth int) string {
	switch x := v.(type) {
	case map[string]any:
		if depth == 0 {
			return "object"
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(k + ":" + shape(x[k], depth-1))
		}
		b.WriteByte('}')
		return b.String()
	case []any:
		return "array"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// kindOf names an event's type and, for lifecycle events, its action.
func kindOf(m map[string]any) string {
	k, _ := m["type"].(string)
	if md, ok := m["metadata"].(map[string]any); ok {
		if a, ok := md["action"].(string); ok {
			k += "/" + a
		}
	}
	return k
}

// goroutinesSettle waits for the number of goroutines to come back to at
// most base, and fails with a dump if it does not.
func goroutinesSettle(t testing.TB, base int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("goroutines: %d, want <= %d\n%s", runtime.NumGoroutine(), base, buf[:n])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// get does an HTTP GET and returns the status and body.
func get(t testing.TB, c *http.Client, url string) (int, http.Header, []byte) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, resp.Header, b.Bytes()
}
