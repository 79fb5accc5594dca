package linode

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eventsim/eventsim/events"
	"github.com/eventsim/eventsim/internal/fastpath"
	"github.com/eventsim/eventsim/scenarios"
)

// rawConn is a plain TCP connection to the server's listener, for sending
// exact bytes.
type rawConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialServer(t *testing.T, s *Server) *rawConn {
	t.Helper()
	return dialAddr(t, s.ln.Addr().String())
}

// dialAddr is dialServer for any listener's address (net/http's, behind
// httptest).
func dialAddr(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawConn{t: t, c: c, br: bufio.NewReader(c)}
}

func (rc *rawConn) send(s string) {
	rc.t.Helper()
	if _, err := io.WriteString(rc.c, s); err != nil {
		rc.t.Fatal(err)
	}
}

// read reads one response and its body.
func (rc *rawConn) read(method string) (*http.Response, []byte) {
	rc.t.Helper()
	resp, err := http.ReadResponse(rc.br, &http.Request{Method: method})
	if err != nil {
		rc.t.Fatalf("read response: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		rc.t.Fatal(err)
	}
	resp.Body.Close()
	return resp, b
}

func getReq(path, token string, extra ...string) string {
	r := "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	if token != "" {
		r += "Authorization: Bearer " + token + "\r\n"
	}
	for _, h := range extra {
		r += h + "\r\n"
	}
	return r + "\r\n"
}

// TestFastPathMatchesNetHTTP sends the same requests to the listener (the
// fast path) and to Handler() behind httptest (net/http alone) and checks
// that the answers agree: status, body and every header but Date.
func TestFastPathMatchesNetHTTP(t *testing.T) {
	s := NewServer(t, Options{ReadOnlyTokens: []string{"ro"}, RateLimit: -1})
	history(t, s, 1, 10, time.Now())
	deliver(t, s, event(11, "tag_create", "tag", "prod <&>", time.Now(), events.LinodeNotification))
	s.st.seenUpTo = 3
	ref := httptest.NewServer(s.Handler())
	t.Cleanup(ref.Close)

	fast := dialServer(t, s)
	slow := dialAddr(t, ref.Listener.Addr().String())

	for _, tc := range []struct{ name, req string }{
		{"event", getReq("/v4/account/events/5", s.Token())},
		{"instance", getReq("/v4/linode/instances/100", s.Token())},
		{"instance, v4beta, slash", getReq("/v4beta/linode/instances/101/", s.Token())},
		{"unknown instance", getReq("/v4/linode/instances/999", s.Token())},
		{"instance, no token", getReq("/v4/linode/instances/100", "")},
		{"instance, read-only token", getReq("/v4/linode/instances/100", "ro")},
		{"seen event", getReq("/v4/account/events/2", s.Token())},
		{"escaped strings", getReq("/v4/account/events/11", s.Token())},
		{"v4beta, slash, zeros", getReq("/v4beta/account/events/0007/", s.Token())},
		{"read-only token", getReq("/v4/account/events/5", "ro")},
		{"unknown id", getReq("/v4/account/events/999", s.Token())},
		{"id 0", getReq("/v4/account/events/0", s.Token())},
		{"no token", getReq("/v4/account/events/5", "")},
		{"wrong token", getReq("/v4/account/events/5", "nope")},
		{"basic auth", getReq("/v4/account/events/5", "", "Authorization: Basic Zm9vOmJhcg==")},
		{"lower-case bearer, spaces", getReq("/v4/account/events/5", "", "authorization:  bEaReR   "+s.Token()+"  ")},
		{"empty bearer", getReq("/v4/account/events/5", "", "Authorization: Bearer ")},
		{"two authorizations", getReq("/v4/account/events/5", s.Token(), "Authorization: Bearer nope")},
		{"filter ignored", getReq("/v4/account/events/5", s.Token(), `X-Filter: {"seen":true}`, "Content-Length: 0", "Connection: keep-alive")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := s.fast.Handoffs()
			fast.send(tc.req)
			fr, fb := fast.read("GET")
			if s.fast.Handoffs() != before {
				t.Fatal("handed to net/http")
			}
			slow.send(tc.req)
			sr, sb := slow.read("GET")
			compareAnswers(t, fr, fb, sr, sb)
		})
	}

	// Rate limited: both paths answer 429 with the same Retry-After.
	s = NewServer(t, Options{RateLimit: 1, RatePeriod: time.Hour})
	ref = httptest.NewServer(s.Handler())
	t.Cleanup(ref.Close)
	fast = dialServer(t, s)
	req := getReq("/v4/account/events/1", s.Token())
	fast.send(req)
	if r, _ := fast.read("GET"); r.StatusCode != 404 {
		t.Fatalf("first request: %d", r.StatusCode)
	}
	fast.send(req)
	fr, fb := fast.read("GET")
	if fr.StatusCode != 429 || fr.Header.Get("Retry-After") == "" {
		t.Fatalf("second request: %d, Retry-After %q", fr.StatusCode, fr.Header.Get("Retry-After"))
	}
	sr, err := http.DefaultClient.Do(&http.Request{Method: "GET", URL: mustURL(t, ref.URL+"/v4/account/events/1"), Header: http.Header{"Authorization": {"Bearer " + s.Token()}}})
	if err != nil {
		t.Fatal(err)
	}
	sb, _ := io.ReadAll(sr.Body)
	sr.Body.Close()
	compareAnswers(t, fr, fb, sr, sb)
}

