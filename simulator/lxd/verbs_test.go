package lxd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/scenarios"
)

// verbCase is a scenario verb and the REST request that does the same, with
// what each needs beforehand: setup steps for the scenario, requests for
// the server.
type verbCase struct {
	verb  string
	setup []string // scenario steps before the verb, as YAML
	args  string   // the verb's arguments, as YAML
	pre   [][3]string
	req   [3]string
	// opts changes the server's options (members, pools).
	opts func(*Options)
	// lxd is the scenario's lxd: block, when the verb needs one.
	lxd string
	// image makes the server import an image (imageTarball) aliased deb
	// before the pre requests, and gives the verb its size.
	image bool
}

// verbCases are every LXD verb that has a REST request in the fake.
var verbCases = []verbCase{
	{verb: "instance.create", args: "name: c1\n    image: deb", image: true,
		req: [3]string{"POST", "/1.0/instances", `{"name":"c1","source":{"type":"image","alias":"deb"}}`}},
	// The same at speed, where the operation's steps run on timers.
	{verb: "instance.create", args: "name: c1\n    image: deb", image: true, opts: func(o *Options) { o.Speed = 1000 },
		req: [3]string{"POST", "/1.0/instances", `{"name":"c1","source":{"type":"image","alias":"deb"}}`}},
	{verb: "instance.start", setup: []string{"instance.create\n    name: c1"}, args: "name: c1",
		pre: [][3]string{{"POST", "/1.0/instances", `{"name":"c1","source":{"type":"none"}}`}},
		req: [3]string{"PUT", "/1.0/instances/c1/state", `{"action":"start"}`}},
	{verb: "instance.stop", setup: []string{"instance.create\n    name: c1", "instance.start\n    name: c1"}, args: "name: c1",
		pre: [][3]string{{"POST", "/1.0/instances", `{"name":"c1","source":{"type":"none"}}`}, {"PUT", "/1.0/instances/c1/state", `{"action":"start"}`}},
		req: [3]string{"PUT", "/1.0/instances/c1/state", `{"action":"stop","force":true}`}},
	{verb: "instance.restart", setup: []string{"instance.create\n    name: c1", "instance.start\n    name: c1"}, args: "name: c1",
		pre: [][3]string{{"POST", "/1.0/instances", `{"name":"c1","source":{"type":"none"}}`}, {"PUT", "/1.0/instances/c1/state", `{"action":"start"}`}},
		req: [3]string{"PUT", "/1.0/instances/c1/state", `{"action":"restart"}`}},
	{verb: "instance.pause", setup: []string{"instance.create\n    name: c1", "instance.start\n    name: c1"}, args: "name: c1",
		pre: [][3]string{{"POST", "/1.0/instances", `{"name":"c1","source":{"type":"none"}}`}, {"PUT", "/1.0/instances/c1/state", `{"action":"start"}`}},
		req: [3]string{"PUT", "/1.0/instances/c1/state", `{"action":"freeze"}`}},
	{verb: "instance.resume", setup: []string{"instance.create\n    name: c1", "instance.start\n    name: c1", "instance.pause\n    name: c1"}, args: "name: c1",
		pre: [][3]string{{"POST", "/1.0/instances", `{"name":"c1","source":{"type":"none"}}`}, {"PUT", "/1.0/instances/c1/state", `{"action":"start"}`}, {"PUT", "/1.0/instances/c1/state", `{"action":"freeze"}`}},
		req: [3]string{"PUT", "/1.0/instances/c1/state", `{"action":"unfreeze"}`}},
	{verb: "instance.update", setup: []string{"instance.create\n    name: c1"}, args: "name: c1",
		pre: [][3]string{{"POST", "/1.0/instances", `{"name":"c1","source":{"type":"none"}}`}},
		req: [3]string{"PUT", "/1.0/instances/c1", `{"config":{"limits.cpu":"2"},"devices":{},"profiles":["default"]}`}},
	{verb: "instance.snapshot", setup: []string{"instance.create\n    name: c1"}, args: "name: c1\n    snapshot: s0",
		pre: [][3]string{{"POST", "/1.0/instances", `{"name":"c1","source":{"type":"none"}}`}},
		req: [3]string{"POST", "/1.0/instances/c1/snapshots", `{"name":"s0"}`}},
	{verb: "instance.snapshot-delete", setup: []string{"instance.create\n    name: c1", "instance.snapshot\n    name: c1\n    snapshot: s0"}, args: "name: c1\n    snapshot: s0",
		pre: [][3]string{{"POST", "/1.0/instances", `{"name":"c1","source":{"type":"none"}}`}, {"POST", "/1.0/instances/c1/snapshots", `{"name":"s0"}`}},
		req: [3]string{"DELETE", "/1.0/instances/c1/snapshots/s0", ""}},
	{verb: "instance.restore", setup: []string{"instance.create\n    name: c1", "instance.snapshot\n    name: c1\n    snapshot: s0"}, args: "name: c1\n    snapshot: s0",
		pre: [][3]string{{"POST", "/1.0/instances", `{"name":"c1","source":{"type":"none"}}`}, {"POST", "/1.0/instances/c1/snapshots", `{"name":"s0"}`}},
		req: [3]string{"PUT", "/1.0/instances/c1", `{"restore":"c1/s0"}`}},
	{verb: "instance.rename", setup: []string{"instance.create\n    name: c1"}, args: "name: c1\n    to: c2",
		pre: [][3]string{{"POST", "/1.0/instances", `{"name":"c1","source":{"type":"none"}}`}},
		req: [3]string{"POST", "/1.0/instances/c1", `{"name":"c2"}`}},
	{verb: "instance.delete", setup: []string{"instance.create\n    name: c1"}, args: "name: c1",
		pre: [][3]string{{"POST", "/1.0/instances", `{"name":"c1","source":{"type":"none"}}`}},
		req: [3]string{"DELETE", "/1.0/instances/c1", ""}},
	{verb: "instance.delete", setup: []string{"instance.create\n    name: c1", "instance.snapshot\n    name: c1\n    snapshot: s1", "instance.snapshot\n    name: c1\n    snapshot: s0"}, args: "name: c1",
		pre: [][3]string{{"POST", "/1.0/instances", `{"name":"c1","source":{"type":"none"}}`}, {"POST", "/1.0/instances/c1/snapshots", `{"name":"s1"}`}, {"POST", "/1.0/instances/c1/snapshots", `{"name":"s0"}`}},
		req: [3]string{"DELETE", "/1.0/instances/c1", ""}},
	{verb: "storage-volume.delete", setup: []string{"storage-volume.create\n    pool: default\n    name: vol1", "storage-volume.snapshot\n    pool: default\n    name: vol1\n    snapshot: s0"}, args: "pool: default\n    name: vol1",
		pre: [][3]string{{"POST", "/1.0/storage-pools/default/volumes/custom", `{"name":"vol1"}`}, {"POST", "/1.0/storage-pools/default/volumes/custom/vol1/snapshots", `{"name":"s0"}`}},
		req: [3]string{"DELETE", "/1.0/storage-pools/default/volumes/custom/vol1", ""}},
	{verb: "network-acl.create", args: "name: acl1",
		req: [3]string{"POST", "/1.0/network-acls", `{"name":"acl1"}`}},
	{verb: "network-acl.update", setup: []string{"network-acl.create\n    name: acl1"}, args: "name: acl1",
		pre: [][3]string{{"POST", "/1.0/network-acls", `{"name":"acl1"}`}},
		req: [3]string{"PUT", "/1.0/network-acls/acl1", `{"description":"","egress":[],"ingress":[],"config":{}}`}},
	{verb: "network-acl.rename", setup: []string{"network-acl.create\n    name: acl1"}, args: "name: acl1\n    to: acl2",
		pre: [][3]string{{"POST", "/1.0/network-acls", `{"name":"acl1"}`}},
		req: [3]string{"POST", "/1.0/network-acls/acl1", `{"name":"acl2"}`}},
	{verb: "network-acl.delete", setup: []string{"network-acl.create\n    name: acl1"}, args: "name: acl1",
		pre: [][3]string{{"POST", "/1.0/network-acls", `{"name":"acl1"}`}},
		req: [3]string{"DELETE", "/1.0/network-acls/acl1", ""}},
	{verb: "network-zone.create", args: "name: z1.example",
		req: [3]string{"POST", "/1.0/network-zones", `{"name":"z1.example"}`}},
	{verb: "network-zone.delete", setup: []string{"network-zone.create\n    name: z1.example"}, args: "name: z1.example",
		pre: [][3]string{{"POST", "/1.0/network-zones", `{"name":"z1.example"}`}},
		req: [3]string{"DELETE", "/1.0/network-zones/z1.example", ""}},
	{verb: "network-zone.record-create", setup: []string{"network-zone.create\n    name: z1.example"}, args: "zone: z1.example\n    name: www",
		pre: [][3]string{{"POST", "/1.0/network-zones", `{"name":"z1.example"}`}},
		req: [3]string{"POST", "/1.0/network-zones/z1.example/records", `{"name":"www"}`}},
	{verb: "network-zone.record-delete", setup: []string{"network-zone.create\n    name: z1.example", "network-zone.record-create\n    zone: z1.example\n    name: www"}, args: "zone: z1.example\n    name: www",
		pre: [][3]string{{"POST", "/1.0/network-zones", `{"name":"z1.example"}`}, {"POST", "/1.0/network-zones/z1.example/records", `{"name":"www"}`}},
		req: [3]string{"DELETE", "/1.0/network-zones/z1.example/records/www", ""}},
	{verb: "network-forward.create", setup: []string{"network.create\n    name: br1"}, args: "network: br1\n    name: 192.0.2.10",
		pre: [][3]string{{"POST", "/1.0/networks", `{"name":"br1","type":"bridge"}`}},
		req: [3]string{"POST", "/1.0/networks/br1/forwards", `{"listen_address":"192.0.2.10"}`}},
	{verb: "network-forward.delete", setup: []string{"network.create\n    name: br1", "network-forward.create\n    network: br1\n    name: 192.0.2.10"}, args: "network: br1\n    name: 192.0.2.10",
		pre: [][3]string{{"POST", "/1.0/networks", `{"name":"br1","type":"bridge"}`}, {"POST", "/1.0/networks/br1/forwards", `{"listen_address":"192.0.2.10"}`}},
		req: [3]string{"DELETE", "/1.0/networks/br1/forwards/192.0.2.10", ""}},
	{verb: "certificate.add", args: "name: " + testCertFingerprint,
		req: [3]string{"POST", "/1.0/certificates", `{"type":"client","name":"ci","certificate":"` + testCertDER + `"}`}},
	{verb: "certificate.delete", setup: []string{"certificate.add\n    name: " + testCertFingerprint}, args: "name: " + testCertFingerprint,
		pre: [][3]string{{"POST", "/1.0/certificates", `{"type":"client","name":"ci","certificate":"` + testCertDER + `"}`}},
		req: [3]string{"DELETE", "/1.0/certificates/" + testCertFingerprint, ""}},
	{verb: "cluster.member-rename", args: "name: m2\n    to: m9\n    member: m1", lxd: "  members: [m1, m2]\n",
		opts: func(o *Options) { o.Members = []string{"m1", "m2"} },
		req:  [3]string{"POST", "/1.0/cluster/members/m2", `{"server_name":"m9"}`}},
	{verb: "cluster.member-evacuate", args: "name: m2", lxd: "  members: [m1, m2]\n",
		opts: func(o *Options) { o.Members = []string{"m1", "m2"} },
		req:  [3]string{"POST", "/1.0/cluster/members/m2/state", `{"action":"evacuate","mode":""}`}},
	{verb: "cluster.member-restore", setup: []string{"cluster.member-evacuate\n    name: m2"}, args: "name: m2", lxd: "  members: [m1, m2]\n",
		opts: func(o *Options) { o.Members = []string{"m1", "m2"} },
		pre:  [][3]string{{"POST", "/1.0/cluster/members/m2/state", `{"action":"evacuate","mode":""}`}},
		req:  [3]string{"POST", "/1.0/cluster/members/m2/state", `{"action":"restore","mode":""}`}},
	{verb: "network.create", args: "name: br1",
		req: [3]string{"POST", "/1.0/networks", `{"name":"br1","type":"bridge","config":{"ipv4.address":"auto"}}`}},
	{verb: "network.update", setup: []string{"network.create\n    name: br1"}, args: "name: br1",
		pre: [][3]string{{"POST", "/1.0/networks", `{"name":"br1","type":"bridge"}`}},
		req: [3]string{"PUT", "/1.0/networks/br1", `{"config":{"ipv4.nat":"true"},"description":""}`}},
	{verb: "network.rename", setup: []string{"network.create\n    name: br1"}, args: "name: br1\n    to: br2",
		pre: [][3]string{{"POST", "/1.0/networks", `{"name":"br1","type":"bridge"}`}},
		req: [3]string{"POST", "/1.0/networks/br1", `{"name":"br2"}`}},
	{verb: "network.delete", setup: []string{"network.create\n    name: br1"}, args: "name: br1",
		pre: [][3]string{{"POST", "/1.0/networks", `{"name":"br1","type":"bridge"}`}},
		req: [3]string{"DELETE", "/1.0/networks/br1", ""}},
	{verb: "profile.create", args: "name: web",
		req: [3]string{"POST", "/1.0/profiles", `{"name":"web"}`}},
	{verb: "profile.update", setup: []string{"profile.create\n    name: web"}, args: "name: web",
		pre: [][3]string{{"POST", "/1.0/profiles", `{"name":"web"}`}},
		req: [3]string{"PUT", "/1.0/profiles/web", `{"config":{"limits.cpu":"2"},"description":"","devices":{}}`}},
	{verb: "profile.rename", setup: []string{"profile.create\n    name: web"}, args: "name: web\n    to: web2",
		pre: [][3]string{{"POST", "/1.0/profiles", `{"name":"web"}`}},
		req: [3]string{"POST", "/1.0/profiles/web", `{"name":"web2"}`}},
	{verb: "profile.delete", setup: []string{"profile.create\n    name: web"}, args: "name: web",
		pre: [][3]string{{"POST", "/1.0/profiles", `{"name":"web"}`}},
		req: [3]string{"DELETE", "/1.0/profiles/web", ""}},
	{verb: "project.create", args: "name: demo",
		req: [3]string{"POST", "/1.0/projects", `{"name":"demo","config":{"features.images":"true","features.profiles":"true"}}`}},
	{verb: "project.update", setup: []string{"project.create\n    name: demo"}, args: "name: demo",
		pre: [][3]string{{"POST", "/1.0/projects", `{"name":"demo"}`}},
		req: [3]string{"PUT", "/1.0/projects/demo", `{"config":{"limits.instances":"5"},"description":""}`}},
	{verb: "project.rename", setup: []string{"project.create\n    name: demo"}, args: "name: demo\n    to: demo2",
		pre: [][3]string{{"POST", "/1.0/projects", `{"name":"demo"}`}},
		req: [3]string{"POST", "/1.0/projects/demo", `{"name":"demo2"}`}},
	{verb: "project.delete", setup: []string{"project.create\n    name: demo"}, args: "name: demo",
		pre: [][3]string{{"POST", "/1.0/projects", `{"name":"demo"}`}},
		req: [3]string{"DELETE", "/1.0/projects/demo", ""}},
	{verb: "storage-volume.create", args: "pool: default\n    name: vol1",
		req: [3]string{"POST", "/1.0/storage-pools/default/volumes/custom", `{"name":"vol1"}`}},
	{verb: "storage-volume.rename", setup: []string{"storage-volume.create\n    pool: default\n    name: vol1"}, args: "pool: default\n    name: vol1\n    to: vol2",
		pre: [][3]string{{"POST", "/1.0/storage-pools/default/volumes/custom", `{"name":"vol1"}`}},
		req: [3]string{"POST", "/1.0/storage-pools/default/volumes/custom/vol1", `{"name":"vol2"}`}},
	{verb: "storage-volume.delete", setup: []string{"storage-volume.create\n    pool: default\n    name: vol1"}, args: "pool: default\n    name: vol1",
		pre: [][3]string{{"POST", "/1.0/storage-pools/default/volumes/custom", `{"name":"vol1"}`}},
		req: [3]string{"DELETE", "/1.0/storage-pools/default/volumes/custom/vol1", ""}},
	{verb: "storage-volume.snapshot", setup: []string{"storage-volume.create\n    pool: default\n    name: vol1"}, args: "pool: default\n    name: vol1\n    snapshot: s0",
		pre: [][3]string{{"POST", "/1.0/storage-pools/default/volumes/custom", `{"name":"vol1"}`}},
		req: [3]string{"POST", "/1.0/storage-pools/default/volumes/custom/vol1/snapshots", `{"name":"s0"}`}},
	{verb: "storage-volume.snapshot-delete", setup: []string{"storage-volume.create\n    pool: default\n    name: vol1", "storage-volume.snapshot\n    pool: default\n    name: vol1\n    snapshot: s0"}, args: "pool: default\n    name: vol1\n    snapshot: s0",
		pre: [][3]string{{"POST", "/1.0/storage-pools/default/volumes/custom", `{"name":"vol1"}`}, {"POST", "/1.0/storage-pools/default/volumes/custom/vol1/snapshots", `{"name":"s0"}`}},
		req: [3]string{"DELETE", "/1.0/storage-pools/default/volumes/custom/vol1/snapshots/s0", ""}},
	{verb: "storage-volume.restore", setup: []string{"storage-volume.create\n    pool: default\n    name: vol1", "storage-volume.snapshot\n    pool: default\n    name: vol1\n    snapshot: s0"}, args: "pool: default\n    name: vol1\n    snapshot: s0",
		pre: [][3]string{{"POST", "/1.0/storage-pools/default/volumes/custom", `{"name":"vol1"}`}, {"POST", "/1.0/storage-pools/default/volumes/custom/vol1/snapshots", `{"name":"s0"}`}},
		req: [3]string{"PUT", "/1.0/storage-pools/default/volumes/custom/vol1", `{"restore":"s0"}`}},
}

