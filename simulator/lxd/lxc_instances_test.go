package lxd

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/eventsim/eventsim/catalog"
)

// The real lxc drives instances on the fake: each command's exit code and
// output, and the lifecycle events a concurrent lxc monitor receives.

// lxcFail runs an lxc command that must fail and returns its stderr.
func lxcFail(t *testing.T, sock string, args ...string) string {
	t.Helper()
	cmd := lxcCommand(t, sock, args...)
	cmd.Stdin = strings.NewReader("")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err == nil {
		t.Fatalf("lxc %s succeeded, want a failure:\n%s", strings.Join(args, " "), stdout.String())
	}
	return stderr.String()
}

// actions returns the lifecycle events as "action source" lines, in order.
func actions(got []map[string]any) []string {
	var out []string
	for _, m := range got {
		if m["type"] != "lifecycle" {
			continue
		}
		md := m["metadata"].(map[string]any)
		line := md["action"].(string) + " " + md["source"].(string)
		if c, ok := md["context"].(map[string]any); ok {
			for _, k := range []string{"old_name", "snapshot", "type"} {
				if v, ok := c[k].(string); ok {
					line += " " + k + "=" + v
				}
			}
		}
		out = append(out, line)
	}
	return out
}

func TestLXCInstanceCommands(t *testing.T) {
	s := NewServer(t, Options{Socket: filepath.Join(t.TempDir(), "unix.socket"), Addr: "-", Logging: true})
	evs := monitor(t, s, "--all-projects")
	sock := s.SocketPath()

	lxcRun(t, sock, "", "init", "--empty", "c1")
	if out := lxcRun(t, sock, "", "list", "--format", "csv", "-c", "ns"); out != "c1,STOPPED\n" {
		t.Errorf("lxc list after init: %q", out)
	}
	lxcRun(t, sock, "", "start", "c1")
	if out := lxcRun(t, sock, "", "list", "--format", "csv", "-c", "ns4"); !strings.HasPrefix(out, "c1,RUNNING,10.158.") {
		t.Errorf("lxc list after start: %q, want c1 running with an address", out)
	}
	if msg := lxcFail(t, sock, "delete", "c1"); !strings.Contains(msg, "stop it first") {
		t.Errorf("lxc delete of a running instance: %q", msg)
	}
	lxcRun(t, sock, "", "stop", "c1")
	lxcRun(t, sock, "", "start", "c1")
	lxcRun(t, sock, "", "restart", "c1")
	lxcRun(t, sock, "", "pause", "c1")
	if out := lxcRun(t, sock, "", "list", "--format", "csv", "-c", "ns"); out != "c1,FROZEN\n" {
		t.Errorf("lxc list after pause: %q", out)
	}
	lxcRun(t, sock, "", "start", "c1") // unfreezes a frozen instance
	lxcRun(t, sock, "", "stop", "--force", "c1")
	lxcRun(t, sock, "", "snapshot", "c1")
	lxcRun(t, sock, "", "snapshot", "c1")
	if out := lxcRun(t, sock, "", "info", "c1"); !strings.Contains(out, "snap0") || !strings.Contains(out, "snap1") {
		t.Errorf("lxc info after two snapshots lacks snap0 and snap1:\n%s", out)
	}
	lxcRun(t, sock, "", "restore", "c1", "snap0")
	lxcRun(t, sock, "", "rename", "c1", "c2")
	lxcRun(t, sock, "", "start", "c2")
	lxcRun(t, sock, "", "delete", "--force", "c2")
	if out := lxcRun(t, sock, "", "list", "--format", "csv"); out != "" {
		t.Errorf("lxc list after delete: %q", out)
	}

	got := collect(t, evs, "instance-deleted")
	want := []string{
		"instance-created /1.0/instances/c1 type=container",
		"instance-started /1.0/instances/c1",
		"instance-shutdown /1.0/instances/c1",
		"instance-started /1.0/instances/c1",
		"instance-restarted /1.0/instances/c1",
		"instance-paused /1.0/instances/c1",
		"instance-resumed /1.0/instances/c1",
		"instance-stopped /1.0/instances/c1",
		"instance-snapshot-created /1.0/instances/c1/snapshots/snap0",
		"instance-snapshot-created /1.0/instances/c1/snapshots/snap1",
		"instance-restored /1.0/instances/c1 snapshot=c1/snap0",
		"instance-renamed /1.0/instances/c2 old_name=c1",
		"instance-started /1.0/instances/c2",
		"instance-stopped /1.0/instances/c2",
		// Deleting an instance reports its snapshots deleted first, as
		// real LXD 5.0.2 and Incus 6.0 do (testdata/real-events-*.json).
		"instance-snapshot-deleted /1.0/instances/c2/snapshots/snap0",
		"instance-snapshot-deleted /1.0/instances/c2/snapshots/snap1",
		"instance-deleted /1.0/instances/c2",
	}
	if lc := actions(got); !slices.Equal(lc, want) {
		t.Errorf("lifecycle events:\n%s\nwant:\n%s", strings.Join(lc, "\n"), strings.Join(want, "\n"))
	}
	// Every operation goes Pending, Running, then Success, in that order.
	status := map[string][]string{}
	for _, m := range got {
		if m["type"] == "operation" {
			md := m["metadata"].(map[string]any)
			status[md["id"].(string)] = append(status[md["id"].(string)], md["status"].(string))
		}
	}
	// One operation per request: the snapshots' deletions are the
	// instance delete's.
	if len(status) < len(want)-2 {
		t.Errorf("%d operations for %d lifecycle events", len(status), len(want))
	}
	for id, l := range status {
		if !slices.Equal(l, []string{"Pending", "Running", "Success"}) {
			t.Errorf("operation %s went %v", id, l)
		}
	}
	checkShapes(t, got)
}