// compareAnswers checks that the fast path's answer equals net/http's in
// status, body and headers, but for Date and a rate limit reset a second
// apart.
func compareAnswers(t *testing.T, fr *http.Response, fb []byte, sr *http.Response, sb []byte) {
	t.Helper()
	if fr.StatusCode != sr.StatusCode || !bytes.Equal(fb, sb) {
		t.Errorf("fast %d %s\nnet/http %d %s", fr.StatusCode, fb, sr.StatusCode, sb)
	}
	if fr.Header.Get("Date") == "" {
		t.Error("fast: no Date")
	}
	fr.Header.Del("Date")
	sr.Header.Del("Date")
	// The rate limit's reset is a unix second, like Date read off the
	// clock: the two answers may straddle a second.
	if f, s := fr.Header.Get("X-Ratelimit-Reset"), sr.Header.Get("X-Ratelimit-Reset"); f != s {
		fi, ferr := strconv.ParseInt(f, 10, 64)
		si, serr := strconv.ParseInt(s, 10, 64)
		if ferr != nil || serr != nil || fi-si > 1 || si-fi > 1 {
			t.Errorf("X-Ratelimit-Reset: fast %q, net/http %q", f, s)
		}
		fr.Header.Del("X-Ratelimit-Reset")
		sr.Header.Del("X-Ratelimit-Reset")
	}
	if !equalHeaders(fr.Header, sr.Header) {
		t.Errorf("headers differ:\nfast     %v\nnet/http %v", fr.Header, sr.Header)
	}
	if fr.ContentLength != int64(len(fb)) || fr.Close {
		t.Errorf("fast: Content-Length %d for %d bytes, close %v", fr.ContentLength, len(fb), fr.Close)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func equalHeaders(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// TestFastPathHandoff checks connections that change path: plain requests
// answered by the fast path, pipelined ones answered in order, and the
// first request that is not plain handing the connection to net/http with
// the bytes already read, which then serves the rest.
func TestFastPathHandoff(t *testing.T) {
	s := NewServer(t, Options{})
	history(t, s, 1, 30, time.Now())
	tok := s.Token()

	t.Run("pipelined, then a list", func(t *testing.T) {
		before := s.fast.Handoffs()
		rc := dialServer(t, s)
		rc.send(getReq("/v4/account/events/1", tok) + getReq("/v4/account/events/2", tok) +
			getReq("/v4/account/events?page_size=25", tok) + getReq("/v4/account/events/3", tok) +
			"POST /v4/account/events/4/seen HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok + "\r\nContent-Length: 2\r\n\r\n{}" +
			getReq("/v4/account/events/4", tok))
		for i, want := range []string{`{"id":1,`, `{"id":2,`, `{"data":[{"id":30,`, `{"id":3,`, `{}`, `{"id":4,`} {
			r, b := rc.read("GET")
			if r.StatusCode != 200 || !strings.HasPrefix(string(b), want) {
				t.Errorf("answer %d: %d %.60s, want %s...", i, r.StatusCode, b, want)
			}
		}
		if n := s.fast.Handoffs() - before; n != 1 {
			t.Errorf("%d handoffs, want 1", n)
		}
	})
	t.Run("many pipelined", func(t *testing.T) {
		// More requests than the read buffer holds, and more answers than
		// are written at once.
		before := s.fast.Handoffs()
		rc := dialServer(t, s)
		var reqs strings.Builder
		for i := range 300 {
			reqs.WriteString(getReq("/v4/account/events/"+strconv.Itoa(1+i%30), tok))
		}
		go io.WriteString(rc.c, reqs.String())
		for i := range 300 {
			r, b := rc.read("GET")
			if want := `{"id":` + strconv.Itoa(1+i%30) + `,`; r.StatusCode != 200 || !strings.HasPrefix(string(b), want) {
				t.Fatalf("answer %d: %d %.40s, want %s...", i, r.StatusCode, b, want)
			}
		}
		if s.fast.Handoffs() != before {
			t.Error("handed to net/http")
		}
	})
	t.Run("byte by byte", func(t *testing.T) {
		before := s.fast.Handoffs()
		rc := dialServer(t, s)
		req := getReq("/v4/account/events/7", tok)
		for i := range len(req) {
			rc.send(req[i : i+1])
			if i%16 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
		if r, b := rc.read("GET"); r.StatusCode != 200 || !strings.HasPrefix(string(b), `{"id":7,`) {
			t.Errorf("%d %s", r.StatusCode, b)
		}
		if s.fast.Handoffs() != before {
			t.Error("handed to net/http")
		}
	})

	// Requests the fast path leaves to net/http, each on a new connection:
	// net/http's answer is the reference.
	for _, tc := range []struct {
		name, req string
		code      int
	}{
		{"bare LF", "GET /v4/account/events/1 HTTP/1.1\nHost: x\nAuthorization: Bearer " + tok + "\n\n", 200},
		{"HTTP/1.0", "GET /v4/account/events/1 HTTP/1.0\r\nAuthorization: Bearer " + tok + "\r\n\r\n", 200},
		{"connection close", getReq("/v4/account/events/1", tok, "Connection: close"), 200},
		{"query", getReq("/v4/account/events/1?x=1", tok), 200},
		{"escaped path", getReq("/v4/account/events/%31", tok), 200},
		{"19 digits", getReq("/v4/account/events/1000000000000000000", tok), 404},
		{"beyond int64", getReq("/v4/account/events/99999999999999999999", tok), 400},
		{"absolute form", "GET http://x/v4/account/events/1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok + "\r\n\r\n", 200},
		{"body", getReq("/v4/account/events/1", tok, "Content-Length: 3") + "abc", 200},
		{"chunked body", getReq("/v4/account/events/1", tok, "Transfer-Encoding: chunked") + "3\r\nabc\r\n0\r\n\r\n", 200},
		{"expect", getReq("/v4/account/events/1", tok, "Expect: 100-continue", "Content-Length: 0"), 200},
		{"no host", "GET /v4/account/events/1 HTTP/1.1\r\nAuthorization: Bearer " + tok + "\r\n\r\n", 400},
		{"two hosts", getReq("/v4/account/events/1", tok, "Host: y"), 400},
		{"bad host", getReq("/v4/account/events/1", tok, "Host: a b"), 400},
		{"bad header name", getReq("/v4/account/events/1", tok, "Bad Name: x"), 400},
		{"control character", getReq("/v4/account/events/1", tok, "X-A: a\x01b"), 400},
		{"folded header", getReq("/v4/account/events/1", tok, "X-A: a", " b"), 200},
		{"HEAD", "HEAD /v4/account/events/1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok + "\r\n\r\n", 405},
		{"lower-case method", "get /v4/account/events/1 HTTP/1.1\r\nHost: x\r\n\r\n", 405},
		{"big headers", getReq("/v4/account/events/1", tok, "X-Junk: "+strings.Repeat("a", 20<<10)), 200},
		{"huge headers", getReq("/v4/account/events/1", tok, "X-Junk: "+strings.Repeat("a", 100<<10)), 431},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := s.fast.Handoffs()
			rc := dialServer(t, s)
			rc.send(tc.req)
			method := "GET"
			if strings.HasPrefix(tc.req, "HEAD") {
				method = "HEAD"
			}
			r, b := rc.read(method)
			if r.StatusCode != tc.code {
				t.Errorf("status %d, want %d: %s", r.StatusCode, tc.code, b)
			}
			if s.fast.Handoffs() != before+1 {
				t.Errorf("not handed to net/http")
			}
		})
	}
	if n := s.Stats().Statuses[500]; n != 0 {
		t.Errorf("%d answers were 500", n)
	}
}

// TestFastPathFaults checks that requests meet faults: while one is in
// force, connections go to net/http, which applies it; afterwards new
// requests take the fast path again.
func TestFastPathFaults(t *testing.T) {
	s := NewServer(t, Options{})
	history(t, s, 1, 3, time.Now())
	rc := dialServer(t, s)
	rc.send(getReq("/v4/account/events/1", s.Token()))
	if r, _ := rc.read("GET"); r.StatusCode != 200 {
		t.Fatalf("status %d", r.StatusCode)
	}
	f := &scenarios.Fault{Kind: scenarios.FaultHTTPError, API: "linode", Status: 503, Count: 2}
	if err := s.Deliver(t.Context(), &scenarios.Record{API: "linode", Fault: f}); err != nil {
		t.Fatal(err)
	}
	rc.send(getReq("/v4/account/events/1", s.Token()))
	if r, _ := rc.read("GET"); r.StatusCode != 503 {
		t.Errorf("under a fault: %d, want 503", r.StatusCode)
	}
	rc2 := dialServer(t, s)
	rc2.send(getReq("/v4/account/events/1", s.Token()))
	if r, _ := rc2.read("GET"); r.StatusCode != 503 {
		t.Errorf("second connection under a fault: %d, want 503", r.StatusCode)
	}
	// The fault is spent; a connection net/http has keeps being served, and a
	// new one is served by the fast path.
	rc.send(getReq("/v4/account/events/2", s.Token()))
	if r, _ := rc.read("GET"); r.StatusCode != 200 {
		t.Errorf("after the fault: %d", r.StatusCode)
	}
	before := s.fast.Handoffs()
	rc3 := dialServer(t, s)
	rc3.send(getReq("/v4/account/events/3", s.Token()))
	if r, _ := rc3.read("GET"); r.StatusCode != 200 || s.fast.Handoffs() != before {
		t.Errorf("new connection after the fault: %d, handed over %v", r.StatusCode, s.fast.Handoffs() != before)
	}
}

// TestFastPathClose checks that Close ends idle fast-path connections
// promptly, and a slow request's headers time out rather than hold Close.
func TestFastPathClose(t *testing.T) {
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	history(t, s, 1, 3, time.Now())
	idle := dialServer(t, s)
	idle.send(getReq("/v4/account/events/1", s.Token()))
	if r, _ := idle.read("GET"); r.StatusCode != 200 {
		t.Fatalf("status %d", r.StatusCode)
	}
	partial := dialServer(t, s)
	partial.send("GET /v4/account/events/1 HTTP/1.1\r\nHost:")
	partialList := dialServer(t, s) // net/http would wait for it
	partialList.send("GET /v4/account/events?page=2 HTTP/1.1\r\nHost: x\r\n")
	time.Sleep(20 * time.Millisecond)
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Error(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v", d)
	}
	for _, rc := range []*rawConn{idle, partial, partialList} {
		if n, err := rc.br.Read(make([]byte, 1)); err == nil {
			t.Errorf("connection still open after Close (read %d bytes)", n)
		}
	}
	if _, err := net.Dial("tcp", s.ln.Addr().String()); err == nil {
		t.Error("still accepting after Close")
	}
}

// TestParseFast checks the request reader on the forms it must accept and
// refuse; FuzzParseFast holds it to net/http on any input.
func TestParseFast(t *testing.T) {
	for _, tc := range []struct {
		in   string
		st   fastpath.Status
		id   int64
		auth string
	}{
		{"GET /v4/account/events/12 HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer x\r\n\r\n", fastpath.OK, 12, "Bearer x"},
		{"GET /v4beta/account/events/12/ HTTP/1.1\r\nhost:a:80\r\n\r\n", fastpath.OK, 12, ""},
		{"GET /v4/account/events/12 HTTP/1.1\r\nHost: a\r\n", fastpath.More, 0, ""},
		{"GET /v4/acc", fastpath.More, 0, ""},
		{"GET /v4/account/events/12 HTTP/1.1\r\nHost: a\r", fastpath.More, 0, ""},
		{"\r\n", fastpath.Handoff, 0, ""},
		{"GARBAGE\r\nHo", fastpath.Handoff, 0, ""},
		{"GET /v4/account/events?page=2 HTTP/1.1\r\nHost: a\r\nX-Filter: {}\r\nHo", fastpath.More, 0, ""},
		{"GET /v4/account/events/12 HTTP/1.1\r\nBad Name: x\r\nHo", fastpath.Handoff, 0, ""},
		{"GET /v4/account/events/12 HTTP/1.1\r\nHost: a\r\n\r\r\n", fastpath.Handoff, 0, ""},
		{"", fastpath.More, 0, ""},
		{"GET /v4/account/events/12 HTTP/1.1\nHost: a\n\n", fastpath.Handoff, 0, ""},
		{"GET /v4/account/events/12 HTTP/1.1\r\nHost: a\n", fastpath.Handoff, 0, ""},
		{"GET /v4/account/events/ HTTP/1.1\r\nHost: a\r\n\r\n", fastpath.Handoff, 0, ""},
		{"GET /v4/account/events/1x HTTP/1.1\r\nHost: a\r\n\r\n", fastpath.Handoff, 0, ""},
		{"GET /v4/account/events HTTP/1.1\r\nHost: a\r\n\r\n", fastpath.Handoff, 0, ""},
		{"POST /v4/account/events/1 HTTP/1.1\r\nHost: a\r\n\r\n", fastpath.Handoff, 0, ""},
		{"GET /v4/account/events/1 HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\n", fastpath.Handoff, 0, ""},
		{"GET /v4/account/events/1 HTTP/1.1\r\n" + strings.Repeat("X-A: b\r\n", fastpath.Max/8), fastpath.Handoff, 0, ""},
	} {
		r, n, st := parseFast([]byte(tc.in))
		if st != tc.st || st == fastpath.OK && (r.id != tc.id || string(r.auth) != tc.auth || n != len(tc.in)) {
			t.Errorf("parseFast(%.60q) = %+v %d %d, want status %d id %d auth %q", tc.in, r, n, st, tc.st, tc.id, tc.auth)
		}
	}
}

func TestParseFastWrites(t *testing.T) {
	const create = `{"type":"g6-nanode-1","region":"us-east"}`
	for _, tc := range []struct {
		name, in     string
		st           fastpath.Status
		method, path string
		body         string
	}{
		{"create", writeReq("POST", "/v4/linode/instances", "x", create), fastpath.OK, "POST", "/linode/instances", create},
		{"create, then more", writeReq("POST", "/v4/linode/instances", "x", create) + "GET /", fastpath.OK, "POST", "/linode/instances", create},
		{"boot, no body", writeReq("POST", "/v4beta/linode/instances/12/boot/", "x", ""), fastpath.OK, "POST", "/linode/instances/12/boot", ""},
		{"boot, empty body", writeReq("POST", "/v4/linode/instances/12/boot", "x", "", "Content-Length: 0"), fastpath.OK, "POST", "/linode/instances/12/boot", ""},
		{"delete", writeReq("DELETE", "/v4/volumes/7", "x", ""), fastpath.OK, "DELETE", "/volumes/7", ""},
		{"update", writeReq("PUT", "/v4/domains/3/records/9", "x", `{"name":"w"}`), fastpath.OK, "PUT", "/domains/3/records/9", `{"name":"w"}`},
		{"body not all here", strings.TrimSuffix(writeReq("POST", "/v4/linode/instances", "x", create), `"us-east"}`), fastpath.More, "", "", ""},
		{"body too large", writeReq("POST", "/v4/linode/instances", "x", "", "Content-Length: 9000"), fastpath.Handoff, "", "", ""},
		{"two lengths", writeReq("POST", "/v4/linode/instances", "x", "{}", "Content-Length: 2"), fastpath.Handoff, "", "", ""},
		{"signed length", writeReq("POST", "/v4/linode/instances", "x", "", "Content-Length: +2") + "{}", fastpath.Handoff, "", "", ""},
		{"chunked", writeReq("POST", "/v4/linode/instances", "x", "", "Transfer-Encoding: chunked") + "2\r\n{}\r\n0\r\n\r\n", fastpath.Handoff, "", "", ""},
		{"query", writeReq("POST", "/v4/linode/instances?x=1", "x", create), fastpath.Handoff, "", "", ""},
		{"escaped path", writeReq("POST", "/v4/linode/instances/1%2F2/boot", "x", ""), fastpath.Handoff, "", "", ""},
		{"double slash", writeReq("POST", "/v4/linode//instances", "x", create), fastpath.Handoff, "", "", ""},
		{"upper case", writeReq("POST", "/v4/Linode/instances", "x", create), fastpath.Handoff, "", "", ""},
		{"a list", writeReq("GET", "/v4/linode/instances", "x", ""), fastpath.Handoff, "", "", ""},
		{"no such write", writeReq("PATCH", "/v4/linode/instances/1", "x", "{}"), fastpath.Handoff, "", "", ""},
		{"event marks", writeReq("POST", "/v4/account/events/1/seen", "x", ""), fastpath.Handoff, "", "", ""},
		{"HTTP/1.0", strings.Replace(writeReq("DELETE", "/v4/volumes/7", "x", ""), "HTTP/1.1", "HTTP/1.0", 1), fastpath.Handoff, "", "", ""},
	} {
		r, n, st := parseFast([]byte(tc.in))
		ok := st == tc.st
		if st == fastpath.OK {
			ok = ok && r.wr.method == tc.method && r.path == tc.path && string(r.body) == tc.body && n == len(tc.in)-strings.Count(tc.in, "GET /")*len("GET /")
		}
		if !ok {
			t.Errorf("%s: parseFast = %d, %s %s %q (%d bytes); want %d, %s %s %q", tc.name, st, r.wr.method, r.path, r.body, n, tc.st, tc.method, tc.path, tc.body)
		}
	}
}

// FuzzParseFast: whatever parseFast answers itself, net/http reads the
// same way: the same request, method GET, the same id, the same
// Authorization, no body, keep-alive.
func FuzzParseFast(f *testing.F) {
	f.Add([]byte("GET /v4/account/events/12 HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer x\r\n\r\nGET /"))
	f.Add([]byte("GET /v4beta/account/events/000/ HTTP/1.1\r\nHost: [::1]:80\r\nauthorization:\tbearer  y \r\nContent-Length: 0\r\nConnection: Keep-Alive\r\n\r\n"))
	f.Add([]byte("GET /v4/account/events/1 HTTP/1.1\r\nHost: a\r\nX-Filter: {\"a\":1}\r\nAuthorization: Bearer x\r\nAuthorization: Bearer z\r\n\r\n"))
	f.Add([]byte("GET /v4/account/events/1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"))
	f.Add([]byte("POST /v4/linode/instances HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer x\r\nContent-Length: 13\r\n\r\n{\"type\":\"g6\"}"))
	f.Add([]byte("DELETE /v4beta/volumes/7/ HTTP/1.1\r\nHost: a\r\n\r\n"))
	f.Add([]byte("POST /v4/linode/instances/1/boot HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, n, st := parseFast(b)
		if st != fastpath.OK {
			return
		}
		if n <= 0 || n > len(b) {
			t.Fatalf("length %d of %d", n, len(b))
		}
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(b[:n])))
		if err != nil {
			t.Fatalf("fast path took a request net/http refuses: %v\n%q", err, b[:n])
		}
		if r.wr.h != nil {
			// A write: the same method, route and body as net/http reads.
			body, err := io.ReadAll(req.Body)
			if err != nil || !bytes.Equal(body, r.body) || req.ContentLength != int64(len(r.body)) || req.Close ||
				len(req.TransferEncoding) != 0 || req.URL.RawQuery != "" || req.ProtoMinor != 1 {
				t.Fatalf("net/http reads %s %v length %d body %q (%v); fast %q", req.Method, req.URL, req.ContentLength, body, err, r.body)
			}
			var s Server
			c := &call{r: req}
			rt, err := s.route(c)
			if err != nil || !rt.write || c.wr.method != r.wr.method || c.wr.pattern != r.wr.pattern || c.path != r.path {
				t.Fatalf("net/http routes %s %s to %v %+v %s (%v); fast %+v %s", req.Method, req.URL.Path, rt.write, c.wr, c.path, err, r.wr, r.path)
			}
			return
		}
		if req.Method != "GET" || req.ProtoMajor != 1 || req.ProtoMinor != 1 || req.Close || req.ContentLength != 0 ||
			len(req.TransferEncoding) != 0 || req.URL.RawQuery != "" {
			t.Fatalf("net/http reads %s %v %d.%d close %v length %d te %v", req.Method, req.URL, req.ProtoMajor, req.ProtoMinor, req.Close, req.ContentLength, req.TransferEncoding)
		}
		p := strings.TrimSuffix(req.URL.Path, "/")
		idText := p[strings.LastIndexByte(p, '/')+1:]
		if id, err := strconv.ParseInt(idText, 10, 64); err != nil || id != r.id || !strings.HasSuffix(strings.TrimSuffix(p, idText), "/account/events/") {
			t.Fatalf("net/http path %q, fast id %d", req.URL.Path, r.id)
		}
		auth := ""
		if v := req.Header["Authorization"]; len(v) > 0 {
			auth = v[0]
		}
		if auth != string(r.auth) {
			t.Fatalf("Authorization: net/http %q, fast %q", auth, r.auth)
		}
		if tok, ok := bearer(req); ok != (len(fastBearer(r.auth)) > 0) || ok && tok != string(fastBearer(r.auth)) {
			t.Fatalf("token: net/http %q %v, fast %q", tok, ok, fastBearer(r.auth))
		}
	})
}

// TestFastPathStress mixes, under the race detector, clients on both paths
// (GETs by id, lists, seen marks), events progressing, faults coming and
// going, and finally Close while requests are in flight: every answer is
// one the API gives, and Close returns.
func TestFastPathStress(t *testing.T) {
	s, err := New(Options{RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	history(t, s, 1, 200, time.Now())
	tr := &http.Transport{MaxIdleConnsPerHost: 4}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	bad := make(chan string, 100)
	for w := range 6 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				method, path := "GET", "/v4/account/events/"+strconv.Itoa(1+(i*7+w)%220)
				switch i % 5 {
				case 3:
					path = "/v4/account/events?page_size=25"
				case 4:
					method, path = "POST", "/v4/account/events/"+strconv.Itoa(1+i%200)+"/seen"
				}
				req, _ := http.NewRequest(method, s.URL()+path, nil)
				req.Header.Set("Authorization", "Bearer "+s.Token())
				resp, err := client.Do(req)
				if err != nil {
					continue // a dropped connection, or the server closing
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch resp.StatusCode {
				case 200, 404, 503:
				default:
					select {
					case bad <- fmt.Sprintf("%s %s: %d %s", method, path, resp.StatusCode, body):
					default:
					}
				}
			}
		})
	}
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(3 * time.Millisecond):
			}
			if err := s.Deliver(t.Context(), rec(event(int64(1+i%200), "linode_boot", "linode", 100, time.Now(), events.LinodeStarted))); err != nil {
				t.Error(err)
			}
			if i%20 == 0 {
				kind := []string{scenarios.FaultHTTPError, scenarios.FaultDropConn, scenarios.FaultLatency}[i/20%3]
				f := &scenarios.Fault{Kind: kind, API: "linode", Status: 503, Count: 3, Delay: 5 * time.Millisecond}
				if err := s.Deliver(t.Context(), &scenarios.Record{API: "linode", Fault: f}); err != nil {
					t.Error(err)
				}
			}
		}
	})
	time.Sleep(400 * time.Millisecond)
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Error(err)
	}
	if d := time.Since(start); d > 6*time.Second {
		t.Errorf("Close took %v", d)
	}
	close(stop)
	wg.Wait()
	close(bad)
	for b := range bad {
		t.Error(b)
	}
	st := s.Stats()
	if st.Statuses[200] < 50 || s.fast.Handoffs() == 0 {
		t.Errorf("too little traffic to mean anything: %+v, %d handoffs", st, s.fast.Handoffs())
	}
}

