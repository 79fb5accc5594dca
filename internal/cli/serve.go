package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/simulator"
)

func init() {
	extraCommands = append(extraCommands, func(s *IO) *cobra.Command { return NewCmdServe(s, nil) })
}

// maxSpeed is the fastest --speed: virtual time is an offset of at most
// 292 years (time.Duration), which at 10,000 times real time lasts ten days
// of serving. --speed 0 is for "as fast as possible".
const maxSpeed = 1e4

// maxSocketPath is the longest unix socket path Linux takes (sun_path's 108
// bytes less the terminating NUL).
const maxSocketPath = 107

// NoSocket is the --lxd-socket value that asks for no unix socket.
const NoSocket = "-"

// ServeOptions are the flags of `eventsim serve`.
type ServeOptions struct {
	IO *IO
	// Sim is what the servers are built with; most flags map straight onto
	// it. Its LXD.Socket is set from Socket and its Logger from LogLevel and
	// LogFormat when serving starts (a Logger already set is kept).
	Sim simulator.Options
	// Socket is --lxd-socket: "" means a unix socket in a fresh temporary
	// directory, removed on exit; NoSocket means none.
	Socket string
	// TrustFiles are --lxd-tls-trust's PEM files, read when serving starts.
	TrustFiles []string
	// LogLevel and LogFormat are --log-level and --log-format (text or json).
	LogLevel  slog.Level
	LogFormat string
	// ReadyFile is where to write the listen addresses once serving; "" none.
	ReadyFile string
}

