package lxd

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/eventsim/eventsim/catalog"
)

// TestBucketsAreReadFromTheWorld: a bucket a played event made is listed
// and read by GET /1.0/storage-pools/POOL/buckets[/NAME] where the flavour
// has buckets, and gone after its deletion; LXD 5.0.2 has no buckets and
// answers those paths as any unknown one (404 "not found", as a real 5.0.2
// does).
func TestBucketsAreReadFromTheWorld(t *testing.T) {
	for _, f := range catalog.Flavors {
		t.Run(string(f), func(t *testing.T) {
			s := NewServer(t, Options{Flavor: f})
			if f == catalog.LXD50 {
				code, _, env := do(t, s, "GET", "/1.0/storage-pools/default/buckets", "")
				if code != http.StatusNotFound || env.Error != "not found" {
					t.Errorf("lxd-5.0 GET buckets: %d %q, want 404 \"not found\"", code, env.Error)
				}
				return
			}
			playEvent(t, s, "storage-bucket-created", "/1.0/storage-pools/default/buckets/b1", "")
			code, _, env := do(t, s, "GET", "/1.0/storage-pools/default/buckets", "")
			var urls []string
			if err := json.Unmarshal(env.Metadata, &urls); code != http.StatusOK || err != nil || !slices.Equal(urls, []string{"/1.0/storage-pools/default/buckets/b1"}) {
				t.Errorf("GET buckets: %d %s, want [/1.0/storage-pools/default/buckets/b1]", code, env.Metadata)
			}
			code, _, env = do(t, s, "GET", "/1.0/storage-pools/default/buckets/b1", "")
			var b bucketObj
			if err := json.Unmarshal(env.Metadata, &b); code != http.StatusOK || err != nil || b.Name != "b1" || b.Location != "none" || b.Config == nil {
				t.Errorf("GET bucket b1: %d %s", code, env.Metadata)
			}
			code, _, env = do(t, s, "GET", "/1.0/storage-pools/default/buckets?recursion=1", "")
			var objs []bucketObj
			if err := json.Unmarshal(env.Metadata, &objs); code != http.StatusOK || err != nil || len(objs) != 1 || objs[0].Name != "b1" {
				t.Errorf("GET buckets?recursion=1: %d %s", code, env.Metadata)
			}
			if code, _, env := do(t, s, "GET", "/1.0/storage-pools/nope/buckets", ""); code != http.StatusNotFound || env.Error != "Failed loading storage pool: Storage pool not found" {
				t.Errorf("GET buckets of an unknown pool: %d %q", code, env.Error)
			}
			playEvent(t, s, "storage-bucket-deleted", "/1.0/storage-pools/default/buckets/b1", "")
			if code, _, env := do(t, s, "GET", "/1.0/storage-pools/default/buckets/b1", ""); code != http.StatusNotFound || env.Error != "Storage bucket not found" {
				t.Errorf("GET a deleted bucket: %d %q", code, env.Error)
			}
		})
	}
}
