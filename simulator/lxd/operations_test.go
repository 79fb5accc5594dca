package lxd

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/eventsim/eventsim/events"
	"github.com/eventsim/eventsim/scenarios"
)

// opEvent is an operation event as a client reads it, with the time it
// arrived.
type opEvent struct {
	op events.LXDOperation
	at time.Time
}

// readOps reads operation events of the operation id from a type=operation
// listener until one is final, or fails after 10 s.
func readOps(t *testing.T, c *websocket.Conn, id string) []opEvent {
	t.Helper()
	var out []opEvent
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, b, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("read operation events of %s: %v (after %d)", id, err, len(out))
		}
		var ev events.LXDEvent
		var op events.LXDOperation
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Fatalf("operation event: %v: %s", err, b)
		}
		if ev.Type != events.LXDTypeOperation || json.Unmarshal(ev.Metadata, &op) != nil || op.ID != id {
			continue
		}
		out = append(out, opEvent{op, time.Now()})
		if events.OpFinal(op.StatusCode) {
			return out
		}
	}
}

// asyncOp checks a 202 answer and returns its operation.
func asyncOp(t *testing.T, code int, h http.Header, env envelope) events.LXDOperation {
	t.Helper()
	if code != http.StatusAccepted || env.Type != "async" {
		t.Fatalf("answer %d %s %q, want 202 async", code, env.Type, env.Error)
	}
	var op events.LXDOperation
	if err := json.Unmarshal(env.Metadata, &op); err != nil {
		t.Fatal(err)
	}
	if h.Get("Location") != "/1.0/operations/"+op.ID {
		t.Errorf("Location %q, want /1.0/operations/%s", h.Get("Location"), op.ID)
	}
	return op
}

// opOf decodes a sync answer's operation.
func opOf(t *testing.T, code int, env envelope) events.LXDOperation {
	t.Helper()
	if code != http.StatusOK || env.Type != "sync" {
		t.Fatalf("answer %d %s %q, want 200 sync", code, env.Type, env.Error)
	}
	var op events.LXDOperation
	if err := json.Unmarshal(env.Metadata, &op); err != nil {
		t.Fatal(err)
	}
	return op
}

// importImage uploads imageTarball's image and waits for its operation.
func importImage(t *testing.T, s *Server) string {
	t.Helper()
	file, fp := imageTarball(t)
	body, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", s.URL()+"/1.0/images", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var env envelope
	json.Unmarshal(b, &env)
	op := asyncOp(t, resp.StatusCode, resp.Header, env)
	code, _, env := do(t, s, "GET", "/1.0/operations/"+op.ID+"/wait?timeout=10", "")
	if got := opOf(t, code, env); got.Status != "Success" {
		t.Fatalf("image import ended %s: %s", got.Status, got.Err)
	}
	return fp
}

