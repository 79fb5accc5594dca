package lxd

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// These tests drive the real lxc client's REST commands against the fake
// while `lxc monitor --all-projects --format json` watches the events.
// lxc is installed by .ci/run (Debian's lxd-client); a missing lxc fails
// them rather than skipping them.

// lxcRun runs one lxc command against the fake's socket with a fresh
// configuration and optional stdin, and returns its standard output.
func lxcRun(t *testing.T, sock, stdin string, args ...string) string {
	t.Helper()
	cmd := lxcCommand(t, sock, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("lxc %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// monitor starts `lxc monitor --format json` with extra arguments and
// returns the events it prints, as they come.
func monitor(t *testing.T, s *Server, args ...string) <-chan map[string]any {
	t.Helper()
	path, err := exec.LookPath("lxc")
	if err != nil {
		t.Fatalf("lxc is not on PATH (apt-get install -y lxd-client): %v", err)
	}
	before := s.Stats().Connections
	cmd := exec.Command(path, append([]string{"monitor", "--format", "json"}, args...)...)
	cmd.Env = append(os.Environ(), "LXD_SOCKET="+s.SocketPath(), "LXD_DIR="+t.TempDir(), "LXD_CONF="+t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Killed at cleanup, lxc may leave a line half printed; that is not
	// its output to judge.
	var stopping atomic.Bool
	t.Cleanup(func() { stopping.Store(true); cmd.Process.Kill(); cmd.Wait() })
	evs := make(chan map[string]any, 4096)
	go func() {
		defer close(evs)
		sc := bufio.NewScanner(out)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if len(sc.Bytes()) == 0 {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				if stopping.Load() {
					return
				}
				t.Errorf("lxc monitor printed a line that is not JSON: %s", sc.Bytes())
				continue
			}
			evs <- m
		}
	}()
	waitFor(t, func() bool { return s.Stats().Connections > before }, "lxc monitor to connect")
	return evs
}

// collect reads events until every wanted lifecycle action has been seen
// (or 10 s pass) and a quiet 300 ms follows (lxc prints each event from its
// own goroutine, so the last one printed need not be the last one sent).
func collect(t *testing.T, evs <-chan map[string]any, actions ...string) []map[string]any {
	t.Helper()
	var got []map[string]any
	seen := func() bool {
		for _, a := range actions {
			if !slices.ContainsFunc(got, func(m map[string]any) bool { return kindOf(m) == "lifecycle/"+a }) {
				return false
			}
		}
		return true
	}
	deadline := time.After(10 * time.Second)
	for !seen() {
		select {
		case m, ok := <-evs:
			if !ok {
				t.Fatalf("lxc monitor ended; got %d events", len(got))
			}
			got = append(got, m)
		case <-deadline:
			t.Fatalf("lxc monitor saw %d events but not all of %v", len(got), actions)
		}
	}
	for {
		select {
		case m := <-evs:
			got = append(got, m)
		case <-time.After(300 * time.Millisecond):
			// lxc monitor prints each event from its own goroutine, so
			// its output order is not the wire order; the fake's own
			// events have strictly increasing timestamps.
			sort.SliceStable(got, func(i, j int) bool { return stamp(t, got[i]).Before(stamp(t, got[j])) })
			return got
		}
	}
}

func stamp(t *testing.T, m map[string]any) time.Time {
	ts, err := time.Parse(time.RFC3339Nano, m["timestamp"].(string))
	if err != nil {
		t.Fatalf("timestamp of %v: %v", m, err)
	}
	return ts
}

// loggingMessages returns the first line of every logging message.
func loggingMessages(got []map[string]any) []string {
	var msgs []string
	for _, m := range got {
		if m["type"] == "logging" {
			md := m["metadata"].(map[string]any)
			msgs = append(msgs, strings.SplitN(md["message"].(string), "\n", 2)[0])
		}
	}
	return msgs
}

// lifecycles returns the lifecycle events in order, as "action source
// project" lines, with context and requestor checked.
func lifecycles(t *testing.T, got []map[string]any) []string {
	t.Helper()
	var out []string
	for _, m := range got {
		if m["type"] != "lifecycle" {
			continue
		}
		md := m["metadata"].(map[string]any)
		line := md["action"].(string) + " " + md["source"].(string) + " " + m["project"].(string)
		if c, ok := md["context"].(map[string]any); ok {
			if on, ok := c["old_name"]; ok {
				line += " old_name=" + on.(string)
			}
			if ty, ok := c["type"]; ok {
				line += " type=" + ty.(string)
			}
		}
		rq, _ := md["requestor"].(map[string]any)
		if rq["username"] != "root" || rq["protocol"] != "unix" || rq["address"] != "@" {
			t.Errorf("%s: requestor %v, want root over unix from @", md["action"], rq)
		}
		out = append(out, line)
	}
	return out
}

// checkShapes compares every event's keys and value types with those the
// real daemon sent for the same kind of event, where the capture has one.
func checkShapes(t *testing.T, got []map[string]any) {
	t.Helper()
	shapes := map[string][]string{}
	for _, r := range captured(t) {
		var m map[string]any
		json.Unmarshal(r.JSON, &m)
		shapes[kindOf(m)] = append(shapes[kindOf(m)], shape(m, 2))
	}
	for _, m := range got {
		k := kindOf(m)
		if known, ok := shapes[k]; ok && !slices.Contains(known, shape(m, 2)) {
			t.Errorf("%s event shaped unlike the real daemon's: %s", k, shape(m, 2))
		}
	}
}

func TestLXCProfileCommands(t *testing.T) {
	s := NewServer(t, Options{Socket: filepath.Join(t.TempDir(), "unix.socket"), Addr: "-", Logging: true})
	evs := monitor(t, s, "--all-projects")
	sock := s.SocketPath()
	lxcRun(t, sock, "", "profile", "create", "web")
	lxcRun(t, sock, "config:\n  limits.cpu: \"2\"\ndescription: web servers\ndevices: {}\n", "profile", "edit", "web")
	if out := lxcRun(t, sock, "", "profile", "show", "web"); !strings.Contains(out, "limits.cpu: \"2\"") || !strings.Contains(out, "description: web servers") {
		t.Errorf("lxc profile show after edit:\n%s", out)
	}
	lxcRun(t, sock, "", "profile", "set", "web", "limits.memory", "1GiB")
	lxcRun(t, sock, "", "profile", "rename", "web", "web2")
	if out := lxcRun(t, sock, "", "profile", "list", "--format", "csv"); !strings.Contains(out, "web2") || strings.Contains(out, "web,") {
		t.Errorf("lxc profile list after rename:\n%s", out)
	}
	lxcRun(t, sock, "", "profile", "delete", "web2")
	got := collect(t, evs, "profile-created", "profile-updated", "profile-renamed", "profile-deleted")
	want := []string{
		"profile-created /1.0/profiles/web default",
		"profile-updated /1.0/profiles/web default",
		"profile-updated /1.0/profiles/web default",
		"profile-renamed /1.0/profiles/web2 default old_name=web",
		"profile-deleted /1.0/profiles/web2 default",
	}
	if lc := lifecycles(t, got); !slices.Equal(lc, want) {
		t.Errorf("lifecycle events:\n%s\nwant:\n%s", strings.Join(lc, "\n"), strings.Join(want, "\n"))
	}
	checkShapes(t, got)
	// The logging a --debug daemon sends: each request, its body, the answer.
	msgs := loggingMessages(got)
	for _, w := range []string{"Handling API request", "API Request", "WriteJSON", "Event listener server handler started"} {
		if !slices.Contains(msgs, w) {
			t.Errorf("no %q logging event among %d", w, len(msgs))
		}
	}
}

func TestLXCProjectCommands(t *testing.T) {
	s := NewServer(t, Options{Socket: filepath.Join(t.TempDir(), "unix.socket"), Addr: "-", Logging: true})
	evs := monitor(t, s, "--all-projects")
	sock := s.SocketPath()
	lxcRun(t, sock, "", "project", "create", "demo", "-c", "features.profiles=true")
	if out := lxcRun(t, sock, "", "project", "list", "--format", "csv"); !strings.Contains(out, "demo") {
		t.Errorf("lxc project list lacks demo:\n%s", out)
	}
	// A created project is a valid filter at once.
	inDemo := monitor(t, s, "--project", "demo")
	lxcRun(t, sock, "", "profile", "create", "p", "--project", "demo")
	lxcRun(t, sock, "", "profile", "delete", "p", "--project", "demo")
	lxcRun(t, sock, "", "project", "rename", "demo", "demo2")
	lxcRun(t, sock, "", "project", "delete", "demo2")
	got := collect(t, evs, "project-created", "profile-created", "profile-deleted", "project-renamed", "project-deleted")
	want := []string{
		"project-created /1.0/projects/demo demo",
		"profile-created /1.0/profiles/p?project=demo demo",
		"profile-deleted /1.0/profiles/p?project=demo demo",
		"project-renamed /1.0/projects/demo2 demo2 old_name=demo",
		"project-deleted /1.0/projects/demo2 demo2",
	}
	if lc := lifecycles(t, got); !slices.Equal(lc, want) {
		t.Errorf("lifecycle events:\n%s\nwant:\n%s", strings.Join(lc, "\n"), strings.Join(want, "\n"))
	}
	// The rename is an operation without a project: Pending, Running, Success.
	var statuses []string
	for _, m := range got {
		if md := m["metadata"].(map[string]any); m["type"] == "operation" && md["description"] == "Renaming project" {
			if _, ok := m["project"]; ok {
				t.Errorf("the Renaming project operation event has a project: %v", m)
			}
			statuses = append(statuses, md["status"].(string))
		}
	}
	if want := []string{"Pending", "Running", "Success"}; !slices.Equal(statuses, want) {
		t.Errorf("Renaming project went %v, want %v", statuses, want)
	}
	checkShapes(t, got)
	// lxc waits for the rename on its own event listener, opened and closed.
	msgs := loggingMessages(got)
	for _, w := range []string{"New operation", "Started operation", "Success for operation", "Event listener server handler started", "Event listener server handler stopped"} {
		if !slices.Contains(msgs, w) {
			t.Errorf("no %q logging event among %d", w, len(msgs))
		}
	}
	demo := collect(t, inDemo, "profile-created", "profile-deleted")
	if lc := lifecycles(t, demo); !slices.Equal(lc, want[1:3]) {
		t.Errorf("the project demo listener saw %v, want %v", lc, want[1:3])
	}
	if out := lxcRun(t, sock, "", "project", "list", "--format", "csv"); strings.Contains(out, "demo") {
		t.Errorf("lxc project list still shows the deleted project:\n%s", out)
	}
}

func TestLXCStorageVolumeCommands(t *testing.T) {
	s := NewServer(t, Options{Socket: filepath.Join(t.TempDir(), "unix.socket"), Addr: "-", Pools: []string{"pool1"}})
	evs := monitor(t, s)
	sock := s.SocketPath()
	lxcRun(t, sock, "", "storage", "volume", "create", "pool1", "vol1")
	lxcRun(t, sock, "", "storage", "volume", "snapshot", "pool1", "vol1", "snap0")
	if out := lxcRun(t, sock, "", "storage", "volume", "list", "pool1", "--format", "csv"); !strings.Contains(out, "vol1") {
		t.Errorf("lxc storage volume list lacks vol1:\n%s", out)
	}
	lxcRun(t, sock, "", "storage", "volume", "rename", "pool1", "vol1", "vol2")
	lxcRun(t, sock, "", "storage", "volume", "delete", "pool1", "vol2")
	got := collect(t, evs, "storage-volume-created", "storage-volume-snapshot-created", "storage-volume-renamed", "storage-volume-snapshot-deleted", "storage-volume-deleted")
	want := []string{
		"storage-volume-created /1.0/storage-pools/pool1/volumes/custom/default_vol1 default type=custom",
		"storage-volume-snapshot-created /1.0/storage-pools/pool1/volumes/custom/default_vol1/snapshots/snap0 default type=custom",
		"storage-volume-renamed /1.0/storage-pools/pool1/volumes/custom/default_vol2 default old_name=vol1",
		"storage-volume-snapshot-deleted /1.0/storage-pools/pool1/volumes/custom/default_vol2/snapshots/snap0 default",
		"storage-volume-deleted /1.0/storage-pools/pool1/volumes/custom/default_vol2 default",
	}
	if lc := lifecycles(t, got); !slices.Equal(lc, want) {
		t.Errorf("lifecycle events:\n%s\nwant:\n%s", strings.Join(lc, "\n"), strings.Join(want, "\n"))
	}
	checkShapes(t, got)
}
