package lxd

import (
	"bytes"
	"encoding/json"
	"iter"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/internal/realdaemon"
)

// objectFieldRequests make an ACL and a zone, then list the objects whose
// fields are compared: profiles, ACLs, zones, projects.
var objectFieldRequests = []struct{ method, path, body string }{
	{"POST", "/1.0/network-acls", `{"name":"a1"}`},
	{"POST", "/1.0/network-zones", `{"name":"z1.example"}`},
	{"GET", "/1.0/profiles?recursion=1", ``},
	{"GET", "/1.0/network-acls?recursion=1", ``},
	{"GET", "/1.0/network-zones?recursion=1", ``},
}

// fieldsOf returns the keys of the first object of a recursion=1 list, in
// order, with the values of "description" and "project".
func fieldsOf(t *testing.T, body []byte) string {
	t.Helper()
	var env struct{ Metadata []json.RawMessage }
	if err := json.Unmarshal(body, &env); err != nil || len(env.Metadata) == 0 {
		t.Fatalf("not a list: %v: %s", err, body)
	}
	var keys []string
	for key, v := range orderedFields(env.Metadata[0]) {
		if key == "description" || key == "project" {
			key += "=" + string(v)
		}
		keys = append(keys, key)
	}
	return strings.Join(keys, ",")
}

// orderedFields yields a JSON object's keys and values in their order.
func orderedFields(obj json.RawMessage) iter.Seq2[string, json.RawMessage] {
	return func(yield func(string, json.RawMessage) bool) {
		dec := json.NewDecoder(bytes.NewReader(obj))
		if _, err := dec.Token(); err != nil { // {
			return
		}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return
			}
			var v json.RawMessage
			if dec.Decode(&v) != nil || !yield(k.(string), v) {
				return
			}
		}
	}
}

// TestObjectFieldsMatchRealDaemons holds the fields of the fake's profiles,
// ACLs and zones, in order, and their descriptions and projects, to what
// real LXD 5.0.2 and Incus 6.0 answer: Incus writes a "project" on each
// (which incus list --all-projects shows) and calls itself Incus in the
// default profile's description.
func TestObjectFieldsMatchRealDaemons(t *testing.T) {
	againstRealDaemons(t, objectFieldRequests, func(t *testing.T, kind realdaemon.Kind, rq daemonRequest, real, fake answer) {
		if real.code != fake.code {
			t.Errorf("%s %s: fake %d, real %d", rq.method, rq.path, fake.code, real.code)
		}
		if rq.method != "GET" {
			return
		}
		if rf, ff := fieldsOf(t, real.body), fieldsOf(t, fake.body); rf != ff {
			t.Errorf("%s: fake\n  %s\nreal %s\n  %s", rq.path, ff, kind, rf)
		}
	})
}

// daemonRequest is one request for againstRealDaemons.
type daemonRequest = struct{ method, path, body string }

// answer is a status and body.
type answer struct {
	code int
	body []byte
}

// againstRealDaemons starts real LXD 5.0.2 and Incus 6.0 (each in a
// subtest, skipped where it cannot run) and a fake of the matching
// flavour, sends each request to both in order, and hands both answers to
// judge.
func againstRealDaemons(t *testing.T, reqs []daemonRequest, judge func(t *testing.T, kind realdaemon.Kind, rq daemonRequest, real, fake answer)) {
	for kind, f := range map[realdaemon.Kind]catalog.Flavor{realdaemon.LXD: catalog.LXD50, realdaemon.Incus: catalog.Incus} {
		t.Run(string(kind), func(t *testing.T) {
			d := realdaemon.Start(t, kind)
			s := NewServer(t, Options{Flavor: f, Socket: filepath.Join(t.TempDir(), "unix.socket"), Addr: "-"})
			for _, rq := range reqs {
				var real, fake answer
				real.code, real.body = d.Request(t, rq.method, rq.path, rq.body)
				fake.code, fake.body = unixRequest(t, s.SocketPath(), rq.method, rq.path, rq.body)
				judge(t, kind, rq, real, fake)
			}
		})
	}
}

// TestIncusAllProjectsLists: the real incus lists images, profiles,
// networks, ACLs and zones of every project with their project, which it
// reads from each object (Incus's *_all_projects extensions).
func TestIncusAllProjectsLists(t *testing.T) {
	s := NewServer(t, Options{Socket: filepath.Join(t.TempDir(), "unix.socket"), Addr: "-", Flavor: catalog.Incus})
	sock := s.SocketPath()
	img, fp := imageTarball(t)
	incusRun(t, sock, "image", "import", img, "--alias", "deb")
	incusRun(t, sock, "network", "create", "br1", "ipv4.address=10.99.0.1/24", "ipv6.address=none")
	incusRun(t, sock, "network", "acl", "create", "a1")
	incusRun(t, sock, "network", "zone", "create", "z1.example")
	incusRun(t, sock, "project", "create", "p1")
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"image", "list", "-c", "lf"}, []string{"deb," + fp[:12]}}, // -c: no PROJECT column
		{[]string{"profile", "list"}, []string{"default,default,Default Incus profile,0", "p1,default,Default Incus profile for project p1,0"}},
		{[]string{"network", "list"}, []string{"default,br1,bridge,YES,10.99.0.1/24,none,,0,CREATED"}},
		{[]string{"network", "acl", "list"}, []string{"default,a1,,0"}},
		{[]string{"network", "zone", "list"}, []string{"default,z1.example,,0"}},
	}
	if out := incusRun(t, sock, "image", "list", "--all-projects", "--format", "csv"); !strings.HasPrefix(out, "default,deb,"+fp[:12]+",") {
		t.Errorf("incus image list --all-projects: %q, want the project first", out)
	}
	for _, tt := range tests {
		out := incusRun(t, sock, append(tt.args, "--all-projects", "--format", "csv")...)
		if got := strings.Split(strings.TrimSpace(out), "\n"); !slices.Equal(got, tt.want) {
			t.Errorf("incus %s --all-projects: %q, want %q", strings.Join(tt.args, " "), got, tt.want)
		}
	}
}

// TestProjectsMatchRealDaemons holds the fake's projects to real LXD
// 5.0.2's and Incus 6.0's, whole: the default project's features and
// description, and those a project made without features starts with.
func TestProjectsMatchRealDaemons(t *testing.T) {
	againstRealDaemons(t, []daemonRequest{
		{"GET", "/1.0/projects?recursion=1", ``},
		{"POST", "/1.0/projects", `{"name":"p1"}`},
		{"GET", "/1.0/projects/p1", ``},
		{"POST", "/1.0/projects", `{"name":"p2","config":{"features.networks":"true"}}`},
		{"GET", "/1.0/projects/p2", ``},
	}, func(t *testing.T, kind realdaemon.Kind, rq daemonRequest, real, fake answer) {
		var r, f struct{ Metadata any }
		json.Unmarshal(real.body, &r)
		json.Unmarshal(fake.body, &f)
		if real.code != fake.code || !reflect.DeepEqual(r.Metadata, f.Metadata) {
			t.Errorf("%s %s: fake %d %s\nreal %s %d %s", rq.method, rq.path, fake.code, fake.body, kind, real.code, real.body)
		}
	})
}
