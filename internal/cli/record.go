package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/eventsim/eventsim/conformance"
	"github.com/eventsim/eventsim/events"
)

func init() {
	extraCommands = append(extraCommands, func(s *IO) *cobra.Command { return NewCmdRecord(s, nil) })
}

// RecordOptions are the flags of `eventsim record lxd|linode`.
type RecordOptions struct {
	IO *IO
	// Suite is "lxd" or "linode".
	Suite string
	Rec   conformance.RecordOptions
	// Output is the recording's file; "-" means standard output.
	Output string
	// NoScrub keeps every secret; ScrubLabels scrubs labels too.
	NoScrub, ScrubLabels bool
	// Progress says whether to show progress on standard error (when it is a terminal).
	Progress bool
}

// NewCmdRecord builds `eventsim record` and its two kinds. runF, when set,
// receives the parsed options instead of running them (tests).
func NewCmdRecord(streams *IO, runF func(context.Context, *RecordOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "record lxd|linode",
		Short: "Record a real LXD or Linode event stream into a file to replay or check",
		Long: `Record what a real daemon or account sends: every event as received, with
its arrival time, in an NDJSON recording whose first line is a header.
A recording can be checked offline (eventsim conform lxd|linode --from FILE),
replayed (eventsim serve|generate --scenario FILE) or turned into an editable
scenario (eventsim scenarios from-recording FILE). docs/recording.md
describes the format.

Secrets are scrubbed by default, the same stand-in for the same secret
everywhere in the file: usernames, client addresses, certificate
fingerprints, host and cluster member names, tokens; labels too with
--scrub-labels. --no-scrub keeps everything as received.

Ctrl-C ends the recording; the file is complete and valid.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErr("unknown kind %q, must be lxd or linode", args[0])
			}
			return usageErr("record needs a kind: eventsim record lxd|linode --target ... --output FILE")
		},
	}
	cmd.AddCommand(newCmdRecordLXD(streams, runF), newCmdRecordLinode(streams, runF))
	return cmd
}

func newCmdRecordLXD(streams *IO, runF func(context.Context, *RecordOptions) error) *cobra.Command {
	opts := &RecordOptions{IO: streams, Suite: "lxd"}
	cmd := &cobra.Command{
		Use:   "lxd --target unix:///PATH|https://HOST:PORT --output FILE",
		Short: "Record an LXD (or Incus) daemon's /1.0/events",
		Example: `  eventsim record lxd --target unix:///var/snap/lxd/common/lxd/unix.socket --all-projects --duration 10m --output lxd.recording
  eventsim record lxd --target https://10.0.0.5:8443 --cert client.crt --key client.key --insecure --type lifecycle --count 1000 -o lc.recording`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o := &opts.Rec
			if err := checkTarget(o.Target, []string{"unix", "https", "http"}, "unix:///path/unix.socket, https://HOST:PORT or http://HOST:PORT"); err != nil {
				return err
			}
			if (o.Cert == "") != (o.Key == "") {
				return usageErr("--cert and --key go together: give both, or neither")
			}
			if !strings.HasPrefix(o.Target, "https://") && (o.Cert != "" || o.Insecure) {
				return usageErr("--cert, --key and --insecure need an https:// target, got %q", o.Target)
			}
			if o.AllProjects && cmd.Flags().Changed("project") {
				return usageErr("--project and --all-projects do not go together")
			}
			for _, t := range o.Types {
				if !knownLXDType(t) {
					return usageErr("invalid --type %q, must be one of logging, operation, lifecycle, ovn, security", t)
				}
			}
			return finishRecord(cmd, opts, runF)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Rec.Target, "target", "", "the daemon: unix:///path/unix.socket, https://HOST:PORT or http://HOST:PORT (required)")
	fl.StringVar(&opts.Rec.Cert, "cert", "", "client certificate (PEM) for an https target; needs --key")
	fl.StringVar(&opts.Rec.Key, "key", "", "client key (PEM) for an https target; needs --cert")
	fl.BoolVar(&opts.Rec.Insecure, "insecure", false, "do not verify an https target's certificate")
	fl.StringVar(&opts.Rec.Project, "project", "", "record this project's events (and project-less ones); default: the daemon's default project")
	fl.BoolVar(&opts.Rec.AllProjects, "all-projects", false, "record every project's events")
	fl.StringSliceVar(&opts.Rec.Types, "type", nil, "event type to record (repeatable: logging, operation, lifecycle...); default: every type")
	addRecordFlags(cmd, opts)
	return cmd
}

