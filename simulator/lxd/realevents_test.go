package lxd

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/internal/realdaemon"
)

// testCertDER is a client certificate (base64 DER, a throwaway key) for the
// certificate requests; its SHA-256 fingerprint is testCertFingerprint.
const (
	testCertDER         = "MIIBhjCCAS2gAwIBAgIUa3W+12vF+6EoimWV3vTp32h1RGEwCgYIKoZIzj0EAwIwGDEWMBQGA1UEAwwNZXZlbnRzaW0tdGVzdDAgFw0yNjEyMDIxNDMzNTJaGA8yMTI2MTEwODE0MzM1MlowGDEWMBQGA1UEAwwNZXZlbnRzaW0tdGVzdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABIaJMykskxzebMv2HJ/EAbdpc9O1plMPLK2BGdklRPI4CfFzMoIfGUahbqD0PLJ7DNFnNIu4zNlG4MPOFla4pp6jUzBRMB0GA1UdDgQWBBSO4hl4x27GeQzxyVlpethpw+4vjjAfBgNVHSMEGDAWgBSO4hl4x27GeQzxyVlpethpw+4vjjAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0cAMEQCID90FWzVT4n74rUlBHFZhtleBNT4ik842cmNeCzr22WQAiA8PLoK9BJk190NbNeoHCcr1t6R51qH32trPBDrt+aaiQ=="
	testCertFingerprint = "8653866b11fccdeb6894d11b0726e00c0ff9cee2ec839592281cd34608fc48ae"
)

// eventRequests are the requests whose events were recorded from the real
// daemons (TestRecordRealEvents), in order; each one's events are what an
// all-projects listener received between it and the next.
var eventRequests = []struct{ name, method, path, body string }{
	{"instance create", "POST", "/1.0/instances", `{"name":"c1","source":{"type":"none"}}`},
	{"instance snapshot", "POST", "/1.0/instances/c1/snapshots", `{"name":"s0"}`},
	{"instance restore", "PUT", "/1.0/instances/c1", `{"restore":"s0"}`},
	{"instance restore long name", "PUT", "/1.0/instances/c1", `{"restore":"c1/s0"}`},
	{"instance backup create", "POST", "/1.0/instances/c1/backups", `{"name":"b0"}`},
	{"instance backup rename", "POST", "/1.0/instances/c1/backups/b0", `{"name":"b1"}`},
	{"instance backup delete", "DELETE", "/1.0/instances/c1/backups/b1", ``},
	{"instance backup delete unknown", "DELETE", "/1.0/instances/c1/backups/b1", ``},
	{"instance delete", "DELETE", "/1.0/instances/c1", ``},
	{"volume create", "POST", "/1.0/storage-pools/default/volumes/custom", `{"name":"vol1"}`},
	{"volume snapshot", "POST", "/1.0/storage-pools/default/volumes/custom/vol1/snapshots", `{"name":"s0"}`},
	{"volume restore", "PUT", "/1.0/storage-pools/default/volumes/custom/vol1", `{"restore":"s0"}`},
	{"volume backup create", "POST", "/1.0/storage-pools/default/volumes/custom/vol1/backups", `{"name":"vb0"}`},
	{"volume backup delete", "DELETE", "/1.0/storage-pools/default/volumes/custom/vol1/backups/vb0", ``},
	{"volume delete", "DELETE", "/1.0/storage-pools/default/volumes/custom/vol1", ``},
	{"acl create", "POST", "/1.0/network-acls", `{"name":"acl1","description":"web"}`},
	{"acl update", "PUT", "/1.0/network-acls/acl1", `{"description":"web2","ingress":[],"egress":[],"config":{}}`},
	{"acl patch", "PATCH", "/1.0/network-acls/acl1", `{"description":"web3"}`},
	{"acl rename", "POST", "/1.0/network-acls/acl1", `{"name":"acl2"}`},
	{"acl create existing", "POST", "/1.0/network-acls", `{"name":"acl2"}`},
	{"acl create invalid name", "POST", "/1.0/network-acls", `{"name":"bad name"}`},
	{"acl rename onto existing", "POST", "/1.0/network-acls/acl2", `{"name":"acl2"}`},
	{"acl delete", "DELETE", "/1.0/network-acls/acl2", ``},
	{"acl delete unknown", "DELETE", "/1.0/network-acls/nope", ``},
	{"zone create", "POST", "/1.0/network-zones", `{"name":"z1.example","description":"zone"}`},
	{"zone update", "PUT", "/1.0/network-zones/z1.example", `{"description":"zone2","config":{}}`},
	{"zone record create", "POST", "/1.0/network-zones/z1.example/records", `{"name":"www","entries":[{"type":"A","value":"192.0.2.1"}]}`},
	{"zone record delete", "DELETE", "/1.0/network-zones/z1.example/records/www", ``},
	{"zone create existing", "POST", "/1.0/network-zones", `{"name":"z1.example"}`},
	{"zone delete", "DELETE", "/1.0/network-zones/z1.example", ``},
	{"zone delete unknown", "DELETE", "/1.0/network-zones/nope.example", ``},
	{"network create", "POST", "/1.0/networks", `{"name":"br9","type":"bridge","config":{"ipv4.address":"10.99.0.1/24","ipv4.nat":"false","ipv6.address":"none"}}`},
	{"forward create", "POST", "/1.0/networks/br9/forwards", `{"listen_address":"192.0.2.10","description":"fw"}`},
	{"forward update", "PUT", "/1.0/networks/br9/forwards/192.0.2.10", `{"description":"fw2","config":{},"ports":[]}`},
	{"forward create existing", "POST", "/1.0/networks/br9/forwards", `{"listen_address":"192.0.2.10"}`},
	{"forward delete", "DELETE", "/1.0/networks/br9/forwards/192.0.2.10", ``},
	{"forward delete unknown", "DELETE", "/1.0/networks/br9/forwards/192.0.2.11", ``},
	{"network delete", "DELETE", "/1.0/networks/br9", ``},
	{"certificate add", "POST", "/1.0/certificates", `{"type":"client","name":"ci","certificate":"` + testCertDER + `"}`},
	{"certificate add existing", "POST", "/1.0/certificates", `{"type":"client","name":"ci","certificate":"` + testCertDER + `"}`},
	{"certificate delete", "DELETE", "/1.0/certificates/" + testCertFingerprint, ``},
	{"certificate delete unknown", "DELETE", "/1.0/certificates/" + testCertFingerprint, ``},
}