// TestOperationWaitLikeGoClient waits for an operation as LXD's Go client
// (and so lxc and Terraform's provider) does: a type=operation listener
// opened before the request, GET /1.0/operations/ID after the 202, then the
// final status on the stream. At speed 3 creating an instance from an
// image runs for 1 s of wall time (3 s on the server's clock), with the
// unpack progress LXD writes.
func TestOperationWaitLikeGoClient(t *testing.T) {
	const speed = 3
	s := NewServer(t, Options{Speed: speed})
	fp := importImage(t, s)
	ws := dial(t, s, "type=operation")

	sent := time.Now()
	code, h, env := do(t, s, "POST", "/1.0/instances", `{"name":"c1","source":{"type":"image","fingerprint":"`+fp+`"}}`)
	op := asyncOp(t, code, h, env)
	if op.Status != "Running" || op.StatusCode != events.OpRunning || op.Description != "Creating instance" || op.MayCancel {
		t.Errorf("the 202's operation: %s %d %q may_cancel=%v, want Running 103 \"Creating instance\" false", op.Status, op.StatusCode, op.Description, op.MayCancel)
	}
	code, _, env = do(t, s, "GET", "/1.0/operations/"+op.ID, "")
	if got := opOf(t, code, env); got.ID != op.ID || got.StatusCode != events.OpRunning && got.StatusCode != events.OpSuccess {
		t.Errorf("GET the operation: %s %s, want it Running (or, on a slow machine, done)", got.ID, got.Status)
	}
	evs := readOps(t, ws, op.ID)
	last := evs[len(evs)-1]
	if last.op.StatusCode != events.OpSuccess || last.op.Err != "" {
		t.Fatalf("the operation ended %s %q, want Success", last.op.Status, last.op.Err)
	}
	want := time.Duration(float64(scenarios.LXDOperationTook("Creating instance")) / speed)
	if took := last.at.Sub(sent); took < want*9/10 {
		t.Errorf("the operation ended %s after its request, want about %s (3 s of the server's clock at speed %d)", took, want, speed)
	}
	// Progress: metadata updates while Running, as LXD's unpacker writes
	// them: a string under create_instance_from_image_unpack_progress (lxc
	// panics on anything else) and the progress object, climbing to 100%.
	prev := 0
	updates := 0
	for _, e := range evs {
		if e.op.Metadata == nil {
			continue
		}
		updates++
		str, ok := e.op.Metadata["create_instance_from_image_unpack_progress"].(string)
		pr, _ := e.op.Metadata["progress"].(map[string]any)
		if !ok || pr == nil || pr["stage"] != "create_instance_from_image_unpack" {
			t.Fatalf("progress metadata %v, want the unpack string and progress object", e.op.Metadata)
		}
		pct, err := strconv.Atoi(pr["percent"].(string))
		if err != nil || pct < prev || !strings.HasPrefix(str, "Unpack: "+pr["percent"].(string)+"% (") {
			t.Errorf("progress %v after %d%%", e.op.Metadata, prev)
		}
		if _, err := strconv.Atoi(pr["speed"].(string)); err != nil {
			t.Errorf("progress speed %q is not a number of bytes/s", pr["speed"])
		}
		prev = pct
	}
	if updates < 2 || prev != 100 {
		t.Errorf("%d progress updates ending at %d%%, want several ending at 100%%", updates, prev)
	}
	// Once done, the instance exists, and GET and /wait show the end.
	if code, _, env := do(t, s, "GET", "/1.0/instances/c1", ""); code != 200 {
		t.Errorf("GET the created instance: %d %s", code, env.Error)
	}
	code, _, env = do(t, s, "GET", "/1.0/operations/"+op.ID+"/wait", "")
	if got := opOf(t, code, env); got.Status != "Success" || got.Metadata["create_instance_from_image_unpack_progress"] == nil {
		t.Errorf("/wait after the end: %s %v", got.Status, got.Metadata)
	}
}

