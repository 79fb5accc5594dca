package lxd

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/internal/realdaemon"
)

// lbRefusals are load-balancer requests both real daemons here can answer:
// on a bridge (Incus: 400, only OVN has load balancers; LXD 5.0.2: no such
// route) and on an unknown network. The real daemons make the bridge in
// the host's kernel, where its name is shared by every process: bridge
// names it (hostBridge), and it has no addresses, so no dnsmasq of its own
// that would bind one.
func lbRefusals(bridge string) []daemonRequest {
	return []daemonRequest{
		{"POST", "/1.0/networks", `{"name":"` + bridge + `","type":"bridge","config":{"ipv4.address":"none","ipv6.address":"none"}}`},
		{"POST", "/1.0/networks/" + bridge + "/load-balancers", `{"listen_address":"192.0.2.10"}`},
		{"GET", "/1.0/networks/" + bridge + "/load-balancers", ``},
		{"GET", "/1.0/networks/" + bridge + "/load-balancers/192.0.2.10", ``},
		{"PUT", "/1.0/networks/" + bridge + "/load-balancers/192.0.2.10", `{"description":"x"}`},
		{"DELETE", "/1.0/networks/" + bridge + "/load-balancers/192.0.2.10", ``},
		{"POST", "/1.0/networks/nope/load-balancers", `{"listen_address":"192.0.2.10"}`},
		{"DELETE", "/1.0/networks/" + bridge, ``},
	}
}

// hostBridge names a bridge a real daemon makes in the host's kernel for
// t: unique to this process (two test binaries at once, here or in another
// checkout, must not ask for the same name), at most 15 bytes as the
// kernel allows, and removed at t's cleanup should the daemon leave it.
func hostBridge(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("esim%x", os.Getpid())
	t.Cleanup(func() {
		if exec.Command("ip", "link", "show", name).Run() == nil {
			if out, err := exec.Command("ip", "link", "delete", name).CombinedOutput(); err != nil {
				t.Logf("remove bridge %s: %v: %s", name, err, out)
			}
		}
	})
	return name
}

// TestLoadBalancerRefusalsMatchRealDaemons holds the fake's answers to
// lbRefusals (status and error) to real LXD 5.0.2's and Incus 6.0's.
func TestLoadBalancerRefusalsMatchRealDaemons(t *testing.T) {
	againstRealDaemons(t, lbRefusals(hostBridge(t)), func(t *testing.T, kind realdaemon.Kind, rq daemonRequest, real, fake answer) {
		if re, fe := envelopeError(t, real.body), envelopeError(t, fake.body); real.code != fake.code || re != fe {
			t.Errorf("%s %s: fake %d %q, real %s %d %q", rq.method, rq.path, fake.code, fe, kind, real.code, re)
		}
	})
}

