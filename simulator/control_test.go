package simulator_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/eventsim/eventsim/simulator"
)

// controlAt returns where the control API is mounted on one listener (the
// LXD server's TCP listener or unix socket, or the Linode server's) and the
// client to reach it.
func controlAt(srv *simulator.Server, listener string) (string, *http.Client) {
	switch listener {
	case "lxd-unix":
		return "http://unix.socket/eventsim/v1", controlClient(srv, unixClient(srv.LXD().SocketPath()))
	case "linode":
		return srv.Linode().URL() + "/eventsim/v1", controlClient(srv, http.DefaultClient)
	}
	return srv.LXD().URL() + "/eventsim/v1", controlClient(srv, http.DefaultClient)
}

// controlClient is c sending what a control request needs: the control
// token, and a body's type (YAML for run, JSON otherwise).
func controlClient(srv *simulator.Server, c *http.Client) *http.Client {
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+srv.ControlToken())
		if r.ContentLength != 0 && r.Header.Get("Content-Type") == "" {
			r.Header.Set("Content-Type", "application/json")
			if strings.HasSuffix(r.URL.Path, "/run") {
				r.Header.Set("Content-Type", "application/yaml")
			}
		}
		return base.RoundTrip(r)
	})}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestControlAPI(t *testing.T) {
	for _, listener := range []string{"lxd-tcp", "lxd-unix", "linode"} {
		t.Run(listener, func(t *testing.T) {
			srv := startSim(t, quietScenario, simulator.Options{Speed: 0})
			base, c := controlAt(srv, listener)
			ws := wsDial(t, srv, "")

			code, st := call(t, c, "GET", base+"/stats", "")
			if code != 200 || st["scenario"] != "quiet" || st["lxd"].(map[string]any)["clients"] != 1.0 {
				t.Errorf("stats: %d %v", code, st)
			}

			// Run by name, then by YAML body.
			code, m := call(t, c, "POST", base+"/run?scenario=lxd-projects", "")
			if code != 202 || m["scenario"] != "lxd-projects" {
				t.Errorf("run by name: %d %v", code, m)
			}
			code, m = call(t, c, "POST", base+"/run", strings.Replace(quietScenario, "name: quiet", "name: quiet-body", 1))
			if code != 202 || m["scenario"] != "quiet-body" {
				t.Errorf("run by body: %d %v", code, m)
			}
			if _, st = call(t, c, "GET", base+"/stats", ""); st["scenario"] != "quiet-body" {
				t.Errorf("stats after run: %v", st["scenario"])
			}
			// Drain what lxd-projects may have sent before it was replaced.
			ws.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			for {
				if _, _, err := ws.ReadMessage(); err != nil {
					break
				}
			}
			ws = wsDial(t, srv, "")

			// Emit one LXD event and one Linode event.
			code, m = call(t, c, "POST", base+"/emit?api=lxd", lxdEvent("profile-updated"))
			if code != 202 || m["api"] != "lxd" {
				t.Errorf("emit lxd: %d %v", code, m)
			}
			f := nextFrame(t, ws)
			var ev map[string]any
			if json.Unmarshal([]byte(f), &ev) != nil || ev["location"] != "none" || ev["timestamp"] == "" || !strings.Contains(f, "profile-updated") {
				t.Errorf("emitted frame: %s", f)
			}
			code, m = call(t, c, "POST", base+"/emit?api=linode", `{"id":4242,"action":"linode_boot","status":"finished","entity":{"id":1,"label":"a","type":"linode","url":"/v4/linode/instances/1"}}`)
			if code != 202 || m["api"] != "linode" {
				t.Errorf("emit linode: %d %v", code, m)
			}
			req, _ := http.NewRequest("GET", srv.Linode().URL()+"/v4/account/events", nil)
			req.Header.Set("Authorization", "Bearer "+srv.Linode().Token())
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var page struct{ Data []struct{ ID int } }
			json.NewDecoder(resp.Body).Decode(&page)
			resp.Body.Close()
			if !slices.ContainsFunc(page.Data, func(e struct{ ID int }) bool { return e.ID == 4242 }) {
				t.Errorf("the emitted Linode event is not listed: %+v", page.Data)
			}

			// A fault: the next event is sent twice.
			code, m = call(t, c, "POST", base+"/fault", `{"kind":"duplicate"}`)
			if code != 202 || m["kind"] != "duplicate" || m["api"] != "lxd" || m["count"] != 1.0 {
				t.Errorf("fault: %d %v", code, m)
			}
			call(t, c, "POST", base+"/emit?api=lxd", lxdEvent("profile-created"))
			if a, b := nextFrame(t, ws), nextFrame(t, ws); a != b || !strings.Contains(a, "profile-created") {
				t.Errorf("duplicate: %s then %s", a, b)
			}

			// Bad input: clear errors, and the server keeps serving.
			for _, tt := range []struct{ method, path, body, want string }{
				{"POST", "/run?scenario=nope", "", `scenario not found`},
				{"POST", "/run", "name: [", "request body"},
				{"POST", "/emit?api=bogus", "{}", `invalid api "bogus", must be lxd or linode`},
				{"POST", "/emit?api=lxd", "{", "event body: "},
				{"POST", "/emit?api=lxd", `{"type":"lifecycle"}`, "event body needs type and metadata"},
				{"POST", "/emit?api=lxd", `{"type":"lifecycle","metadata":null}`, "event body needs type and metadata"},
				{"POST", "/emit?api=lxd", `{"type":"lifecycle","metadata":"x"}`, "event body needs type and metadata"},
				{"POST", "/emit?api=linode", `{"id":0}`, "event body needs id, action and status"},
				{"POST", "/fault", `{"kind":"earthquake"}`, `unknown fault "earthquake", must be one of disconnect, drop, drop-connection, duplicate, http-error, latency, malformed, operation-error, pause, rate-limit, reorder, start-failure`},
				{"POST", "/fault", `{"kind":"pause","for":"soon"}`, `fault pause: for: invalid duration "soon", must be like 500ms or 2s`},
				{"POST", "/fault", `{"kind":"pause"}`, "fault pause: for: missing: a pause needs for: DURATION"},
				{"POST", "/fault", `{"kind":"drop","api":"linode"}`, `fault drop applies to lxd, got api "linode"`},
				{"POST", "/fault", `{"kind":"latency","delay":"1s","count":1}`, `fault latency needs api: lxd or linode`},
				{"POST", "/fault", `{"kind":"latency","api":"aws","delay":"1s","count":1}`, `fault latency applies to lxd or linode, got api "aws"`},
				{"POST", "/fault", `{"kind":"drop","cuont":2}`, `fault body: json: unknown field "cuont"`},
				{"POST", "/fault", `{"kind":"drop","count":-3}`, `fault drop: count: must be from 0 to 1000000, got -3`},
				{"POST", "/fault", `{"kind":"pause","for":"1000000h"}`, `fault pause: for: must be from 0 to 24h0m0s, got 1000000h0m0s`},
				{"POST", "/fault", `not json`, "fault body: "},
				{"GET", "/nope", "", "no control route GET /eventsim/v1/nope"},
				{"DELETE", "/stats", "", "no control route DELETE /eventsim/v1/stats"},
			} {
				code, m := call(t, c, tt.method, base+tt.path, tt.body)
				msg, _ := m["error"].(string)
				if code < 400 || !strings.Contains(msg, tt.want) {
					t.Errorf("%s %s %q: %d %v, want an error containing %q", tt.method, tt.path, tt.body, code, m, tt.want)
				}
			}

			// Reset.
			code, m = call(t, c, "POST", base+"/reset", "")
			if code != 200 || m["status"] != "reset" {
				t.Errorf("reset: %d %v", code, m)
			}
			if code, st = call(t, c, "GET", base+"/stats", ""); code != 200 || st["scenario"] != "quiet-body" {
				t.Errorf("stats after reset: %d %v", code, st)
			}
		})
	}
}

