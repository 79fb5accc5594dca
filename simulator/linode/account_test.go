package linode

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/events"
	"github.com/eventsim/eventsim/scenarios"
	"github.com/eventsim/eventsim/schemas"
)

// get does a GET with the server's token and returns the status and body.
func get(t testing.TB, s *Server, path string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL()+path, nil)
	req.Header.Set("Authorization", "Bearer "+s.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// issueStatuses are the statuses the issue names for a Linode while an
// action runs and once it has finished ("" when the status it had stays).
var issueStatuses = map[string][2]string{
	"linode_create": {"provisioning", "offline"}, "linode_boot": {"booting", "running"},
	"linode_shutdown": {"shutting_down", "offline"}, "linode_reboot": {"rebooting", "running"},
	"linode_resize": {"resizing", ""}, "linode_migrate": {"migrating", ""}, "linode_migrate_datacenter": {"migrating", ""},
	"linode_rebuild": {"rebuilding", ""}, "linode_clone": {"cloning", ""}, "linode_delete": {"deleting", ""},
	"backups_restore": {"restoring", ""}, "volume_create": {"creating", "active"}, "volume_resize": {"resizing", "active"},
}

// TestEveryScenarioEntityResolves plays every built-in scenario with Linode
// events into a server and, at the moment each event is stored, asks for
// its entity.url and secondary_entity.url: each answers 200 (with the
// entity's id) until an event deletes it, 404 after; and the Linodes and
// volumes show the status the issue names for the action.
func TestEveryScenarioEntityResolves(t *testing.T) {
	list, err := scenarios.List()
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.Linode()
	played := 0
	for _, b := range list {
		if !slices.Contains(b.APIs, "linode") {
			continue
		}
		played++
		t.Run(b.Name, func(t *testing.T) {
			scen, err := scenarios.Load(b.Name)
			if err != nil {
				t.Fatal(err)
			}
			eng, err := scenarios.New(scen, scenarios.Options{})
			if err != nil {
				t.Fatal(err)
			}
			s := NewServer(t, Options{RateLimit: -1})
			deleted := map[string]bool{} // urls an event deleted, with what was under them
			checked := 0
			for {
				r, err := eng.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if r.API != "linode" || r.Linode == nil {
					continue
				}
				if err := s.Deliver(context.Background(), r); err != nil {
					t.Fatal(err)
				}
				ev := r.Linode
				a := cat.Action(ev.Action)
				done := ev.Status == events.LinodeFinished || ev.Status == events.LinodeNotification
				for role, ent := range map[string]*events.LinodeEntity{"entity": ev.Entity, "secondary": ev.SecondaryEntity} {
					if ent == nil || !strings.HasPrefix(ent.URL, "/v4/") {
						continue
					}
					if a.Creates == role {
						for u := range deleted {
							if u == ent.URL || strings.HasPrefix(ent.URL, u+"/") {
								delete(deleted, u)
							}
						}
					}
					if a.Removes == role && done {
						deleted[ent.URL] = true
					}
				}
				for _, ent := range []*events.LinodeEntity{ev.Entity, ev.SecondaryEntity} {
					if ent == nil || !strings.HasPrefix(ent.URL, "/v4/") {
						continue
					}
					gone := false
					for u := range deleted {
						if ent.URL == u || strings.HasPrefix(ent.URL, u+"/") {
							gone = true
						}
					}
					code, body := get(t, s, ent.URL)
					checked++
					if gone {
						if code != http.StatusNotFound {
							t.Fatalf("event %d %s %s: GET %s = %d after it was deleted, want 404", ev.ID, ev.Action, ev.Status, ent.URL, code)
						}
						continue
					}
					if code != http.StatusOK {
						t.Fatalf("event %d %s %s: GET %s = %d %s, want 200", ev.ID, ev.Action, ev.Status, ent.URL, code, body)
					}
					checkIdentity(t, ev, ent, body)
					checkObjectSchema(t, ent.URL, body)
				}
				if want, ok := issueStatuses[ev.Action]; ok && ev.Entity != nil && !deleted[ev.Entity.URL] {
					var obj struct{ Status string }
					_, body := get(t, s, ev.Entity.URL)
					_ = json.Unmarshal(body, &obj)
					w := ""
					switch {
					case ev.Status == events.LinodeScheduled || ev.Status == events.LinodeStarted:
						w = want[0]
					case ev.Status == events.LinodeFinished:
						w = want[1]
					}
					if w != "" && obj.Status != w {
						t.Errorf("event %d %s %s: %s status %q, want %q", ev.ID, ev.Action, ev.Status, ev.Entity.URL, obj.Status, w)
					}
				}
			}
			if checked == 0 {
				t.Fatal("no entity URL checked")
			}
			t.Logf("%d entity URLs checked", checked)
		})
	}
	if played < 4 {
		t.Fatalf("only %d built-in scenarios play Linode events; expected the catalogue tour, provisioning, failures and demo", played)
	}
}

// checkIdentity checks the object a URL answered is the entity named: its
// id, or for lists a page.
func checkIdentity(t *testing.T, ev *events.LinodeEvent, ent *events.LinodeEntity, body []byte) {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("event %d: GET %s: %v: %s", ev.ID, ent.URL, err, body)
	}
	if _, isPage := m["data"]; isPage {
		return
	}
	last := ent.URL[strings.LastIndexByte(ent.URL, '/')+1:]
	switch {
	case ent.URL == "/v4/account" || ent.URL == "/v4/profile":
	case m["username"] != nil && m["id"] == nil:
		if m["username"] != last {
			t.Errorf("event %d: GET %s: username %v", ev.ID, ent.URL, m["username"])
		}
	case strings.HasPrefix(ent.URL, "/v4/images/"):
		if m["id"] != strings.TrimPrefix(ent.URL, "/v4/images/") {
			t.Errorf("event %d: GET %s: image id %v", ev.ID, ent.URL, m["id"])
		}
	case ent.Type == "tag":
		if m["label"] != last {
			t.Errorf("event %d: GET %s: label %v", ev.ID, ent.URL, m["label"])
		}
	default:
		if fmt.Sprint(m["id"]) != fmt.Sprint(ent.ID) {
			t.Errorf("event %d %s: GET %s: id %v, want %v", ev.ID, ev.Action, ent.URL, m["id"], ent.ID)
		}
	}
}