// NewCmdServe builds `eventsim serve`. runF, when set, receives the parsed
// options instead of running them (tests).
func NewCmdServe(streams *IO, runF func(context.Context, *ServeOptions) error) *cobra.Command {
	opts := &ServeOptions{IO: streams}
	var (
		flavor    string
		rateLimit string
		logLevel  = "info"
		speed     = speedValue(1)
		maxConns  int
		start     startValue
	)
	opts.LogFormat = "text"
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the fake LXD and Linode event APIs, fed by a scenario",
		Long: `Play a scenario on the virtual clock and serve its events: LXD's
/1.0/events WebSocket and REST API (on TCP and on a unix socket) and Linode's
/v4 API. With no flags it plays the demo scenario in real time on free
loopback ports and a unix socket in a fresh temporary directory, and prints
the addresses and the line to paste for lxc (export LXD_SOCKET=..., or
INCUS_SOCKET for --flavor incus); --lxd-socket PATH puts the socket there
instead, --lxd-socket - serves none. A scenario that ends leaves the
servers up and idle (--loop plays it again). The fake LXD keeps a world
folded from every event it serves (lxc list, info, image list, network list,
warning list, cluster list and operation list show it) and answers REST
requests for instances, images and aliases, networks (with ACLs, zones,
forwards and load balancers), profiles, projects, custom storage volumes and
trust (so lxc init, launch, start, stop, snapshot, image import, network
create, profile, project, storage volume and config trust commands work)
with the events LXD 5.0.2 emits, stamped on the scenario's clock. The control API is under /eventsim/v1/ on
every listener (docs/control-api.md); over plain HTTP it needs the control
token printed at start (or set with --control-token) as
"Authorization: Bearer TOKEN". Each listener holds at most --max-conns
connections and closes idle keep-alive ones after 2 minutes. SIGINT or SIGTERM shuts down cleanly:
event clients get close 1001, the unix socket is removed (with the
temporary directory it was in), the exit code is 0.

The directory of --lxd-socket is created when missing (mode 0711, as LXD
makes its own) and removed again on exit if it is empty. Logs go to standard
error: scenario start, end and loop, event clients with their filters,
evictions with their reason, faults as they act, control calls and shutdown
at info; every request at debug. --ready-file writes where the servers
listen, as JSON, once they all do (docs/serve.md).`,
		Example: `  eventsim serve
  eventsim serve --scenario lxd-steady --speed 0 --lxd-socket /tmp/lxd/unix.socket
  LXD_SOCKET=/tmp/lxd/unix.socket LXD_CONF=$(mktemp -d) lxc monitor --format json
  eventsim serve --log-format json --log-level debug --ready-file /tmp/eventsim.json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := catalog.ParseFlavor(flavor)
			if err != nil {
				return &UsageError{Err: err}
			}
			opts.Sim.Flavor = f
			opts.Sim.Start = time.Time(start)
			opts.Sim.Speed = float64(speed)
			if opts.Sim.Speed < 0 || opts.Sim.Speed > maxSpeed || math.IsNaN(opts.Sim.Speed) || math.IsInf(opts.Sim.Speed, 0) {
				return usageErr("invalid --speed %v, must be from 0 (as fast as clients take events) to %v", opts.Sim.Speed, maxSpeed)
			}
			if opts.LogLevel, err = parseLogLevel(logLevel); err != nil {
				return &UsageError{Err: err}
			}
			if opts.LogFormat != "text" && opts.LogFormat != "json" {
				return usageErr("invalid --log-format %q, must be text or json", opts.LogFormat)
			}
			if rateLimit != "" {
				n, per, err := parseRateLimit(rateLimit)
				if err != nil {
					return &UsageError{Err: err}
				}
				opts.Sim.Linode.RateLimit, opts.Sim.Linode.RatePeriod = n, per
			}
			if maxConns < 0 {
				return usageErr("invalid --max-conns %d, must be 0 (a quarter of the open-file limit) or more", maxConns)
			}
			opts.Sim.LXD.MaxConns, opts.Sim.Linode.MaxConns = maxConns, maxConns
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return serveRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Sim.Scenario, "scenario", "demo", "built-in scenario name or scenario file")
	fl.Int64Var(&opts.Sim.Seed, "seed", 0, "random seed (0: the scenario's own)")
	fl.Var(&start, "start", "when the scenario starts on the virtual clock, as an RFC 3339 time (a recording: its first event) (default: now, or the start the scenario file sets)")
	fl.Var(&speed, "speed", "virtual time speed: 1 real time, 10 ten times faster, 0 as fast as clients take events (at most 10000)")
	fl.StringVar(&flavor, "flavor", string(catalog.DefaultFlavor), "LXD flavour: lxd-5.0, lxd-6 or incus")
	fl.BoolVar(&opts.Sim.Loop, "loop", false, "play the scenario again when it ends")
	fl.StringVar(&opts.Sim.LXD.Addr, "lxd-addr", "127.0.0.1:0", "LXD TCP listen address (- for none)")
	fl.StringVar(&opts.Socket, "lxd-socket", "", "LXD unix socket path (mode 0660, removed on exit; a missing directory is created; - for none) (default: one in a fresh temporary directory)")
	fl.BoolVar(&opts.Sim.LXD.TLS, "lxd-tls", false, "serve LXD over TLS with a generated self-signed certificate")
	fl.StringArrayVar(&opts.TrustFiles, "lxd-tls-trust", nil, "PEM client certificate to trust over TLS (repeatable)")
	fl.StringVar(&opts.Sim.Linode.Addr, "linode-addr", "127.0.0.1:0", "Linode listen address")
	fl.StringArrayVar(&opts.Sim.Linode.Tokens, "linode-token", nil, "accepted bearer token (repeatable; default: one generated and printed)")
	fl.StringArrayVar(&opts.Sim.Linode.ReadOnlyTokens, "linode-readonly-token", nil, "read-only bearer token (repeatable)")
	fl.StringVar(&rateLimit, "linode-rate-limit", "", "requests per period per token, e.g. 800/2m, or off for no limit (default 800/2m)")
	fl.StringVar(&logLevel, "log-level", logLevel, "least important logs shown: debug (every request), info, warn or error")
	fl.StringVar(&opts.LogFormat, "log-format", opts.LogFormat, "log format on standard error: text or json (one object a line)")
	fl.StringVar(&opts.ReadyFile, "ready-file", "", "write the listen addresses to this file as JSON once serving (removed on exit)")
	fl.StringVar(&opts.Sim.ControlToken, "control-token", "", "token the control API needs over plain HTTP, as Authorization: Bearer TOKEN (default: one generated and printed)")
	fl.IntVar(&maxConns, "max-conns", 0, "connections each listener holds at once; past it new ones are closed (default: a quarter of the open-file limit)")
	return cmd
}

// parseRateLimit reads "N/PERIOD", e.g. "800/2m" or "10/s", or "off": no
// limit (a negative RateLimit).
func parseRateLimit(s string) (int, time.Duration, error) {
	if s == "off" {
		return -1, 0, nil
	}
	n, per, ok := strings.Cut(s, "/")
	v, err := strconv.Atoi(n)
	if !ok || err != nil || v <= 0 {
		return 0, 0, fmt.Errorf("invalid --linode-rate-limit %q, must be N/PERIOD such as 800/2m, or off", s)
	}
	if per != "" && (per[0] < '0' || per[0] > '9') {
		per = "1" + per
	}
	d, err := time.ParseDuration(per)
	if err != nil || d <= 0 {
		return 0, 0, fmt.Errorf("invalid --linode-rate-limit %q, must be N/PERIOD such as 800/2m, or off", s)
	}
	return v, d, nil
}

// speedValue is --speed: a number, refused with a sentence that says what is
// allowed rather than strconv's text.
type speedValue float64

func (v *speedValue) String() string { return strconv.FormatFloat(float64(*v), 'g', -1, 64) }
func (v *speedValue) Type() string   { return "float" }
func (v *speedValue) Set(s string) error {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("must be a number from 0 (as fast as clients take events) to %v, such as 1 (real time) or 10 (ten times faster)", maxSpeed)
	}
	*v = speedValue(f)
	return nil
}

// startValue is --start: an RFC 3339 time, refused with a sentence that
// says what is allowed.
type startValue time.Time

func (v *startValue) String() string {
	if time.Time(*v).IsZero() {
		return ""
	}
	return time.Time(*v).Format(time.RFC3339Nano)
}
func (v *startValue) Type() string { return "time" }
func (v *startValue) Set(s string) error {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("must be an RFC 3339 time such as 2026-12-02T10:00:00Z")
	}
	*v = startValue(t.UTC())
	return nil
}

// parseLogLevel reads --log-level.
func parseLogLevel(level string) (slog.Level, error) {
	switch level {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("invalid --log-level %q, must be one of debug, info, warn, error", level)
}

// newLogger makes serve's logger on standard error: JSON for format
// "json", key=value text otherwise.
func newLogger(w io.Writer, level slog.Level, format string) *slog.Logger {
	ho := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, ho))
	}
	return slog.New(slog.NewTextHandler(w, ho))
}

// socketDir makes the directory of the unix socket when it is missing, as
// LXD makes its own, and returns the directories it made, deepest first,
// for removal on exit.
func socketDir(sock string) ([]string, error) {
	var made []string
	for d := filepath.Dir(sock); ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || !errors.Is(err, fs.ErrNotExist) || d == filepath.Dir(d) {
			break
		}
		made = append(made, d)
	}
	if len(made) == 0 {
		return nil, nil
	}
	if err := os.MkdirAll(filepath.Dir(sock), 0o711); err != nil {
		return nil, fmt.Errorf("--lxd-socket %s: create its directory: %w", sock, err)
	}
	return made, nil
}

// ReadyInfo is what --ready-file holds: where each server listens.
type ReadyInfo struct {
	// LXD is the LXD TCP listener's URL; "" with --lxd-addr -.
	LXD string `json:"lxd,omitempty"`
	// LXDSocket is the LXD unix socket's path; "" with --lxd-socket -.
	LXDSocket string `json:"lxd_socket,omitempty"`
	// Linode is the Linode listener's URL; the API is under /v4.
	Linode string `json:"linode"`
	// LinodeToken is the first read-write Linode token.
	LinodeToken string `json:"linode_token"`
	// Control is the control API's root on the Linode listener.
	Control string `json:"control"`
	// ControlToken is the control API's token (Authorization: Bearer).
	ControlToken string `json:"control_token"`
	// PID is the serving process.
	PID int `json:"pid"`
}

// writeReady writes the ready file whole or not at all: to a temporary file
// beside it, then renamed over it, so a reader never sees half of it. It is
// private (0600): it names the tokens.
func writeReady(path string, info ReadyInfo) error {
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("--ready-file: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("--ready-file: %w", err)
	}
	return nil
}

// serveRun serves until ctx is done, then shuts down and cleans up what it
// made: the socket's directories (a temporary one whole, those made for
// --lxd-socket if empty) and the ready file.
func serveRun(ctx context.Context, opts *ServeOptions) error {
	streams := opts.IO
	so := opts.Sim
	if so.Logger == nil {
		so.Logger = newLogger(streams.Err, opts.LogLevel, opts.LogFormat)
	}
	log := so.Logger
	for _, p := range opts.TrustFiles {
		b, err := os.ReadFile(p)
		if err != nil {
			return usageErr("--lxd-tls-trust: %v", err)
		}
		so.LXD.TrustedCerts = append(so.LXD.TrustedCerts, b)
	}
	switch opts.Socket {
	case NoSocket:
	case "":
		dir, err := os.MkdirTemp("", "eventsim-lxd-")
		if err != nil {
			return fmt.Errorf("make a temporary directory for the LXD socket: %w", err)
		}
		defer os.RemoveAll(dir) // made fresh for this run: nothing of anyone else's is in it
		so.LXD.Socket = filepath.Join(dir, "unix.socket")
		if len(so.LXD.Socket) > maxSocketPath {
			return usageErr("the temporary directory %s is too deep for a unix socket (%d bytes at most in its path): set TMPDIR to a shorter directory or give --lxd-socket", dir, maxSocketPath)
		}
	default:
		made, err := socketDir(opts.Socket)
		if err != nil {
			return &UsageError{Err: err}
		}
		if len(made) > 0 {
			log.Info("created the socket's directory", "dir", filepath.Dir(opts.Socket), "mode", "0711")
		}
		defer func() {
			for _, d := range made {
				os.Remove(d) // only if empty: never what others put there
			}
		}()
		so.LXD.Socket = opts.Socket
	}
	srv, err := simulator.New(so)
	if err != nil {
		return &UsageError{Err: err}
	}
	info := ReadyInfo{
		LXD:          srv.LXD().URL(),
		LXDSocket:    srv.LXD().SocketPath(),
		Linode:       srv.Linode().URL(),
		LinodeToken:  srv.Linode().Token(),
		Control:      srv.Linode().URL() + "/eventsim/v1/",
		ControlToken: srv.ControlToken(),
		PID:          os.Getpid(),
	}
	fmt.Fprintf(streams.Out, "eventsim serving scenario %q at speed %v\n", srv.Stats().Scenario, so.Speed)
	if info.LXD != "" {
		fmt.Fprintf(streams.Out, "LXD:     %s\n", info.LXD)
	}
	if info.LXDSocket != "" {
		fmt.Fprintf(streams.Out, "LXD:     unix://%s\n", info.LXDSocket)
	}
	fmt.Fprintf(streams.Out, "Linode:  %s/v4  (token %s)\n", info.Linode, info.LinodeToken)
	fmt.Fprintf(streams.Out, "Control: %s/eventsim/v1/stats  (token %s)\n", info.Linode, info.ControlToken)
	if info.LXDSocket != "" {
		client, env := "lxc", "LXD_SOCKET"
		if so.Flavor == catalog.Incus {
			client, env = "incus", "INCUS_SOCKET"
		}
		fmt.Fprintf(streams.Out, "To point %s at it, paste:\nexport %s=%s\n", client, env, shellQuote(info.LXDSocket))
	}
	if opts.ReadyFile != "" {
		if err := writeReady(opts.ReadyFile, info); err != nil {
			srv.Close()
			return &UsageError{Err: err}
		}
		defer os.Remove(opts.ReadyFile)
	}
	<-ctx.Done()
	fmt.Fprintln(streams.Out, "shutting down")
	log.Info("shutting down", "reason", context.Cause(ctx))
	if err := srv.Close(); err != nil {
		log.Error("stopped", "err", err)
		return err
	}
	log.Info("stopped")
	return nil
}

// shellQuote quotes s for a POSIX shell when it holds anything but
// letters, digits and /._-+:@%,=.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:@%,=", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
