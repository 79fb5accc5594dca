package lxd

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/internal/realdaemon"
)

// TestRecordRealServerInfo records the real LXD 5.0.2 and Incus 6.0 daemons'
// GET /1.0 bodies, verbatim, into data/get-1.0-KIND-VERSION.json, which New
// starts GET /1.0 from. It runs only with EVENTSIM_RECORD=1 (it changes the
// recordings the fake answers from).
func TestRecordRealServerInfo(t *testing.T) {
	if os.Getenv("EVENTSIM_RECORD") == "" {
		t.Skip("set EVENTSIM_RECORD=1 to record the real daemons' GET /1.0")
	}
	for _, kind := range []realdaemon.Kind{realdaemon.LXD, realdaemon.Incus} {
		t.Run(string(kind), func(t *testing.T) {
			d := realdaemon.Start(t, kind)
			code, body := d.Request(t, "GET", "/1.0", "")
			if code != 200 {
				t.Fatalf("GET /1.0: %d %s", code, body)
			}
			var env struct {
				Metadata struct {
					Environment struct {
						ServerVersion string `json:"server_version"`
					}
				}
			}
			if err := json.Unmarshal(body, &env); err != nil {
				t.Fatal(err)
			}
			name := filepath.Join("data", "get-1.0-"+string(kind)+"-"+env.Metadata.Environment.ServerVersion+".json")
			if err := os.WriteFile(name, body, 0o644); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// fakeExtensions is the api_extensions a fake of flavour f answers in
// GET /1.0.
func fakeExtensions(t *testing.T, f catalog.Flavor) []string {
	t.Helper()
	s := NewServer(t, Options{Flavor: f})
	code, _, body := get(t, http.DefaultClient, s.URL()+"/1.0")
	var env struct {
		Metadata struct {
			APIExtensions []string `json:"api_extensions"`
		}
	}
	if err := json.Unmarshal(body, &env); code != 200 || err != nil {
		t.Fatalf("GET /1.0: %d %v: %s", code, err, body)
	}
	return env.Metadata.APIExtensions
}

// TestAPIExtensionsPerFlavour holds each flavour's api_extensions, in
// order, to its daemon's: the real LXD 5.0.2's and Incus 6.0.4's recorded
// GET /1.0, and LXD 6.1's list, with the extensions that tell the clients
// to take the paths the fake answers.
func TestAPIExtensionsPerFlavour(t *testing.T) {
	tests := []struct {
		flavor  catalog.Flavor
		file    string
		n       int
		has     []string
		hasNone []string
	}{
		{catalog.LXD50, "data/get-1.0-lxd-5.0.2.json", 318, []string{"projects", "network_forward"},
			[]string{"network_load_balancer", "storage_buckets", "operation_wait", "instance_create_start"}},
		{catalog.LXD6, "data/api-extensions-lxd-6.1.txt", 387,
			[]string{"network_load_balancer", "storage_buckets", "operation_wait", "explicit_trust_token"},
			[]string{"macaroon_authentication", "candid_authentication", "instance_create_start"}},
		{catalog.Incus, "data/get-1.0-incus-6.0.4.json", 450,
			[]string{"network_load_balancer", "storage_buckets", "operation_wait", "instance_create_start"},
			[]string{"macaroon_authentication", "explicit_trust_token"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.flavor), func(t *testing.T) {
			b, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			want := extensionList(b)
			if filepath.Ext(tt.file) == ".json" {
				var env struct {
					Metadata struct {
						APIExtensions []string `json:"api_extensions"`
					}
				}
				if err := json.Unmarshal(b, &env); err != nil {
					t.Fatal(err)
				}
				want = env.Metadata.APIExtensions
			}
			got := fakeExtensions(t, tt.flavor)
			if !slices.Equal(got, want) || len(got) != tt.n {
				t.Errorf("api_extensions: %d names, want the %d of %s", len(got), len(want), tt.file)
			}
			for _, x := range tt.has {
				if !slices.Contains(got, x) {
					t.Errorf("%s not advertised", x)
				}
			}
			for _, x := range tt.hasNone {
				if slices.Contains(got, x) {
					t.Errorf("%s advertised, but the daemon has no such extension", x)
				}
			}
		})
	}
}

// TestAPIExtensionsMatchRealDaemons holds the fake's api_extensions to what
// the real LXD 5.0.2 and Incus 6.0 here answer now.
func TestAPIExtensionsMatchRealDaemons(t *testing.T) {
	againstRealDaemons(t, []daemonRequest{{"GET", "/1.0", ""}}, func(t *testing.T, kind realdaemon.Kind, _ daemonRequest, real, fake answer) {
		var r, f struct {
			Metadata struct {
				APIExtensions []string `json:"api_extensions"`
			}
		}
		if err := json.Unmarshal(real.body, &r); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(fake.body, &f); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(f.Metadata.APIExtensions, r.Metadata.APIExtensions) {
			t.Errorf("fake: %d api_extensions; real %s: %d", len(f.Metadata.APIExtensions), kind, len(r.Metadata.APIExtensions))
		}
	})
}
