package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// buildEventsim builds the binary once per test run.
var buildEventsim = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "eventsim-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "eventsim")
	out, err := exec.Command("go", "build", "-o", bin, "../../cmd/eventsim").CombinedOutput()
	if err != nil {
		return "", errors.New(string(out))
	}
	return bin, nil
})

func eventsimBin(t *testing.T) string {
	t.Helper()
	bin, err := buildEventsim()
	if err != nil {
		t.Fatalf("go build ./cmd/eventsim: %v", err)
	}
	return bin
}

// served is a running `eventsim serve` and what it printed.
type served struct {
	cmd      *exec.Cmd
	lxdURL   string
	socket   string
	linode   string
	token    string
	control  string // the control token
	stdout   *lockedBuffer
	stderr   *lockedBuffer
	exited   chan struct{}
	exitCode int
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var (
	lxdLineRE    = regexp.MustCompile(`(?m)^LXD:\s+(http://127\.0\.0\.1:\d+)$`)
	socketLineRE = regexp.MustCompile(`(?m)^LXD:\s+unix://(\S+)$`)
	linodeLineRE = regexp.MustCompile(`(?m)^Linode:\s+(http://127\.0\.0\.1:\d+)/v4\s+\(token (\S+)\)$`)
	ctlLineRE    = regexp.MustCompile(`(?m)^Control:\s+\S+\s+\(token (\S+)\)$`)
)

// startServe runs `eventsim serve` with a unix socket and TCP and waits
// until it has printed where it listens.
func startServe(t *testing.T, args ...string) *served {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "unix.socket")
	pr, pw := io.Pipe()
	s := launchServe(t, pw, append([]string{"--lxd-socket", sock, "--lxd-addr", "127.0.0.1:0"}, args...)...)
	lines := make(chan struct{}, 16)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- struct{}{}
		}
		close(lines)
	}()
	deadline := time.After(20 * time.Second)
	for {
		out := s.stdout.String()
		m1, m2, m3, m4 := lxdLineRE.FindStringSubmatch(out), socketLineRE.FindStringSubmatch(out), linodeLineRE.FindStringSubmatch(out), ctlLineRE.FindStringSubmatch(out)
		if m1 != nil && m2 != nil && m3 != nil && m4 != nil {
			s.lxdURL, s.socket, s.linode, s.token, s.control = m1[1], m2[1], m3[1], m3[2], m4[1]
			if s.socket != sock {
				t.Errorf("printed socket %s, asked for %s", s.socket, sock)
			}
			go func() {
				for range lines {
				}
			}()
			return s
		}
		select {
		case _, ok := <-lines:
			if !ok {
				t.Fatalf("serve ended before printing its addresses:\n%s\n%s", out, s.stderr.String())
			}
		case <-deadline:
			t.Fatalf("serve printed no addresses in 20s:\n%s\n%s", out, s.stderr.String())
		}
	}
}

// TestServeGracefulShutdown: on SIGINT and on SIGTERM, every event client
// gets a 1001 close frame, the process exits 0 and the socket file goes.
func TestServeGracefulShutdown(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			s := startServe(t, "--scenario", "lxd-steady", "--speed", "1")
			tcp, _, err := websocket.DefaultDialer.Dial(strings.Replace(s.lxdURL, "http://", "ws://", 1)+"/1.0/events?all-projects=true", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tcp.Close()
			d := websocket.Dialer{NetDialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var nd net.Dialer
				return nd.DialContext(ctx, "unix", s.socket)
			}}
			unix, _, err := d.Dial("ws://unix.socket/1.0/events", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close()
			// Both clients are registered once the stats say so.
			waitClients(t, s.lxdURL, s.control, 2)
			// The Linode token printed is accepted.
			req, _ := http.NewRequest("GET", s.linode+"/v4/account/events", nil)
			req.Header.Set("Authorization", "Bearer "+s.token)
			if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
				t.Errorf("the printed Linode token: %v %v", err, resp)
			} else {
				resp.Body.Close()
			}

			if err := s.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			for name, c := range map[string]*websocket.Conn{"tcp": tcp, "unix": unix} {
				code, text := readUntilClose(c)
				if code != websocket.CloseGoingAway {
					t.Errorf("%s client: close %d %q, want 1001", name, code, text)
				}
			}
			select {
			case <-s.exited:
			case <-time.After(10 * time.Second):
				t.Fatal("serve did not exit within 10s of the signal")
			}
			if s.exitCode != 0 {
				t.Errorf("exit code %d, want 0\n%s", s.exitCode, s.stderr.String())
			}
			if _, err := os.Stat(s.socket); !os.IsNotExist(err) {
				t.Errorf("socket file after exit: %v", err)
			}
			if !strings.Contains(s.stdout.String(), "shutting down") {
				t.Errorf("stdout lacks the shutdown notice:\n%s", s.stdout.String())
			}
		})
	}
}

