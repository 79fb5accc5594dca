package lxd

import (
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"testing"

	"github.com/eventsim/eventsim/catalog"
)

// TestNetworkChildrenAreReadFromTheWorld: a load balancer or peer a played
// event made is listed (URLs; objects with recursion=1) and read by GET
// /1.0/networks/NET/load-balancers|peers[/NAME] where the flavour has the
// API extension, and gone after its deletion; an unknown one and an
// unknown network answer 404. LXD 5.0.2 advertises no
// network_load_balancer and answers that path as any unknown one.
func TestNetworkChildrenAreReadFromTheWorld(t *testing.T) {
	for _, tc := range []struct {
		kind, segment, name, missing string
		lacks                        catalog.Flavor
	}{
		{"network-load-balancer", "load-balancers", "10.0.0.9", "Network load balancer not found", catalog.LXD50},
		{"network-peer", "peers", "p1", "Network peer not found", ""},
	} {
		for _, f := range catalog.Flavors {
			t.Run(tc.segment+"/"+string(f), func(t *testing.T) {
				s := NewServer(t, Options{Flavor: f})
				list := "/1.0/networks/n1/" + tc.segment
				one := list + "/" + tc.name
				playEvent(t, s, "network-created", "/1.0/networks/n1", "")
				if f == tc.lacks {
					if code, _, env := do(t, s, "GET", list, ""); code != http.StatusNotFound || env.Error != "not found" {
						t.Errorf("GET %s: %d %q, want 404 \"not found\"", list, code, env.Error)
					}
					return
				}
				if code, _, env := do(t, s, "GET", list, ""); code != http.StatusOK || string(env.Metadata) != "[]" {
					t.Errorf("GET %s before: %d %s, want []", list, code, env.Metadata)
				}
				playEvent(t, s, tc.kind+"-created", one, "")
				code, _, env := do(t, s, "GET", list, "")
				var urls []string
				if err := json.Unmarshal(env.Metadata, &urls); code != http.StatusOK || err != nil || !slices.Equal(urls, []string{one}) {
					t.Errorf("GET %s: %d %s, want [%s]", list, code, env.Metadata, one)
				}
				code, _, env = do(t, s, "GET", list+"?recursion=1", "")
				var objs []map[string]any
				if err := json.Unmarshal(env.Metadata, &objs); code != http.StatusOK || err != nil || len(objs) != 1 {
					t.Fatalf("GET %s?recursion=1: %d %s", list, code, env.Metadata)
				}
				code, _, env = do(t, s, "GET", one, "")
				var obj map[string]any
				if err := json.Unmarshal(env.Metadata, &obj); code != http.StatusOK || err != nil {
					t.Fatalf("GET %s: %d %s", one, code, env.Metadata)
				}
				if tc.kind == "network-peer" {
					if obj["name"] != tc.name || obj["status"] == "" || obj["used_by"] == nil || obj["config"] == nil {
						t.Errorf("GET %s: %s, want name, status, used_by, config", one, env.Metadata)
					}
				} else if obj["listen_address"] != tc.name || obj["backends"] == nil || obj["ports"] == nil || obj["config"] == nil {
					t.Errorf("GET %s: %s, want listen_address, backends, ports, config", one, env.Metadata)
				}
				if !reflect.DeepEqual(objs[0], obj) {
					t.Errorf("recursion=1 object %v differs from the single read %v", objs[0], obj)
				}
				if code, _, env := do(t, s, "GET", list+"/nope", ""); code != http.StatusNotFound || env.Error != tc.missing {
					t.Errorf("GET an unknown one: %d %q, want 404 %q", code, env.Error, tc.missing)
				}
				if code, _, env := do(t, s, "GET", "/1.0/networks/nonet/"+tc.segment, ""); code != http.StatusNotFound || env.Error != "Failed loading network: Network not found" {
					t.Errorf("GET under an unknown network: %d %q", code, env.Error)
				}
				playEvent(t, s, tc.kind+"-deleted", one, "")
				if code, _, env := do(t, s, "GET", one, ""); code != http.StatusNotFound || env.Error != tc.missing {
					t.Errorf("GET a deleted one: %d %q, want 404 %q", code, env.Error, tc.missing)
				}
			})
		}
	}
}