// incusRun runs the real incus client against the fake's socket.
func incusRun(t *testing.T, sock string, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("incus")
	if err != nil {
		t.Fatalf("incus is not on PATH (apt-get install -y -t bookworm-backports incus-client): %v", err)
	}
	cmd := exec.Command(path, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "INCUS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "INCUS_SOCKET="+sock, "INCUS_DIR="+t.TempDir(), "INCUS_CONF="+t.TempDir())
	cmd.Stdin = strings.NewReader("")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("incus %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

func TestIncusInstanceCommands(t *testing.T) {
	s := NewServer(t, Options{Socket: filepath.Join(t.TempDir(), "unix.socket"), Addr: "-", Flavor: catalog.Incus})
	st := readStream(t, play(t, s, "lxd-projects"))
	sock := s.SocketPath()
	var rows []string
	for _, l := range strings.Split(strings.TrimSpace(incusRun(t, sock, "list", "--all-projects", "--format", "csv", "-c", "ens")), "\n") {
		rows = append(rows, l)
	}
	var want []string
	for k, status := range st.instances {
		p, n, _ := strings.Cut(k, "/")
		want = append(want, p+","+n+","+status)
	}
	slices.Sort(rows)
	slices.Sort(want)
	if len(want) == 0 || !slices.Equal(rows, want) {
		t.Errorf("incus list --all-projects: %q, want %q", rows, want)
	}

	incusRun(t, sock, "init", "--empty", "c1")
	incusRun(t, sock, "start", "c1")
	incusRun(t, sock, "snapshot", "create", "c1")
	if out := incusRun(t, sock, "list", "--format", "csv", "-c", "nsS"); out != "c1,RUNNING,1\n" {
		t.Errorf("incus list after start and snapshot: %q", out)
	}
	incusRun(t, sock, "pause", "c1")
	incusRun(t, sock, "start", "c1")
	incusRun(t, sock, "stop", "--force", "c1")
	incusRun(t, sock, "rename", "c1", "c2")
	incusRun(t, sock, "delete", "c2")
	if out := incusRun(t, sock, "list", "--format", "csv"); out != "" {
		t.Errorf("incus list after delete: %q", out)
	}
}

// TestIncusLaunch: Incus 6.0 advertises instance_create_start, so `incus
// launch` sends one create with "start": true and no start request. The
// instance must be running when launch returns, and the stream says it was
// created and then started, in the one "Creating instance" operation.
func TestIncusLaunch(t *testing.T) {
	s := NewServer(t, Options{Socket: filepath.Join(t.TempDir(), "unix.socket"), Addr: "-", Flavor: catalog.Incus})
	evs := monitor(t, s)
	sock := s.SocketPath()
	img, _ := imageTarball(t)
	incusRun(t, sock, "image", "import", img, "--alias", "deb")
	if out := incusRun(t, sock, "launch", "deb", "c1"); !strings.Contains(out, "Launching c1") {
		t.Errorf("incus launch did not take the instance_create_start path: %q", out)
	}
	if out := incusRun(t, sock, "list", "--format", "csv", "-c", "ns"); out != "c1,RUNNING\n" {
		t.Errorf("incus list after launch: %q, want c1 running", out)
	}
	got := collect(t, evs, "instance-started")
	if lc := actions(got); !slices.Equal(lc[len(lc)-2:], []string{"instance-created /1.0/instances/c1 type=container", "instance-started /1.0/instances/c1"}) {
		t.Errorf("lifecycle events: %q, want created then started", lc)
	}
	ops := map[string]bool{}
	for _, m := range got {
		if m["type"] == "operation" {
			ops[m["metadata"].(map[string]any)["description"].(string)] = true
		}
	}
	if ops["Starting instance"] || !ops["Creating instance"] {
		t.Errorf("operations %v, want the create's alone", ops)
	}
}

// imageTarball writes a unified image tarball (metadata.yaml and an empty
// rootfs/) as `lxc image import` takes it, and returns its path and
// SHA-256.
func imageTarball(t *testing.T) (string, string) {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	meta := "architecture: x86_64\ncreation_date: 1767225600\nproperties:\n  description: eventsim test image\n  os: debian\n  release: bookworm\n"
	tw.WriteHeader(&tar.Header{Name: "metadata.yaml", Mode: 0o644, Size: int64(len(meta))})
	tw.Write([]byte(meta))
	tw.WriteHeader(&tar.Header{Name: "rootfs/", Mode: 0o755, Typeflag: tar.TypeDir})
	tw.Close()
	gz.Close()
	path := filepath.Join(t.TempDir(), "image.tar.gz")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return path, hex.EncodeToString(sum[:])
}

func TestLXCImageCommands(t *testing.T) {
	s := NewServer(t, Options{Socket: filepath.Join(t.TempDir(), "unix.socket"), Addr: "-"})
	evs := monitor(t, s, "--all-projects")
	sock := s.SocketPath()
	file, fp := imageTarball(t)

	if out := lxcRun(t, sock, "", "image", "import", file, "--alias", "deb"); !strings.Contains(out, fp) {
		t.Errorf("lxc image import: %q, want the fingerprint %s", out, fp)
	}
	if out := lxcRun(t, sock, "", "image", "list", "--format", "csv", "-c", "lfda"); out != "deb,"+fp[:12]+",eventsim test image,x86_64\n" {
		t.Errorf("lxc image list: %q", out)
	}
	lxcRun(t, sock, "", "image", "alias", "create", "deb2", fp[:12])
	if out := lxcRun(t, sock, "", "image", "alias", "list", "--format", "csv"); !strings.Contains(out, "deb,"+fp[:12]) || !strings.Contains(out, "deb2,"+fp[:12]) {
		t.Errorf("lxc image alias list: %q", out)
	}
	lxcRun(t, sock, "", "launch", "deb", "c1")
	if out := lxcRun(t, sock, "", "list", "--format", "csv", "-c", "ns"); out != "c1,RUNNING\n" {
		t.Errorf("lxc list after launch: %q", out)
	}
	if out := lxcRun(t, sock, "", "config", "get", "c1", "volatile.base_image"); strings.TrimSpace(out) != fp {
		t.Errorf("c1's base image %q, want %s", out, fp)
	}
	lxcRun(t, sock, "", "image", "alias", "delete", "deb2")
	lxcRun(t, sock, "", "delete", "--force", "c1")
	lxcRun(t, sock, "", "image", "delete", fp[:12])
	if out := lxcRun(t, sock, "", "image", "list", "--format", "csv"); out != "" {
		t.Errorf("lxc image list after delete: %q", out)
	}
	got := collect(t, evs, "image-deleted")
	want := []string{
		"image-created /1.0/images/" + fp + " type=container",
		"image-alias-created /1.0/images/aliases/deb",
		"image-alias-created /1.0/images/aliases/deb2",
		"instance-created /1.0/instances/c1 type=container",
		"instance-started /1.0/instances/c1",
		"image-alias-deleted /1.0/images/aliases/deb2",
		"instance-stopped /1.0/instances/c1",
		"instance-deleted /1.0/instances/c1",
		"image-alias-deleted /1.0/images/aliases/deb",
		"image-deleted /1.0/images/" + fp,
	}
	if lc := actions(got); !slices.Equal(lc, want) {
		t.Errorf("lifecycle events:\n%s\nwant:\n%s", strings.Join(lc, "\n"), strings.Join(want, "\n"))
	}
}

func TestLXCNetworkCommands(t *testing.T) {
	s := NewServer(t, Options{Socket: filepath.Join(t.TempDir(), "unix.socket"), Addr: "-"})
	evs := monitor(t, s, "--all-projects")
	sock := s.SocketPath()
	lxcRun(t, sock, "", "network", "create", "br1", "ipv4.address=10.99.0.1/24", "ipv6.address=none")
	if out := lxcRun(t, sock, "", "network", "list", "--format", "csv"); !strings.HasPrefix(out, "br1,bridge,YES,10.99.0.1/24,") {
		t.Errorf("lxc network list: %q", out)
	}
	lxcRun(t, sock, "", "network", "set", "br1", "dns.domain", "example")
	if out := lxcRun(t, sock, "", "network", "show", "br1"); !strings.Contains(out, "dns.domain: example") || !strings.Contains(out, "ipv4.address: 10.99.0.1/24") {
		t.Errorf("lxc network show:\n%s", out)
	}
	lxcRun(t, sock, "", "network", "rename", "br1", "br2")
	if msg := lxcFail(t, sock, "network", "show", "br1"); !strings.Contains(msg, "Network not found") {
		t.Errorf("lxc network show of a renamed network: %q", msg)
	}
	lxcRun(t, sock, "", "network", "delete", "br2")
	if out := lxcRun(t, sock, "", "network", "list", "--format", "csv"); out != "" {
		t.Errorf("lxc network list after delete: %q", out)
	}
	got := collect(t, evs, "network-deleted")
	want := []string{
		"network-created /1.0/networks/br1",
		"network-updated /1.0/networks/br1",
		"network-renamed /1.0/networks/br2 old_name=br1",
		"network-deleted /1.0/networks/br2",
	}
	if lc := actions(got); !slices.Equal(lc, want) {
		t.Errorf("lifecycle events:\n%s\nwant:\n%s", strings.Join(lc, "\n"), strings.Join(want, "\n"))
	}
	checkShapes(t, got)
}
