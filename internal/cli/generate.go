package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/scenarios"
)

// GenerateOptions are the flags of `eventsim generate`.
type GenerateOptions struct {
	IO       *IO
	Scenario string
	Seed     int64
	Count    int64
	Duration time.Duration
	Format   string
	Output   string
	Flavor   string
	API      string
	Progress bool // draw a progress bar on stderr
}

// Formats generate writes.
var Formats = []string{"ndjson", "json", "yaml"}

// NewCmdGenerate builds `eventsim generate`.
func NewCmdGenerate(streams *IO, runF func(*GenerateOptions) error) *cobra.Command {
	opts := &GenerateOptions{IO: streams}
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Write a dataset of events played from a scenario",
		Long: `Play a scenario on the virtual clock and write its events: LXD events as
the daemon sends them, or Linode Event objects as they stand after each
change. The same scenario and seed give byte-identical output. Memory stays
constant whatever the size; a finite scenario asked for more events than
it makes plays again with time running on.`,
		Example: `  eventsim generate --scenario lxd-steady --count 1000000 --output steady.ndjson
  eventsim generate --scenario linode-provisioning --format json
  eventsim generate --scenario ./my.yaml --seed 7 --duration 1h --format yaml`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("count") && cmd.Flags().Changed("duration") {
				return usageErr("--count and --duration cannot be used together: give one")
			}
			if opts.Count < 0 {
				return usageErr("invalid --count %d, must be 0 or more", opts.Count)
			}
			if opts.Duration < 0 {
				return usageErr("invalid --duration %s, must not be negative", opts.Duration)
			}
			if !contains(Formats, opts.Format) {
				return usageErr("invalid format %q, must be one of ndjson, json, yaml", opts.Format)
			}
			if _, err := catalog.ParseFlavor(opts.Flavor); err != nil {
				return &UsageError{Err: err}
			}
			if opts.API != "" && opts.API != "lxd" && opts.API != "linode" {
				return usageErr("invalid --api %q, must be lxd or linode", opts.API)
			}
			if f, ok := streams.Err.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
				opts.Progress = true
			}
			if runF != nil {
				return runF(opts)
			}
			return generateRun(opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Scenario, "scenario", scenarios.Default, "built-in scenario name or scenario file")
	f.Int64Var(&opts.Seed, "seed", 0, "random seed (0: the scenario's own)")
	f.Int64Var(&opts.Count, "count", 0, "number of events to write (0: the scenario once)")
	f.DurationVar(&opts.Duration, "duration", 0, "virtual time to cover (0: the scenario once)")
	f.StringVar(&opts.Format, "format", "ndjson", "output format: ndjson, json or yaml")
	f.StringVarP(&opts.Output, "output", "o", "", "file to write (default: standard output)")
	f.StringVar(&opts.Flavor, "flavor", string(catalog.DefaultFlavor), "LXD flavour: lxd-5.0, lxd-6 or incus")
	f.StringVar(&opts.API, "api", "", "which API's events to write when the scenario feeds both (default: the first it names)")
	return cmd
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func generateRun(opts *GenerateOptions) error {
	s, err := scenarios.Load(opts.Scenario)
	if err != nil {
		return &UsageError{Err: err}
	}
	api := opts.API
	if api == "" {
		api = s.APIs[0]
		if len(s.APIs) > 1 {
			fmt.Fprintf(opts.IO.Err, "eventsim: scenario %s feeds %v; writing %s events (--api %s for the others)\n", s.Name, s.APIs, api, s.APIs[1])
		}
	} else if !s.Has(api) {
		return usageErr("scenario %s feeds %v, not %s", s.Name, s.APIs, api)
	}
	if opts.Count == 0 && opts.Duration == 0 && s.Endless() {
		return usageErr("scenario %s never ends; give --count N or --duration D", s.Name)
	}
	eng, err := scenarios.New(s, scenarios.Options{
		Seed:   opts.Seed,
		Flavor: catalog.Flavor(opts.Flavor),
		Loop:   opts.Count > 0 || opts.Duration > 0,
		// Events are encoded here, on another core than the engine.
		DeferJSON: true,
	})
	if err != nil {
		return &UsageError{Err: err}
	}
	var out io.Writer = opts.IO.Out
	if opts.Output != "" && opts.Output != "-" {
		f, err := os.Create(opts.Output)
		if err != nil {
			return &UsageError{Err: fmt.Errorf("create output: %w", err)}
		}
		defer f.Close()
		out = f
	}
	if os.Getenv("GOGC") == "" {
		// The live heap is a few MiB however long the run, so the default
		// GOGC collects every few MiB allocated: dozens of times a second.
		// Letting the heap grow to five times live costs little memory and
		// a quarter of the time; the limit keeps well under 64 MiB anyway.
		defer debug.SetGCPercent(debug.SetGCPercent(400))
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(48 << 20))
	}
	bw := bufio.NewWriterSize(out, 256<<10)
	w := NewWriter(bw, opts.Format)
	var bar *progressbar.ProgressBar
	if opts.Progress {
		max := opts.Count
		if max == 0 {
			max = -1
		}
		bar = progressbar.NewOptions64(max, progressbar.OptionSetWriter(opts.IO.Err),
			progressbar.OptionSetDescription("generating"), progressbar.OptionShowCount(),
			progressbar.OptionShowIts(), progressbar.OptionSetItsString("events"),
			progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
	}
	// The engine plays on its own goroutine and hands over batches of
	// records; this one encodes and writes them. Order is kept, so the
	// output is the same bytes as a single loop would write.
	batches := make(chan []*scenarios.Record, 4)
	free := make(chan []*scenarios.Record, 6)
	done := make(chan struct{})
	defer close(done)
	var engErr error
	go func() {
		defer close(batches)
		engErr = playRecords(eng, opts, api, batches, free, done)
	}()
	var n int64
	var buf []byte
	for batch := range batches {
		for _, r := range batch {
			buf = r.AppendJSON(buf[:0])
			if err := w.Write(buf); err != nil {
				return fmt.Errorf("write: %w", err)
			}
		}
		n += int64(len(batch))
		if bar != nil {
			_ = bar.Set64(n)
		}
		clear(batch)
		select {
		case free <- batch[:0]:
		default:
		}
	}
	if engErr != nil {
		return engErr
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if bar != nil {
		_ = bar.Finish()
	}
	return bw.Flush()
}

// genBatch is how many records the engine hands over at a time.
const genBatch = 512

// playRecords runs the engine until the output has what opts ask for,
// sending the records to write in batches. It stops early when done closes.
func playRecords(eng *scenarios.Engine, opts *GenerateOptions, api string, out chan<- []*scenarios.Record, free <-chan []*scenarios.Record, done <-chan struct{}) error {
	end := eng.Start().Add(opts.Duration)
	batch := make([]*scenarios.Record, 0, genBatch)
	send := func() bool {
		select {
		case out <- batch:
		case <-done:
			return false
		}
		select {
		case batch = <-free:
		default:
			batch = make([]*scenarios.Record, 0, genBatch)
		}
		return true
	}
	var n int64
	for opts.Count == 0 || n < opts.Count {
		r, err := eng.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if opts.Duration > 0 && !r.Time.Before(end) {
			break
		}
		if r.Fault != nil || r.API != api {
			continue
		}
		batch = append(batch, r)
		n++
		if len(batch) == genBatch && !send() {
			return nil
		}
	}
	if len(batch) > 0 {
		send()
	}
	return nil
}
