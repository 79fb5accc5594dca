package fastpath

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// anyLine takes every request line "METHOD /TARGET HTTP/1.1" whose method
// is a token and whose target holds only letters, digits and "/._-?=&" (a
// server's line reader decides which lines are its own); methods other
// than GET may carry a body.
func anyLine(l []byte) (ok, body bool) {
	method, rest, ok := bytes.Cut(l, []byte(" /"))
	target, found := bytes.CutSuffix(rest, []byte(" HTTP/1.1"))
	if !ok || !found || !tokenBytes(method) {
		return false, false
	}
	for _, c := range target {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("/._-?=&", c) >= 0) {
			return false, false
		}
	}
	return true, string(method) != "GET"
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, in   string
		st         Status
		n          int // for OK; -1: the whole input
		auth, body string
	}{
		{"get", "GET /a HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n\r\n", OK, -1, "Bearer t", ""},
		{"two pipelined", "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\n", OK, 28, "", ""},
		{"post with body", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}", OK, -1, "", "{}"},
		{"body not all here", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n{}", More, 0, "", ""},
		{"get with a body", "GET /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}", Handoff, 0, "", ""},
		{"get, length 0", "GET /a HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", OK, -1, "", ""},
		{"head not all here", "GET /a HTTP/1.1\r\nHost: x\r\n", More, 0, "", ""},
		{"line refused", "GET /a HTTP/1.0\r\nHost: x\r\n\r\n", Handoff, 0, "", ""},
		{"no host", "GET /a HTTP/1.1\r\n\r\n", Handoff, 0, "", ""},
		{"upgrade", "GET /a HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n", Handoff, 0, "", ""},
		{"close", "GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", Handoff, 0, "", ""},
		{"bare LF", "GET /a HTTP/1.1\nHost: x\n\n", Handoff, 0, "", ""},
		{"malformed, unfinished", "GARBAGE\r\nHo", Handoff, 0, "", ""},
		{"too long", "GET /a HTTP/1.1\r\n" + strings.Repeat("X-A: b\r\n", Max/8), Handoff, 0, "", ""},
	} {
		r, n, st := Parse([]byte(tc.in), anyLine)
		want := tc.n
		if want < 0 {
			want = len(tc.in)
		}
		if st != tc.st || st == OK && (n != want || string(r.Auth) != tc.auth || string(r.Body) != tc.body) {
			t.Errorf("%s: Parse = %d, %d bytes, auth %q body %q; want %d, %d bytes, auth %q body %q", tc.name, st, n, r.Auth, r.Body, tc.st, want, tc.auth, tc.body)
		}
	}
}

// FuzzParse: whatever Parse takes, net/http reads the same way: the same
// request line, the same first Authorization, the same body and length,
// HTTP/1.1 kept alive.
func FuzzParse(f *testing.F) {
	f.Add([]byte("GET /1.0/instances/c1 HTTP/1.1\r\nHost: unix.socket\r\nUser-Agent: LXD 5.0.2\r\n\r\nGET /"))
	f.Add([]byte("GET /1.0/instances/c1?project=p1 HTTP/1.1\r\nHost: [::1]:80\r\nauthorization:\tbearer  y \r\nContent-Length: 0\r\nConnection: Keep-Alive\r\n\r\n"))
	f.Add([]byte("POST /v4/linode/instances HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer x\r\nContent-Length: 13\r\n\r\n{\"type\":\"g6\"}"))
	f.Add([]byte("GET /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"))
	f.Add([]byte("PUT /a HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, n, st := Parse(b, anyLine)
		if st != OK {
			return
		}
		if n <= 0 || n > len(b) {
			t.Fatalf("length %d of %d", n, len(b))
		}
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(b[:n])))
		if err != nil {
			t.Fatalf("took a request net/http refuses: %v\n%q", err, b[:n])
		}
		body, err := io.ReadAll(req.Body)
		line, _, _ := bytes.Cut(b, []byte("\r\n"))
		if err != nil || !bytes.Equal(body, r.Body) || req.ContentLength != int64(len(r.Body)) || req.Close ||
			len(req.TransferEncoding) != 0 || req.ProtoMajor != 1 || req.ProtoMinor != 1 ||
			string(line) != req.Method+" "+req.RequestURI+" HTTP/1.1" {
			t.Fatalf("net/http reads %s %s %d.%d length %d body %q close %v (%v); fast %q %q", req.Method, req.RequestURI,
				req.ProtoMajor, req.ProtoMinor, req.ContentLength, body, req.Close, err, line, r.Body)
		}
		auth := ""
		if v := req.Header["Authorization"]; len(v) > 0 {
			auth = v[0]
		}
		if auth != string(r.Auth) {
			t.Fatalf("Authorization: net/http %q, fast %q", auth, r.Auth)
		}
	})
}

// TestAppendDate: the Date header as net/http writes it, made again when
// the second changes.
func TestAppendDate(t *testing.T) {
	at := time.Date(2026, 12, 2, 17, 4, 5, 0, time.FixedZone("x", 3600))
	if got, want := string(AppendDate(nil, at)), "Wed, 02 Dec 2026 16:04:05 GMT"; got != want {
		t.Errorf("AppendDate = %q, want %q", got, want)
	}
	if got, want := string(AppendDate([]byte("a "), at.Add(time.Second))), "a Wed, 02 Dec 2026 16:04:06 GMT"; got != want {
		t.Errorf("AppendDate = %q, want %q", got, want)
	}
}