// TestOperationWaitTimeout: /wait?timeout=N blocks N seconds and answers
// the operation still Running; without a timeout it answers once the
// operation ends.
func TestOperationWaitTimeout(t *testing.T) {
	s := NewServer(t, Options{Speed: 1})
	code, h, env := do(t, s, "POST", "/1.0/instances", `{"name":"c1","source":{"type":"none"}}`)
	op := asyncOp(t, code, h, env)
	do(t, s, "GET", "/1.0/operations/"+op.ID+"/wait?timeout=5", "")
	// Starting an instance takes 800 ms of the server's clock, here the
	// wall's; a quarter-second /wait answers it still running.
	code, h, env = do(t, s, "PUT", "/1.0/instances/c1/state", `{"action":"start","timeout":-1}`)
	op = asyncOp(t, code, h, env)
	start := time.Now()
	code, _, env = do(t, s, "GET", "/1.0/operations/"+op.ID+"/wait?timeout=0.25", "")
	if got := opOf(t, code, env); got.Status != "Running" || got.StatusCode != events.OpRunning {
		t.Errorf("/wait?timeout=0.25 on an 800 ms operation: %s, want Running", got.Status)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("/wait?timeout=0.25 answered after %s", d)
	}
	code, _, env = do(t, s, "GET", "/1.0/operations/"+op.ID+"/wait?timeout=10", "")
	if got := opOf(t, code, env); got.Status != "Success" {
		t.Errorf("/wait?timeout=10: %s, want Success", got.Status)
	}
	if d := time.Since(start); d < 700*time.Millisecond {
		t.Errorf("the start ended %s after its request, want about 800 ms", d)
	}
	// A token runs until it is cancelled: its /wait times out Running.
	fp := importImage(t, s)
	code, h, env = do(t, s, "POST", "/1.0/images/"+fp+"/secret", "")
	tok := asyncOp(t, code, h, env)
	code, _, env = do(t, s, "GET", "/1.0/operations/"+tok.ID+"/wait?timeout=1", "")
	if got := opOf(t, code, env); got.Status != "Running" || got.Class != "token" {
		t.Errorf("/wait?timeout=1 on a token: %s %s, want a Running token", got.Status, got.Class)
	}
	if code, _, env := do(t, s, "GET", "/1.0/operations/"+tok.ID+"/wait?timeout=abc", ""); code != 400 {
		t.Errorf("/wait?timeout=abc: %d %s, want 400", code, env.Error)
	}
}

// TestOperationCancel: DELETE /1.0/operations/ID cancels an operation that
// may_cancel (an image token) with LXD's events and answers; an operation
// that may not, one that has ended and one that does not exist are refused
// as LXD refuses them.
func TestOperationCancel(t *testing.T) {
	s := NewServer(t, Options{Speed: 1})
	fp := importImage(t, s)
	ws := dial(t, s, "type=operation,lifecycle")

	code, h, env := do(t, s, "POST", "/1.0/images/"+fp+"/secret", "")
	tok := asyncOp(t, code, h, env)
	if tok.Class != "token" || !tok.MayCancel || tok.Description != "Image download token" || tok.Status != "Running" {
		t.Errorf("token operation: %+v", tok)
	}
	if sec, _ := tok.Metadata["secret"].(string); len(sec) != 64 {
		t.Errorf("token secret %q, want 64 hex digits", tok.Metadata["secret"])
	}
	waited := make(chan events.LXDOperation, 1)
	go func() {
		req, _ := http.NewRequest("GET", s.URL()+"/1.0/operations/"+tok.ID+"/wait", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			close(waited)
			return
		}
		defer resp.Body.Close()
		var env events.LXDResponse[events.LXDOperation]
		json.NewDecoder(resp.Body).Decode(&env)
		waited <- env.Metadata
	}()
	time.Sleep(100 * time.Millisecond) // the waiter is waiting

	code, _, env = do(t, s, "DELETE", "/1.0/operations/"+tok.ID, "")
	if code != 200 || env.Type != "sync" || string(env.Metadata) != "{}" {
		t.Fatalf("cancel: %d %s %s, want 200 sync {}", code, env.Type, env.Metadata)
	}
	var seen []string
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for !slices.Contains(seen, "lifecycle operation-cancelled /1.0/operations/"+tok.ID) {
		_, b, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("events after the cancel: %v; saw %v", err, seen)
		}
		var ev struct {
			Type     string         `json:"type"`
			Metadata map[string]any `json:"metadata"`
		}
		json.Unmarshal(b, &ev)
		switch ev.Type {
		case "operation":
			if ev.Metadata["id"] == tok.ID {
				seen = append(seen, "operation "+ev.Metadata["status"].(string)+" err="+ev.Metadata["err"].(string))
			}
		case "lifecycle":
			seen = append(seen, "lifecycle "+ev.Metadata["action"].(string)+" "+ev.Metadata["source"].(string))
		}
	}
	want := []string{"operation Pending err=", "lifecycle image-secret-created /1.0/images/" + fp, "operation Running err=",
		"operation Cancelling err=", "operation Cancelled err=", "lifecycle operation-cancelled /1.0/operations/" + tok.ID}
	if !slices.Equal(seen, want) {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
	select {
	case got := <-waited:
		// A token may always be cancelled, even when it has ended, as
		// LXD's mayCancel has it (testdata/real-tokens-*.json).
		if got.Status != "Cancelled" || got.StatusCode != events.OpCancelled || got.Err != "" || !got.MayCancel {
			t.Errorf("/wait answered %s %d err=%q may_cancel=%v, want Cancelled 401 may_cancel", got.Status, got.StatusCode, got.Err, got.MayCancel)
		}
	case <-time.After(5 * time.Second):
		t.Error("/wait did not answer after the cancel")
	}
	code, _, env = do(t, s, "GET", "/1.0/operations/"+tok.ID, "")
	if got := opOf(t, code, env); got.Status != "Cancelled" {
		t.Errorf("GET after the cancel: %s", got.Status)
	}

	// Refusals, as real LXD 5.0.2 words them.
	code, h, env = do(t, s, "POST", "/1.0/instances", `{"name":"c1","source":{"type":"image","fingerprint":"`+fp+`"}}`)
	running := asyncOp(t, code, h, env)
	for _, tc := range []struct {
		name, id string
		code     int
		msg      string
	}{
		{"a task operation", running.ID, 400, "This operation can't be cancelled"},
		{"an ended operation", tok.ID, 400, "Only running operations can be cancelled"},
		{"an unknown operation", "0f5e2ab5-7d4e-4a43-8d8b-8bd2d2f8e1aa", 404, "Operation not found"},
	} {
		code, _, env := do(t, s, "DELETE", "/1.0/operations/"+tc.id, "")
		if code != tc.code || env.Type != "error" || env.ErrorCode != tc.code || env.Error != tc.msg {
			t.Errorf("cancel %s: %d %s %d %q, want %d %q", tc.name, code, env.Type, env.ErrorCode, env.Error, tc.code, tc.msg)
		}
	}
	code, _, env = do(t, s, "GET", "/1.0/operations/"+running.ID+"/wait?timeout=10", "")
	if got := opOf(t, code, env); got.Status != "Success" {
		t.Errorf("the refused cancel changed the operation: it ended %s %q", got.Status, got.Err)
	}
}

