package cli_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/eventsim/eventsim/internal/cli"
)

// waitReadyFile waits for serve's --ready-file and reads it.
func waitReadyFile(t *testing.T, path string, s *served) cli.ReadyInfo {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err == nil {
			var info cli.ReadyInfo
			if err := json.Unmarshal(b, &info); err != nil {
				t.Fatalf("ready file is not whole JSON: %v\n%s", err, b)
			}
			return info
		}
		select {
		case <-s.exited:
			t.Fatalf("serve exited before writing its ready file:\n%s", s.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ready file in 20s:\n%s", s.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// launchServe runs `eventsim serve args...`, its standard output copied
// to also (closed when it exits) when not nil, and kills it at the end of
// the test.
func launchServe(t *testing.T, also io.WriteCloser, args ...string) *served {
	t.Helper()
	cmd := exec.Command(eventsimBin(t), append([]string{"serve"}, args...)...)
	s := &served{cmd: cmd, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = s.stdout, s.stderr
	if also != nil {
		cmd.Stdout = io.MultiWriter(s.stdout, also)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := cmd.Wait()
		if also != nil {
			also.Close()
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			s.exitCode = ee.ExitCode()
		}
		close(s.exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-s.exited
	})
	return s
}

// jsonLogs parses serve's --log-format json standard error.
func jsonLogs(t *testing.T, stderr string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(stderr))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %v: %s", err, sc.Text())
		}
		out = append(out, m)
	}
	return out
}

func findLog(logs []map[string]any, msg string, match func(map[string]any) bool) map[string]any {
	for _, l := range logs {
		if l["msg"] == msg && (match == nil || match(l)) {
			return l
		}
	}
	return nil
}

// TestServeReadyFileLogsAndSocketDirectory: a socket in a directory that
// does not exist yet works (the directory is made 0711, and said so), the
// ready file appears whole with addresses that answer, JSON logs name each
// event client with its filter and each eviction with its reason, and on
// SIGTERM the directory, the socket and the ready file go away.
func TestServeReadyFileLogsAndSocketDirectory(t *testing.T) {
	dir := shortDir(t)
	sockDir := filepath.Join(dir, "lxd", "run")
	sock := filepath.Join(sockDir, "unix.socket")
	ready := filepath.Join(dir, "ready.json")
	s := launchServe(t, nil, "--scenario", "lxd-steady", "--speed", "10", "--loop",
		"--lxd-socket", sock, "--ready-file", ready, "--log-format", "json", "--log-level", "debug")
	info := waitReadyFile(t, ready, s)

	if info.LXDSocket != sock || !strings.HasPrefix(info.LXD, "http://127.0.0.1:") || !strings.HasPrefix(info.Linode, "http://127.0.0.1:") || info.LinodeToken == "" || info.ControlToken == "" || info.PID != s.cmd.Process.Pid {
		t.Fatalf("ready file %+v", info)
	}
	if fi, err := os.Stat(sockDir); err != nil || fi.Mode().Perm() != 0o711 {
		t.Errorf("socket directory: %v, mode %v; want 0711", err, fi.Mode().Perm())
	}
	if fi, err := os.Stat(ready); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("ready file: %v, mode %v; want 0600 (it names the token)", err, fi.Mode().Perm())
	}
	// Every address in it answers.
	get := func(c *http.Client, url, token string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), "GET", url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %s", url, resp.Status)
		}
	}
	unixHTTP := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", info.LXDSocket)
	}}}
	get(http.DefaultClient, info.LXD+"/1.0", "")
	get(unixHTTP, "http://lxd/1.0", "")
	get(http.DefaultClient, info.Linode+"/v4/account/events", info.LinodeToken)
	get(http.DefaultClient, info.Control+"stats", info.ControlToken)

	// A reading client over TCP, and one over the socket that never reads:
	// the second falls behind and is evicted.
	reader, _, err := websocket.DefaultDialer.Dial(strings.Replace(info.LXD, "http://", "ws://", 1)+"/1.0/events?type=lifecycle&project=team-a", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	go func() {
		for {
			if _, _, err := reader.ReadMessage(); err != nil {
				return
			}
		}
	}()
	d := websocket.Dialer{NetDialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var nd net.Dialer
		return nd.DialContext(ctx, "unix", info.LXDSocket)
	}}
	stuck, _, err := d.Dial("ws://lxd/1.0/events?all-projects=true", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()

	var evicted map[string]any
	deadline := time.Now().Add(20 * time.Second)
	for evicted == nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		evicted = findLog(jsonLogs(t, s.stderr.String()), "event client evicted", nil)
	}
	if evicted == nil {
		t.Fatalf("no eviction logged in 20s:\n%s", tail(s.stderr.String(), 4000))
	}
	if r, _ := evicted["reason"].(string); r == "" || evicted["level"] != "WARN" {
		t.Errorf("eviction log without its reason, or not a warning: %v", evicted)
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("serve did not exit within 10s of SIGTERM:\n%s", tail(s.stderr.String(), 3000))
	}
	if s.exitCode != 0 {
		t.Errorf("exit %d", s.exitCode)
	}
	logs := jsonLogs(t, s.stderr.String())
	for _, want := range []struct {
		msg   string
		match func(map[string]any) bool
	}{
		{"created the socket's directory", func(l map[string]any) bool { return l["dir"] == sockDir && l["mode"] == "0711" }},
		{"playing scenario", func(l map[string]any) bool { return l["scenario"] == "lxd-steady" }},
		{"event client connected", func(l map[string]any) bool {
			types, _ := l["types"].([]any)
			return l["project"] == "team-a" && l["all-projects"] == false && len(types) == 1 && types[0] == "lifecycle"
		}},
		{"event client connected", func(l map[string]any) bool { return l["all-projects"] == true && l["client"] == evicted["client"] }},
		{"lxd request", func(l map[string]any) bool { return l["path"] == "/1.0" && l["level"] == "DEBUG" }},
		{"linode request", func(l map[string]any) bool { return l["path"] == "/v4/account/events" }},
		{"control call", func(l map[string]any) bool { return l["path"] == "/eventsim/v1/stats" && l["status"] == float64(200) }},
		{"shutting down", nil},
		{"stopped", nil},
	} {
		if findLog(logs, want.msg, want.match) == nil {
			t.Errorf("no %q log line of the kind wanted in:\n%s", want.msg, tail(s.stderr.String(), 4000))
		}
	}
	for _, gone := range []string{sock, sockDir, filepath.Dir(sockDir), ready} {
		if _, err := os.Stat(gone); !os.IsNotExist(err) {
			t.Errorf("%s after exit: %v; want it removed", gone, err)
		}
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("the directory that existed before went: %v", err)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// TestServeLogFlagsRefuseBadValues: the log flags say what is allowed.
func TestServeLogFlagsRefuseBadValues(t *testing.T) {
	for _, tt := range []struct{ args, want string }{
		{"--log-level verbose", `invalid --log-level "verbose", must be one of debug, info, warn, error`},
		{"--log-format xml", `invalid --log-format "xml", must be text or json`},
		{"--speed fast", `invalid argument "fast" for "--speed" flag: must be a number from 0 (as fast as clients take events) to 10000, such as 1 (real time) or 10 (ten times faster)`},
	} {
		var out, errOut strings.Builder
		code := cli.Main(append([]string{"serve"}, strings.Fields(tt.args)...), strings.NewReader(""), &out, &errOut)
		if code != cli.ExitUsage || !strings.Contains(errOut.String(), tt.want) || strings.Contains(errOut.String(), "strconv") {
			t.Errorf("serve %s: exit %d, stderr %q; want 2 and %q", tt.args, code, errOut.String(), tt.want)
		}
	}
}

// shortDir is a temporary directory with a path short enough for a unix
// socket inside it (t.TempDir's can pass the 108-byte limit).
func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "es")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