func waitClients(t *testing.T, base, control string, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest("GET", base+"/eventsim/v1/stats", nil)
		req.Header.Set("Authorization", "Bearer "+control)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if regexp.MustCompile(`"clients":\d+`).FindString(string(b)) == `"clients":`+strconv.Itoa(n) {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the server never had %d clients", n)
}

// readUntilClose reads frames until the connection ends.
func readUntilClose(c *websocket.Conn) (int, string) {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code, ce.Text
			}
			return websocket.CloseAbnormalClosure, err.Error()
		}
	}
}

// TestServeBadFlags: usage mistakes exit 2 with a message saying what is wrong.
func TestServeBadFlags(t *testing.T) {
	bin := eventsimBin(t)
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"serve", "--bogus"}, "eventsim: unknown flag: --bogus\nrun 'eventsim serve --help' for usage"},
		{"negative speed", []string{"serve", "--speed", "-1"}, "eventsim: invalid --speed -1, must be from 0 (as fast as clients take events) to 10000"},
		{"speed NaN", []string{"serve", "--speed", "NaN"}, "eventsim: invalid --speed NaN, must be from 0 (as fast as clients take events) to 10000"},
		{"speed too fast", []string{"serve", "--speed", "1e308"}, "eventsim: invalid --speed 1e+308, must be from 0 (as fast as clients take events) to 10000"},
		{"speed infinite", []string{"serve", "--speed", "Inf"}, "eventsim: invalid --speed +Inf, must be from 0 (as fast as clients take events) to 10000"},
		{"speed not a number", []string{"serve", "--speed", "fast"}, `invalid argument "fast" for "--speed" flag`},
		{"flavour", []string{"serve", "--flavor", "lxd-4"}, `eventsim: invalid flavor "lxd-4", must be one of lxd-5.0, lxd-6, incus`},
		{"scenario", []string{"serve", "--scenario", "no-such-scenario"}, "no-such-scenario"},
		{"rate limit", []string{"serve", "--linode-rate-limit", "lots"}, `eventsim: invalid --linode-rate-limit "lots", must be N/PERIOD such as 800/2m, or off`},
		{"arguments", []string{"serve", "extra"}, `eventsim: eventsim serve takes no arguments, got ["extra"]`},
		{"socket under a file", []string{"serve", "--lxd-socket", "/etc/hostname/lxd/unix.socket"}, "listen on /etc/hostname/lxd/unix.socket"},
		{"lxd addr", []string{"serve", "--lxd-addr", "256.0.0.1:99999"}, "listen on 256.0.0.1:99999"},
		{"trust file", []string{"serve", "--lxd-tls-trust", "/nonexistent.pem"}, "eventsim: --lxd-tls-trust: open /nonexistent.pem"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin, tt.args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			done := make(chan error, 1)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			go func() { done <- cmd.Wait() }()
			var err error
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("serve %v kept running", tt.args)
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 {
				t.Errorf("%v: %v, want exit 2\n%s", tt.args, err, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("%v: stderr %q, want it to contain %q", tt.args, stderr.String(), tt.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("%v printed on stdout: %s", tt.args, stdout.String())
			}
		})
	}
}