// TestFinishedOperationKeptAtSpeed: at speed 100 the 5 s LXD keeps a
// finished operation are 0.05 s of wall time; the fake keeps it 5 s of
// wall time, so that a client still finds it, listed and by id.
func TestFinishedOperationKeptAtSpeed(t *testing.T) {
	base, wall := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC), time.Now()
	clock := func() time.Time { return base.Add(time.Since(wall) * 100) }
	s := NewServer(t, Options{Speed: 100, Clock: clock})
	code, h, env := do(t, s, "POST", "/1.0/instances", `{"name":"c1","source":{"type":"none"}}`)
	op := asyncOp(t, code, h, env)
	do(t, s, "GET", "/1.0/operations/"+op.ID+"/wait?timeout=5", "")
	time.Sleep(time.Second) // 100 s of the server's clock
	// Something else happens, so the world's clock moves on too.
	code, h, env = do(t, s, "POST", "/1.0/instances", `{"name":"c2","source":{"type":"none"}}`)
	op2 := asyncOp(t, code, h, env)
	do(t, s, "GET", "/1.0/operations/"+op2.ID+"/wait?timeout=5", "")
	code, _, env = do(t, s, "GET", "/1.0/operations/"+op.ID, "")
	if got := opOf(t, code, env); got.Status != "Success" {
		t.Errorf("GET the operation 1 s (100 s of the clock) after it ended: %s", got.Status)
	}
	code, _, env = do(t, s, "GET", "/1.0/operations", "")
	if code != 200 || !strings.Contains(string(env.Metadata), op.ID) {
		t.Errorf("GET /1.0/operations 1 s after the operation ended: %d %s, want it listed", code, env.Metadata)
	}
}

