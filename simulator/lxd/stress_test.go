package lxd

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/eventsim/eventsim/schemas"
)

// TestConnectDisconnectCycles opens and closes 10,000 event connections,
// half with a close frame and half by dropping TCP, and checks that
// goroutines and heap come back to where they were.
func TestConnectDisconnectCycles(t *testing.T) {
	s := NewServer(t, Options{Projects: []string{"p1"}})
	const cycles, workers = 10000, 8
	cycle := func(i int) {
		c, _, err := websocket.DefaultDialer.Dial(wsURL(s, []string{"", "type=lifecycle", "project=p1", "all-projects=true"}[i%4]), nil)
		if err != nil {
			t.Errorf("cycle %d: %v", i, err)
			return
		}
		if i%2 == 0 {
			c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			c.ReadMessage() // the server's answering close frame
		}
		c.Close()
	}
	// Warm up pools and the runtime, then measure.
	for i := range 200 {
		cycle(i)
	}
	waitFor(t, func() bool { return s.Stats().Clients == 0 }, "warm-up clients to go")
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	base := runtime.NumGoroutine()

	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < cycles; i += workers {
				cycle(i)
				if t.Failed() {
					return
				}
			}
		})
	}
	wg.Wait()
	waitFor(t, func() bool { return s.Stats().Clients == 0 }, "clients to go")
	goroutinesSettle(t, base)
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	growth := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d cycles: heap %d -> %d bytes, goroutines %d -> %d, stats %+v", cycles, before.HeapAlloc, after.HeapAlloc, base, runtime.NumGoroutine(), s.Stats())
	if growth > 4<<20 {
		t.Errorf("heap grew by %d bytes over %d cycles", growth, cycles)
	}
	if st := s.Stats(); st.Connections < cycles {
		t.Errorf("connections %d", st.Connections)
	}
}

// FuzzEventsQuery feeds /1.0/events any query: the server must answer every
// one it refuses with a valid LXD error envelope, and never panic.
func FuzzEventsQuery(f *testing.F) {
	for _, q := range []string{"", "type=lifecycle", "type=logging%2Coperation", "project=p1", "all-projects=YES",
		"project=x&all-projects=1", "type=bogus", "type=,", "project=%00", "all-projects=on&type=ovn", "%zz", "type=logging&type=bogus"} {
		f.Add(q)
	}
	s := NewServer(f, Options{Addr: "-", Projects: []string{"p1"}})
	f.Fuzz(func(t *testing.T, q string) {
		r := httptest.NewRequest("GET", "/1.0/events", nil)
		r.URL.RawQuery = q
		if _, err := url.ParseQuery(q); err != nil && len(q) > 2000 {
			return
		}
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, r)
		switch w.Code {
		case http.StatusBadRequest, http.StatusNotFound:
		default:
			t.Fatalf("query %q: status %d", q, w.Code)
		}
		if err := schemas.Validate(schemas.LXDErrorResponse, w.Body.Bytes()); err != nil {
			t.Fatalf("query %q: %v: %s", q, err, w.Body)
		}
	})
}
