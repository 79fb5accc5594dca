package lxd

import (
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/scenarios"
)

// The real lxc and incus clients drive network ACLs, zones, forwards,
// trusted certificates, warnings and cluster members on the fake: each
// command's exit code and output, what the lists show afterwards, and the
// lifecycle events a concurrent lxc monitor receives.

// testCertFile writes testCertDER as a PEM file, as `lxc config trust add`
// reads it.
func testCertFile(t *testing.T) string {
	t.Helper()
	der, err := base64.StdEncoding.DecodeString(testCertDER)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "client.crt")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLXCNetworkObjectCommands(t *testing.T) {
	s := NewServer(t, Options{Socket: filepath.Join(t.TempDir(), "unix.socket"), Addr: "-"})
	evs := monitor(t, s, "--all-projects")
	sock := s.SocketPath()

	lxcRun(t, sock, "", "network", "acl", "create", "web")
	lxcRun(t, sock, "", "network", "acl", "rule", "add", "web", "ingress", "action=allow", "protocol=tcp", "destination_port=80")
	if out := lxcRun(t, sock, "", "network", "acl", "show", "web"); !strings.Contains(out, "destination_port: \"80\"") || !strings.Contains(out, "action: allow") {
		t.Errorf("lxc network acl show after rule add:\n%s", out)
	}
	lxcRun(t, sock, "", "network", "acl", "rename", "web", "web2")
	if out := lxcRun(t, sock, "", "network", "acl", "list", "--format", "csv"); !strings.HasPrefix(out, "web2,") {
		t.Errorf("lxc network acl list: %q", out)
	}
	if msg := lxcFail(t, sock, "network", "acl", "create", "web2"); !strings.Contains(msg, "The network ACL already exists") {
		t.Errorf("lxc network acl create of an existing ACL: %q", msg)
	}
	lxcRun(t, sock, "", "network", "acl", "delete", "web2")
	if out := lxcRun(t, sock, "", "network", "acl", "list", "--format", "csv"); out != "" {
		t.Errorf("lxc network acl list after delete: %q", out)
	}

	lxcRun(t, sock, "", "network", "zone", "create", "z1.example")
	lxcRun(t, sock, "", "network", "zone", "record", "create", "z1.example", "www")
	lxcRun(t, sock, "", "network", "zone", "record", "entry", "add", "z1.example", "www", "A", "192.0.2.1")
	if out := lxcRun(t, sock, "", "network", "zone", "record", "show", "z1.example", "www"); !strings.Contains(out, "value: 192.0.2.1") {
		t.Errorf("lxc network zone record show:\n%s", out)
	}
	lxcRun(t, sock, "", "network", "zone", "record", "delete", "z1.example", "www")
	lxcRun(t, sock, "", "network", "zone", "delete", "z1.example")
	if out := lxcRun(t, sock, "", "network", "zone", "list", "--format", "csv"); out != "" {
		t.Errorf("lxc network zone list after delete: %q", out)
	}

	lxcRun(t, sock, "", "network", "create", "br1", "ipv4.address=10.99.0.1/24", "ipv6.address=none")
	lxcRun(t, sock, "", "network", "forward", "create", "br1", "192.0.2.10")
	if out := lxcRun(t, sock, "", "network", "forward", "list", "br1", "--format", "csv"); !strings.HasPrefix(out, "192.0.2.10,") {
		t.Errorf("lxc network forward list: %q", out)
	}
	lxcRun(t, sock, "", "network", "forward", "delete", "br1", "192.0.2.10")
	if msg := lxcFail(t, sock, "network", "forward", "delete", "br1", "192.0.2.10"); !strings.Contains(msg, "Network forward not found") {
		t.Errorf("lxc network forward delete of a deleted forward: %q", msg)
	}
	lxcRun(t, sock, "", "network", "delete", "br1")

	got := collect(t, evs, "network-deleted")
	want := []string{
		"network-acl-created /1.0/network-acls/web",
		"network-acl-updated /1.0/network-acls/web",
		"network-acl-renamed /1.0/network-acls/web2 old_name=web",
		"network-acl-deleted /1.0/network-acls/web2",
		"network-zone-created /1.0/network-zones/z1.example",
		"network-zone-record-created /1.0/network-zones/z1.example/records/www",
		"network-zone-record-updated /1.0/network-zones/z1.example/records/www",
		"network-zone-record-deleted /1.0/network-zones/z1.example/records/www",
		"network-zone-deleted /1.0/network-zones/z1.example",
		"network-created /1.0/networks/br1",
		"network-forward-created /1.0/networks/br1/forwards/192.0.2.10",
		"network-forward-deleted /1.0/networks/br1/forwards/192.0.2.10",
		"network-deleted /1.0/networks/br1",
	}
	if lc := actions(got); !slices.Equal(lc, want) {
		t.Errorf("lifecycle events:\n%s\nwant:\n%s", strings.Join(lc, "\n"), strings.Join(want, "\n"))
	}
	checkShapes(t, got)
}

