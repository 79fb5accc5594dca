package cli_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestServeStopsBehindSchedule: a player that cannot keep up (lxd-steady at
// speed 1,000) still ends serve within a second of SIGTERM or SIGINT.
func TestServeStopsBehindSchedule(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			s := startServe(t, "--scenario", "lxd-steady", "--speed", "1000")
			time.Sleep(500 * time.Millisecond) // well behind by now
			start := time.Now()
			if err := s.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			select {
			case <-s.exited:
				t.Logf("exited %s after the signal", time.Since(start).Round(time.Millisecond))
			case <-time.After(time.Second):
				t.Fatalf("serve did not exit within 1s of %s", sig)
			}
			if s.exitCode != 0 {
				t.Errorf("exit code %d, want 0\n%s", s.exitCode, s.stderr.String())
			}
		})
	}
}

// TestServeStallKeepsEveryClient: after serve is stopped for 2.5 s
// (SIGSTOP, then SIGCONT, as a suspended laptop or a busy machine stops it)
// at 1,000 events a second, its backlog of 2,500 events (more than a
// client's queue of 1,024 and its socket's buffer) reaches all 20 healthy
// clients, each getting every event in order from the one it connected at,
// and none is evicted.
func TestServeStallKeepsEveryClient(t *testing.T) {
	const clients = 20
	scen := filepath.Join(t.TempDir(), "ticks.yaml")
	if err := os.WriteFile(scen, []byte(`name: ticks
description: one event a millisecond
api: lxd
lxd:
  logging: false
steps:
  - repeat: forever
    steps:
      - emit:
          lxd: {type: lifecycle, metadata: {action: instance-started, source: /1.0/instances/c1, context: {}}}
      - wait: 1ms
`), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, "--scenario", scen, "--speed", "1")
	type stream struct {
		mu    sync.Mutex
		n     int
		last  time.Time
		gaps  int // consecutive events not about 1 ms apart
		close error
	}
	// The clients use the unix socket, whose buffers, unlike loopback
	// TCP's, are not tuned up to megabytes: a burst reaches the queues.
	dialer := &websocket.Dialer{NetDialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var nd net.Dialer
		return nd.DialContext(ctx, "unix", s.socket)
	}}
	streams := make([]*stream, clients)
	var wg sync.WaitGroup
	for i := range streams {
		c, _, err := dialer.Dial("ws://unix.socket/1.0/events", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		st := &stream{}
		streams[i] = st
		wg.Go(func() {
			for {
				_, b, err := c.ReadMessage()
				if err != nil {
					st.mu.Lock()
					st.close = err
					st.mu.Unlock()
					return
				}
				// {"type":"lifecycle","timestamp":"…", cheaper than a regexp
				ts, _, _ := bytes.Cut(bytes.TrimPrefix(b, []byte(`{"type":"lifecycle","timestamp":"`)), []byte(`"`))
				at, err := time.Parse(time.RFC3339Nano, string(ts))
				if err != nil {
					t.Errorf("frame %q: %v", b, err)
				}
				st.mu.Lock()
				if d := at.Sub(st.last); !st.last.IsZero() && (d <= 0 || d >= 2*time.Millisecond) {
					st.gaps++
				}
				st.n++
				st.last = at
				st.mu.Unlock()
			}
		})
	}
	defer func() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		<-s.exited
		wg.Wait()
	}()
	waitClients(t, s.lxdURL, s.control, clients)
	time.Sleep(200 * time.Millisecond)
	if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond)
	if err := s.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	// Each client must get the 2.5 s it missed, and 1.5 s more.
	resumed := time.Now()
	counts := make([]int, clients)
	for i, st := range streams {
		st.mu.Lock()
		counts[i] = st.n
		st.mu.Unlock()
	}
	deadline := time.Now().Add(30 * time.Second)
	for i, st := range streams {
		for {
			st.mu.Lock()
			n, closeErr := st.n, st.close
			st.mu.Unlock()
			if closeErr != nil {
				t.Fatalf("client %d closed after the stall, with %d events: %v\nserve's log:\n%s", i, n, closeErr, s.stderr.String())
			}
			if n >= counts[i]+4000 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("client %d got %d events in %s after the stall, want 4,000", i, n-counts[i], time.Since(resumed))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	t.Logf("every client had its 4,000 events %s after the stall", time.Since(resumed).Round(time.Millisecond))
	for i, st := range streams {
		st.mu.Lock()
		if st.gaps != 0 {
			t.Errorf("client %d: %d gaps or reversals among %d events", i, st.gaps, st.n)
		}
		st.mu.Unlock()
	}
}