// TestFastPathGarbage sends random bytes, and valid requests cut or spliced
// with random bytes, on many connections: whatever the answers, the server
// keeps serving and never answers 500.
func TestFastPathGarbage(t *testing.T) {
	s := NewServer(t, Options{RateLimit: -1})
	history(t, s, 1, 5, time.Now())
	rng := rand.New(rand.NewSource(7))
	valid := getReq("/v4/account/events/3", s.Token())
	var inputs [][]byte
	for i := range 200 {
		var b []byte
		switch i % 4 {
		case 0:
			b = make([]byte, rng.Intn(20000))
			rng.Read(b)
		case 1:
			b = []byte(valid[:rng.Intn(len(valid))])
			b = append(b, bytes.Repeat([]byte{byte(rng.Intn(256))}, rng.Intn(100))...)
		case 2:
			b = []byte(strings.Repeat(valid, 1+rng.Intn(5)))
			b[rng.Intn(len(b))] = byte(rng.Intn(256))
		default:
			b = []byte(valid + strings.Repeat("\r\n", rng.Intn(10)) + valid[:rng.Intn(len(valid))])
		}
		inputs = append(inputs, b)
	}
	var wg sync.WaitGroup
	for w := range 20 {
		wg.Go(func() {
			for _, b := range inputs[w*10 : w*10+10] {
				c, err := net.Dial("tcp", s.ln.Addr().String())
				if err != nil {
					t.Error(err)
					return
				}
				_ = c.SetDeadline(time.Now().Add(200 * time.Millisecond))
				_, _ = c.Write(b)
				_, _ = io.Copy(io.Discard, c) // until the server closes or the deadline passes
				c.Close()
			}
		})
	}
	wg.Wait()
	rc := dialServer(t, s)
	rc.send(valid)
	if r, b := rc.read("GET"); r.StatusCode != 200 || !strings.HasPrefix(string(b), `{"id":3,`) {
		t.Errorf("after garbage: %d %s", r.StatusCode, b)
	}
	if n := s.Stats().Statuses[500]; n != 0 {
		t.Errorf("%d answers were 500", n)
	}
}