// TestLXCOperationsTakeTime: the real lxc against a daemon whose operations
// take visible time (speed 2: launching from an image runs 1.5 s, then the
// start 0.4 s): launch works, and a running operation is listed by
// lxc operation list, shown by lxc operation show and cancelled by
// lxc operation delete.
func TestLXCOperationsTakeTime(t *testing.T) {
	s := NewServer(t, Options{Socket: filepath.Join(t.TempDir(), "unix.socket"), Addr: "-", Speed: 2})
	sock := s.SocketPath()
	file, fp := imageTarball(t)
	lxcRun(t, sock, "", "image", "import", file, "--alias", "deb")
	start := time.Now()
	lxcRun(t, sock, "", "launch", "deb", "c1")
	if d := time.Since(start); d < 1500*time.Millisecond {
		t.Errorf("lxc launch took %s, want at least the 1.9 s its operations take at speed 2", d)
	}
	if out := lxcRun(t, sock, "", "list", "--format", "csv", "-c", "ns"); out != "c1,RUNNING\n" {
		t.Errorf("lxc list after launch: %q", out)
	}

	// A token runs until it is cancelled, so lxc finds it running.
	code, h, env := do2(t, s, "POST", "/1.0/images/"+fp+"/secret")
	tok := asyncOp(t, code, h, env)
	list := lxcRun(t, sock, "", "operation", "list", "--format", "csv")
	if !strings.Contains(list, tok.ID+",TOKEN,Image download token,RUNNING,YES,") {
		t.Errorf("lxc operation list lacks the running token %s:\n%s", tok.ID, list)
	}
	show := lxcRun(t, sock, "", "operation", "show", tok.ID)
	for _, want := range []string{"id: " + tok.ID, "class: token", "status: Running", "may_cancel: true", "- /1.0/images/" + fp} {
		if !strings.Contains(show, want) {
			t.Errorf("lxc operation show lacks %q:\n%s", want, show)
		}
	}
	lxcRun(t, sock, "", "operation", "delete", tok.ID)
	if show := lxcRun(t, sock, "", "operation", "show", tok.ID); !strings.Contains(show, "status: Cancelled") {
		t.Errorf("lxc operation show after delete:\n%s", show)
	}
}

// do2 is do over the unix socket, for servers without TCP.
func do2(t *testing.T, s *Server, method, path string) (int, http.Header, envelope) {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", s.SocketPath())
	}}}
	req, _ := http.NewRequest(method, "http://lxd"+path, nil)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env envelope
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, env
}

// TestCloseStopsRunningOperations: Close does not wait for operations still
// running on the clock (20 launches from an image, 6 s each at speed 0.5,
// and a token that never ends): it returns within a second and leaves no goroutine
// behind; the operations never end.
func TestCloseStopsRunningOperations(t *testing.T) {
	base := runtime.NumGoroutine()
	s, err := New(Options{Speed: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	fp := importImage(t, s)
	ws := dial(t, s, "type=operation")
	for i := range 20 {
		code, h, env := do(t, s, "POST", "/1.0/instances", `{"name":"c`+strconv.Itoa(i)+`","source":{"type":"image","fingerprint":"`+fp+`"}}`)
		asyncOp(t, code, h, env)
	}
	code, h, env := do(t, s, "POST", "/1.0/images/"+fp+"/secret", "")
	asyncOp(t, code, h, env)
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %s with operations running", d)
	}
	// The listener got its close frame and no operation's end. (The
	// instance-created events came as each operation started, as a real
	// daemon sends them before it unpacks the image.)
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, b, err := ws.ReadMessage()
		if err != nil {
			break
		}
		var ev struct {
			Metadata events.LXDOperation `json:"metadata"`
		}
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Fatalf("event is not JSON: %v: %s", err, b)
		}
		if events.OpFinal(ev.Metadata.StatusCode) {
			t.Errorf("an operation ended after Close: %s", b)
		}
	}
	ws.Close()
	http.DefaultClient.CloseIdleConnections()
	goroutinesSettle(t, base)
}
