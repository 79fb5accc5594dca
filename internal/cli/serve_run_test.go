package cli_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/eventsim/eventsim/internal/cli"
)

// parseServe parses serve's flags as the command line does and returns the
// options serveRun would get.
func parseServe(t *testing.T, streams *cli.IO, args ...string) *cli.ServeOptions {
	t.Helper()
	var got *cli.ServeOptions
	cmd := cli.NewCmdServe(streams, func(_ context.Context, o *cli.ServeOptions) error {
		got = o
		return nil
	})
	cmd.SetArgs(args)
	if err := cmd.Execute(); err != nil {
		t.Fatalf("serve %v: %v", args, err)
	}
	return got
}

// startServeRun runs serve in this process, through its run function, and
// returns its standard output and a stop that cancels it and returns its
// error.
func startServeRun(t *testing.T, opts *cli.ServeOptions) (out *lockedBuffer, stop func() error) {
	t.Helper()
	out = &lockedBuffer{}
	opts.IO.Out = out
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- cli.ServeRun(ctx, opts) }()
	stopped := false
	var err error
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				err = errors.New("serve did not stop within 10 s")
			}
		}
		return err
	}
	t.Cleanup(func() { stop() })
	return out, stop
}

var exportLineRE = regexp.MustCompile(`(?m)^export ((?:LXD|INCUS)_SOCKET)=(\S+)$`)

// TestServeDefaultSocketForLXC: `serve` with no --lxd-socket listens on a
// unix socket in a fresh temporary directory and prints the line to paste;
// pasted into a shell, it points the real client at the demo scenario's
// world (lxc list shows web1), and on exit the directory is gone.
func TestServeDefaultSocketForLXC(t *testing.T) {
	for _, tt := range []struct {
		name, client, env, conf string
		args                    []string
	}{
		{"lxc", "lxc", "LXD_SOCKET", "LXD_CONF", nil},
		{"incus", "incus", "INCUS_SOCKET", "INCUS_CONF", []string{"--flavor", "incus"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := exec.LookPath(tt.client); err != nil {
				t.Fatalf("%s is not on PATH (.ci/run installs it): %v", tt.client, err)
			}
			streams := &cli.IO{Err: &lockedBuffer{}}
			opts := parseServe(t, streams, append(tt.args, "--lxd-addr", "-")...)
			if opts.Socket != "" {
				t.Fatalf("default --lxd-socket is %q, want \"\" (a temporary one)", opts.Socket)
			}
			out, stop := startServeRun(t, opts)
			var line []string
			for deadline := time.Now().Add(20 * time.Second); line == nil; time.Sleep(20 * time.Millisecond) {
				if line = exportLineRE.FindStringSubmatch(out.String()); line == nil && time.Now().After(deadline) {
					t.Fatalf("serve printed no export line in 20 s:\n%s", out.String())
				}
			}
			if line[1] != tt.env {
				t.Errorf("serve printed export %s, want %s", line[1], tt.env)
			}
			sock := line[2]
			if !strings.Contains(out.String(), "LXD:     unix://"+sock+"\n") {
				t.Errorf("the export line's socket %s is not the one serve lists:\n%s", sock, out.String())
			}

			// The line as a user pastes it, then the client.
			script := line[0] + "\n" + tt.client + " list --format csv --columns n"
			var listed string
			for deadline := time.Now().Add(30 * time.Second); !strings.Contains(listed, "web1"); time.Sleep(200 * time.Millisecond) {
				cmd := exec.Command("sh", "-c", script)
				cmd.Env = append(os.Environ(), tt.conf+"="+t.TempDir())
				b, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("%s\n: %v\n%s", script, err, b)
				}
				if listed = string(b); time.Now().After(deadline) {
					t.Fatalf("%s list never showed web1 in 30 s; last:\n%s", tt.client, listed)
				}
			}

			if err := stop(); err != nil {
				t.Fatalf("serve: %v", err)
			}
			if _, err := os.Stat(filepath.Dir(sock)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the temporary socket directory %s is still there after exit (stat: %v)", filepath.Dir(sock), err)
			}
		})
	}
}

// TestServeNoSocket: --lxd-socket - serves no unix socket and prints no
// export line.
func TestServeNoSocket(t *testing.T) {
	opts := parseServe(t, &cli.IO{Err: &lockedBuffer{}}, "--lxd-socket", "-")
	out, stop := startServeRun(t, opts)
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(out.String(), "Control:"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("serve printed no addresses in 20 s:\n%s", out.String())
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); strings.Contains(s, "unix://") || strings.Contains(s, "export ") {
		t.Errorf("serve --lxd-socket - printed a socket:\n%s", s)
	}
}

// TestServeFlagsParseIntoOptions: NewCmdServe only parses; each flag lands
// in ServeOptions (and its simulator.Options) as serveRun will use it.
func TestServeFlagsParseIntoOptions(t *testing.T) {
	o := parseServe(t, &cli.IO{}, "--scenario", "lxd-steady", "--seed", "7", "--speed", "0", "--flavor", "incus", "--loop",
		"--lxd-addr", "-", "--lxd-socket", "/tmp/x/unix.socket", "--lxd-tls", "--lxd-tls-trust", "a.pem",
		"--linode-addr", "127.0.0.1:9", "--linode-token", "T", "--linode-readonly-token", "R", "--linode-rate-limit", "10/s",
		"--log-level", "debug", "--log-format", "json", "--ready-file", "r.json", "--control-token", "C", "--max-conns", "5")
	sim := o.Sim
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"scenario", sim.Scenario, "lxd-steady"}, {"seed", sim.Seed, int64(7)}, {"speed", sim.Speed, 0.0},
		{"flavor", string(sim.Flavor), "incus"}, {"loop", sim.Loop, true}, {"lxd addr", sim.LXD.Addr, "-"},
		{"socket", o.Socket, "/tmp/x/unix.socket"}, {"tls", sim.LXD.TLS, true}, {"trust", strings.Join(o.TrustFiles, ","), "a.pem"},
		{"linode addr", sim.Linode.Addr, "127.0.0.1:9"}, {"tokens", strings.Join(sim.Linode.Tokens, ","), "T"},
		{"read-only tokens", strings.Join(sim.Linode.ReadOnlyTokens, ","), "R"},
		{"rate", sim.Linode.RateLimit, 10}, {"period", sim.Linode.RatePeriod, time.Second},
		{"log level", o.LogLevel.String(), "DEBUG"}, {"log format", o.LogFormat, "json"}, {"ready file", o.ReadyFile, "r.json"},
		{"control token", sim.ControlToken, "C"}, {"max conns", sim.LXD.MaxConns + sim.Linode.MaxConns, 10},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	d := parseServe(t, &cli.IO{})
	if d.Sim.Scenario != "demo" || d.Sim.Speed != 1 || d.Socket != "" || d.Sim.LXD.Addr != "127.0.0.1:0" || d.LogFormat != "text" || d.LogLevel.String() != "INFO" {
		t.Errorf("defaults: %+v", d)
	}
}
