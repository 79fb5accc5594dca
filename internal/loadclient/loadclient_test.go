package loadclient

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
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

func TestEventsReadsFramesAnswersPingsAndSeesTheClose(t *testing.T) {
	big := strings.Repeat("x", 70_000) // over the 64 KiB buffer and the 16-bit length
	mid := strings.Repeat("y", 300)    // a 16-bit length
	pong := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery != "type=lifecycle" {
			http.Error(w, "bad query "+r.URL.RawQuery, http.StatusBadRequest)
			return
		}
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		ws.SetPongHandler(func(p string) error { pong <- p; return nil })
		go func() {
			for {
				if _, _, err := ws.NextReader(); err != nil {
					return
				}
			}
		}()
		for _, m := range []string{"a", mid, big} {
			ws.WriteMessage(websocket.TextMessage, []byte(m))
		}
		ws.WriteControl(websocket.PingMessage, []byte("hi"), time.Now().Add(time.Second))
		select {
		case <-pong:
		case <-time.After(10 * time.Second):
			return // the client sees no close frame, and fails
		}
		ws.WriteMessage(websocket.TextMessage, []byte("after the pong"))
		ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(1001, "bye"), time.Now().Add(time.Second))
		time.Sleep(100 * time.Millisecond)
	}))
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()

	if _, err := DialEvents("tcp", addr, "/events?type=other"); err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("dial with a refused query: %v, want the 400 answer", err)
	}
	e, err := DialEvents("tcp", addr, "/events?type=lifecycle")
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for i, want := range []string{"a", mid, big, "after the pong"} {
		p, err := e.Next()
		if err != nil || string(p) != want {
			t.Fatalf("frame %d: %d bytes, %v; want %d bytes", i, len(p), err, len(want))
		}
	}
	_, err = e.Next()
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Code != 1001 || ce.Reason != "bye" || !errors.Is(err, ErrClosed) {
		t.Errorf("after the last frame: %v, want the close frame 1001 bye", err)
	}
}
