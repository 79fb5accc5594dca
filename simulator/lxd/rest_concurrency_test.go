package lxd

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// TestRESTVolumeReadWhileWritten reads a volume (alone and in a list) while
// PATCH requests change its config. The answers must not share the
// volume's config map with the writers: encoding a map while another
// request writes to it is a fatal error that takes the whole process down.
func TestRESTVolumeReadWhileWritten(t *testing.T) {
	s := NewServer(t, Options{})
	if code, _, env := do(t, s, "POST", "/1.0/storage-pools/default/volumes/custom", `{"name":"v1"}`); code != 200 {
		t.Fatalf("create volume: %d %s", code, env.Error)
	}
	var cfg strings.Builder
	cfg.WriteString(`{"config":{`)
	for i := range 50 {
		if i > 0 {
			cfg.WriteString(",")
		}
		fmt.Fprintf(&cfg, `"k%d":"v"`, i)
	}
	cfg.WriteString(`}}`)
	send := func(method, path, body string) {
		req, err := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
		if err != nil {
			t.Error(err)
			return
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 50 {
				send("PATCH", "/1.0/storage-pools/default/volumes/custom/v1", cfg.String())
			}
		})
		wg.Go(func() {
			for range 50 {
				send("GET", "/1.0/storage-pools/default/volumes/custom/v1", "")
			}
		})
		wg.Go(func() {
			for range 50 {
				send("GET", "/1.0/storage-pools/default/volumes?recursion=1", "")
			}
		})
	}
	wg.Wait()
}

// A project deleted by a played project-deleted and created again through
// the API starts empty: the objects the first one held through the API
// (a profile, a custom volume) do not come back with the name.
func TestRESTProjectRecreatedAfterPlayedDelete(t *testing.T) {
	s := NewServer(t, Options{})
	for _, rq := range []struct{ method, path, body string }{
		{"POST", "/1.0/projects", `{"name":"zz"}`},
		{"POST", "/1.0/profiles?project=zz", `{"name":"old"}`},
		{"POST", "/1.0/storage-pools/default/volumes/custom?project=zz", `{"name":"oldvol"}`},
	} {
		if code, _, env := do(t, s, rq.method, rq.path, rq.body); code >= 300 {
			t.Fatalf("%s %s: %d %s", rq.method, rq.path, code, env.Error)
		}
	}
	j := `{"type":"lifecycle","timestamp":"2026-01-01T00:00:00Z","metadata":{"action":"project-deleted","source":"/1.0/projects/zz"},"location":"none","project":"zz"}`
	if err := s.Deliver(t.Context(), recordOf(t, []byte(j))); err != nil {
		t.Fatal(err)
	}
	if code, _, env := do(t, s, "POST", "/1.0/projects", `{"name":"zz"}`); code != 201 {
		t.Fatalf("create zz again: %d %s", code, env.Error)
	}
	if _, _, env := do(t, s, "GET", "/1.0/profiles?project=zz", ""); string(env.Metadata) != `["/1.0/profiles/default?project=zz"]` {
		t.Errorf("profiles of the new zz: %s", env.Metadata)
	}
	if _, _, env := do(t, s, "GET", "/1.0/storage-pools/default/volumes?project=zz", ""); string(env.Metadata) != `[]` {
		t.Errorf("volumes of the new zz: %s", env.Metadata)
	}
	if code, _, env := do(t, s, "DELETE", "/1.0/projects/zz", ""); code != 200 {
		t.Errorf("delete the new, empty zz: %d %s", code, env.Error)
	}
}