// objectSchemas name the schema each kind of object path answers with.
var objectSchemas = []struct{ pattern, schema string }{
	{"/v4/linode/instances/*", "linode-instance"},
	{"/v4/linode/instances/*/disks/*", "linode-disk"},
	{"/v4/linode/instances/*/configs/*", "linode-config"},
	{"/v4/volumes/*", "linode-volume"},
	{"/v4/domains/*", "linode-domain"},
	{"/v4/domains/*/records/*", "linode-domain-record"},
	{"/v4/networking/firewalls/*", "linode-firewall"},
	{"/v4/networking/firewalls/*/devices/*", "linode-firewall-device"},
	{"/v4/nodebalancers/*", "linode-nodebalancer"},
	{"/v4/nodebalancers/*/configs/*", "linode-nodebalancer-config"},
	{"/v4/images/*/*", "linode-image"},
}

// checkObjectSchema validates an object answer against its kind's schema, if
// the path has one.
func checkObjectSchema(t *testing.T, url string, body []byte) {
	t.Helper()
	for _, os := range objectSchemas {
		if matchPattern(os.pattern, url) {
			if err := schemas.Validate(os.schema, body); err != nil {
				t.Errorf("GET %s does not match %s: %v\n%s", url, os.schema, err, body)
			}
			return
		}
	}
}

