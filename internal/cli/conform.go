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
var ReportFormats = []string{conformance.FormatText, conformance.FormatJSON, conformance.FormatJUnit, conformance.FormatHTML}

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
	// From is a recording or NDJSON capture to check instead of a live
	// target ("-": standard input); only the checks that need nothing but
	// the events run.
	From string
	// FlavorSet says --flavor was given (it then wins over a recording's header).
	FlavorSet bool
}

// NewCmdConform builds `eventsim conform` and its two suites. runF, when
// set, receives the parsed options instead of running them (tests).
func NewCmdConform(streams *IO, runF func(context.Context, *ConformOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "conform lxd|linode",
		Short: "Check a real LXD or Linode events API against the rules clients rely on",
		Long: `Check a live server: LXD's /1.0/events (conform lxd) or Linode's
/v4/account/events (conform linode). Each check has a stable id; the report
(text, json, junit or html) lists every one with what it found. docs/conformance.md
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
		Use:   "lxd --target unix:///PATH|https://HOST:PORT|http://HOST:PORT | --from FILE",
		Short: "Check a live LXD (or Incus, or eventsim) /1.0/events, or a recording of one",
		Long: `Connect to an LXD daemon, check GET /1.0 and what /1.0/events must refuse,
listen with an all-projects listener, a project listener and one listener per
event type for --duration, and judge every event and every filter. With
--exercise, cause activity through the REST API (a profile, a project and,
when a storage pool exists, a custom volume, all named eventsim-conform-*
and deleted afterwards) and check exactly the events it must cause.

With --from FILE (a recording made by eventsim record lxd, or any NDJSON
capture such as lxc monitor --format json), run every check that needs only
the events (schemas, operations, lifecycle sources, context and requestor,
order, location, clock when the file has arrival times, coverage), with the
same reports and exit codes. The flavour comes from a recording's header
unless --flavor is given.`,
		Example: `  eventsim conform lxd --target unix:///var/snap/lxd/common/lxd/unix.socket --exercise
  eventsim conform lxd --target https://10.0.0.5:8443 --cert client.crt --key client.key --insecure --duration 30s
  eventsim conform lxd --target unix:///tmp/lxd/unix.socket --report junit --output conform.xml
  eventsim conform lxd --from lxd.recording --report html --output report.html`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o := &opts.LXD
			f, err := catalog.ParseFlavor(flavor)
			if err != nil {
				return &UsageError{Err: err}
			}
			o.Flavor, opts.FlavorSet = f, cmd.Flags().Changed("flavor")
			if opts.From != "" {
				if err := fromOnly(cmd, "target", "cert", "key", "insecure", "project", "duration", "min-events", "exercise"); err != nil {
					return err
				}
				return finishConform(cmd, opts, runF)
			}
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
			return finishConform(cmd, opts, runF)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.LXD.Target, "target", "", "the daemon: unix:///path/unix.socket, https://HOST:PORT or http://HOST:PORT (required unless --from)")
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
		Use:   "linode --target http(s)://HOST/v4 [--token T] | --from FILE",
		Short: "Check a live Linode (or eventsim) /v4/account/events, or a recording of one",
		Long: `Check the events API of a Linode account: authentication, the page
envelope, walking every page, page_size bounds, GET by id, 404s, X-Filter
equality, operators and ordering, invalid filters and rate-limit headers.
With --mutate, also POST .../{id}/seen (it marks events seen on the account).

The token comes from --token or, when that is not given, from the
environment variable ` + TokenEnv + ` (which linodego reads too); prefer
the variable, since arguments show in process listings.

Like linodego, each request is retried up to --retries times after a 429
(once its Retry-After has passed), a 503, or a connection closed without an
answer; each retry is named in the report.

With --from FILE (a recording made by eventsim record linode, or NDJSON of
Event objects or pages), run the checks that need only the events: the
event schema, entity rules, actions, and each event's progression from
state to state.`,
		Example: `  LINODE_TOKEN=... eventsim conform linode --target https://api.linode.com/v4
  eventsim conform linode --target http://127.0.0.1:8080/v4 --token T --mutate --report json
  eventsim conform linode --from linode.recording`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o := &opts.Linode
			if opts.From != "" {
				if err := fromOnly(cmd, "target", "token", "mutate", "insecure", "retries"); err != nil {
					return err
				}
				return finishConform(cmd, opts, runF)
			}
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
	fl.StringVar(&opts.Linode.Target, "target", "", "the API root: http(s)://HOST/v4 (required unless --from)")
	fl.StringVar(&opts.Linode.Token, "token", "", "bearer token (default: $"+TokenEnv+")")
	fl.BoolVar(&opts.Linode.Mutate, "mutate", false, "also check POST .../{id}/seen, which marks the account's events seen")
	fl.BoolVar(&opts.Linode.Insecure, "insecure", false, "do not verify an https target's certificate")
	fl.IntVar(&retries, "retries", 10, "times to retry a request after a 429, a 503 or a dropped connection (0: never)")
	addReportFlags(cmd, opts)
	return cmd
}

func addReportFlags(cmd *cobra.Command, opts *ConformOptions) {
	fl := cmd.Flags()
	fl.StringVar(&opts.Report, "report", conformance.FormatText, "report format: text, json, junit or html (one self-contained page)")
	fl.StringVarP(&opts.Output, "output", "o", "", "file to write the report to (default: standard output)")
	fl.StringVar(&opts.From, "from", "", "check a recording or NDJSON capture instead of a live target (- for standard input)")
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

// fromOnly refuses the live-run flags next to --from.
func fromOnly(cmd *cobra.Command, live ...string) error {
	for _, name := range live {
		if cmd.Flags().Changed(name) {
			return usageErr("--%s is for a live run; --from checks a file", name)
		}
	}
	return nil
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
	switch {
	case opts.From != "":
		rep, err = conformFrom(ctx, opts)
	case opts.Suite == "lxd":
		rep, err = conformance.RunLXD(ctx, opts.LXD)
	default:
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
	if !rep.Passed() {
		return ErrFailed
	}
	return nil
}

// conformFrom checks a file: the offline checks of the suite.
func conformFrom(ctx context.Context, opts *ConformOptions) (*conformance.Report, error) {
	in, name := opts.IO.In, "<stdin>"
	if opts.From != "-" {
		f, err := os.Open(opts.From)
		if err != nil {
			return nil, &conformance.ConfigError{Field: "from", Msg: err.Error()}
		}
		defer f.Close()
		in, name = f, opts.From
	}
	o := conformance.OfflineOptions{Name: name, FlavorSet: opts.FlavorSet,
		LXD:    conformance.EventOptions{Flavor: opts.LXD.Flavor, Strict: opts.LXD.Strict, ClockTolerance: opts.LXD.ClockTolerance},
		Linode: conformance.LinodeEventOptions{Strict: opts.Linode.Strict}}
	defer collectLessOften()()
	if opts.Suite == "lxd" {
		return conformance.CheckLXDFile(ctx, in, o)
	}
	return conformance.CheckLinodeFile(ctx, in, o)
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
