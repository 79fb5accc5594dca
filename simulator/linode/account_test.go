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

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/events"
	"github.com/eventsim/eventsim/scenarios"
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
			s := newServer(t, Options{RateLimit: -1})
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
