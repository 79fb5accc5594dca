package lxd

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/scenarios"
)

// These tests play a built-in scenario into the fake, then ask the real lxc
// client what it sees, and hold its answers to what the stream said, read
// here independently of the world package (plain encoding/json and the
// action names).

// play delivers every LXD event of a built-in scenario to s, in order, and
// returns them; an endless scenario stops after 20,000 events.
func play(t *testing.T, s *Server, name string) []*scenarios.Record {
	t.Helper()
	sc, err := scenarios.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	e, err := scenarios.New(sc, scenarios.Options{Flavor: s.flavor})
	if err != nil {
		t.Fatal(err)
	}
	var out []*scenarios.Record
	for len(out) < 20_000 {
		r, err := e.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if r.API != "lxd" || r.Fault != nil {
			continue
		}
		if err := s.Deliver(t.Context(), r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// said is what a stream said about instances, read naively.
type said struct {
	instances map[string]string // "project/name" -> status
	snapshots map[string]int    // "project/name" -> count
	warnings  map[string]string // uuid -> status
	members   map[string]bool
	ops       map[string]time.Time // id -> end (zero while running)
	last      time.Time
}

// readStream reads the lifecycle and operation events of recs.
func readStream(t *testing.T, recs []*scenarios.Record) *said {
	t.Helper()
	st := &said{instances: map[string]string{}, snapshots: map[string]int{}, warnings: map[string]string{}, members: map[string]bool{}, ops: map[string]time.Time{}}
	for _, r := range recs {
		var ev struct {
			Type      string    `json:"type"`
			Timestamp time.Time `json:"timestamp"`
			Project   string    `json:"project"`
			Metadata  struct {
				Action     string            `json:"action"`
				Source     string            `json:"source"`
				Context    map[string]any    `json:"context"`
				ID         string            `json:"id"`
				StatusCode int               `json:"status_code"`
				Resources  map[string]any    `json:"resources"`
				X          map[string]string `json:"-"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(r.JSON, &ev); err != nil {
			t.Fatal(err)
		}
		st.last = ev.Timestamp
		m := ev.Metadata
		if ev.Type == "operation" {
			if m.StatusCode >= 200 {
				st.ops[m.ID] = ev.Timestamp
			} else if _, ok := st.ops[m.ID]; !ok {
				st.ops[m.ID] = time.Time{}
			}
			continue
		}
		if ev.Type != "lifecycle" {
			continue
		}
		p, _, _ := strings.Cut(m.Source, "?")
		parts := strings.Split(strings.TrimPrefix(p, "/1.0/"), "/")
		for i := range parts {
			parts[i], _ = url.PathUnescape(parts[i])
		}
		key := func(name string) string { return ev.Project + "/" + name }
		old, _ := m.Context["old_name"].(string)
		switch {
		case parts[0] == "instances" && len(parts) == 2:
			k := key(parts[1])
			switch m.Action {
			case "instance-deleted":
				delete(st.instances, k)
				delete(st.snapshots, k)
			case "instance-renamed":
				st.instances[k] = st.instances[key(old)]
				st.snapshots[k] = st.snapshots[key(old)]
				delete(st.instances, key(old))
				delete(st.snapshots, key(old))
			case "instance-started", "instance-restarted", "instance-resumed", "instance-ready":
				st.instances[k] = "RUNNING"
			case "instance-stopped", "instance-shutdown", "instance-created":
				st.instances[k] = "STOPPED"
			case "instance-paused":
				st.instances[k] = "FROZEN"
			default:
				if st.instances[k] == "" {
					st.instances[k] = "STOPPED"
				}
			}
		case parts[0] == "instances" && len(parts) == 4 && parts[2] == "snapshots":
			k := key(parts[1])
			if st.instances[k] == "" {
				st.instances[k] = "STOPPED"
			}
			switch m.Action {
			case "instance-snapshot-created":
				st.snapshots[k]++
			case "instance-snapshot-deleted":
				st.snapshots[k]--
			}
		case parts[0] == "warnings":
			switch m.Action {
			case "warning-deleted":
				delete(st.warnings, parts[1])
			case "warning-acknowledged":
				st.warnings[parts[1]] = "ACKNOWLEDGED"
			default:
				st.warnings[parts[1]] = "NEW"
			}
		case parts[0] == "cluster" && len(parts) == 3 && parts[1] == "members":
			switch m.Action {
			case "cluster-member-removed":
				delete(st.members, parts[2])
			case "cluster-member-renamed":
				delete(st.members, old)
				st.members[parts[2]] = true
			case "cluster-token-created":
			default:
				st.members[parts[2]] = true
			}
		}
	}
	return st
}

// csvRows runs an lxc command printing CSV and returns its rows.
func csvRows(t *testing.T, s *Server, args ...string) [][]string {
	t.Helper()
	out := lxcRun(t, s.SocketPath(), "", append(args, "--format", "csv")...)
	var rows [][]string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l != "" {
			rows = append(rows, strings.Split(l, ","))
		}
	}
	return rows
}

func sortedLines(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+" "+v)
	}
	sort.Strings(out)
	return out
}

func TestLXCListsWhatTheStreamSaid(t *testing.T) {
	for _, name := range []string{"demo", "lxd-projects", "lxd-steady"} {
		t.Run(name, func(t *testing.T) {
			s := NewServer(t, Options{Socket: filepath.Join(t.TempDir(), "unix.socket"), Addr: "-"})
			st := readStream(t, play(t, s, name))
			if len(st.instances) == 0 {
				t.Fatalf("scenario %s left no instance to list", name)
			}

			// lxc list --all-projects: every instance, its state and snapshots.
			want := map[string]string{}
			for k, status := range st.instances {
				want[k] = fmt.Sprintf("%s %d", status, st.snapshots[k])
			}
			got := map[string]string{}
			for _, row := range csvRows(t, s, "list", "--all-projects", "-c", "ensS") {
				got[row[0]+"/"+row[1]] = row[2] + " " + row[3]
			}
			if !slices.Equal(sortedLines(got), sortedLines(want)) {
				t.Errorf("lxc list --all-projects:\n got %q\nwant %q", sortedLines(got), sortedLines(want))
			}

			// lxc list: the default project's only.
			var names, wantNames []string
			for _, row := range csvRows(t, s, "list", "-c", "n") {
				names = append(names, row[0])
			}
			for k := range st.instances {
				if p, n, _ := strings.Cut(k, "/"); p == "default" {
					wantNames = append(wantNames, n)
				}
			}
			sort.Strings(wantNames)
			if !slices.Equal(names, wantNames) {
				t.Errorf("lxc list: %q, want %q", names, wantNames)
			}

			// lxc info NAME, for one instance of the default project.
			if len(wantNames) > 0 {
				n := wantNames[0]
				out := lxcRun(t, s.SocketPath(), "", "info", n)
				for _, l := range []string{"Name: " + n, "Status: " + st.instances["default/"+n], "Type: container"} {
					if !strings.Contains(out, l+"\n") {
						t.Errorf("lxc info %s lacks %q:\n%s", n, l, out)
					}
				}
			}
		})
	}
}

func TestLXCOperationAndWarningLists(t *testing.T) {
	s := NewServer(t, Options{Socket: filepath.Join(t.TempDir(), "unix.socket"), Addr: "-"})
	st := readStream(t, play(t, s, "lxd-catalogue-tour"))

	var wantOps []string
	for id, end := range st.ops {
		if end.IsZero() || st.last.Sub(end) <= 5*time.Second {
			wantOps = append(wantOps, id)
		}
	}
	sort.Strings(wantOps)
	var ops []string
	for _, row := range csvRows(t, s, "operation", "list") {
		ops = append(ops, row[0])
	}
	sort.Strings(ops)
	if len(wantOps) == 0 || !slices.Equal(ops, wantOps) {
		t.Errorf("lxc operation list: %d operations %q, want the %d of the last 5 s %q", len(ops), ops, len(wantOps), wantOps)
	}

	got := map[string]string{}
	for _, row := range csvRows(t, s, "warning", "list") {
		got[row[0]] = row[2]
	}
	if len(st.warnings) == 0 || !slices.Equal(sortedLines(got), sortedLines(st.warnings)) {
		t.Errorf("lxc warning list: %q, want %q", sortedLines(got), sortedLines(st.warnings))
	}
}

func TestLXCClusterList(t *testing.T) {
	sc, err := scenarios.Load("lxd-cluster")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(t, Options{Socket: filepath.Join(t.TempDir(), "unix.socket"), Addr: "-", Members: sc.LXD.Members})
	st := readStream(t, play(t, s, "lxd-cluster"))
	for _, m := range sc.LXD.Members {
		if _, gone := st.members[m]; !gone {
			st.members[m] = true
		}
	}
	var got, want []string
	for _, row := range csvRows(t, s, "cluster", "list") {
		got = append(got, row[0])
	}
	for m := range st.members {
		want = append(want, m)
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("lxc cluster list: %q, want %q", got, want)
	}
}

func TestLXCListFlavors(t *testing.T) {
	// The world follows each flavour's catalogue: an lxd-6 stream folds the same.
	s := NewServer(t, Options{Socket: filepath.Join(t.TempDir(), "unix.socket"), Addr: "-", Flavor: catalog.LXD6})
	st := readStream(t, play(t, s, "lxd-steady"))
	rows := csvRows(t, s, "list", "--all-projects", "-c", "ens")
	if len(rows) == 0 || len(rows) != len(st.instances) {
		t.Errorf("lxc list on lxd-6: %d rows %q, want %d instances", len(rows), rows, len(st.instances))
	}
}
