package lxd

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/internal/realdaemon"
)

// opRequests are requests on operations recorded from the real daemons, in
// order; {op} is the operation of the first request (then ended), {last}
// the last operation a request made.
var opRequests = []struct{ name, method, path, body string }{
	{"create empty", "POST", "/1.0/instances", `{"name":"c1","source":{"type":"none"}}`},
	{"get an ended operation", "GET", "/1.0/operations/{op}", ``},
	{"wait on an ended operation", "GET", "/1.0/operations/{op}/wait?timeout=1", ``},
	{"cancel an ended operation", "DELETE", "/1.0/operations/{op}", ``},
	{"cancel an unknown operation", "DELETE", "/1.0/operations/0f5e2ab5-7d4e-4a43-8d8b-8bd2d2f8e1aa", ``},
	{"get an unknown operation", "GET", "/1.0/operations/0f5e2ab5-7d4e-4a43-8d8b-8bd2d2f8e1aa", ``},
	{"wait on an unknown operation", "GET", "/1.0/operations/0f5e2ab5-7d4e-4a43-8d8b-8bd2d2f8e1aa/wait?timeout=1", ``},
	{"create existing name", "POST", "/1.0/instances", `{"name":"c1","source":{"type":"none"}}`},
	{"wait on a failed operation", "GET", "/1.0/operations/{last}/wait?timeout=1", ``},
	{"get a failed operation", "GET", "/1.0/operations/{last}", ``},
	{"delete", "DELETE", "/1.0/instances/c1", ``},
}

// opAnswers sends opRequests with do, waiting for each operation, and
// returns the answers: status, envelope, error, and for an operation (made
// or read) its status and err.
func opAnswers(t *testing.T, do func(method, path, body string) (int, []byte)) []realAnswer {
	t.Helper()
	var out []realAnswer
	op, last := "", ""
	for _, rq := range opRequests {
		a := realAnswer{Name: rq.name, Method: rq.method, Path: rq.path, Body: rq.body}
		code, body := do(rq.method, strings.NewReplacer("{op}", op, "{last}", last).Replace(rq.path), rq.body)
		var env struct {
			Type      string          `json:"type"`
			Error     string          `json:"error"`
			Operation string          `json:"operation"`
			Metadata  json.RawMessage `json:"metadata"`
		}
		if err := json.Unmarshal(body, &env); err != nil {
			t.Fatalf("%s: %v: %s", rq.name, err, body)
		}
		a.Status, a.Type, a.Error = code, env.Type, env.Error
		var md struct {
			ID     string `json:"id"`
			Status string `json:"status"`
			Err    string `json:"err"`
		}
		json.Unmarshal(env.Metadata, &md)
		if env.Type == "async" {
			_, wb := do("GET", env.Operation+"/wait?timeout=30", "")
			var w struct {
				Metadata struct {
					Status string `json:"status"`
					Err    string `json:"err"`
				} `json:"metadata"`
			}
			json.Unmarshal(wb, &w)
			a.OpStatus, a.OpErr = w.Metadata.Status, w.Metadata.Err
			if op == "" {
				op = md.ID
			}
			last = md.ID
		} else if md.ID != "" {
			a.OpStatus, a.OpErr = md.Status, md.Err
		}
		out = append(out, a)
	}
	return out
}

// TestRecordRealOperationAnswers records what real LXD 5.0.2 and Incus 6.0
// answer to opRequests into testdata/real-operations-KIND.json. It runs
// only with EVENTSIM_RECORD=1.
func TestRecordRealOperationAnswers(t *testing.T) {
	if os.Getenv("EVENTSIM_RECORD") == "" {
		t.Skip("set EVENTSIM_RECORD=1 to record the real daemons' answers")
	}
	recordRealDaemons(t, "operations", func(t *testing.T, d *realdaemon.Daemon) any {
		return opAnswers(t, func(method, path, body string) (int, []byte) { return d.Request(t, method, path, body) })
	})
}

// TestOperationAnswersMatchRealDaemons holds the fake's answers to
// opRequests, at speed 0 and at speed 10, to what real LXD 5.0.2 (and, for
// --flavor incus, Incus 6.0) answered.
func TestOperationAnswersMatchRealDaemons(t *testing.T) {
	for _, tc := range []struct {
		kind   string
		flavor catalog.Flavor
	}{{"lxd", catalog.LXD50}, {"incus", catalog.Incus}} {
		for _, speed := range []float64{0, 10} {
			t.Run(fmt.Sprintf("%s/speed-%g", tc.kind, speed), func(t *testing.T) {
				want := readRecording[realAnswer](t, "operations", tc.kind)
				s := NewServer(t, Options{Flavor: tc.flavor, Speed: speed})
				hc := &http.Client{Timeout: 10 * time.Second}
				got := opAnswers(t, func(method, path, body string) (int, []byte) {
					req, _ := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
					if body != "" {
						req.Header.Set("Content-Type", "application/json")
					}
					resp, err := hc.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					defer resp.Body.Close()
					b, _ := io.ReadAll(resp.Body)
					return resp.StatusCode, b
				})
				for i := range want {
					gj, _ := json.Marshal(got[i])
					wj, _ := json.Marshal(want[i])
					if string(gj) != string(wj) {
						t.Errorf("speed %g: %s:\n got %s\nwant %s", speed, want[i].Name, gj, wj)
					}
				}
			})
		}
	}
}