func TestLXCTrustCommands(t *testing.T) {
	s := NewServer(t, Options{Socket: filepath.Join(t.TempDir(), "unix.socket"), Addr: "-"})
	evs := monitor(t, s)
	sock := s.SocketPath()
	lxcRun(t, sock, "", "config", "trust", "add", testCertFile(t), "--name", "ci")
	if out := lxcRun(t, sock, "", "config", "trust", "list", "--format", "csv"); !strings.Contains(out, "client,ci,") || !strings.Contains(out, testCertFingerprint[:12]) {
		t.Errorf("lxc config trust list: %q", out)
	}
	if msg := lxcFail(t, sock, "config", "trust", "add", testCertFile(t)); !strings.Contains(msg, "Certificate already in trust store") {
		t.Errorf("lxc config trust add of a trusted certificate: %q", msg)
	}
	lxcRun(t, sock, "", "config", "trust", "remove", testCertFingerprint[:12])
	if out := lxcRun(t, sock, "", "config", "trust", "list", "--format", "csv"); out != "" {
		t.Errorf("lxc config trust list after remove: %q", out)
	}
	got := collect(t, evs, "certificate-deleted")
	want := []string{
		"certificate-created /1.0/certificates/" + testCertFingerprint,
		"certificate-deleted /1.0/certificates/" + testCertFingerprint,
	}
	if lc := actions(got); !slices.Equal(lc, want) {
		t.Errorf("lifecycle events:\n%s\nwant:\n%s", strings.Join(lc, "\n"), strings.Join(want, "\n"))
	}
}