// TestVerbAndRESTMakeTheSameEvents holds each scenario verb and the REST
// request that does the same to one event group: the operation and
// lifecycle events, field for field except operation ids and times, in
// every flavour.
func TestVerbAndRESTMakeTheSameEvents(t *testing.T) {
	for _, f := range catalog.Flavors {
		for _, tc := range verbCases {
			t.Run(string(f)+"/"+tc.verb, func(t *testing.T) {
				t.Parallel()
				if tc.image {
					path, fp := imageTarball(t)
					b, err := os.ReadFile(path)
					if err != nil {
						t.Fatal(err)
					}
					tc.args += fmt.Sprintf("\n    size: %d", len(b))
					tc.pre = append([][3]string{{"POST", "/1.0/images", string(b)}, {"POST", "/1.0/images/aliases", `{"name":"deb","target":"` + fp + `"}`}}, tc.pre...)
				}
				want := verbGroup(t, f, tc)
				got := restGroup(t, f, tc)
				if !slices.Equal(got, want) {
					t.Errorf("REST %s %s made\n  %s\nthe verb %s makes\n  %s", tc.req[0], tc.req[1], strings.Join(got, "\n  "), tc.verb, strings.Join(want, "\n  "))
				}
			})
		}
	}
}

// groupKey describes an event for comparing groups: its type, project,
// location and metadata, without what is fresh in every run (operation
// ids and times).
func groupKey(t *testing.T, b []byte) string {
	t.Helper()
	var e capEvent
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("event is not JSON: %v: %s", err, b)
	}
	return e.key()
}

