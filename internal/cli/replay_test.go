package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/eventsim/eventsim/internal/lxdcapture"
	"github.com/eventsim/eventsim/scenarios"
)

// captureRecording writes the real LXD 5.0.2 capture as a recording, each
// event arriving at its timestamp's offset from the first.
func captureRecording(t *testing.T) (string, [][]byte) {
	t.Helper()
	lines := lxdcapture.Lines()
	var t0 time.Time
	buf := scenarios.AppendRecordingHeader(nil, scenarios.RecordingHeader{Kind: "lxd", Target: "unix:///tmp/reallxd/unix.socket",
		Server: "lxd", ServerVersion: "5.0.2", Flavor: "lxd-5.0", Started: time.Date(2026, 11, 21, 5, 26, 48, 0, time.UTC), EventsimVersion: "test"})
	var last time.Duration
	for i, l := range lines {
		var ev struct {
			Timestamp time.Time `json:"timestamp"`
		}
		if err := json.Unmarshal(l, &ev); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			t0 = ev.Timestamp
		}
		// Arrival offsets never go back, even where timestamps do.
		last = max(last, ev.Timestamp.Sub(t0))
		buf = scenarios.AppendRecordedEvent(buf, last, l)
	}
	file := filepath.Join(t.TempDir(), "capture.recording")
	if err := os.WriteFile(file, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	return file, lines
}

// dialEvents opens /1.0/events on the LXD unix socket sock; the test's
// cleanup closes it.
func dialEvents(t *testing.T, sock string) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{NetDialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var nd net.Dialer
		return nd.DialContext(ctx, "unix", sock)
	}}
	ws, _, err := d.Dial("ws://unix.socket/1.0/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

// comparable drops what a replay changes on purpose: the timestamp and the
// operation times, restamped on the replay's clock.
func comparable(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	delete(m, "timestamp")
	if md, ok := m["metadata"].(map[string]any); ok && m["type"] == "operation" {
		delete(md, "created_at")
		delete(md, "updated_at")
	}
	return m
}

// TestReplayReachesLXCMonitor: a recording (the real daemon's capture)
// played by the fake as a scenario reaches a WebSocket client with the same
// events in the same order, and the real `lxc monitor --format json` with the
// same events in the same order but for events of one burst, which lxc
// itself may swap (its client hands each event to the printer on a
// goroutine of its own).
func TestReplayReachesLXCMonitor(t *testing.T) {
	lxc, err := exec.LookPath("lxc")
	if err != nil {
		t.Fatalf("lxc is not on PATH (apt-get install -y lxd-client): %v", err)
	}
	const speed = 10
	file, want := captureRecording(t)
	srv, sock := idleSim(t, speed)

	cmd := exec.Command(lxc, "monitor", "--format", "json")
	cmd.Env = append(os.Environ(), "LXD_SOCKET="+sock, "LXD_DIR="+t.TempDir(), "LXD_CONF="+t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	fromLXC := make(chan []byte, 1024)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if b := bytes.TrimSpace(sc.Bytes()); len(b) > 0 {
				fromLXC <- bytes.Clone(b)
			}
		}
	}()
	ws := dialEvents(t, sock)
	for deadline := time.Now().Add(10 * time.Second); srv.LXD().Stats().Connections < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("lxc monitor did not connect: %s", stderr.String())
		}
	}
	scen, err := scenarios.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Run(scen); err != nil {
		t.Fatal(err)
	}
	// On the wire: every event, in the recording's order.
	_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	sentAt := make([]time.Time, len(want)) // when the fake sent each, as our client saw it
	for i, w := range want {
		_, g, err := ws.ReadMessage()
		sentAt[i] = time.Now()
		if err != nil {
			t.Fatalf("websocket: %d of %d events: %v", i, len(want), err)
		}
		if a, b := comparable(t, g), comparable(t, w); !reflect.DeepEqual(a, b) {
			t.Fatalf("websocket event %d differs:\n got %s\nwant %s", i, g, w)
		}
	}
	// Through lxc monitor: every event, each burst in place.
	index := map[string][]int{}
	for i, w := range want {
		k := key(t, w)
		index[k] = append(index[k], i)
	}
	type seen struct {
		i int
	}
	var got []seen
	timeout := time.After(30 * time.Second)
	for len(got) < len(want) {
		select {
		case g := <-fromLXC:
			k := key(t, g)
			if len(index[k]) == 0 {
				t.Fatalf("lxc monitor printed an event the recording does not hold (or once too often):\n%s", g)
			}
			got = append(got, seen{index[k][0]})
			index[k] = index[k][1:]
		case <-timeout:
			t.Fatalf("lxc monitor printed %d of %d events in 30s: %s", len(got), len(want), stderr.String())
		}
	}
	// lxc's client hands each event to its printer on a goroutine of its
	// own, so a burst may come out shuffled (by up to ~170ms on a machine
	// with a load of 35); events sent a second apart never are.
	const tolerance = time.Second
	swapped, widest := 0, time.Duration(0)
	for i := 1; i < len(got); i++ {
		for j := 0; j < i; j++ {
			if got[j].i > got[i].i {
				swapped++
				gap := sentAt[got[j].i].Sub(sentAt[got[i].i]).Abs()
				widest = max(widest, gap)
				if gap > tolerance {
					t.Errorf("lxc monitor printed event %d after event %d, sent %s apart", got[i].i, got[j].i, gap)
				}
			}
		}
	}
	t.Logf("lxc monitor printed all %d events; %d pairs swapped by lxc, sent at most %s apart", len(want), swapped, widest)
}

func key(t *testing.T, raw []byte) string {
	t.Helper()
	b, _ := json.Marshal(comparable(t, raw))
	return string(b)
}