// TestTrustTokenCommands: lxc config trust add --name (LXD 5.0.2) and
// incus config trust add NAME (Incus 6.0) make a token the client prints
// and lists; revoke-token cancels it, and the stream says so.
func TestTrustTokenCommands(t *testing.T) {
	tests := []struct {
		flavor catalog.Flavor
		add    []string
	}{
		{catalog.LXD50, []string{"config", "trust", "add", "--name", "x"}},
		{catalog.Incus, []string{"config", "trust", "add", "x"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.flavor), func(t *testing.T) {
			s := NewServer(t, Options{Socket: filepath.Join(t.TempDir(), "unix.socket"), Flavor: tt.flavor})
			evs := monitor(t, s)
			sock := s.SocketPath()
			run := func(args ...string) string {
				t.Helper()
				out, errOut, ok := clientRun(t, tt.flavor, sock, args...)
				if !ok {
					t.Fatalf("%v: %s", args, errOut)
				}
				return out
			}
			out := run(tt.add...)
			_, tok, found := strings.Cut(out, "Client x certificate add token:\n")
			raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(tok))
			var token struct {
				ClientName  string   `json:"client_name"`
				Fingerprint string   `json:"fingerprint"`
				Addresses   []string `json:"addresses"`
				Secret      string   `json:"secret"`
			}
			if !found || err != nil || json.Unmarshal(raw, &token) != nil {
				t.Fatalf("trust add printed no token: %q", out)
			}
			if token.ClientName != "x" || token.Fingerprint != s.certFP || !slices.Equal(token.Addresses, []string{strings.TrimPrefix(s.URL(), "http://")}) || len(token.Secret) != 64 {
				t.Errorf("token %+v: want client x, the server's fingerprint %s and address %s, a 64-digit secret", token, s.certFP, s.URL())
			}
			// The expiry column: "" from lxc, " " from incus, for a token
			// that does not expire.
			if out := run("config", "trust", "list-tokens", "--format", "csv"); !strings.HasPrefix(out, "x,"+strings.TrimSpace(tok)+",") || strings.Count(out, "\n") != 1 {
				t.Errorf("list-tokens: %q", out)
			}
			if out := run("config", "trust", "revoke-token", "x"); out != "Certificate add token for x deleted\n" {
				t.Errorf("revoke-token: %q", out)
			}
			if out := run("config", "trust", "list-tokens", "--format", "csv"); out != "" {
				t.Errorf("list-tokens after revoke: %q", out)
			}
			if _, errOut, ok := clientRun(t, tt.flavor, sock, "config", "trust", "revoke-token", "x"); ok || !strings.Contains(errOut, "No certificate add token for member x") {
				t.Errorf("revoke-token of a revoked token: ok=%v %q", ok, errOut)
			}
			got := collect(t, evs, "operation-cancelled")
			var seen []string
			for _, m := range got {
				md := m["metadata"].(map[string]any)
				switch m["type"] {
				case "operation":
					if md["class"] == "token" {
						seen = append(seen, md["status"].(string))
					}
				case "lifecycle":
					seen = append(seen, md["action"].(string))
				}
			}
			if want := []string{"Pending", "Running", "Cancelling", "Cancelled", "operation-cancelled"}; !slices.Equal(seen, want) {
				t.Errorf("events %q, want %q", seen, want)
			}
		})
	}
}

func TestLXCWarningCommands(t *testing.T) {
	s := NewServer(t, Options{Socket: filepath.Join(t.TempDir(), "unix.socket"), Addr: "-"})
	st := readStream(t, play(t, s, "lxd-catalogue-tour"))
	sock := s.SocketPath()
	var uuid string
	for u, status := range st.warnings {
		if status == "NEW" {
			uuid = u
		}
	}
	if uuid == "" {
		t.Fatalf("the tour left no new warning: %v", st.warnings)
	}
	evs := monitor(t, s, "--all-projects")
	lxcRun(t, sock, "", "warning", "ack", uuid)
	if out := lxcRun(t, sock, "", "warning", "show", uuid); !strings.Contains(out, "status: Acknowledged") {
		t.Errorf("lxc warning show after ack:\n%s", out)
	}
	if out := lxcRun(t, sock, "", "warning", "list", "--format", "csv"); !strings.Contains(out, uuid+",Couldn't find the CGroup network priority controller,ACKNOWLEDGED,") {
		t.Errorf("lxc warning list after ack: %q", out)
	}
	lxcRun(t, sock, "", "warning", "delete", uuid)
	if msg := lxcFail(t, sock, "warning", "show", uuid); !strings.Contains(msg, "Warning not found") {
		t.Errorf("lxc warning show of a deleted warning: %q", msg)
	}
	got := collect(t, evs, "warning-deleted")
	want := []string{"warning-acknowledged /1.0/warnings/" + uuid, "warning-deleted /1.0/warnings/" + uuid}
	if lc := actions(got); !slices.Equal(lc, want) {
		t.Errorf("lifecycle events:\n%s\nwant:\n%s", strings.Join(lc, "\n"), strings.Join(want, "\n"))
	}
}

