package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eventsim/eventsim/simulator"
)

// writeClientCert writes a fresh self-signed client certificate and its key
// as PEM files, returning their paths and the certificate's PEM.
func writeClientCert(t *testing.T, dir, name string) (certFile, keyFile string, certPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, certPEM
}

// TestConformLXDOverTLSWithoutTrust: a daemon that does not trust the
// client is a configuration problem (exit 2) that says to pass --cert and
// --key, not a run of failed checks.
func TestConformLXDOverTLSWithoutTrust(t *testing.T) {
	dir := t.TempDir()
	trustedCrt, trustedKey, trustedPEM := writeClientCert(t, dir, "trusted")
	otherCrt, otherKey, _ := writeClientCert(t, dir, "other")
	opts := simulator.Options{Scenario: "lxd-projects", Speed: 1, Loop: true}
	opts.LXD.TLS = true
	opts.LXD.TrustedCerts = [][]byte{trustedPEM}
	srv := simulator.NewServer(t, opts)
	target := srv.LXD().URL()
	for _, tt := range []struct {
		name string
		args []string
		code ExitCode
		want string
	}{
		{"no certificate", []string{"--insecure"}, ExitUsage, "does not trust this client (GET /1.0 says auth \"untrusted\"): pass --cert and --key"},
		{"a certificate it does not trust", []string{"--insecure", "--cert", otherCrt, "--key", otherKey}, ExitUsage, "does not trust the certificate in --cert " + otherCrt},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := run(t, "", append([]string{"conform", "lxd", "--target", target, "--duration", "1s"}, tt.args...)...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, tt.code, tt.want)
			}
			if out != "" {
				t.Errorf("a report although the run could not take place:\n%s", out)
			}
		})
	}
	// A trusted certificate gets a real run.
	out, errOut, code := run(t, "", "conform", "lxd", "--target", target, "--duration", "1s", "--insecure", "--cert", trustedCrt, "--key", trustedKey)
	if code == ExitUsage || strings.Contains(errOut, "does not trust") || !strings.Contains(out, "lxd.server") {
		t.Errorf("trusted: exit %d, stderr %q, report:\n%s", code, errOut, out)
	}
}