// TestLoadBalancerWrites: on an OVN network, the real incus creates, lists,
// edits and deletes a load balancer, and lxc monitor sees the events; the
// lxd-6 flavour answers the same requests alike; lxd-5.0 has no such route.
func TestLoadBalancerWrites(t *testing.T) {
	s := NewServer(t, Options{Socket: filepath.Join(t.TempDir(), "unix.socket"), Addr: "-", Flavor: catalog.Incus})
	evs := monitor(t, s)
	sock := s.SocketPath()
	incusRun(t, sock, "network", "create", "ov1", "--type=ovn")
	incusRun(t, sock, "network", "load-balancer", "create", "ov1", "192.0.2.10", "--description", "web")
	incusRun(t, sock, "network", "load-balancer", "backend", "add", "ov1", "192.0.2.10", "b1", "10.0.0.2", "80")
	incusRun(t, sock, "network", "load-balancer", "port", "add", "ov1", "192.0.2.10", "tcp", "80", "b1")
	if out := incusRun(t, sock, "network", "load-balancer", "list", "ov1", "--format", "csv"); out != "192.0.2.10,web,1\n" {
		t.Errorf("incus network load-balancer list: %q", out)
	}
	if out := incusRun(t, sock, "network", "load-balancer", "show", "ov1", "192.0.2.10"); !strings.Contains(out, "target_address: 10.0.0.2") || !strings.Contains(out, "target_backend:\n  - b1") {
		t.Errorf("incus network load-balancer show:\n%s", out)
	}
	if _, errOut, ok := clientRun(t, catalog.Incus, sock, "network", "load-balancer", "create", "ov1", "192.0.2.10"); ok || !strings.Contains(errOut, "A load balancer for that listen address already exists") {
		t.Errorf("create again: ok=%v %q", ok, errOut)
	}
	incusRun(t, sock, "network", "load-balancer", "delete", "ov1", "192.0.2.10")
	if out := incusRun(t, sock, "network", "load-balancer", "list", "ov1", "--format", "csv"); out != "" {
		t.Errorf("list after delete: %q", out)
	}
	incusRun(t, sock, "network", "create", "br1", "ipv4.address=10.99.0.1/24", "ipv6.address=none")
	if _, errOut, ok := clientRun(t, catalog.Incus, sock, "network", "load-balancer", "create", "br1", "192.0.2.11"); ok || !strings.Contains(errOut, `Network driver "bridge" does not support load balancers`) {
		t.Errorf("create on a bridge: ok=%v %q", ok, errOut)
	}
	got := collect(t, evs, "network-load-balancer-deleted")
	var lc []string
	for _, m := range got {
		if m["type"] == "lifecycle" {
			md := m["metadata"].(map[string]any)
			if a := md["action"].(string); strings.HasPrefix(a, "network-load-balancer-") {
				lc = append(lc, a+" "+md["source"].(string))
			}
		}
	}
	src := "/1.0/networks/ov1/load-balancers/192.0.2.10"
	want := []string{"network-load-balancer-created " + src, "network-load-balancer-updated " + src, "network-load-balancer-updated " + src, "network-load-balancer-deleted " + src}
	if !slices.Equal(lc, want) {
		t.Errorf("lifecycle events:\n%s\nwant:\n%s", strings.Join(lc, "\n"), strings.Join(want, "\n"))
	}

	for _, tt := range []struct {
		flavor catalog.Flavor
		status []int
	}{
		{catalog.LXD6, []int{201, 201, 409, 200, 200, 404}},
		{catalog.LXD50, []int{201, 404, 404, 404, 404, 404}},
	} {
		s := NewServer(t, Options{Flavor: tt.flavor, Socket: filepath.Join(t.TempDir(), "unix.socket"), Addr: "-"})
		var got []int
		for _, rq := range [][3]string{
			{"POST", "/1.0/networks", `{"name":"ov1","type":"ovn"}`},
			{"POST", "/1.0/networks/ov1/load-balancers", `{"listen_address":"192.0.2.10"}`},
			{"POST", "/1.0/networks/ov1/load-balancers", `{"listen_address":"192.0.2.10"}`},
			{"PATCH", "/1.0/networks/ov1/load-balancers/192.0.2.10", `{"description":"x"}`},
			{"DELETE", "/1.0/networks/ov1/load-balancers/192.0.2.10", ``},
			{"DELETE", "/1.0/networks/ov1/load-balancers/192.0.2.10", ``},
		} {
			code, _ := unixRequest(t, s.SocketPath(), rq[0], rq[1], rq[2])
			got = append(got, code)
		}
		if !slices.Equal(got, tt.status) {
			t.Errorf("%s: statuses %v, want %v", tt.flavor, got, tt.status)
		}
	}
	// A listen address that is no IP.
	code, body := unixRequest(t, sock, "POST", "/1.0/networks/ov1/load-balancers", `{"listen_address":"web"}`)
	if e := envelopeError(t, body); code != http.StatusInternalServerError || e != `Failed creating load balancer: Failed parsing "web": invalid CIDR address: web/32` {
		t.Errorf("listen address web: %d %q", code, e)
	}
}

// envelopeError is an answer's "error".
func envelopeError(t *testing.T, body []byte) string {
	t.Helper()
	var env struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("not an envelope: %v: %s", err, body)
	}
	return env.Error
}

// unbuiltRefusals are requests to routes whose changes the fake does not
// make (buckets, cluster groups) but whose refusals it answers as the real
// daemons do: LXD 5.0.2 has no bucket routes, an unknown pool or bucket,
// a group on a lone server.
var unbuiltRefusals = []daemonRequest{
	{"GET", "/1.0/storage-pools/nope/buckets", ``},
	{"POST", "/1.0/storage-pools/nope/buckets", `{"name":"bucket1"}`},
	{"POST", "/1.0/storage-pools", `{"name":"default","driver":"dir"}`},
	{"PUT", "/1.0/storage-pools/default/buckets/bucket1", `{"description":"x"}`},
	{"DELETE", "/1.0/storage-pools/default/buckets/bucket1", ``},
	{"POST", "/1.0/cluster/groups", `{"name":"g1"}`},
}

// TestUnbuiltRefusalsMatchRealDaemons holds the fake's refusals of bucket
// and cluster group writes to real LXD 5.0.2's and Incus 6.0's. (The fake
// has a default pool from the start; the real daemons get theirs midway.)
func TestUnbuiltRefusalsMatchRealDaemons(t *testing.T) {
	againstRealDaemons(t, unbuiltRefusals, func(t *testing.T, kind realdaemon.Kind, rq daemonRequest, real, fake answer) {
		if rq.path == "/1.0/storage-pools" {
			return // the fake has it already
		}
		if re, fe := envelopeError(t, real.body), envelopeError(t, fake.body); real.code != fake.code || re != fe {
			t.Errorf("%s %s: fake %d %q, real %s %d %q", rq.method, rq.path, fake.code, fe, kind, real.code, re)
		}
	})
}