// realEvents is one request of eventRequests, its answer and the operation
// and lifecycle events it caused, keyed as capEvent.key does (without ids
// and times).
type realEvents struct {
	realAnswer
	Events []string `json:"events"`
}

// requestEvents sends each of eventRequests to a daemon at sock, waits for
// its operation, and collects the events an all-projects listener opened
// before them received for it. expect, when not nil, is the
// recording the answers will be held to: for request i the listener waits
// (up to a generous deadline) for as many events as the recording has
// before it looks for a quiet stream, so that a loaded machine cannot move
// a slow request's events to the next request. registered, when not nil,
// tells when the server has taken the listener in.
func requestEvents(t *testing.T, sock string, expect []realEvents, registered func() bool) []realEvents {
	t.Helper()
	hc := &http.Client{Timeout: time.Minute, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	do := func(method, path, body string) (int, []byte) {
		req, err := http.NewRequest(method, "http://unix.socket"+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	frames, stop := unixFrames(t, sock, "all-projects=true&type=operation,lifecycle", 1024, registered)
	defer stop()
	// drain collects what arrives until the stream is quiet.
	drain := func(want int) []string {
		var out []string
		deadline := time.After(20 * time.Second)
		for len(out) < want {
			select {
			case b, ok := <-frames:
				if !ok {
					return out
				}
				out = append(out, groupKey(t, b))
			case <-deadline:
				return out
			}
		}
		for {
			select {
			case b, ok := <-frames:
				if !ok {
					return out
				}
				out = append(out, groupKey(t, b))
			case <-time.After(300 * time.Millisecond):
				return out
			}
		}
	}
	var out []realEvents
	for i, rq := range eventRequests {
		a := exchange(t, do, realAnswer{Name: rq.name, Method: rq.method, Path: rq.path, Body: rq.body}, true)
		want := 0
		if i < len(expect) {
			want = len(expect[i].Events)
		}
		out = append(out, realEvents{realAnswer: a, Events: drain(want)})
	}
	return out
}

// TestRecordRealEvents records what real LXD 5.0.2 and Incus 6.0 answer and
// emit for eventRequests into testdata/real-events-KIND.json. It runs only
// with EVENTSIM_RECORD=1 (it changes the recordings the fake is held to).
func TestRecordRealEvents(t *testing.T) {
	if os.Getenv("EVENTSIM_RECORD") == "" {
		t.Skip("set EVENTSIM_RECORD=1 to record the real daemons' events")
	}
	recordRealDaemons(t, "events", func(t *testing.T, d *realdaemon.Daemon) any {
		out := requestEvents(t, d.Socket, nil, nil)
		for i := range out {
			out[i].Error, out[i].OpErr = scrubDir(out[i].Error, d.Dir), scrubDir(out[i].OpErr, d.Dir)
		}
		return out
	})
}

// TestRESTEventsMatchRealDaemons sends eventRequests to the fake of each
// flavour and holds its answers and events to the real daemon's recording,
// field for field except ids and times.
func TestRESTEventsMatchRealDaemons(t *testing.T) {
	for _, tc := range []struct {
		flavor catalog.Flavor
		kind   string
	}{{catalog.LXD50, "lxd"}, {catalog.Incus, "incus"}} {
		t.Run(string(tc.flavor), func(t *testing.T) {
			t.Parallel()
			want := readRecording[realEvents](t, "events", tc.kind)
			s := NewServer(t, Options{Flavor: tc.flavor, Socket: filepath.Join(t.TempDir(), "unix.socket"), Addr: "-"})
			got := requestEvents(t, s.SocketPath(), want, func() bool { return s.Stats().Clients > 0 })
			if len(got) != len(want) {
				t.Fatalf("%d requests recorded, %d sent", len(want), len(got))
			}
			for i := range want {
				w, g := want[i], got[i]
				if w.Status != g.Status || w.Type != g.Type || w.Error != g.Error || w.OpStatus != g.OpStatus || w.OpErr != g.OpErr {
					t.Errorf("%s: %s %s answered %d %s %q (operation %s %q), the real daemon %d %s %q (operation %s %q)",
						w.Name, w.Method, w.Path, g.Status, g.Type, g.Error, g.OpStatus, g.OpErr, w.Status, w.Type, w.Error, w.OpStatus, w.OpErr)
				}
				// A real daemon writes each event to a listener from its own
				// goroutine: two recordings of the same request came in
				// different orders (even Running before Pending). The
				// group is compared as a set here; TestRESTMatchesCapture
				// holds the order, from the capture's timestamps.
				ge, we := slices.Sorted(slices.Values(g.Events)), slices.Sorted(slices.Values(w.Events))
				if !slices.Equal(ge, we) {
					t.Errorf("%s: %s %s made\n  %s\nthe real daemon\n  %s", w.Name, w.Method, w.Path, strings.Join(g.Events, "\n  "), strings.Join(w.Events, "\n  "))
				}
			}
		})
	}
}