// shortTimeouts makes the read timeouts of servers started afterwards
// short, for the rest of the test.
func shortTimeouts(t *testing.T, header, idle time.Duration) {
	t.Helper()
	oldHeader, oldIdle := readHeaderTimeout, idleTimeout
	readHeaderTimeout, idleTimeout = header, idle
	t.Cleanup(func() { readHeaderTimeout, idleTimeout = oldHeader, oldIdle })
}

// TestFastPathTimeouts checks the fast path's read timeouts against
// net/http's: the header timeout runs from a connection's start for its
// first request and anew for each request, however the requests fall into
// reads, and headers that time out get net/http's 400.
func TestFastPathTimeouts(t *testing.T) {
	shortTimeouts(t, 300*time.Millisecond, 3*time.Second)
	s := NewServer(t, Options{RateLimit: -1})
	history(t, s, 1, 3, time.Now())
	req := getReq("/v4/account/events/1", s.Token())

	t.Run("silent connection", func(t *testing.T) {
		rc := dialServer(t, s)
		start := time.Now()
		if _, err := rc.br.ReadByte(); err == nil {
			t.Fatal("read a byte")
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("a connection that sent nothing was closed after %v, want the header timeout", d)
		}
	})
	t.Run("headers too slow", func(t *testing.T) {
		rc := dialServer(t, s)
		rc.send(req[:20])
		if r, b := rc.read("GET"); r.StatusCode != 400 {
			t.Errorf("status %d, want 400: %s", r.StatusCode, b)
		}
	})
	t.Run("steady pipelined stream", func(t *testing.T) {
		// Each write ends inside a request, so the server always holds
		// part of one; the stream lasts several header timeouts.
		rc := dialServer(t, s)
		const writes = 60
		go func() { // errors show as missing answers
			_, _ = io.WriteString(rc.c, req[:10])
			for range writes {
				_, _ = io.WriteString(rc.c, req[10:]+req[:10])
				time.Sleep(20 * time.Millisecond)
			}
			_, _ = io.WriteString(rc.c, req[10:])
		}()
		for i := range writes + 1 {
			if r, b := rc.read("GET"); r.StatusCode != 200 {
				t.Fatalf("answer %d: status %d: %s", i, r.StatusCode, b)
			}
		}
	})
}

