package lxd

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eventsim/eventsim/scenarios"
	"github.com/eventsim/eventsim/schemas"
)

// These tests drive the real lxc client (Debian's lxd-client 5.0.2) against
// the fake over its unix socket.

// lxcCommand prepares an lxc command talking to the fake's socket, with a
// fresh configuration, so lxc goes through its first-run requests too.
func lxcCommand(t *testing.T, sock string, args ...string) *exec.Cmd {
	t.Helper()
	path, err := exec.LookPath("lxc")
	if err != nil {
		t.Fatalf("lxc is not on PATH (apt-get install -y lxd-client; .ci/run installs it): %v", err)
	}
	cmd := exec.Command(path, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LXD_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "LXD_SOCKET="+sock, "LXD_DIR="+t.TempDir(), "LXD_CONF="+t.TempDir())
	return cmd
}

func lxcServer(t *testing.T) *Server {
	t.Helper()
	return NewServer(t, Options{Socket: filepath.Join(t.TempDir(), "unix.socket"), Addr: "-", Projects: []string{"p1"}})
}

func TestLXCInfo(t *testing.T) {
	s := lxcServer(t)
	cmd := lxcCommand(t, s.SocketPath(), "info")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("lxc info: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	for _, want := range []string{"api_status: stable", "auth: trusted", "server_version: 5.0.2", "server_event_mode: full-mesh", "server_clustered: false", "storage: dir", "- projects"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("lxc info lacks %q:\n%s", want, stdout.String())
		}
	}
	if strings.Contains(stderr.String(), "lxd init") {
		t.Errorf("lxc printed the init hint: %s", stderr.String())
	}
}

// monitorRecords is the capture plus its project events moved to p1 and one
// more copy out of any project, so that project filters have work to do.
func monitorRecords(t *testing.T) []*scenarios.Record {
	recs := captured(t)
	var out []*scenarios.Record
	for _, r := range recs {
		out = append(out, r)
		if r.Project != "" {
			out = append(out, inProject(t, r, "p1"))
		}
	}
	return out
}

func TestLXCMonitor(t *testing.T) {
	all := monitorRecords(t)
	shapes := map[string][]string{}
	for _, r := range captured(t) {
		var m map[string]any
		json.Unmarshal(r.JSON, &m)
		shapes[kindOf(m)] = append(shapes[kindOf(m)], shape(m, 2))
	}
	tests := []struct {
		name string
		args []string
		want func(r *scenarios.Record) bool
	}{
		{"default project", nil, func(r *scenarios.Record) bool { return r.Project == "" || r.Project == "default" }},
		{"type lifecycle", []string{"--type", "lifecycle"}, func(r *scenarios.Record) bool {
			return r.Type == "lifecycle" && (r.Project == "" || r.Project == "default")
		}},
		{"project p1", []string{"--project", "p1"}, func(r *scenarios.Record) bool { return r.Project == "" || r.Project == "p1" }},
		{"all projects", []string{"--all-projects"}, func(*scenarios.Record) bool { return true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := lxcServer(t)
			cmd := lxcCommand(t, s.SocketPath(), append([]string{"monitor", "--format", "json"}, tt.args...)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { cmd.Process.Kill(); cmd.Wait() }()
			lines := make(chan []byte, 1024)
			go func() {
				sc := bufio.NewScanner(out)
				sc.Buffer(nil, 1<<20)
				for sc.Scan() {
					if len(sc.Bytes()) > 0 {
						lines <- bytes.Clone(sc.Bytes())
					}
				}
				close(lines)
			}()
			deadline := time.Now().Add(10 * time.Second)
			for s.Stats().Clients == 0 {
				if time.Now().After(deadline) {
					t.Fatalf("lxc monitor did not connect: %s", stderr.String())
				}
				time.Sleep(5 * time.Millisecond)
			}
			var want [][]byte
			for _, r := range all {
				if err := s.Deliver(t.Context(), r); err != nil {
					t.Fatal(err)
				}
				if tt.want(r) {
					want = append(want, r.JSON)
				}
			}
			var got [][]byte
			timeout := time.After(10 * time.Second)
		read:
			for len(got) < len(want) {
				select {
				case l, ok := <-lines:
					if !ok {
						break read
					}
					got = append(got, l)
				case <-timeout:
					break read
				}
			}
			select { // nothing more may come
			case l := <-lines:
				got = append(got, l)
			case <-time.After(300 * time.Millisecond):
			}
			if len(got) != len(want) {
				t.Fatalf("lxc monitor %v printed %d events, want %d\n%s", tt.args, len(got), len(want), stderr.String())
			}
			gm, wm := multiset(t, got), multiset(t, want)
			for k, n := range wm {
				if gm[k] != n {
					t.Errorf("event printed %d times, delivered %d: %s", gm[k], n, k)
				}
			}
			for _, l := range got {
				if err := schemas.Validate(schemas.LXDEvent, l); err != nil {
					t.Errorf("%v: %s", err, l)
				}
				var m map[string]any
				json.Unmarshal(l, &m)
				if k := kindOf(m); !slices.Contains(shapes[k], shape(m, 2)) {
					t.Errorf("%s event with keys and types unlike the real daemon's: %s", k, shape(m, 2))
				}
			}
		})
	}
}