// TestClusterGroupsAreReadFromTheWorld: a clustered server lists its
// "default" group holding every member, as a real cluster does, and the
// groups played events made; a lone server answers 400 "This server is not
// clustered", as LXD.
func TestClusterGroupsAreReadFromTheWorld(t *testing.T) {
	for _, f := range catalog.Flavors {
		t.Run(string(f), func(t *testing.T) {
			lone := NewServer(t, Options{Flavor: f})
			if code, _, env := do(t, lone, "GET", "/1.0/cluster/groups", ""); code != http.StatusBadRequest || env.Error != "This server is not clustered" {
				t.Errorf("GET groups on a lone server: %d %q", code, env.Error)
			}
			s := NewServer(t, Options{Flavor: f, Members: []string{"m1", "m2"}})
			playEvent(t, s, "cluster-group-created", "/1.0/cluster/groups/gpu", "")
			code, _, env := do(t, s, "GET", "/1.0/cluster/groups", "")
			var urls []string
			want := []string{"/1.0/cluster/groups/default", "/1.0/cluster/groups/gpu"}
			if err := json.Unmarshal(env.Metadata, &urls); code != http.StatusOK || err != nil || !slices.Equal(urls, want) {
				t.Errorf("GET groups: %d %s, want %v", code, env.Metadata, want)
			}
			code, _, env = do(t, s, "GET", "/1.0/cluster/groups?recursion=1", "")
			var groups []clusterGroupObj
			if err := json.Unmarshal(env.Metadata, &groups); code != http.StatusOK || err != nil || len(groups) != 2 ||
				!slices.Equal(groups[0].Members, []string{"m1", "m2"}) || groups[1].Name != "gpu" || groups[1].Members == nil {
				t.Errorf("GET groups?recursion=1: %d %s", code, env.Metadata)
			}
			code, _, env = do(t, s, "GET", "/1.0/cluster/groups/gpu", "")
			var g clusterGroupObj
			if err := json.Unmarshal(env.Metadata, &g); code != http.StatusOK || err != nil || g.Name != "gpu" {
				t.Errorf("GET group gpu: %d %s", code, env.Metadata)
			}
			playEvent(t, s, "cluster-group-deleted", "/1.0/cluster/groups/gpu", "")
			if code, _, env := do(t, s, "GET", "/1.0/cluster/groups/gpu", ""); code != http.StatusNotFound || env.Error != "Cluster group not found" {
				t.Errorf("GET a deleted group: %d %q", code, env.Error)
			}
		})
	}
}

// TestVolumeBackupsAreReadFromTheWorld: a custom volume backup a played
// event made is listed and read under its volume, named by itself alone
// (as LXD renders it), and gone after its deletion.
func TestVolumeBackupsAreReadFromTheWorld(t *testing.T) {
	for _, f := range catalog.Flavors {
		t.Run(string(f), func(t *testing.T) {
			s := NewServer(t, Options{Flavor: f})
			const list = "/1.0/storage-pools/default/volumes/custom/vol1/backups"
			if code, _, env := do(t, s, "POST", "/1.0/storage-pools/default/volumes/custom", `{"name":"vol1"}`); code >= 300 {
				t.Fatalf("create vol1: %d %q", code, env.Error)
			}
			if code, _, env := do(t, s, "GET", list, ""); code != http.StatusOK || string(env.Metadata) != "[]" {
				t.Errorf("GET backups before: %d %s, want []", code, env.Metadata)
			}
			playEvent(t, s, "storage-volume-backup-created", list+"/vb0", `{"type":"custom"}`)
			code, _, env := do(t, s, "GET", list, "")
			var urls []string
			if err := json.Unmarshal(env.Metadata, &urls); code != http.StatusOK || err != nil || !slices.Equal(urls, []string{list + "/vb0"}) {
				t.Errorf("GET backups: %d %s", code, env.Metadata)
			}
			code, _, env = do(t, s, "GET", list+"?recursion=1", "")
			var objs []volumeBackupObj
			if err := json.Unmarshal(env.Metadata, &objs); code != http.StatusOK || err != nil || len(objs) != 1 || objs[0].Name != "vb0" {
				t.Errorf("GET backups?recursion=1: %d %s", code, env.Metadata)
			}
			code, _, env = do(t, s, "GET", list+"/vb0", "")
			var b volumeBackupObj
			if err := json.Unmarshal(env.Metadata, &b); code != http.StatusOK || err != nil || b.Name != "vb0" || !b.ExpiresAt.After(b.CreatedAt) {
				t.Errorf("GET backup vb0: %d %s", code, env.Metadata)
			}
			if code, _, env := do(t, s, "GET", "/1.0/storage-pools/default/volumes/custom/nope/backups", ""); code != http.StatusNotFound || env.Error != "Storage volume not found" {
				t.Errorf("GET backups of an unknown volume: %d %q", code, env.Error)
			}
			playEvent(t, s, "storage-volume-backup-deleted", list+"/vb0", "")
			if code, _, env := do(t, s, "GET", list+"/vb0", ""); code != http.StatusNotFound || env.Error != "Storage volume backup not found" {
				t.Errorf("GET a deleted backup: %d %q", code, env.Error)
			}
		})
	}
}
