package simulator_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eventsim/eventsim/simulator"
)

// rawCall sends one request as given (headers and all) and returns the
// status, the headers and the body.
func rawCall(t *testing.T, c *http.Client, method, url, body string, header map[string]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestControlRunOpensNoServerFile: ?scenario= takes built-in names only. A
// file on the server's machine, be it a valid scenario, a secret or
// /dev/zero, is neither played, nor read, nor quoted back.
func TestControlRunOpensNoServerFile(t *testing.T) {
	srv := startSim(t, quietScenario, simulator.Options{Speed: 0})
	dir := t.TempDir()
	secret := filepath.Join(dir, "passwd")
	os.WriteFile(secret, []byte("root:SECRET-MARKER-7f3a:0:0:root:/root:/bin/bash\n"), 0o600)
	played := filepath.Join(dir, "valid.yaml")
	os.WriteFile(played, []byte("name: secret-marker-valid\napi: [lxd]\nsteps:\n  - wait: 1s\n"), 0o600)

	for _, listener := range []string{"lxd-tcp", "lxd-unix", "linode"} {
		base, c := controlAt(srv, listener)
		c.Timeout = 5 * time.Second
		for _, path := range []string{secret, played, "/dev/zero", "../../../../../../" + secret} {
			t.Run(listener+path, func(t *testing.T) {
				// The client's 5 s timeout bounds the answer: a server
				// reading /dev/zero would never give one.
				code, _, body := rawCall(t, c, "POST", base+"/run?scenario="+path, "", nil)
				if code != 400 || !strings.Contains(body, "is not a built-in scenario") || !strings.Contains(body, "send its YAML as the request body") {
					t.Errorf("run ?scenario=%s: %d %s, want 400 saying only built-in names are taken", path, code, body)
				}
				if strings.Contains(strings.ToLower(body), "secret-marker") {
					t.Errorf("the answer quotes the file: %s", body)
				}
			})
		}
	}
	if st := srv.Stats(); st.Scenario != "quiet" {
		t.Errorf("scenario playing: %q, want quiet (no file played)", st.Scenario)
	}
}

// TestControlBodyCap: a body over the cap is refused with 413 naming the cap.
func TestControlBodyCap(t *testing.T) {
	srv := startSim(t, quietScenario, simulator.Options{Speed: 0})
	base, c := controlAt(srv, "linode")
	big := "name: big\napi: [lxd]\nsteps:\n  - wait: 1s\n#" + strings.Repeat("x", 2<<20) + "\n"
	for _, tt := range []struct{ path, body, want string }{
		{"/run", big, "request body too large: the limit is 1 MiB"},
		{"/emit?api=lxd", `{"type":"x","metadata":{"a":"` + strings.Repeat("x", 2<<20) + `"}}`, "the limit is 1 MiB"},
		{"/fault", `{"kind":"drop","x":"` + strings.Repeat("x", 100<<10) + `"}`, "the limit is 64 KiB"},
	} {
		code, _, body := rawCall(t, c, "POST", base+tt.path, tt.body, nil)
		if code != 413 || !strings.Contains(body, tt.want) {
			t.Errorf("%s with %d bytes: %d %.200s, want 413 %q", tt.path, len(tt.body), code, body, tt.want)
		}
	}
	if st := srv.Stats(); st.Scenario != "quiet" {
		t.Errorf("scenario playing: %q", st.Scenario)
	}
}

// TestControlNeedsToken: over plain HTTP (Linode, LXD TCP) the control API
// answers only requests carrying the control token; the unix socket trusts
// whoever may open it.
func TestControlNeedsToken(t *testing.T) {
	opts := simulator.Options{Scenario: "demo", ControlToken: "s3cret"}
	opts.LXD.Socket = filepath.Join(t.TempDir(), "unix.socket")
	srv := simulator.NewServer(t, opts)
	if srv.ControlToken() != "s3cret" {
		t.Errorf("ControlToken() = %q", srv.ControlToken())
	}
	for _, base := range []string{srv.Linode().URL(), srv.LXD().URL()} {
		for _, tt := range []struct {
			name, auth string
			want       int
		}{
			{"no token", "", 401},
			{"wrong token", "Bearer nope", 401},
			{"not bearer", "Basic czNjcmV0", 401},
			{"the Linode token", "Bearer " + srv.Linode().Token(), 401},
			{"the token", "Bearer s3cret", 200},
			{"the token, any case", "bearer s3cret", 200},
		} {
			h := map[string]string{}
			if tt.auth != "" {
				h["Authorization"] = tt.auth
			}
			code, hdr, body := rawCall(t, http.DefaultClient, "GET", base+"/eventsim/v1/stats", "", h)
			if code != tt.want {
				t.Errorf("%s %s: %d %s, want %d", base, tt.name, code, body, tt.want)
			}
			if code == 401 && (!strings.Contains(body, "Authorization: Bearer") || hdr.Get("WWW-Authenticate") == "") {
				t.Errorf("%s %s: 401 without saying how to authenticate: %v %s", base, tt.name, hdr, body)
			}
			// Nothing changes without the token.
			if tt.want == 401 {
				if code, _, _ = rawCall(t, http.DefaultClient, "POST", base+"/eventsim/v1/run?scenario=lxd-steady", "", h); code != 401 {
					t.Errorf("%s %s: run answered %d", base, tt.name, code)
				}
			}
		}
	}
	if st := srv.Stats(); st.Scenario != "demo" {
		t.Errorf("an unauthenticated run replaced the scenario: %q", st.Scenario)
	}
	if code, _, body := rawCall(t, unixClient(srv.LXD().SocketPath()), "GET", "http://lxd/eventsim/v1/stats", "", nil); code != 200 {
		t.Errorf("unix socket without a token: %d %s", code, body)
	}
}

// TestControlOverTLS: LXD's TLS listener keeps its own rule, a trusted
// client certificate (no token), and the Host rule.
func TestControlOverTLS(t *testing.T) {
	trusted, trustedPEM := testClientCert(t)
	untrusted, _ := testClientCert(t)
	opts := simulator.Options{Scenario: "demo"}
	opts.LXD.TLS = true
	opts.LXD.TrustedCerts = [][]byte{trustedPEM}
	srv := simulator.NewServer(t, opts)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(srv.LXD().Certificate())
	client := func(c tls.Certificate) *http.Client {
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{c}}}}
	}
	url := srv.LXD().URL() + "/eventsim/v1/stats"
	if code, _, body := rawCall(t, client(trusted), "GET", url, "", nil); code != 200 {
		t.Errorf("trusted certificate: %d %s", code, body)
	}
	if code, _, body := rawCall(t, client(untrusted), "GET", url, "", nil); code != 403 || !strings.Contains(body, "not authorized") {
		t.Errorf("untrusted certificate: %d %s", code, body)
	}
	if code, _, body := rawCall(t, client(trusted), "GET", url, "", map[string]string{"Host": "rebound.example"}); code != 403 {
		t.Errorf("trusted certificate, foreign Host: %d %s", code, body)
	}
}