func TestLXCClusterMemberCommands(t *testing.T) {
	sc, err := scenarios.Load("lxd-cluster")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []catalog.Flavor{catalog.LXD50, catalog.LXD6} {
		t.Run(string(f), func(t *testing.T) {
			s := NewServer(t, Options{Socket: filepath.Join(t.TempDir(), "unix.socket"), Addr: "-", Members: sc.LXD.Members, Flavor: f})
			play(t, s, "lxd-cluster")
			sock := s.SocketPath()
			rows := csvRows(t, s, "cluster", "list")
			if len(rows) < 2 {
				t.Fatalf("lxc cluster list: %q", rows)
			}
			name := rows[len(rows)-1][0]
			evs := monitor(t, s)
			lxcRun(t, sock, "", "cluster", "rename", name, "renamed1")
			memberStatus := func() string {
				t.Helper()
				for _, row := range csvRows(t, s, "cluster", "list") {
					for _, c := range row {
						if row[0] == "renamed1" && (c == "ONLINE" || c == "EVACUATED") {
							return c
						}
					}
				}
				return ""
			}
			// Every flavour shows the member evacuated, then online, as a
			// real clustered 5.0.2 does: it sends no lifecycle event for
			// either, but its operation's Success says as much.
			lxcRun(t, sock, "", "cluster", "evacuate", "renamed1", "--force")
			if got := memberStatus(); got != "EVACUATED" {
				t.Errorf("lxc cluster list after evacuate: renamed1 is %q, want EVACUATED", got)
			}
			if msg := lxcFail(t, sock, "cluster", "evacuate", "renamed1", "--force"); !strings.Contains(msg, "Cluster member is already evacuated") {
				t.Errorf("lxc cluster evacuate of an evacuated member: %q", msg)
			}
			lxcRun(t, sock, "", "cluster", "restore", "renamed1", "--force")
			if got := memberStatus(); got != "ONLINE" {
				t.Errorf("lxc cluster list after restore: renamed1 is %q, want ONLINE", got)
			}
			if msg := lxcFail(t, sock, "cluster", "restore", "renamed1", "--force"); !strings.Contains(msg, "Cluster member is already restored") {
				t.Errorf("lxc cluster restore of an online member: %q", msg)
			}
			want := []string{"cluster-member-renamed /1.0/cluster/members/renamed1 old_name=" + name}
			last := "cluster-member-renamed"
			if f == catalog.LXD6 {
				want = append(want, "cluster-member-evacuated /1.0/cluster/members/renamed1", "cluster-member-restored /1.0/cluster/members/renamed1")
				last = "cluster-member-restored"
			}
			if lc := actions(collect(t, evs, last)); !slices.Equal(lc, want) {
				t.Errorf("lifecycle events:\n%s\nwant:\n%s", strings.Join(lc, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func TestIncusWriteCommands(t *testing.T) {
	s := NewServer(t, Options{Socket: filepath.Join(t.TempDir(), "unix.socket"), Addr: "-", Flavor: catalog.Incus})
	sock := s.SocketPath()
	incusRun(t, sock, "network", "acl", "create", "web")
	incusRun(t, sock, "network", "acl", "rename", "web", "web2")
	if out := incusRun(t, sock, "network", "acl", "list", "--format", "csv"); !strings.HasPrefix(out, "web2,") {
		t.Errorf("incus network acl list: %q", out)
	}
	incusRun(t, sock, "network", "acl", "delete", "web2")
	incusRun(t, sock, "network", "zone", "create", "z1.example")
	incusRun(t, sock, "network", "zone", "delete", "z1.example")
	incusRun(t, sock, "network", "create", "br1", "ipv4.address=10.99.0.1/24", "ipv6.address=none")
	incusRun(t, sock, "network", "forward", "create", "br1", "192.0.2.10")
	if out := incusRun(t, sock, "network", "forward", "list", "br1", "--format", "csv"); !strings.HasPrefix(out, "192.0.2.10,") {
		t.Errorf("incus network forward list: %q", out)
	}
	incusRun(t, sock, "network", "forward", "delete", "br1", "192.0.2.10")
	incusRun(t, sock, "config", "trust", "add-certificate", testCertFile(t), "--name", "ci")
	if out := incusRun(t, sock, "config", "trust", "list", "--format", "csv"); !strings.Contains(out, "ci") {
		t.Errorf("incus config trust list: %q", out)
	}
	incusRun(t, sock, "config", "trust", "remove", testCertFingerprint[:12])
	for _, what := range [][]string{{"network", "acl"}, {"network", "zone"}, {"config", "trust"}} {
		if out := incusRun(t, sock, append(what, "list", "--format", "csv")...); out != "" {
			t.Errorf("incus %s list after delete: %q", strings.Join(what, " "), out)
		}
	}
}

// TestJoinWithTrustToken: a token made over the unix socket lets a new
// lxc (or incus), with a configuration of its own, add the fake as a
// remote over TLS (lxc remote add NAME TOKEN): the token is used up
// (cancelled), the client's certificate is trusted under the token's
// name, and the new remote can list instances.
func TestJoinWithTrustToken(t *testing.T) {
	for _, tt := range []struct {
		flavor catalog.Flavor
		client string
		add    []string
	}{
		{catalog.LXD50, "lxc", []string{"config", "trust", "add", "--name", "joiner"}},
		{catalog.Incus, "incus", []string{"config", "trust", "add", "joiner"}},
	} {
		t.Run(string(tt.flavor), func(t *testing.T) {
			s := NewServer(t, Options{Socket: filepath.Join(t.TempDir(), "unix.socket"), Flavor: tt.flavor, TLS: true})
			evs := monitor(t, s)
			out, errOut, ok := clientRun(t, tt.flavor, s.SocketPath(), tt.add...)
			if !ok {
				t.Fatalf("trust add: %s", errOut)
			}
			_, tok, _ := strings.Cut(out, "certificate add token:\n")
			tok = strings.TrimSpace(tok)
			// A client of its own: its configuration directory holds the
			// certificate it makes and the remote it adds.
			prefix := "LXD_"
			if tt.flavor == catalog.Incus {
				prefix = "INCUS_"
			}
			remote := func(conf string, args ...string) (string, bool) {
				cmd := exec.Command(tt.client, args...)
				for _, kv := range os.Environ() {
					if !strings.HasPrefix(kv, prefix) {
						cmd.Env = append(cmd.Env, kv)
					}
				}
				cmd.Env = append(cmd.Env, prefix+"CONF="+conf, prefix+"DIR="+t.TempDir())
				cmd.Stdin = strings.NewReader("")
				b, err := cmd.CombinedOutput()
				return string(b), err == nil
			}
			conf := t.TempDir()
			if out, ok := remote(conf, "remote", "add", "fake", tok); !ok {
				t.Fatalf("remote add with the token: %s", out)
			}
			if out, ok := remote(conf, "list", "fake:", "--format", "csv"); !ok {
				t.Errorf("list on the new remote: %s", out)
			}
			// Another client cannot use it again.
			if out, ok := remote(t.TempDir(), "remote", "add", "fake", tok); ok || !strings.Contains(out, "No matching certificate add operation found") {
				t.Errorf("the token used twice: ok=%v %s", ok, out)
			}
			if out, _, _ := clientRun(t, tt.flavor, s.SocketPath(), "config", "trust", "list", "--format", "csv"); !strings.Contains(out, "joiner") {
				t.Errorf("trust list: %q, want the joiner", out)
			}
			got := collect(t, evs, "certificate-created")
			var seen []string
			for _, m := range got {
				md := m["metadata"].(map[string]any)
				switch {
				case m["type"] == "operation" && md["class"] == "token":
					seen = append(seen, md["status"].(string))
				case m["type"] == "lifecycle":
					seen = append(seen, md["action"].(string))
				}
			}
			if want := []string{"Pending", "Running", "Cancelling", "Cancelled", "operation-cancelled", "certificate-created"}; !slices.Equal(seen, want) {
				t.Errorf("events %q, want %q", seen, want)
			}
		})
	}
}
