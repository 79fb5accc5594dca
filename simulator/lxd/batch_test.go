package lxd

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/eventsim/eventsim/events"
)

// TestClientWantOfABatch: a client takes from a batch exactly the events
// its filters let through, in the batch's order, sharing the batch when it
// wants all of it.
func TestClientWantOfABatch(t *testing.T) {
	ev := func(typ, project string) *event {
		return &event{frame: []byte(typ + "@" + project), typ: typ, project: project}
	}
	ctl := &event{all: true, ctl: closeGoingAway}
	batch := []*event{ev("logging", ""), ev("lifecycle", "default"), ev("operation", "p1"), ctl, ev("lifecycle", "p1"), ev("operation", "default")}
	frames := len(batch) - 1
	tests := []struct {
		name   string
		c      *client
		want   []*event
		shared bool
	}{
		{"everything", &client{allProjects: true}, batch, true},
		{"default project", &client{project: "default"}, []*event{batch[0], batch[1], ctl, batch[5]}, false},
		{"lifecycle in p1", &client{project: "p1", types: []string{"lifecycle"}}, []*event{ctl, batch[4]}, false},
		{"nothing but the fault", &client{project: "p2", types: []string{"lifecycle"}}, []*event{ctl}, false},
		{"a prefix", &client{project: "default", types: []string{"logging", "lifecycle"}}, []*event{batch[0], batch[1], ctl}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, n, nf := tt.c.want(batch, frames)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", names(got), names(tt.want))
			}
			if n != len(tt.want) || nf != len(tt.want)-1 {
				t.Errorf("n %d nf %d, want %d and %d", n, nf, len(tt.want), len(tt.want)-1)
			}
			if shared := len(got) > 0 && &got[0] == &batch[0]; shared != tt.shared && len(got) == len(batch) {
				t.Errorf("shares the batch: %v, want %v", shared, tt.shared)
			}
		})
	}
	c := &client{project: "p2", types: []string{"logging"}}
	if got, n, nf := c.want(batch[1:3], 2); len(got) != 0 || n != 0 || nf != 0 {
		t.Errorf("a batch of nothing wanted: %v %d %d", names(got), n, nf)
	}
}

func names(evs []*event) []string {
	var out []string
	for _, ev := range evs {
		if ev.ctl != 0 {
			out = append(out, fmt.Sprintf("ctl %d", ev.ctl))
			continue
		}
		out = append(out, string(ev.frame))
	}
	return out
}

// TestRESTAndPlayedEventsOneOrder: while records are delivered, REST
// requests make their event groups; every listener gets the one stream
// order (two unfiltered listeners get the same frames, a filtered one the
// same frames less those it filters out), the played records in their
// order, and each operation's events in its order (Pending, Running,
// Success).
func TestRESTAndPlayedEventsOneOrder(t *testing.T) {
	s := NewServer(t, Options{QueueSize: 1 << 16})
	queries := []string{"", "project=default", "all-projects=true", "type=lifecycle", "type=operation"}
	conns := make([]*websocket.Conn, len(queries))
	for i, q := range queries {
		conns[i] = dial(t, s, q)
	}
	const played, workers, cycles = 1000, 4, 10
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range played {
			if err := s.Deliver(t.Context(), seqRecord(i, "logging", "")); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for w := range workers {
		wg.Go(func() {
			for i := range cycles {
				name := fmt.Sprintf("w%d-c%d", w, i)
				for _, step := range []struct{ method, path, body string }{
					{"POST", "/1.0/instances", `{"name":"` + name + `","source":{"type":"none"}}`},
					{"PUT", "/1.0/instances/" + name + "/state", `{"action":"start"}`},
					{"PUT", "/1.0/instances/" + name + "/state", `{"action":"stop","force":true}`},
					{"DELETE", "/1.0/instances/" + name, ""},
				} {
					req, err := http.NewRequestWithContext(t.Context(), step.method, s.URL()+step.path, strings.NewReader(step.body))
					if err != nil {
						t.Error(err)
						return
					}
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusAccepted {
						t.Errorf("%s %s: %d", step.method, step.path, resp.StatusCode)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	st := s.Stats()
	total := int(st.Records + st.Emitted)
	all := readFrames(t, conns[0], total)
	typeOf := func(f string) string {
		var e struct{ Type string }
		if err := json.Unmarshal([]byte(f), &e); err != nil {
			t.Fatalf("frame %q: %v", f, err)
		}
		return e.Type
	}
	only := func(typ string) []string {
		var out []string
		for _, f := range all {
			if typeOf(f) == typ {
				out = append(out, f)
			}
		}
		return out
	}
	for i, want := range [][]string{all, all, all, only("lifecycle"), only("operation")} {
		if i == 0 {
			continue
		}
		if got := readFrames(t, conns[i], len(want)); !slices.Equal(got, want) {
			t.Errorf("?%s: its %d frames are not the stream's %d in their order", queries[i], len(got), len(want))
		}
	}
	next, status := 0, map[string]int{}
	for _, f := range all {
		switch typeOf(f) {
		case "logging":
			if n := seqOf(t, f); n != next {
				t.Fatalf("played record %d where %d was due", n, next)
			}
			next++
		case "operation":
			var e struct {
				Metadata struct {
					ID         string `json:"id"`
					StatusCode int    `json:"status_code"`
				}
			}
			json.Unmarshal([]byte(f), &e)
			step := map[int]int{events.OpPending: 1, events.OpRunning: 2, events.OpSuccess: 3}[e.Metadata.StatusCode]
			if prev := status[e.Metadata.ID]; step != prev+1 {
				t.Errorf("operation %s: status %d at step %d", e.Metadata.ID, e.Metadata.StatusCode, prev+1)
			}
			status[e.Metadata.ID] = step
		}
	}
	if next != played || len(status) != workers*cycles*4 {
		t.Errorf("%d played records and %d operations, want %d and %d", next, len(status), played, workers*cycles*4)
	}
}
