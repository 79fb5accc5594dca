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
	s := newTestServer(t, Options{})
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
