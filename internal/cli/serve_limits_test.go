package cli_test

import (
	"context"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeFloodUnderFileLimit: `eventsim serve` with a file limit of 256
// is flooded with 400 connections on its LXD TCP listener that never send
// a request. Each listener holds at most a quarter of the limit, so the
// Linode API, the control API and the unix socket keep answering, and the
// LXD listener answers again once the flood ends.
func TestServeFloodUnderFileLimit(t *testing.T) {
	bin := eventsimBin(t)
	sock := filepath.Join(t.TempDir(), "unix.socket")
	cmd := exec.Command("sh", "-c", `ulimit -n 256 && exec "$0" "$@"`, bin, "serve", "--lxd-socket", sock, "--lxd-addr", "127.0.0.1:0")
	stdout, stderr := &lockedBuffer{}, &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	var lxdURL, linodeURL, token, control string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		out := stdout.String()
		m1, m3, m4 := lxdLineRE.FindStringSubmatch(out), linodeLineRE.FindStringSubmatch(out), ctlLineRE.FindStringSubmatch(out)
		if m1 != nil && m3 != nil && m4 != nil {
			lxdURL, linodeURL, token, control = m1[1], m3[1], m3[2], m4[1]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve printed no addresses:\n%s\n%s", out, stderr.String())
		}
	}

	var flood []net.Conn
	defer func() {
		for _, c := range flood {
			c.Close()
		}
	}()
	for range 400 {
		c, err := net.Dial("tcp", strings.TrimPrefix(lxdURL, "http://"))
		if err != nil {
			t.Fatalf("dial %d: %v", len(flood), err)
		}
		flood = append(flood, c)
	}
	time.Sleep(300 * time.Millisecond) // let the server accept what it will

	client := &http.Client{Timeout: 3 * time.Second}
	unix := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	check := func(what string, c *http.Client, url, auth string) {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Errorf("%s during the flood: %v", what, err)
			return
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s during the flood: %d", what, resp.StatusCode)
		}
	}
	check("Linode API", client, linodeURL+"/v4/account/events", token)
	check("control API on the Linode listener", client, linodeURL+"/eventsim/v1/stats", control)
	check("LXD unix socket", unix, "http://lxd/1.0", "")
	if !strings.Contains(stderr.String(), "listener at its connection cap") {
		t.Errorf("the refused connections are not logged:\n%s", stderr.String())
	}

	for _, c := range flood {
		c.Close()
	}
	flood = nil
	deadline := time.Now().Add(3 * time.Second)
	for {
		resp, err := client.Get(lxdURL + "/1.0")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("LXD TCP after the flood: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