func newCmdRecordLinode(streams *IO, runF func(context.Context, *RecordOptions) error) *cobra.Command {
	opts := &RecordOptions{IO: streams, Suite: "linode"}
	cmd := &cobra.Command{
		Use:   "linode --target http(s)://HOST/v4 [--token T] --output FILE",
		Short: "Record a Linode account's /v4/account/events, each event in every state it passes through",
		Long: `Poll GET /account/events every --interval as a consumer does (newest first,
page after page while a page holds anything new or still changing) and
record each event every time it changes (status, percent_complete, seen...),
so its progression is kept. The token comes from --token or ` + TokenEnv + `.`,
		Example: `  LINODE_TOKEN=... eventsim record linode --target https://api.linode.com/v4 --interval 2s --duration 1h -o account.recording`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o := &opts.Rec
			if err := checkTarget(o.Target, []string{"https", "http"}, "http(s)://HOST/v4"); err != nil {
				return err
			}
			if o.Insecure && !strings.HasPrefix(o.Target, "https://") {
				return usageErr("--insecure needs an https:// target, got %q", o.Target)
			}
			if o.Token == "" {
				o.Token = os.Getenv(TokenEnv)
			}
			if o.Token == "" {
				return usageErr("missing token: give --token or set %s", TokenEnv)
			}
			if o.Interval < 100*time.Millisecond {
				return usageErr("invalid --interval %s, must be at least 100ms", o.Interval)
			}
			return finishRecord(cmd, opts, runF)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Rec.Target, "target", "", "the API root: http(s)://HOST/v4 (required)")
	fl.StringVar(&opts.Rec.Token, "token", "", "bearer token (default: $"+TokenEnv+")")
	fl.BoolVar(&opts.Rec.Insecure, "insecure", false, "do not verify an https target's certificate")
	fl.DurationVar(&opts.Rec.Interval, "interval", time.Second, "how often to poll")
	addRecordFlags(cmd, opts)
	return cmd
}

func knownLXDType(t string) bool {
	for _, ts := range events.LXDTypes {
		for _, x := range ts {
			if x == t {
				return true
			}
		}
	}
	return false
}

func addRecordFlags(cmd *cobra.Command, opts *RecordOptions) {
	fl := cmd.Flags()
	fl.DurationVar(&opts.Rec.Duration, "duration", 0, "stop after this long (0: until Ctrl-C or --count)")
	fl.IntVar(&opts.Rec.Count, "count", 0, "stop after this many events (0: until Ctrl-C or --duration)")
	fl.StringVarP(&opts.Output, "output", "o", "", "the recording's file, - for standard output (required)")
	fl.BoolVar(&opts.NoScrub, "no-scrub", false, "keep secrets (usernames, addresses, fingerprints, host names, tokens) as received")
	fl.BoolVar(&opts.ScrubLabels, "scrub-labels", false, "scrub labels too")
}

func finishRecord(cmd *cobra.Command, opts *RecordOptions, runF func(context.Context, *RecordOptions) error) error {
	switch {
	case opts.Output == "":
		return usageErr("missing --output FILE (- for standard output)")
	case opts.Rec.Duration < 0:
		return usageErr("invalid --duration %s, must not be negative", opts.Rec.Duration)
	case opts.Rec.Count < 0:
		return usageErr("invalid --count %d, must be 0 or more", opts.Rec.Count)
	case opts.NoScrub && opts.ScrubLabels:
		return usageErr("--no-scrub and --scrub-labels do not go together")
	}
	opts.Progress = true
	if runF != nil {
		return runF(cmd.Context(), opts)
	}
	return recordRun(cmd.Context(), opts)
}

// recordRun records into --output. Ctrl-C (ctx ending) is the normal way to
// stop an open-ended recording: the file is complete, and the exit is 0.
func recordRun(ctx context.Context, opts *RecordOptions) error {
	o := opts.Rec
	o.Version = Version
	if !opts.NoScrub {
		o.Scrub = conformance.NewScrubber(opts.ScrubLabels)
	}
	var out io.Writer = opts.IO.Out
	var f *os.File
	if opts.Output != "-" {
		var err error
		f, err = os.OpenFile(opts.Output, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return usageErr("--output: %v", err)
		}
		defer f.Close()
		out = f
	}
	if opts.Progress && isTerminal(opts.IO.Err) {
		o.Progress = func(n int, d time.Duration) {
			rate := 0.0
			if d > 0 {
				rate = float64(n) / d.Seconds()
			}
			fmt.Fprintf(opts.IO.Err, "\r%d events, %.0f/s, %s elapsed ", n, rate, d.Round(time.Second))
		}
	}
	var (
		st  conformance.RecordStats
		err error
	)
	if opts.Suite == "lxd" {
		st, err = conformance.RecordLXD(ctx, o, out)
	} else {
		st, err = conformance.RecordLinode(ctx, o, out)
	}
	if err != nil {
		if f != nil && st.Events == 0 {
			_ = f.Close()
			_ = os.Remove(opts.Output)
		}
		var ce *conformance.ConfigError
		if errors.As(err, &ce) {
			return &UsageError{Err: err}
		}
		return fmt.Errorf("record %s: %w", opts.Suite, err)
	}
	if f != nil {
		if err := f.Close(); err != nil {
			return fmt.Errorf("write %s: %w", opts.Output, err)
		}
	}
	if o.Progress != nil {
		fmt.Fprintln(opts.IO.Err)
	}
	where := opts.Output
	if where == "-" {
		where = "standard output"
	}
	fmt.Fprintf(opts.IO.Err, "recorded %d events in %s to %s\n", st.Events, st.Elapsed.Round(time.Millisecond), where)
	return nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
