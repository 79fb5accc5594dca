package lxd

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// clientCert makes a self-signed client certificate and its PEM.
func clientCert(t *testing.T) (tls.Certificate, []byte) {
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

func TestTLSTrust(t *testing.T) {
	trusted, trustedPEM := clientCert(t)
	untrusted, _ := clientCert(t)
	s := NewServer(t, Options{TLS: true, TrustedCerts: [][]byte{trustedPEM}})
	if !strings.HasPrefix(s.URL(), "https://") {
		t.Fatalf("URL %q", s.URL())
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(s.Certificate()) {
		t.Fatal("server certificate is not PEM")
	}
	wss := strings.Replace(s.URL(), "https", "wss", 1) + "/1.0/events"
	tests := []struct {
		name  string
		certs []tls.Certificate
		ok    bool
		auth  string
	}{
		{name: "trusted", certs: []tls.Certificate{trusted}, ok: true, auth: "trusted"},
		{name: "untrusted", certs: []tls.Certificate{untrusted}, auth: "untrusted"},
		{name: "no certificate", auth: "untrusted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &tls.Config{RootCAs: roots, Certificates: tt.certs}
			hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
			defer hc.CloseIdleConnections()
			code, _, body := get(t, hc, s.URL()+"/1.0")
			var info struct{ Metadata serverInfo }
			json.Unmarshal(body, &info)
			if code != 200 || info.Metadata.Auth != tt.auth {
				t.Errorf("GET /1.0: %d auth %q, want %q", code, info.Metadata.Auth, tt.auth)
			}
			if !tt.ok && info.Metadata.Environment != nil {
				t.Error("untrusted client sees the environment")
			}
			code, _, body = get(t, hc, s.URL()+"/1.0/projects")
			if tt.ok != (code == 200) {
				t.Errorf("GET /1.0/projects: %d %s", code, body)
			}
			d := websocket.Dialer{TLSClientConfig: cfg}
			c, resp, err := d.Dial(wss, nil)
			if tt.ok {
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				defer c.Close()
				waitFor(t, func() bool { return s.Stats().Clients == 1 }, "client")
				s.Deliver(t.Context(), seqRecord(1, "logging", ""))
				if f := readFrames(t, c, 1); seqOf(t, f[0]) != 1 {
					t.Errorf("got %q", f[0])
				}
				return
			}
			if err == nil {
				c.Close()
				t.Fatal("untrusted client connected")
			}
			buf := make([]byte, 512)
			n, _ := resp.Body.Read(buf)
			if resp.StatusCode != 403 || !strings.Contains(string(buf[:n]), `"error":"not authorized"`) {
				t.Errorf("untrusted: %d %s", resp.StatusCode, buf[:n])
			}
		})
	}
}

func TestBadTrustedCert(t *testing.T) {
	if _, err := New(Options{TLS: true, TrustedCerts: [][]byte{[]byte("nope")}}); err == nil || !strings.Contains(err.Error(), "trusted certificate 0") {
		t.Errorf("New with a bad certificate: %v", err)
	}
}

// TestTLSRequestor: over TLS, REST requests are refused to untrusted
// clients, and a trusted client is named by its certificate's fingerprint,
// protocol tls and its address, in the logs and the lifecycle requestor.
func TestTLSRequestor(t *testing.T) {
	trusted, trustedPEM := clientCert(t)
	untrusted, _ := clientCert(t)
	s := NewServer(t, Options{TLS: true, TrustedCerts: [][]byte{trustedPEM}, Logging: true})
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(s.Certificate())
	client := func(c tls.Certificate) *http.Client {
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{c}}}}
	}
	resp, err := client(untrusted).Post(s.URL()+"/1.0/profiles", "application/json", strings.NewReader(`{"name":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("untrusted POST /1.0/profiles: %d, want 403", resp.StatusCode)
	}
	d := websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{trusted}}}
	ws, _, err := d.Dial(strings.Replace(s.URL(), "https", "wss", 1)+"/1.0/events?type=lifecycle", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	waitFor(t, func() bool { return s.Stats().Clients == 1 }, "the client")
	resp, err = client(trusted).Post(s.URL()+"/1.0/profiles", "application/json", strings.NewReader(`{"name":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("trusted POST /1.0/profiles: %d", resp.StatusCode)
	}
	f := readFrames(t, ws, 1)[0]
	var ev struct {
		Metadata struct {
			Requestor struct{ Username, Protocol, Address string }
		}
	}
	json.Unmarshal([]byte(f), &ev)
	rq := ev.Metadata.Requestor
	sum := sha256.Sum256(trusted.Certificate[0])
	if rq.Username != hex.EncodeToString(sum[:]) || rq.Protocol != "tls" || !strings.HasPrefix(rq.Address, "127.0.0.1:") {
		t.Errorf("requestor %+v in %s", rq, f)
	}
}