// testClientCert makes a self-signed TLS client certificate and its PEM.
func testClientCert(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "eventsim-test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// TestControlHostAndOrigin: a Host that is not loopback nor the listen
// address (DNS rebinding) gets 403, token or not; so does a foreign Origin.
func TestControlHostAndOrigin(t *testing.T) {
	srv := startSim(t, quietScenario, simulator.Options{Speed: 0})
	auth := "Bearer " + srv.ControlToken()
	for _, base := range []string{srv.Linode().URL(), srv.LXD().URL()} {
		port := base[strings.LastIndex(base, ":")+1:]
		for _, tt := range []struct {
			host, origin string
			want         int
		}{
			{"127.0.0.1:" + port, "", 200},
			{"localhost:" + port, "", 200},
			{"LOCALHOST.", "", 200},
			{"127.8.9.10:" + port, "", 200},
			{"[::1]:" + port, "", 200},
			{"localhost:" + port, "http://localhost:" + port, 200},
			{"attacker.example:" + port, "", 403},
			{"attacker.example", "", 403},
			{"127.0.0.1.attacker.example", "", 403},
			{"localhost.attacker.example:" + port, "", 403},
			{"10.0.0.1:" + port, "", 403},
			{"127.0.0.1:" + port, "http://attacker.example", 403},
			{"127.0.0.1:" + port, "null", 403},
		} {
			h := map[string]string{"Host": tt.host, "Authorization": auth}
			if tt.origin != "" {
				h["Origin"] = tt.origin
			}
			code, _, body := rawCall(t, http.DefaultClient, "GET", base+"/eventsim/v1/stats", "", h)
			if code != tt.want {
				t.Errorf("%s Host %q Origin %q: %d %s, want %d", base, tt.host, tt.origin, code, body, tt.want)
			}
		}
	}
}

// TestControlCrossOrigin: what a web page can send cross-origin without a
// preflight (a text/plain or form POST, no Authorization) changes nothing;
// a preflight is never allowed; a body must be JSON (YAML for run).
func TestControlCrossOrigin(t *testing.T) {
	srv := startSim(t, quietScenario, simulator.Options{Speed: 0})
	auth := "Bearer " + srv.ControlToken()
	for _, base := range []string{srv.Linode().URL(), srv.LXD().URL()} {
		ctl := base + "/eventsim/v1"
		// A page's fetch(…, {method: "POST", mode: "no-cors", body}) or form.
		for _, ct := range []string{"text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"} {
			code, _, body := rawCall(t, http.DefaultClient, "POST", ctl+"/emit?api=lxd", lxdEvent("cross-origin"),
				map[string]string{"Origin": "http://localhost:9999", "Content-Type": ct})
			if code < 400 {
				t.Errorf("%s: cross-origin %s POST accepted: %d %s", base, ct, code, body)
			}
			code, _, body = rawCall(t, http.DefaultClient, "POST", ctl+"/run", "name: x\napi: [lxd]\nsteps:\n  - wait: 1s\n",
				map[string]string{"Content-Type": ct, "Authorization": auth})
			if code != 415 || !strings.Contains(body, "application/yaml") {
				t.Errorf("%s: %s run body with the token: %d %s, want 415", base, ct, code, body)
			}
		}
		code, _, body := rawCall(t, http.DefaultClient, "POST", ctl+"/emit?api=lxd", lxdEvent("no-type"), map[string]string{"Authorization": auth, "Content-Type": ""})
		if code != 415 || !strings.Contains(body, "application/json") {
			t.Errorf("%s: a body without a type: %d %s, want 415", base, code, body)
		}
		for _, ct := range []string{"application/json", "application/json; charset=utf-8"} {
			if code, _, body := rawCall(t, http.DefaultClient, "POST", ctl+"/emit?api=lxd", lxdEvent("typed"), map[string]string{"Authorization": auth, "Content-Type": ct}); code != 202 {
				t.Errorf("%s: %s emit: %d %s", base, ct, code, body)
			}
		}
		// The preflight a page would need for any of that is refused, and
		// never answered with CORS allow headers.
		code, hdr, body := rawCall(t, http.DefaultClient, "OPTIONS", ctl+"/emit?api=lxd", "", map[string]string{
			"Origin": "http://attacker.example", "Access-Control-Request-Method": "POST",
			"Access-Control-Request-Headers": "authorization,content-type",
		})
		if code < 400 {
			t.Errorf("%s: preflight answered %d %s", base, code, body)
		}
		for k := range hdr {
			if strings.HasPrefix(strings.ToLower(k), "access-control-") {
				t.Errorf("%s: preflight answered with %s: %s", base, k, hdr.Get(k))
			}
		}
	}
	if st := srv.Stats(); st.Records != 4 {
		t.Errorf("records delivered: %d, want only the 4 typed emits with the token", st.Records)
	}
}