// TestObjectsMatchSchemas: what REST writes make and what played events
// name both answer in the shapes of schemas/json/linode-*.json, and every
// list in linode-page.
func TestObjectsMatchSchemas(t *testing.T) {
	s := NewServer(t, Options{RateLimit: -1})
	ids := map[string]string{}
	for _, w := range []struct{ name, method, path, body string }{
		{"linode", "POST", "/v4/linode/instances", `{"type":"g6-nanode-1","region":"us-east","label":"web-1","image":"linode/debian12","root_pass":"Correct-Horse-9","tags":["prod"]}`},
		{"disk", "POST", "/v4/linode/instances/{linode}/disks", `{"label":"data","size":2048}`},
		{"config", "POST", "/v4/linode/instances/{linode}/configs", `{"label":"boot","devices":{}}`},
		{"volume", "POST", "/v4/volumes", `{"label":"vol-1","region":"us-east","linode_id":{linode}}`},
		{"domain", "POST", "/v4/domains", `{"domain":"example.com","type":"master","soa_email":"a@example.com"}`},
		{"record", "POST", "/v4/domains/{domain}/records", `{"type":"A","name":"www","target":"192.0.2.1"}`},
		{"firewall", "POST", "/v4/networking/firewalls", `{"label":"fw-1","rules":{"inbound_policy":"DROP","outbound_policy":"ACCEPT"}}`},
		{"device", "POST", "/v4/networking/firewalls/{firewall}/devices", `{"id":{linode},"type":"linode"}`},
		{"nodebalancer", "POST", "/v4/nodebalancers", `{"label":"nb-1","region":"us-east"}`},
		{"nbconfig", "POST", "/v4/nodebalancers/{nodebalancer}/configs", `{"port":443,"protocol":"https"}`},
	} {
		fill := func(x string) string {
			for k, v := range ids {
				x = strings.ReplaceAll(x, "{"+k+"}", v)
			}
			return x
		}
		code, b := send(t, s, w.method, fill(w.path), fill(w.body))
		if code != http.StatusOK {
			t.Fatalf("%s: %d %s", w.name, code, b)
		}
		var o struct{ ID json.Number }
		_ = json.Unmarshal([]byte(b), &o)
		ids[w.name] = o.ID.String()
	}
	// Played events name objects the account knows only from them.
	deliver(t, s, event(5, "volume_create", "volume", 777, time.Now(), events.LinodeFinished),
		event(6, "linode_boot", "linode", 888, time.Now(), events.LinodeFinished))
	paths := []string{"/v4/volumes/777", "/v4/linode/instances/888", "/v4/images/linode/debian12"}
	for _, l := range []string{"/v4/linode/instances", "/v4/linode/instances/{linode}/disks", "/v4/linode/instances/{linode}/configs",
		"/v4/linode/instances/{linode}/volumes", "/v4/volumes", "/v4/domains", "/v4/domains/{domain}/records", "/v4/networking/firewalls",
		"/v4/networking/firewalls/{firewall}/devices", "/v4/nodebalancers", "/v4/nodebalancers/{nodebalancer}/configs", "/v4/images"} {
		for k, v := range ids {
			l = strings.ReplaceAll(l, "{"+k+"}", v)
		}
		code, b := get(t, s, l)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", l, code, b)
		}
		if err := schemas.Validate("linode-page", b); err != nil {
			t.Errorf("GET %s: %v", l, err)
		}
		var page struct{ Data []json.RawMessage }
		_ = json.Unmarshal(b, &page)
		if len(page.Data) == 0 {
			t.Errorf("GET %s: empty", l)
		}
		for _, d := range page.Data {
			var o struct{ ID json.RawMessage }
			_ = json.Unmarshal(d, &o)
			paths = append(paths, l+"/"+strings.Trim(string(o.ID), `"`))
		}
	}
	for _, p := range paths {
		if strings.Contains(p, "/instances/") && strings.Contains(p, "/volumes/") {
			// A Linode's volumes are served at /v4/volumes/{id}.
			p = "/v4/volumes/" + p[strings.LastIndexByte(p, '/')+1:]
		}
		code, b := get(t, s, p)
		if code != http.StatusOK {
			t.Errorf("GET %s: %d", p, code)
			continue
		}
		checkObjectSchema(t, p, b)
	}
}
