package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/conformance"
)

func init() {
	extraCommands = append(extraCommands, func(s *IO) *cobra.Command { return NewCmdConform(s, nil) })
}

// TokenEnv is the environment variable `conform linode` reads the token
// from when --token is not given, the variable linodego reads.
const TokenEnv = "LINODE_TOKEN"

// ReportFormats are the report formats conform writes.
var ReportFormats = []string{conformance.FormatText, conformance.FormatJSON, conformance.FormatJUnit}

// ConformOptions are the flags of `eventsim conform lxd|linode`.
type ConformOptions struct {
	IO *IO
	// Suite is "lxd" or "linode"; only the matching options are used.
	Suite  string
	LXD    conformance.LXDOptions
	Linode conformance.LinodeOptions
	// Report is text, json or junit.
	Report string
	// Output is the file the report goes to; "" or "-" means standard output.
	Output string
}

// NewCmdConform builds `eventsim conform` and its two suites. runF, when
// set, receives the parsed options instead of running them (tests).
func NewCmdConform(streams *IO, runF func(context.Context, *ConformOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "conform lxd|linode",
		Short: "Check a real LXD or Linode events API against the rules clients rely on",
		Long: `Check a live server: LXD's /1.0/events (conform lxd) or Linode's
/v4/account/events (conform linode). Each check has a stable id; the report
(text, json or junit) lists every one with what it found. docs/conformance.md
describes each check.

Exit status: 0 every check passed (warnings allowed unless --strict), 1 a
check failed, 2 bad usage or configuration, or a target that cannot be
reached.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErr("unknown suite %q, must be lxd or linode", args[0])
			}
			return usageErr("conform needs a suite: eventsim conform lxd|linode --target ...")
		},
	}
	cmd.AddCommand(newCmdConformLXD(streams, runF), newCmdConformLinode(streams, runF))
	return cmd
}

func newCmdConformLXD(streams *IO, runF func(context.Context, *ConformOptions) error) *cobra.Command {
	opts := &ConformOptions{IO: streams, Suite: "lxd"}
	var flavor string
	cmd := &cobra.Command{
		Use:   "lxd --target unix:///PATH|https://HOST:PORT|http://HOST:PORT",
		Short: "Check a live LXD (or Incus, or eventsim) /1.0/events",
		Long: `Connect to an LXD daemon, check GET /1.0 and what /1.0/events must refuse,
listen with an all-projects listener, a project listener and one listener per
event type for --duration, and judge every event and every filter. With
--exercise, cause activity through the REST API (a profile, a project and,
when a storage pool exists, a custom volume, all named eventsim-conform-*
and deleted afterwards) and check exactly the events it must cause.`,
		Example: `  eventsim conform lxd --target unix:///var/snap/lxd/common/lxd/unix.socket --exercise
  eventsim conform lxd --target https://10.0.0.5:8443 --cert client.crt --key client.key --insecure --duration 30s
  eventsim conform lxd --target unix:///tmp/lxd/unix.socket --report junit --output conform.xml`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o := &opts.LXD
			if err := checkTarget(o.Target, []string{"unix", "https", "http"}, "unix:///path/unix.socket, https://HOST:PORT or http://HOST:PORT"); err != nil {
				return err
			}
			if (o.Cert == "") != (o.Key == "") {
				return usageErr("--cert and --key go together: give both, or neither")
			}
			if !strings.HasPrefix(o.Target, "https://") && (o.Cert != "" || o.Insecure) {
				return usageErr("--cert, --key and --insecure need an https:// target, got %q", o.Target)
			}
			if o.Duration < 0 {
				return usageErr("invalid --duration %s, must not be negative", o.Duration)
			}
			if o.MinEvents < 0 {
				return usageErr("invalid --min-events %d, must be 0 or more", o.MinEvents)
			}
			if o.ClockTolerance <= 0 {
				return usageErr("invalid --clock-tolerance %s, must be more than 0", o.ClockTolerance)
			}
			f, err := catalog.ParseFlavor(flavor)
			if err != nil {
				return &UsageError{Err: err}
			}
			o.Flavor = f
			return finishConform(cmd, opts, runF)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.LXD.Target, "target", "", "the daemon: unix:///path/unix.socket, https://HOST:PORT or http://HOST:PORT (required)")
	fl.StringVar(&opts.LXD.Cert, "cert", "", "client certificate (PEM) for an https target; needs --key")
	fl.StringVar(&opts.LXD.Key, "key", "", "client key (PEM) for an https target; needs --cert")
	fl.BoolVar(&opts.LXD.Insecure, "insecure", false, "do not verify an https target's certificate")
	fl.StringVar(&opts.LXD.Project, "project", "default", "project to compare with all projects, and where --exercise works")
	fl.DurationVar(&opts.LXD.Duration, "duration", 0, "how long to listen (0: 10s, or as long as --exercise takes); keepalive is checked from 25s")
	fl.IntVar(&opts.LXD.MinEvents, "min-events", 0, "fail unless at least this many events arrive (0: no minimum)")
	fl.BoolVar(&opts.LXD.Exercise, "exercise", false, "cause activity through the REST API (creates and deletes eventsim-conform-* objects)")
	fl.DurationVar(&opts.LXD.ClockTolerance, "clock-tolerance", 10*time.Second, "how far an event's timestamp may be from the local clock when it arrives")
	fl.StringVar(&flavor, "flavor", string(catalog.DefaultFlavor), "action catalogue to judge against: lxd-5.0, lxd-6 or incus")
	addReportFlags(cmd, opts)
	return cmd
}