// TestFastPathCutShort checks that requests the client ends early or that
// are malformed before their headers end get net/http's answer, at once.
func TestFastPathCutShort(t *testing.T) {
	s := NewServer(t, Options{RateLimit: -1})
	history(t, s, 1, 3, time.Now())
	req := getReq("/v4/account/events/1", s.Token())
	for _, tc := range []struct {
		name      string
		send      string
		closeSend bool
		codes     []int
	}{
		{"partial request line, then end of input", req[:10], true, []int{400}},
		{"partial headers, then end of input", req[:len(req)-2], true, []int{400}},
		{"answered, then partial, then end of input", req + req[:30], true, []int{200, 400}},
		{"malformed request line", "GARBAGE\r\nHost: x\r\n", false, []int{400}},
		{"malformed header line", "GET /v4/account/events/1 HTTP/1.1\r\nHost: x\r\n\r\r\n", false, []int{400}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := dialServer(t, s)
			_ = rc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
			rc.send(tc.send)
			if tc.closeSend {
				_ = rc.c.(*net.TCPConn).CloseWrite()
			}
			for _, want := range tc.codes {
				if r, b := rc.read("GET"); r.StatusCode != want {
					t.Errorf("status %d, want %d: %s", r.StatusCode, want, b)
				}
			}
		})
	}
}