// TestFaultsViaControl: each LXD fault, injected through the control API,
// acts on the stream of the composed server.
func TestFaultsViaControl(t *testing.T) {
	srv := startSim(t, quietScenario, simulator.Options{Speed: 0})
	base, ctl := controlAt(srv, "lxd-tcp")
	emit := func(action string) {
		t.Helper()
		if code, m := call(t, ctl, "POST", base+"/emit?api=lxd", lxdEvent(action)); code != 202 {
			t.Fatalf("emit: %d %v", code, m)
		}
	}
	fault := func(body string) {
		t.Helper()
		if code, m := call(t, ctl, "POST", base+"/fault", body); code != 202 {
			t.Fatalf("fault %s: %d %v", body, code, m)
		}
	}
	actionOf := func(f string) string {
		var ev struct{ Metadata struct{ Action string } }
		if err := json.Unmarshal([]byte(f), &ev); err != nil {
			return "not JSON"
		}
		return ev.Metadata.Action
	}

	t.Run("drop", func(t *testing.T) {
		c := wsDial(t, srv, "")
		fault(`{"kind":"drop","count":2}`)
		emit("a-one")
		emit("a-two")
		emit("a-three")
		if a := actionOf(nextFrame(t, c)); a != "a-three" {
			t.Errorf("after dropping two: %s", a)
		}
	})
	t.Run("reorder", func(t *testing.T) {
		c := wsDial(t, srv, "")
		fault(`{"kind":"reorder","count":3}`)
		emit("b-one")
		emit("b-two")
		emit("b-three")
		got := []string{actionOf(nextFrame(t, c)), actionOf(nextFrame(t, c)), actionOf(nextFrame(t, c))}
		if want := []string{"b-three", "b-two", "b-one"}; !slices.Equal(got, want) {
			t.Errorf("reordered %v, want %v", got, want)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		c := wsDial(t, srv, "type=operation")
		fault(`{"kind":"malformed"}`)
		if f := nextFrame(t, c); json.Valid([]byte(f)) {
			t.Errorf("malformed frame is JSON: %s", f)
		}
	})
	t.Run("pause", func(t *testing.T) {
		c := wsDial(t, srv, "")
		fault(`{"kind":"pause","for":"400ms"}`)
		start := time.Now()
		emit("c-one")
		emit("c-two")
		if a, b := actionOf(nextFrame(t, c)), actionOf(nextFrame(t, c)); a != "c-one" || b != "c-two" {
			t.Errorf("after the pause: %s %s", a, b)
		}
		if d := time.Since(start); d < 300*time.Millisecond {
			t.Errorf("events came %s after a 400ms pause began", d)
		}
	})
	t.Run("latency", func(t *testing.T) {
		c := wsDial(t, srv, "")
		fault(`{"kind":"latency","api":"lxd","delay":"300ms","count":1}`)
		start := time.Now()
		emit("e-one")
		if a := actionOf(nextFrame(t, c)); a != "e-one" {
			t.Errorf("after latency: %s", a)
		}
		if d := time.Since(start); d < 250*time.Millisecond {
			t.Errorf("a 300ms-late event came after %s", d)
		}
	})
	t.Run("disconnect", func(t *testing.T) {
		c := wsDial(t, srv, "")
		u := wsDialUnix(t, srv)
		fault(`{"kind":"disconnect","code":4000}`)
		for name, conn := range map[string]*websocket.Conn{"tcp": c, "unix": u} {
			if code, text := closeOf(t, conn); code != 4000 || text != "eventsim fault: disconnect" {
				t.Errorf("%s: close %d %q", name, code, text)
			}
		}
		// New clients connect and get events again.
		c2 := wsDial(t, srv, "")
		emit("d-one")
		if a := actionOf(nextFrame(t, c2)); a != "d-one" {
			t.Errorf("after the disconnect: %s", a)
		}
	})
	if st := srv.Stats(); st.LXD.Faults != 6 || st.LXD.Dropped != 2 {
		t.Errorf("stats: faults %d dropped %d, want 6 and 2", st.LXD.Faults, st.LXD.Dropped)
	}
}