func newCmdConformLinode(streams *IO, runF func(context.Context, *ConformOptions) error) *cobra.Command {
	opts := &ConformOptions{IO: streams, Suite: "linode"}
	var retries int
	cmd := &cobra.Command{
		Use:   "linode --target http(s)://HOST/v4 [--token T]",
		Short: "Check a live Linode (or eventsim) /v4/account/events",
		Long: `Check the events API of a Linode account: authentication, the page
envelope, walking every page, page_size bounds, GET by id, 404s, X-Filter
equality, operators and ordering, invalid filters and rate-limit headers.
With --mutate, also POST .../{id}/seen (it marks events seen on the account).

The token comes from --token or, when that is not given, from the
environment variable ` + TokenEnv + ` (which linodego reads too); prefer
the variable, since arguments show in process listings.

Like linodego, each request is retried up to --retries times after a 429
(once its Retry-After has passed), a 503, or a connection closed without an
answer; each retry is named in the report.`,
		Example: `  LINODE_TOKEN=... eventsim conform linode --target https://api.linode.com/v4
  eventsim conform linode --target http://127.0.0.1:8080/v4 --token T --mutate --report json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o := &opts.Linode
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
			switch {
			case retries < 0:
				return usageErr("invalid --retries %d, must be 0 or more", retries)
			case retries == 0:
				o.Retries = -1
			default:
				o.Retries = retries
			}
			return finishConform(cmd, opts, runF)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Linode.Target, "target", "", "the API root: http(s)://HOST/v4 (required)")
	fl.StringVar(&opts.Linode.Token, "token", "", "bearer token (default: $"+TokenEnv+")")
	fl.BoolVar(&opts.Linode.Mutate, "mutate", false, "also check POST .../{id}/seen, which marks the account's events seen")
	fl.BoolVar(&opts.Linode.Insecure, "insecure", false, "do not verify an https target's certificate")
	fl.IntVar(&retries, "retries", 10, "times to retry a request after a 429, a 503 or a dropped connection (0: never)")
	addReportFlags(cmd, opts)
	return cmd
}

func addReportFlags(cmd *cobra.Command, opts *ConformOptions) {
	fl := cmd.Flags()
	fl.StringVar(&opts.Report, "report", conformance.FormatText, "report format: text, json or junit")
	fl.StringVarP(&opts.Output, "output", "o", "", "file to write the report to (default: standard output)")
	strict := func() *bool {
		if opts.Suite == "lxd" {
			return &opts.LXD.Strict
		}
		return &opts.Linode.Strict
	}()
	fl.BoolVar(strict, "strict", false, "count warnings (known quirks of real daemons, unknown actions) as failures")
}

// finishConform checks what both suites share and runs (or hands over) the options.
func finishConform(cmd *cobra.Command, opts *ConformOptions, runF func(context.Context, *ConformOptions) error) error {
	if !contains(ReportFormats, opts.Report) {
		return usageErr("invalid --report %q, must be one of %s", opts.Report, strings.Join(ReportFormats, ", "))
	}
	if runF != nil {
		return runF(cmd.Context(), opts)
	}
	return conformRun(cmd.Context(), opts)
}

// checkTarget says what is wrong with a --target, as a usage error.
func checkTarget(target string, schemes []string, allowed string) error {
	if target == "" {
		return usageErr("missing --target, must be %s", allowed)
	}
	u, err := url.Parse(target)
	if err != nil {
		return usageErr("invalid --target %q: %v; must be %s", target, err, allowed)
	}
	if !contains(schemes, u.Scheme) {
		return usageErr("invalid --target %q: scheme %q, must be %s", target, u.Scheme, allowed)
	}
	if u.Scheme == "unix" && u.Path == "" && u.Opaque == "" {
		return usageErr("invalid --target %q: no socket path, must be %s", target, allowed)
	}
	if u.Scheme != "unix" && u.Host == "" {
		return usageErr("invalid --target %q: no host, must be %s", target, allowed)
	}
	return nil
}

// conformRun runs a suite and writes its report. A run that could not take
// place (bad configuration, unreachable target) is an error, exit 2; a run
// with a failed check returns ErrFailed, exit 1, after the report.
func conformRun(ctx context.Context, opts *ConformOptions) error {
	var (
		out     *os.File
		created bool // the run made the --output file, so it may remove it
	)
	if opts.Output != "" && opts.Output != "-" {
		// Open the file first: a path that cannot be written is a usage
		// mistake, better found before a run of many seconds. An existing
		// file (an earlier report, /dev/null) is only truncated once there
		// is a report to write, and never removed.
		f, err := os.OpenFile(opts.Output, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		created = err == nil
		if errors.Is(err, fs.ErrExist) {
			f, err = os.OpenFile(opts.Output, os.O_WRONLY, 0)
		}
		if err != nil {
			return usageErr("--output: %v", err)
		}
		defer f.Close()
		out = f
	}
	var (
		rep *conformance.Report
		err error
	)
	if opts.Suite == "lxd" {
		rep, err = conformance.RunLXD(ctx, opts.LXD)
	} else {
		rep, err = conformance.RunLinode(ctx, opts.Linode)
	}
	if err != nil {
		if out != nil {
			_ = out.Close()
			if created {
				_ = os.Remove(opts.Output)
			}
		}
		var ce *conformance.ConfigError
		if errors.As(err, &ce) {
			return &UsageError{Err: err}
		}
		return fmt.Errorf("conform %s: %w", opts.Suite, err)
	}
	if out != nil {
		var buf bytes.Buffer
		if err := conformance.WriteReport(&buf, opts.Report, rep); err != nil {
			return err
		}
		if fi, err := out.Stat(); err == nil && fi.Mode().IsRegular() {
			if err := out.Truncate(0); err != nil {
				return fmt.Errorf("write %s: %w", opts.Output, err)
			}
		}
		if _, err := out.Write(buf.Bytes()); err != nil {
			return fmt.Errorf("write %s: %w", opts.Output, err)
		}
		if err := out.Close(); err != nil {
			return fmt.Errorf("write %s: %w", opts.Output, err)
		}
		fmt.Fprintf(opts.IO.Err, "%s; report written to %s\n", summaryLine(rep), opts.Output)
	} else if err := conformance.WriteReport(opts.IO.Out, opts.Report, rep); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		// Interrupted (SIGINT, SIGTERM): the report is partial, and checks
		// that did not run cannot make a pass.
		return fmt.Errorf("conform %s: interrupted, the report is partial: %w", opts.Suite, err)
	}
	if conformance.ExitCode(rep, nil) != 0 {
		return ErrFailed
	}
	return nil
}

// summaryLine is one line saying how a run ended.
func summaryLine(rep *conformance.Report) string {
	c := rep.Counts()
	verdict := "passed"
	if !rep.Passed() {
		verdict = "FAILED"
	}
	return fmt.Sprintf("eventsim conform %s: %s (%d pass, %d warn, %d fail, %d skip)",
		rep.Suite, verdict, c[conformance.Pass], c[conformance.Warn], c[conformance.Fail], c[conformance.Skip])
}
