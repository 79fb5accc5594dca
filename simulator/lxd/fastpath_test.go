package lxd

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/internal/fastpath"
	"github.com/eventsim/eventsim/scenarios"
)

// rawConn is a connection to a listener for sending exact bytes and
// reading the exact bytes of each answer.
type rawConn struct {
	t   *testing.T
	c   net.Conn
	raw bytes.Buffer // what the answer being read has brought so far
	br  *bufio.Reader
}

func dialRaw(t *testing.T, network, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	rc := &rawConn{t: t, c: c}
	rc.br = bufio.NewReader(io.TeeReader(c, &rc.raw))
	return rc
}

// roundTrip sends one request and returns its answer's bytes, as they came.
func (rc *rawConn) roundTrip(req string) []byte {
	rc.t.Helper()
	rc.raw.Reset()
	if _, err := io.WriteString(rc.c, req); err != nil {
		rc.t.Fatal(err)
	}
	method, _, _ := strings.Cut(req, " ")
	resp, err := http.ReadResponse(rc.br, &http.Request{Method: method})
	if err != nil {
		rc.t.Fatalf("read the answer to %.40q: %v", req, err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		rc.t.Fatal(err)
	}
	resp.Body.Close()
	if rc.br.Buffered() > 0 {
		rc.t.Fatalf("%d bytes beyond the answer to %.40q", rc.br.Buffered(), req)
	}
	return bytes.Clone(rc.raw.Bytes())
}

func plainGET(path string, extra ...string) string {
	r := "GET " + path + " HTTP/1.1\r\nHost: unix.socket\r\nUser-Agent: LXD 5.0.2\r\n"
	for _, h := range extra {
		r += h + "\r\n"
	}
	return r + "\r\n"
}

var dateRE = regexp.MustCompile(`\r\nDate: [^\r]+\r\n`)

// TestFastPathMatchesNetHTTP sends the same requests to the fast path (over
// the unix socket and over TCP) and to the server's handler behind
// httptest (net/http alone), and checks that the answers are the same
// bytes, headers and their order included, but for the Date's value.
func TestFastPathMatchesNetHTTP(t *testing.T) {
	for _, flavor := range []catalog.Flavor{catalog.LXD50, catalog.Incus} {
		t.Run(string(flavor), func(t *testing.T) {
			s := NewServer(t, Options{Flavor: flavor, Socket: t.TempDir() + "/unix.socket", Projects: []string{"p1"}})
			if err := fillInstances(t.Context(), s, 8); err != nil {
				t.Fatal(err)
			}
			do(t, s, "POST", "/1.0/instances?project=p1", `{"name":"web-1","source":{"type":"none"},"config":{"user.note":"a <b> & \"c\""}}`)
			ref := httptest.NewServer(s.Handler())
			t.Cleanup(ref.Close)
			slow := dialRaw(t, "tcp", ref.Listener.Addr().String())
			fastUnix := dialRaw(t, "unix", s.SocketPath())
			fastTCP := dialRaw(t, "tcp", strings.TrimPrefix(s.URL(), "http://"))

			for _, tc := range []struct{ name, req string }{
				{"stopped", plainGET("/1.0/instances/c1")},
				{"running", plainGET("/1.0/instances/c4")},
				{"default project named", plainGET("/1.0/instances/c2?project=default")},
				{"other project", plainGET("/1.0/instances/web-1?project=p1")},
				{"other project, not named", plainGET("/1.0/instances/web-1")},
				{"unknown", plainGET("/1.0/instances/nope")},
				{"unknown project", plainGET("/1.0/instances/c1?project=nope")},
				{"state, running", plainGET("/1.0/instances/c0/state")},
				{"state, stopped", plainGET("/1.0/instances/c1/state")},
				{"state, other project", plainGET("/1.0/instances/web-1/state?project=p1")},
				{"state, unknown", plainGET("/1.0/instances/nope/state")},
				{"keep-alive, length 0", plainGET("/1.0/instances/c3", "Connection: keep-alive", "Content-Length: 0", "Accept: application/json")},
			} {
				t.Run(tc.name, func(t *testing.T) {
					want := dateRE.ReplaceAll(slow.roundTrip(tc.req), []byte("\r\nDate: D\r\n"))
					for _, fast := range []*rawConn{fastUnix, fastTCP} {
						before := s.fast.Handoffs()
						got := fast.roundTrip(tc.req)
						if s.fast.Handoffs() != before {
							t.Fatal("handed to net/http")
						}
						if !dateRE.Match(got) {
							t.Errorf("no Date in %q", got)
						}
						if got = dateRE.ReplaceAll(got, []byte("\r\nDate: D\r\n")); !bytes.Equal(got, want) {
							t.Errorf("fast path over %s:\n%q\nnet/http:\n%q", fast.c.LocalAddr().Network(), got, want)
						}
					}
				})
			}
		})
	}
}

// TestFastPathFollowsTheWorld reads an instance on one fast-path connection
// while REST requests and played events change it: each read shows what
// the last change left.
func TestFastPathFollowsTheWorld(t *testing.T) {
	s := NewServer(t, Options{Socket: t.TempDir() + "/unix.socket"})
	rc := dialRaw(t, "unix", s.SocketPath())
	read := func(path string) string {
		t.Helper()
		before := s.fast.Handoffs() // the writes below hand their own connections over
		b := rc.roundTrip(plainGET(path))
		if s.fast.Handoffs() != before {
			t.Fatalf("GET %s was handed to net/http", path)
		}
		_, body, _ := bytes.Cut(b, []byte("\r\n\r\n"))
		return string(body)
	}
	if b := read("/1.0/instances/c1"); !strings.Contains(b, `"error_code":404`) {
		t.Fatalf("before the create: %s", b)
	}
	do(t, s, "POST", "/1.0/instances", `{"name":"c1","source":{"type":"none"}}`)
	if b := read("/1.0/instances/c1"); !strings.Contains(b, `"status":"Stopped"`) {
		t.Fatalf("after the create: %s", b)
	}
	do(t, s, "PUT", "/1.0/instances/c1/state", `{"action":"start"}`)
	if b := read("/1.0/instances/c1"); !strings.Contains(b, `"status":"Running"`) {
		t.Errorf("after the start: %s", b)
	}
	if b := read("/1.0/instances/c1/state"); !strings.Contains(b, `"status":"Running"`) || !strings.Contains(b, `"pid":`) {
		t.Errorf("state after the start: %s", b)
	}
	do(t, s, "PATCH", "/1.0/instances/c1", `{"description":"patched"}`)
	if b := read("/1.0/instances/c1"); !strings.Contains(b, `"description":"patched"`) {
		t.Errorf("after the patch: %s", b)
	}
	// A played event is seen by the next read too.
	if err := s.Deliver(t.Context(), recordOf(t, []byte(`{"type":"lifecycle","timestamp":"2026-01-01T00:00:01Z","metadata":{"action":"instance-stopped","source":"/1.0/instances/c1"},"location":"none","project":"default"}`))); err != nil {
		t.Fatal(err)
	}
	if b := read("/1.0/instances/c1"); !strings.Contains(b, `"status":"Stopped"`) {
		t.Errorf("after a played stop: %s", b)
	}
	do(t, s, "DELETE", "/1.0/instances/c1", "")
	if b := read("/1.0/instances/c1"); !strings.Contains(b, `"error_code":404`) {
		t.Errorf("after the delete: %s", b)
	}
}

// TestFastPathHandsOver: requests the fast path does not answer go to
// net/http with the connection, which answers them (and the plain requests
// after them) as it always has.
func TestFastPathHandsOver(t *testing.T) {
	s := NewServer(t, Options{Socket: t.TempDir() + "/unix.socket"})
	if err := fillInstances(t.Context(), s, 2); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, req, want string
	}{
		{"recursion", plainGET("/1.0/instances/c1?recursion=1"), `"state":{`},
		{"another query", plainGET("/1.0/instances/c1?project=default&x=1"), `"name":"c1"`},
		{"empty project", plainGET("/1.0/instances/c1?project="), `"name":"c1"`},
		{"escaped name", plainGET("/1.0/instances/%631"), `"name":"c1"`},
		{"trailing slash", plainGET("/1.0/instances/c1/"), `"error_code":404`},
		{"a list", plainGET("/1.0/instances"), `"/1.0/instances/c0"`},
		{"HTTP/1.0", "GET /1.0/instances/c1 HTTP/1.0\r\n\r\n", `"name":"c1"`},
		{"connection close", plainGET("/1.0/instances/c1", "Connection: close"), `"name":"c1"`},
		{"a write", "PATCH /1.0/instances/c1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}", `"type":"async"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := s.fast.Handoffs()
			rc := dialRaw(t, "unix", s.SocketPath())
			b := rc.roundTrip(tc.req)
			if !strings.Contains(string(b), tc.want) {
				t.Errorf("answer %q, want %s in it", b, tc.want)
			}
			if s.fast.Handoffs() != before+1 {
				t.Error("not handed to net/http")
			}
			if strings.Contains(tc.req, "Connection: close") || strings.Contains(tc.req, "HTTP/1.0") {
				return
			}
			// net/http keeps the connection and answers what follows.
			if b := rc.roundTrip(plainGET("/1.0/instances/c0")); !strings.Contains(string(b), `"name":"c0"`) {
				t.Errorf("next answer %q", b)
			}
		})
	}
}

// TestFastPathFaults: while an http-error is in force, reads go to net/http,
// which answers them with it.
func TestFastPathFaults(t *testing.T) {
	s := NewServer(t, Options{Socket: t.TempDir() + "/unix.socket"})
	if err := fillInstances(t.Context(), s, 1); err != nil {
		t.Fatal(err)
	}
	inject(t, s, scenarios.Fault{Kind: scenarios.FaultHTTPError, Method: "GET", Path: "/1.0/instances/c0", Status: 503, Count: 1})
	rc := dialRaw(t, "unix", s.SocketPath())
	if b := rc.roundTrip(plainGET("/1.0/instances/c0")); !strings.HasPrefix(string(b), "HTTP/1.1 503 ") {
		t.Errorf("under the fault: %q", b)
	}
	rc = dialRaw(t, "unix", s.SocketPath())
	before := s.fast.Handoffs()
	if b := rc.roundTrip(plainGET("/1.0/instances/c0")); !strings.HasPrefix(string(b), "HTTP/1.1 200 ") || s.fast.Handoffs() != before {
		t.Errorf("after the fault: %q, handed over %v", b, s.fast.Handoffs() != before)
	}
}

// FuzzParseFastLXD: whatever parseFast takes, net/http reads and routes the
// same way: GET on the instance (or its state) route, the same name and
// project, no body, kept alive.
func FuzzParseFastLXD(f *testing.F) {
	f.Add([]byte(plainGET("/1.0/instances/c1")))
	f.Add([]byte(plainGET("/1.0/instances/web-1/state?project=p_1.x")))
	f.Add([]byte(plainGET("/1.0/instances/c1?recursion=1")))
	f.Add([]byte(plainGET("/1.0/instances/a/state/state")))
	f.Add([]byte("GET /1.0/instances/c1 HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\nGET /"))
	mux := http.NewServeMux()
	type routed struct{ pattern, name, project string }
	var got routed
	for _, p := range []string{"GET /1.0/instances/{name}", "GET /1.0/instances/{name}/state"} {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			got = routed{p, r.PathValue("name"), r.URL.Query().Get("project")}
		})
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, n, st := parseFast(b)
		if st != fastpath.OK {
			return
		}
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(b[:n])))
		if err != nil {
			t.Fatalf("took a request net/http refuses: %v\n%q", err, b[:n])
		}
		if req.Method != "GET" || req.ProtoMinor != 1 || req.Close || req.ContentLength != 0 || len(req.TransferEncoding) != 0 {
			t.Fatalf("net/http reads %s %d.%d close %v length %d", req.Method, req.ProtoMajor, req.ProtoMinor, req.Close, req.ContentLength)
		}
		got = routed{}
		mux.ServeHTTP(httptest.NewRecorder(), req)
		want := routed{"GET /1.0/instances/{name}", string(r.name), string(r.project)}
		if r.state {
			want.pattern += "/state"
		}
		if len(req.URL.Query()) > 1 || got != want {
			t.Fatalf("net/http routes %q to %+v (query %v), fast %+v", req.RequestURI, got, req.URL.Query(), want)
		}
	})
}

// TestFastPathLogsAsNetHTTP: with Options.Logging, a read on the fast path
// emits the logging events net/http's path emits for it ("Handling API
// request", then "WriteJSON" or "Error Response"), with the same contexts.
func TestFastPathLogsAsNetHTTP(t *testing.T) {
	s := NewServer(t, Options{Socket: t.TempDir() + "/unix.socket", Logging: true})
	if err := fillInstances(t.Context(), s, 2); err != nil {
		t.Fatal(err)
	}
	ws := dial(t, s, "type=logging")
	// logs reads the logging events of one request: from its "Handling API
	// request" to its answer's log, without their timestamps.
	logs := func() []string {
		t.Helper()
		var out []string
		for {
			var ev struct {
				Metadata struct {
					Message string            `json:"message"`
					Context map[string]string `json:"context"`
				} `json:"metadata"`
			}
			f := readFrames(t, ws, 1)[0]
			if err := json.Unmarshal([]byte(f), &ev); err != nil {
				t.Fatal(err)
			}
			m := ev.Metadata.Message
			if m == "Handling API request" {
				out = nil
			}
			out = append(out, fmt.Sprintf("%s %v", m, ev.Metadata.Context))
			if strings.HasPrefix(m, "WriteJSON") || strings.HasPrefix(m, "Error Response") {
				return out
			}
		}
	}
	fast := dialRaw(t, "unix", s.SocketPath())
	slow := dialRaw(t, "unix", s.SocketPath())
	slow.roundTrip(plainGET("/1.0")) // not plain: the connection is net/http's now
	logs()
	for i, path := range []string{"/1.0/instances/c1", "/1.0/instances/c0/state", "/1.0/instances/nope", "/1.0/instances/c1?project=nope", "/1.0/instances/c1"} {
		if i == 4 {
			// A change: the kept log message goes with the kept answer.
			if err := s.Deliver(t.Context(), recordOf(t, []byte(`{"type":"lifecycle","timestamp":"2026-01-01T00:00:01Z","metadata":{"action":"instance-started","source":"/1.0/instances/c1"},"location":"none","project":"default"}`))); err != nil {
				t.Fatal(err)
			}
		}
		before := s.fast.Handoffs()
		answer := fast.roundTrip(plainGET(path))
		if s.fast.Handoffs() != before {
			t.Fatalf("GET %s was handed over", path)
		}
		got := logs()
		if i == 4 && !bytes.Contains(answer, []byte(`"status":"Running"`)) {
			t.Errorf("after the start: %q", answer)
		}
		slow.roundTrip(plainGET(path))
		want := logs()
		if !slices.Equal(got, want) || len(got) != 2 {
			t.Errorf("GET %s: fast path logs\n%q\nnet/http logs\n%q", path, got, want)
		}
		// The WriteJSON message quotes the answer's body.
		if _, body, _ := bytes.Cut(answer, []byte("\r\n\r\n")); bytes.HasPrefix(answer, []byte("HTTP/1.1 200")) {
			msg, _ := scenarios.LXDIndentLog("WriteJSON", body)
			if w := fmt.Sprintf("%s map[http_code:200]", msg); len(got) != 2 || got[1] != w {
				t.Errorf("GET %s: WriteJSON log\n%q\nwant\n%q", path, got, w)
			}
		}
	}
}
