package loadclient

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func TestDoReadsAnswersOverOneConnection(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chunked":
			w.Write([]byte("a"))
			w.(http.Flusher).Flush()
			w.Write([]byte("b"))
		case "/missing":
			http.Error(w, "not here", http.StatusNotFound)
		default:
			fmt.Fprintf(w, "hello %s", r.URL.Path)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)

	c, err := Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tc := range []struct {
		path string
		code int
		body string
	}{
		{"/a", 200, "hello /a"},
		{"/missing", 404, "not here\n"},
		{"/bb", 200, "hello /bb"},
	} {
		code, body, err := c.Do([]byte("GET " + tc.path + " HTTP/1.1\r\nHost: x\r\n\r\n"))
		if err != nil || code != tc.code || string(body) != tc.body {
			t.Errorf("GET %s: %d %q %v, want %d %q", tc.path, code, body, err, tc.code, tc.body)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for three requests, want 1 (keep-alive)", n)
	}
	if _, _, err := c.Do([]byte("GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n")); err == nil || !strings.Contains(err.Error(), "Content-Length") {
		t.Errorf("chunked answer: err %v, want one naming the missing Content-Length", err)
	}
}