// verbGroup plays the setup steps then the verb, and returns the keys of
// the operation and lifecycle events the verb made.
func verbGroup(t *testing.T, f catalog.Flavor, tc verbCase) []string {
	t.Helper()
	play := func(withVerb bool) []string {
		var y strings.Builder
		y.WriteString("name: verb\napi: lxd\nlxd:\n  pools: [default]\n" + tc.lxd + "steps:\n")
		for _, s := range tc.setup {
			y.WriteString("  - lxd: " + s + "\n")
		}
		if withVerb {
			y.WriteString("  - lxd: " + tc.verb + "\n    " + tc.args + "\n")
		}
		scen, err := scenarios.Parse("verb.yaml", []byte(y.String()))
		if err != nil {
			t.Fatalf("%v\n%s", err, y.String())
		}
		eng, err := scenarios.New(scen, scenarios.Options{Flavor: f})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for {
			r, err := eng.Next()
			if errors.Is(err, io.EOF) {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Type == "operation" || r.Type == "lifecycle" {
				out = append(out, groupKey(t, r.AppendJSON(nil)))
			}
		}
	}
	var before []string
	if len(tc.setup) > 0 {
		before = play(false)
	}
	all := play(true)
	if !slices.Equal(all[:len(before)], before) {
		t.Fatalf("the setup plays differently before the verb")
	}
	return all[len(before):]
}

// restGroup sends the setup requests then the request over the unix socket
// (as root, the verbs' default requestor) and returns the keys of the
// operation and lifecycle events the request made.
func restGroup(t *testing.T, f catalog.Flavor, tc verbCase) []string {
	t.Helper()
	opts := Options{Flavor: f, Socket: filepath.Join(t.TempDir(), "unix.socket"), Addr: "-"}
	if tc.opts != nil {
		tc.opts(&opts)
	}
	s := NewServer(t, opts)
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", s.SocketPath())
	}}}
	send := func(r [3]string) {
		t.Helper()
		var body io.Reader
		if r[2] != "" {
			body = strings.NewReader(r[2])
		}
		req, err := http.NewRequest(r[0], "http://unix.socket"+r[1], body)
		if err != nil {
			t.Fatal(err)
		}
		if r[2] != "" && !json.Valid([]byte(r[2])) {
			req.Header.Set("Content-Type", "application/octet-stream") // an image upload
		} else {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %s", r[0], r[1], resp.StatusCode, b)
		}
		var env envelope
		if json.Unmarshal(b, &env) == nil && env.Type == "async" {
			wr, err := hc.Get("http://unix.socket" + env.Operation + "/wait?timeout=10")
			if err != nil {
				t.Fatal(err)
			}
			wr.Body.Close()
		}
	}
	for _, p := range tc.pre {
		send(p)
	}
	d := websocket.Dialer{NetDialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var nd net.Dialer
		return nd.DialContext(ctx, "unix", s.SocketPath())
	}}
	before := s.Stats().Connections
	c, _, err := d.Dial("ws://unix.socket/1.0/events?all-projects=true", nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	waitFor(t, func() bool { return s.Stats().Connections > before }, "server to register the client")
	send(tc.req)
	var out []string
	for {
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		mt, b, err := c.ReadMessage()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return out
			}
			t.Fatalf("read: %v", err)
		}
		if mt != websocket.TextMessage {
			continue
		}
		var e capEvent
		_ = json.Unmarshal(b, &e)
		if e.Type == "operation" || e.Type == "lifecycle" {
			out = append(out, groupKey(t, b))
		}
	}
}
