package cli

import (
	"fmt"
	"log/slog"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/simulator"
)

func init() { extraCommands = append(extraCommands, NewCmdServe) }

// NewCmdServe builds `eventsim serve`.
// maxSpeed is the fastest --speed: virtual time is an offset of at most
// 292 years (time.Duration), which at 10,000 times real time lasts ten days
// of serving. --speed 0 is for "as fast as possible".
const maxSpeed = 1e4

func NewCmdServe(streams *IO) *cobra.Command {
	var (
		opts      simulator.Options
		flavor    string
		trust     []string
		rateLimit string
		maxConns  int
	)
	opts.Speed = 1
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the fake LXD and Linode event APIs, fed by a scenario",
		Long: `Play a scenario on the virtual clock and serve its events: LXD's
/1.0/events WebSocket (TCP, and a unix socket with --lxd-socket) and Linode's
/v4/account/events. With no flags it plays the demo scenario in real time on
free loopback ports and prints the addresses. A scenario that ends leaves the
servers up and idle (--loop plays it again). The fake LXD also answers REST
requests for profiles, projects and custom storage volumes (so lxc profile,
project and storage volume commands work) with the events LXD 5.0.2 emits,
stamped on the scenario's clock. The control API is under /eventsim/v1/ on
every listener (docs/control-api.md); over plain HTTP it needs the control
token printed at start (or set with --control-token) as
"Authorization: Bearer TOKEN". Each listener holds at most --max-conns
connections and closes idle keep-alive ones after 2 minutes. SIGINT or SIGTERM shuts down cleanly:
event clients get close 1001, the unix socket is removed, the exit code is 0.`,
		Example: `  eventsim serve
  eventsim serve --scenario lxd-steady --speed 0 --lxd-socket /tmp/lxd/unix.socket
  LXD_SOCKET=/tmp/lxd/unix.socket lxc monitor --format json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := catalog.ParseFlavor(flavor)
			if err != nil {
				return &UsageError{Err: err}
			}
			opts.Flavor = f
			if opts.Speed < 0 || opts.Speed > maxSpeed || math.IsNaN(opts.Speed) || math.IsInf(opts.Speed, 0) {
				return usageErr("invalid --speed %v, must be from 0 (as fast as clients take events) to %v", opts.Speed, maxSpeed)
			}
			for _, p := range trust {
				b, err := os.ReadFile(p)
				if err != nil {
					return usageErr("--lxd-tls-trust: %v", err)
				}
				opts.LXD.TrustedCerts = append(opts.LXD.TrustedCerts, b)
			}
			if rateLimit != "" {
				n, per, err := parseRateLimit(rateLimit)
				if err != nil {
					return &UsageError{Err: err}
				}
				opts.Linode.RateLimit, opts.Linode.RatePeriod = n, per
			}
			if maxConns < 0 {
				return usageErr("invalid --max-conns %d, must be 0 (a quarter of the open-file limit) or more", maxConns)
			}
			opts.LXD.MaxConns, opts.Linode.MaxConns = maxConns, maxConns
			opts.Logger = slog.New(slog.NewTextHandler(streams.Err, nil))
			return serveRun(cmd, streams, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Scenario, "scenario", "demo", "built-in scenario name or scenario file")
	fl.Int64Var(&opts.Seed, "seed", 0, "random seed (0: the scenario's own)")
	fl.Float64Var(&opts.Speed, "speed", 1, "virtual time speed: 1 real time, 10 ten times faster, 0 as fast as clients take events")
	fl.StringVar(&flavor, "flavor", string(catalog.DefaultFlavor), "LXD flavour: lxd-5.0, lxd-6 or incus")
	fl.BoolVar(&opts.Loop, "loop", false, "play the scenario again when it ends")
	fl.StringVar(&opts.LXD.Addr, "lxd-addr", "127.0.0.1:0", "LXD TCP listen address (- for none)")
	fl.StringVar(&opts.LXD.Socket, "lxd-socket", "", "LXD unix socket path (mode 0660, removed on exit)")
	fl.BoolVar(&opts.LXD.TLS, "lxd-tls", false, "serve LXD over TLS with a generated self-signed certificate")
	fl.StringArrayVar(&trust, "lxd-tls-trust", nil, "PEM client certificate to trust over TLS (repeatable)")
	fl.StringVar(&opts.Linode.Addr, "linode-addr", "127.0.0.1:0", "Linode listen address")
	fl.StringArrayVar(&opts.Linode.Tokens, "linode-token", nil, "accepted bearer token (repeatable; default: one generated and printed)")
	fl.StringArrayVar(&opts.Linode.ReadOnlyTokens, "linode-readonly-token", nil, "read-only bearer token (repeatable)")
	fl.StringVar(&rateLimit, "linode-rate-limit", "", "requests per period per token, e.g. 800/2m (default 800/2m)")
	fl.StringVar(&opts.ControlToken, "control-token", "", "token the control API needs over plain HTTP, as Authorization: Bearer TOKEN (default: one generated and printed)")
	fl.IntVar(&maxConns, "max-conns", 0, "connections each listener holds at once; past it new ones are closed (default: a quarter of the open-file limit)")
	return cmd
}

// parseRateLimit reads "N/PERIOD", e.g. "800/2m" or "10/s".
func parseRateLimit(s string) (int, time.Duration, error) {
	n, per, ok := strings.Cut(s, "/")
	v, err := strconv.Atoi(n)
	if !ok || err != nil || v <= 0 {
		return 0, 0, fmt.Errorf("invalid --linode-rate-limit %q, must be N/PERIOD such as 800/2m", s)
	}
	if per != "" && (per[0] < '0' || per[0] > '9') {
		per = "1" + per
	}
	d, err := time.ParseDuration(per)
	if err != nil || d <= 0 {
		return 0, 0, fmt.Errorf("invalid --linode-rate-limit %q, must be N/PERIOD such as 800/2m", s)
	}
	return v, d, nil
}

func serveRun(cmd *cobra.Command, streams *IO, opts simulator.Options) error {
	srv, err := simulator.New(opts)
	if err != nil {
		return &UsageError{Err: err}
	}
	fmt.Fprintf(streams.Out, "eventsim serving scenario %q at speed %v\n", srv.Stats().Scenario, opts.Speed)
	if u := srv.LXD().URL(); u != "" {
		fmt.Fprintf(streams.Out, "LXD:     %s\n", u)
	}
	if p := srv.LXD().SocketPath(); p != "" {
		fmt.Fprintf(streams.Out, "LXD:     unix://%s\n", p)
	}
	fmt.Fprintf(streams.Out, "Linode:  %s/v4  (token %s)\n", srv.Linode().URL(), srv.Linode().Token())
	fmt.Fprintf(streams.Out, "Control: %s/eventsim/v1/stats  (token %s)\n", srv.Linode().URL(), srv.ControlToken())
	<-cmd.Context().Done()
	fmt.Fprintln(streams.Out, "shutting down")
	return srv.Close()
}
