package world

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/internal/cputime"
	"github.com/eventsim/eventsim/internal/lxdcapture"
	"github.com/eventsim/eventsim/scenarios"
)

// lc builds a lifecycle event as LXD writes it.
func lc(action, source, project, ctx string) []byte {
	if ctx == "" {
		ctx = "null"
	}
	return fmt.Appendf(nil, `{"type":"lifecycle","timestamp":"2026-01-01T00:00:01.5Z","metadata":{"action":%q,"source":%q,"context":%s,"requestor":{"username":"root","protocol":"unix","address":"@"}},"location":"none","project":%q}`, action, source, ctx, project)
}

func apply(t *testing.T, w *World, evs ...[]byte) {
	t.Helper()
	for _, ev := range evs {
		if err := w.Apply(ev); err != nil {
			t.Fatalf("apply %s: %v", ev, err)
		}
	}
}

func TestFoldInstances(t *testing.T) {
	tests := []struct {
		name   string
		events [][]byte
		want   map[Key]string // key -> status ("" for exists with no status); absent keys must not exist
		gone   []Key
	}{
		{"created is stopped", [][]byte{
			lc("instance-created", "/1.0/instances/c1", "default", `{"type":"container","storage-pool":"default"}`),
		}, map[Key]string{{"instance", "default", "c1"}: "Stopped"}, nil},
		{"started then paused", [][]byte{
			lc("instance-created", "/1.0/instances/c1", "default", ""),
			lc("instance-started", "/1.0/instances/c1", "default", ""),
			lc("instance-paused", "/1.0/instances/c1", "default", ""),
		}, map[Key]string{{"instance", "default", "c1"}: "Frozen"}, nil},
		{"graceful shutdown stops", [][]byte{
			lc("instance-started", "/1.0/instances/c1?project=p1", "p1", ""),
			lc("instance-shutdown", "/1.0/instances/c1?project=p1", "p1", ""),
		}, map[Key]string{{"instance", "p1", "c1"}: "Stopped"}, []Key{{"instance", "default", "c1"}}},
		{"rename moves snapshots", [][]byte{
			lc("instance-created", "/1.0/instances/c1", "default", ""),
			lc("instance-snapshot-created", "/1.0/instances/c1/snapshots/snap0", "default", ""),
			lc("instance-renamed", "/1.0/instances/c2", "default", `{"old_name":"c1"}`),
		}, map[Key]string{{"instance", "default", "c2"}: "Stopped", {"instance-snapshot", "default", "c2/snap0"}: ""},
			[]Key{{"instance", "default", "c1"}, {"instance-snapshot", "default", "c1/snap0"}}},
		{"delete takes snapshots", [][]byte{
			lc("instance-snapshot-created", "/1.0/instances/c1/snapshots/snap0", "default", ""),
			lc("instance-deleted", "/1.0/instances/c1", "default", ""),
		}, nil, []Key{{"instance", "default", "c1"}, {"instance-snapshot", "default", "c1/snap0"}}},
		{"5.0.2 volume quirk", [][]byte{
			lc("storage-volume-created", "/1.0/storage-pools/pool1/volumes/custom/p1_vol1?project=p1", "p1", `{"type":"custom"}`),
			lc("storage-volume-snapshot-created", "/1.0/storage-pools/pool1/volumes/custom/p1_vol1/snapshots/s0?project=p1", "p1", ""),
			lc("storage-volume-renamed", "/1.0/storage-pools/pool1/volumes/custom/p1_vol2?project=p1", "p1", `{"old_name":"vol1"}`),
		}, map[Key]string{{"storage-pool", "", "pool1"}: "", {"storage-volume", "p1", "pool1/custom/vol2"}: "", {"storage-volume-snapshot", "p1", "pool1/custom/vol2/s0"}: ""},
			[]Key{{"storage-volume", "p1", "pool1/custom/vol1"}}},
		{"escaped names", [][]byte{
			lc("profile-created", "/1.0/profiles/a%20b", "default", ""),
		}, map[Key]string{{"profile", "default", "a b"}: ""}, nil},
		{"warning acknowledged", [][]byte{
			lc("warning-acknowledged", "/1.0/warnings/0b6f", "default", ""),
		}, map[Key]string{{"warning", "default", "0b6f"}: "Acknowledged"}, nil},
		{"project deleted takes its objects", [][]byte{
			lc("project-created", "/1.0/projects/p1", "p1", ""),
			lc("profile-created", "/1.0/profiles/web?project=p1", "p1", ""),
			lc("project-deleted", "/1.0/projects/p1", "p1", ""),
		}, nil, []Key{{"project", "", "p1"}, {"profile", "p1", "web"}}},
		{"project renamed moves its objects", [][]byte{
			lc("project-created", "/1.0/projects/p1", "p1", ""),
			lc("instance-created", "/1.0/instances/c1?project=p1", "p1", ""),
			lc("project-renamed", "/1.0/projects/p2", "p2", `{"old_name":"p1"}`),
		}, map[Key]string{{"project", "", "p2"}: "", {"instance", "p2", "c1"}: "Stopped"}, []Key{{"project", "", "p1"}, {"instance", "p1", "c1"}}},
		{"retrieved log is no object", [][]byte{
			lc("instance-log-retrieved", "/1.0/instances/c1/backups/lxc.log", "default", ""),
		}, nil, []Key{{"instance", "default", "c1"}, {"instance-backup", "default", "c1/lxc.log"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := New(catalog.LXD50)
			apply(t, w, tt.events...)
			for k, st := range tt.want {
				o := w.Get(k)
				if o == nil {
					t.Errorf("%v does not exist", k)
					continue
				}
				if o.Status != st {
					t.Errorf("%v status %q, want %q", k, o.Status, st)
				}
			}
			for _, k := range tt.gone {
				if w.Exists(k) {
					t.Errorf("%v exists", k)
				}
			}
		})
	}
}

func TestFoldOperations(t *testing.T) {
	op := func(at, id string, code int, status string) []byte {
		return fmt.Appendf(nil, `{"type":"operation","timestamp":"2026-01-01T00:00:%sZ","metadata":{"id":%q,"class":"task","description":"Creating instance","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","status":%q,"status_code":%d,"resources":{"instances":["/1.0/instances/c1"]},"metadata":null,"may_cancel":false,"err":"","location":"none"},"location":"none","project":"default"}`, at, id, status, code)
	}
	w := New(catalog.LXD50)
	apply(t, w, op("01", "a", 105, "Pending"), op("01", "a", 103, "Running"))
	if o := w.Operation("a"); o == nil || o.Status != "Running" || o.Description != "Creating instance" {
		t.Fatalf("running operation: %+v", o)
	}
	apply(t, w, op("02", "a", 200, "Success"), op("06", "b", 105, "Pending"))
	if o := w.Operation("a"); o == nil || o.StatusCode != 200 {
		t.Fatalf("operation 4 s after its end: %+v, want kept", o)
	}
	if got := string(w.Operation("a").JSON); got[0] != '{' || got[len(got)-1] != '}' {
		t.Errorf("operation JSON %q is not the object", got)
	}
	apply(t, w, op("08", "b", 103, "Running"))
	if o := w.Operation("a"); o != nil {
		t.Errorf("operation 6 s after its end still remembered: %+v", o)
	}
	if l := w.Operations("default"); len(l) != 1 || l[0].ID != "b" {
		t.Errorf("operations: %+v, want only b", l)
	}
}

// TestFoldMemberEvacuation folds the operations of evacuating and
// restoring a cluster member as LXD 5.0.2 sends them (recorded: no
// lifecycle event, resources null, location the member): the member is
// Evacuated after the evacuation's Success, Online after the restore's;
// a failed operation changes nothing, and neither does another member's.
func TestFoldMemberEvacuation(t *testing.T) {
	op := func(id, desc string, code int, status, member string) []byte {
		return fmt.Appendf(nil, `{"type":"operation","timestamp":"2026-01-01T00:00:01Z","metadata":{"id":%q,"class":"task","description":%q,"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","status":%q,"status_code":%d,"resources":null,"metadata":null,"may_cancel":false,"err":"","location":%q},"location":%q}`, id, desc, status, code, member, member)
	}
	status := func(w *World, member string) string {
		if m := w.Get(Key{Kind: "cluster-member", Path: member}); m != nil {
			return m.Status
		}
		return "(none)"
	}
	for _, f := range catalog.Flavors {
		w := New(f)
		apply(t, w, lc("cluster-member-added", "/1.0/cluster/members/node1", "default", ""), lc("cluster-member-added", "/1.0/cluster/members/node2", "default", ""))
		for _, step := range []struct {
			ev   []byte
			want string
		}{
			{op("e1", "Evacuating cluster member", 103, "Running", "node2"), "Online"},
			{op("e1", "Evacuating cluster member", 200, "Success", "node2"), "Evacuated"},
			{op("e2", "Evacuating cluster member", 400, "Failure", "node2"), "Evacuated"},
			{op("r1", "Restoring cluster member", 400, "Failure", "node2"), "Evacuated"},
			{op("r2", "Restoring cluster member", 200, "Success", "node2"), "Online"},
			{op("c1", "Creating instance", 200, "Success", "node2"), "Online"},
		} {
			apply(t, w, step.ev)
			if got := status(w, "node2"); got != step.want {
				t.Errorf("%s: after %s node2 is %s, want %s", f, step.ev, got, step.want)
			}
			if got := status(w, "node1"); got != "Online" {
				t.Errorf("%s: after %s node1 is %s, want Online", f, step.ev, got)
			}
		}
	}
}

func TestFoldRefusesWhatIsNotAnEvent(t *testing.T) {
	for _, in := range []string{``, `[]`, `{"type":"lifecycle"}`, `{"type":"lifecycle","metadata":{"action":"instance-created","source":"/1.0/profiles/x"}}`, `{"type":"operation","metadata":{}}`, `{"type":`} {
		w := New(catalog.LXD50)
		if err := w.Apply([]byte(in)); err == nil {
			t.Errorf("Apply(%q): no error", in)
		}
		if n := len(w.objs); n != 2 {
			t.Errorf("Apply(%q) changed the world: %d objects", in, n)
		}
	}
}

// TestFoldCapture folds the real daemon's capture: what it created and did
// not delete exists at the end, nothing it deleted does.
func TestFoldCapture(t *testing.T) {
	w := New(catalog.LXD50)
	for _, l := range lxdcapture.Lines() {
		if err := w.Apply(l); err != nil {
			t.Fatalf("apply %s: %v", l, err)
		}
	}
	for _, k := range []Key{{"storage-pool", "", "pool1"}, {"certificate", "", "699f9bcd73e0aa2b7ac2927a9c724372c82095fb0e72fe91ddbe317032c5f3ed"}} {
		if !w.Exists(k) {
			t.Errorf("%v does not exist after the capture", k)
		}
	}
	for _, k := range []Key{{"instance", "default", "c2"}, {"instance", "default", "c1"}, {"profile", "default", "web2"}, {"network-acl", "default", "acl2"}, {"storage-volume", "default", "pool1/custom/vol2"}} {
		if w.Exists(k) {
			t.Errorf("%v exists after the capture deleted it", k)
		}
	}
}

// steady returns the first n events of lxd-steady, encoded.
func steady(tb testing.TB, n int) [][]byte {
	tb.Helper()
	sc, err := scenarios.Load("lxd-steady")
	if err != nil {
		tb.Fatal(err)
	}
	e, err := scenarios.New(sc, scenarios.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for len(out) < n {
		r, err := e.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		if r.API == "lxd" && r.Fault == nil {
			out = append(out, r.JSON)
		}
	}
	return out
}

// TestFoldSteady folds lxd-steady: every event applies, and the instances
// the stream created and did not delete exist.
func TestFoldSteady(t *testing.T) {
	w := New(catalog.LXD50)
	for _, ev := range steady(t, 50_000) {
		if err := w.Apply(ev); err != nil {
			t.Fatalf("apply %s: %v", ev, err)
		}
	}
	if w.Count("instance") == 0 {
		t.Error("no instance exists after 50,000 events of lxd-steady")
	}
	if w.Now().Before(time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)) {
		t.Errorf("world time %v did not follow the events", w.Now())
	}
}

// steadyEvents is lxd-steady's first 200,000 events, made once for every
// run of the benchmark.
var steadyEvents [][]byte

func BenchmarkFoldSteady(b *testing.B) {
	if steadyEvents == nil {
		steadyEvents = steady(b, 200_000)
	}
	evs := steadyEvents
	var bytes int64
	for _, ev := range evs {
		bytes += int64(len(ev))
	}
	b.SetBytes(bytes / int64(len(evs)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cputime.Used()
	w := New(catalog.LXD50)
	for i := 0; i < b.N; i++ {
		if i%len(evs) == 0 {
			w = New(catalog.LXD50)
		}
		if err := w.Apply(evs[i%len(evs)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	// On a shared machine the wall clock counts other programs' turns too;
	// the process's CPU time says what the fold itself costs.
	b.ReportMetric(float64(b.N)/(cputime.Used()-cpu0).Seconds(), "events/cpu-s")
}