func writeReq(method, path, token, body string, extra ...string) string {
	r := method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	if token != "" {
		r += "Authorization: Bearer " + token + "\r\n"
	}
	for _, h := range extra {
		r += h + "\r\n"
	}
	if body != "" {
		r += "Content-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n"
	}
	return r + "\r\n" + body
}

var stampRE = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d`)

// TestFastPathWritesMatchNetHTTP: the account's writes on the fast path
// answer as net/http does, request for request, on two servers given the
// same requests (timestamps aside): the REST lifecycle, bad input, and the
// token checks. None of them hands the connection over.
func TestFastPathWritesMatchNetHTTP(t *testing.T) {
	opts := Options{ReadOnlyTokens: []string{"ro"}, Tokens: []string{"rw"}, RateLimit: -1}
	s := NewServer(t, opts)
	twin := NewServer(t, opts)
	ref := httptest.NewServer(twin.Handler())
	t.Cleanup(ref.Close)
	fast := dialServer(t, s)
	slow := dialAddr(t, ref.Listener.Addr().String())

	const create = `{"type":"g6-nanode-1","region":"us-east","label":"web-1","tags":["a<b"]}`
	var id string
	for _, tc := range []struct{ name, method, path, token, body string }{
		{"create", "POST", "/v4/linode/instances", "rw", create},
		{"label taken", "POST", "/v4/linode/instances", "rw", create},
		{"not JSON", "POST", "/v4/linode/instances", "rw", `{"type":`},
		{"unknown type", "POST", "/v4beta/linode/instances/", "rw", `{"type":"g0","region":"us-east"}`},
		{"boot", "POST", "/v4/linode/instances/ID/boot", "rw", ""},
		{"boot, busy", "POST", "/v4/linode/instances/ID/boot", "rw", "{}"},
		{"update", "PUT", "/v4/linode/instances/ID", "rw", `{"label":"web-2"}`},
		{"shutdown", "POST", "/v4/linode/instances/ID/shutdown", "rw", ""},
		{"read-only token", "DELETE", "/v4/linode/instances/ID", "ro", ""},
		{"no token", "DELETE", "/v4/linode/instances/ID", "", ""},
		{"unknown Linode", "POST", "/v4/linode/instances/999/boot", "rw", ""},
		{"delete", "DELETE", "/v4/linode/instances/ID", "rw", ""},
		{"deleted", "DELETE", "/v4/linode/instances/ID", "rw", ""},
		{"volume", "POST", "/v4/volumes", "rw", `{"label":"data-1","region":"us-east","size":20}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := writeReq(tc.method, strings.Replace(tc.path, "ID", id, 1), tc.token, tc.body)
			before := s.fast.Handoffs()
			fast.send(req)
			fr, fb := fast.read(tc.method)
			if s.fast.Handoffs() != before {
				t.Fatal("handed to net/http")
			}
			slow.send(req)
			sr, sb := slow.read(tc.method)
			compareAnswers(t, fr, stampRE.ReplaceAll(fb, []byte("2000-01-01T00:00:00")), sr, stampRE.ReplaceAll(sb, []byte("2000-01-01T00:00:00")))
			if tc.name == "create" {
				var l struct{ ID int64 }
				if err := json.Unmarshal(fb, &l); err != nil || l.ID == 0 {
					t.Fatalf("create answered %s", fb)
				}
				id = strconv.FormatInt(l.ID, 10)
			}
		})
	}
	if a, b := s.Stats().Events, twin.Stats().Events; a != b || a < 4 {
		t.Errorf("events stored: fast path %d, net/http %d", a, b)
	}
}
