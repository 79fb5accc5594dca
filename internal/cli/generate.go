package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/dataset"
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
	// Start, when not zero, is when the scenario starts (--start).
	Start    time.Time
	Progress bool // draw a progress bar on stderr

	// Shard is the one shard to write (--shard I/N); Shards, all N of them
	// in one process (--shards N). Neither: the whole dataset.
	Shard  dataset.Part
	Shards int
	// OutputDir writes --shards N as N files there instead of one output.
	OutputDir string
	// Manifest is the manifest file to write ("": none).
	Manifest string
	// Compress is none, gzip or zstd; "" infers it from Output's name.
	Compress string
}

// NewCmdGenerate builds `eventsim generate`.
func NewCmdGenerate(streams *IO, runF func(*GenerateOptions) error) *cobra.Command {
	opts := &GenerateOptions{IO: streams}
	var shard string
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Write a dataset of events played from a scenario",
		Long: `Play a scenario on the virtual clock and write its events: LXD events as
the daemon sends them, or Linode Event objects as they stand after each
change. The same scenario and seed give byte-identical output. Memory stays
constant whatever the size; a finite scenario asked for more events than
it makes plays again with time running on.

A large dataset can be split into shards made independently, on one
machine or many: --shard I/N writes shard I (0-based) of N, and --shards N
writes all N at once on every core, one after the other or as N files with
--output-dir. Together the shards are one valid dataset: see
docs/datasets.md. --manifest writes what each shard holds, for
'eventsim validate --manifest' to check the assembled dataset.

Formats: ndjson, json, yaml and parquet. --compress gzip or zstd compresses
the output (Parquet: its pages); an --output ending in .gz or .zst asks
for it too.`,
		Example: `  eventsim generate --scenario lxd-steady --count 1000000 --output steady.ndjson
  eventsim generate --scenario linode-provisioning --format json
  eventsim generate --scenario ./my.yaml --seed 7 --duration 1h --format yaml
  eventsim generate --scenario lxd.recording --start 2030-01-02T03:04:05Z
  eventsim generate --scenario lxd-steady --count 100000000 --shards 8 -o steady.ndjson.zst
  eventsim generate --scenario lxd-steady --count 100000000 --shard 3/8 --format parquet -o part3.parquet
  eventsim generate --scenario lxd-steady --duration 24h --shards 4 --output-dir out --manifest out/manifest.json`,
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
			if !contains(dataset.Formats, opts.Format) {
				return usageErr("invalid format %q, must be one of %s", opts.Format, strings.Join(dataset.Formats, ", "))
			}
			if _, err := catalog.ParseFlavor(opts.Flavor); err != nil {
				return &UsageError{Err: err}
			}
			if opts.API != "" && opts.API != "lxd" && opts.API != "linode" {
				return usageErr("invalid --api %q, must be lxd or linode", opts.API)
			}
			if err := checkShardFlags(cmd, opts, shard); err != nil {
				return err
			}
			if f, ok := streams.Err.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
				opts.Progress = true
			}
			if runF != nil {
				return runF(opts)
			}
			return generateRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Scenario, "scenario", scenarios.Default, "built-in scenario name or scenario file")
	f.Int64Var(&opts.Seed, "seed", 0, "random seed (0: the scenario's own)")
	f.Int64Var(&opts.Count, "count", 0, "number of events to write, all shards together (0: the scenario once)")
	f.DurationVar(&opts.Duration, "duration", 0, "virtual time to cover, all shards together (0: the scenario once)")
	f.StringVar(&opts.Format, "format", "ndjson", "output format: ndjson, json, yaml or parquet")
	f.StringVarP(&opts.Output, "output", "o", "", "file to write (default: standard output)")
	f.StringVar(&opts.Flavor, "flavor", string(catalog.DefaultFlavor), "LXD flavour: lxd-5.0, lxd-6 or incus")
	f.Var((*startValue)(&opts.Start), "start", "when the scenario starts on the virtual clock, as an RFC 3339 time (a recording: its first event) (default: the start the scenario sets, or 2026-01-01T00:00:00Z)")
	f.StringVar(&opts.API, "api", "", "which API's events to write when the scenario feeds both (default: the first it names)")
	f.StringVar(&shard, "shard", "", "write only shard I (0-based) of N, as I/N")
	f.IntVar(&opts.Shards, "shards", 0, "write all N shards, on every core (in order, or as N files with --output-dir)")
	f.StringVar(&opts.OutputDir, "output-dir", "", "with --shards: write each shard to its own file in this folder")
	f.StringVar(&opts.Manifest, "manifest", "", "write a JSON manifest of the shards (events, times, size, SHA-256) to this file")
	f.StringVar(&opts.Compress, "compress", "", "compression: none, gzip or zstd (default: from --output's name, .gz or .zst)")
	return cmd
}

// checkShardFlags checks the shard, output and compression flags together.
func checkShardFlags(cmd *cobra.Command, opts *GenerateOptions, shard string) error {
	if shard != "" {
		p, err := dataset.ParsePart(shard)
		if err != nil {
			return &UsageError{Err: fmt.Errorf("--shard: %w", err)}
		}
		opts.Shard = p
	}
	sharded := shard != "" || cmd.Flags().Changed("shards")
	switch {
	case shard != "" && cmd.Flags().Changed("shards"):
		return usageErr("--shard and --shards cannot be used together: --shard I/N writes one shard, --shards N all of them")
	case cmd.Flags().Changed("shards") && (opts.Shards < 1 || opts.Shards > scenarios.MaxShards):
		return usageErr("invalid --shards %d, must be 1 to %d", opts.Shards, scenarios.MaxShards)
	case sharded && opts.Count == 0 && opts.Duration == 0:
		return usageErr("a dataset split into shards needs --count N or --duration D to divide between them")
	case opts.OutputDir != "" && opts.Shards == 0:
		return usageErr("--output-dir needs --shards N")
	case opts.OutputDir != "" && opts.Output != "":
		return usageErr("--output-dir and --output cannot be used together: give one")
	case opts.Shards > 1 && opts.OutputDir == "" && !dataset.Concatenable(opts.Format):
		return usageErr("--shards %d writes shards one after the other, which %s cannot hold; use --output-dir or --format ndjson or yaml", opts.Shards, opts.Format)
	case opts.Manifest != "" && opts.OutputDir == "" && (opts.Output == "" || opts.Output == "-"):
		return usageErr("--manifest needs --output FILE or --output-dir DIR: it names the files that hold the shards")
	case opts.Format == "parquet" && opts.OutputDir == "" && (opts.Output == "" || opts.Output == "-"):
		if f, ok := opts.IO.Out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			return usageErr("--format parquet writes binary; give --output FILE")
		}
	}
	if opts.Compress != "" && !contains(dataset.Compressions, opts.Compress) {
		return usageErr("invalid --compress %q, must be one of %s", opts.Compress, strings.Join(dataset.Compressions, ", "))
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func generateRun(ctx context.Context, opts *GenerateOptions) error {
	s, err := scenarios.Load(opts.Scenario)
	if err != nil {
		return &UsageError{Err: err}
	}
	s.SetStart(opts.Start)
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
	// Scenario mistakes (an unknown flavour, a bad shard) show here, before
	// any file is made.
	if _, err := scenarios.New(s, scenarios.Options{Seed: opts.Seed, Flavor: catalog.Flavor(opts.Flavor), Shard: opts.Shard.Index, Shards: opts.Shard.Of}); err != nil {
		return &UsageError{Err: err}
	}
	ds := &dataset.Options{
		Scenario: s, Seed: opts.Seed, Flavor: catalog.Flavor(opts.Flavor), API: api,
		Count: opts.Count, Duration: opts.Duration, Format: opts.Format, Compression: opts.Compress,
		Hash: opts.Manifest != "",
	}
	if ds.Compression == "" {
		ds.Compression = dataset.InferCompression(opts.Output)
	}
	if os.Getenv("GOGC") == "" {
		// The live heap is a few MiB however long the run (about 6 MiB:
		// the records in flight between the engine and the writer, which
		// the engine reuses), so the default GOGC collects every few MiB
		// allocated. Letting the heap grow to three times live costs
		// little memory (BENCHMARKS.md has the peak RSS of 10,000,000
		// events in every format) and keeps collection near 2% of the
		// CPU, since records are reused.
		defer debug.SetGCPercent(debug.SetGCPercent(200))
		limit := int64(48 << 20)
		if opts.Format == "parquet" {
			// A Parquet writer holds a row group (16,384 rows) live, so
			// its heap reaches the limit; 48 MiB peaked at 62 MiB RSS.
			limit = 36 << 20
		}
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(limit))
	}
	if opts.Progress {
		max := opts.Count
		if max == 0 {
			max = -1
		} else if !opts.Shard.Whole() {
			max = opts.Count / int64(opts.Shard.Of) // give or take one
		}
		bar := progressbar.NewOptions64(max, progressbar.OptionSetWriter(opts.IO.Err),
			progressbar.OptionSetDescription("generating"), progressbar.OptionShowCount(),
			progressbar.OptionShowIts(), progressbar.OptionSetItsString("events"),
			progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
		defer func() { _ = bar.Finish() }()
		var mu sync.Mutex
		ds.Progress = func(n int64) {
			mu.Lock()
			_ = bar.Add64(n)
			mu.Unlock()
		}
	}

	var shards []dataset.Shard
	if opts.OutputDir != "" {
		if err := os.MkdirAll(opts.OutputDir, 0o755); err != nil {
			return &UsageError{Err: fmt.Errorf("create output folder: %w", err)}
		}
		shards, err = ds.WriteShardsDir(ctx, opts.Shards, opts.OutputDir, s.Name)
		if err != nil {
			return err
		}
		return writeManifest(opts, s.Name, ds, shards)
	}
	out, file, spoolDir, closeOut, err := openOutput(opts)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(out, 256<<10)
	if opts.Shards > 0 {
		shards, err = ds.WriteShards(ctx, opts.Shards, bw, spoolDir)
	} else {
		var sh dataset.Shard
		sh, err = ds.WriteShard(ctx, opts.Shard, bw)
		shards = []dataset.Shard{sh}
	}
	if err == nil {
		err = bw.Flush()
	}
	if cerr := closeOut(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	for i := range shards {
		shards[i].File = file
	}
	return writeManifest(opts, s.Name, ds, shards)
}

// openOutput opens --output (standard output when unset or "-"). It returns
// the writer, the file's name for a manifest, the folder to spool shards
// in (the output's own when it is a regular file) and how to close it.
func openOutput(opts *GenerateOptions) (io.Writer, string, string, func() error, error) {
	if opts.Output == "" || opts.Output == "-" {
		return opts.IO.Out, "", "", func() error { return nil }, nil
	}
	f, err := os.Create(opts.Output)
	if err != nil {
		return nil, "", "", nil, &UsageError{Err: fmt.Errorf("create output: %w", err)}
	}
	spool := ""
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		spool = filepath.Dir(opts.Output)
	}
	return f, filepath.Base(opts.Output), spool, f.Close, nil
}

// writeManifest writes --manifest, when asked, for the shards written.
func writeManifest(opts *GenerateOptions, name string, ds *dataset.Options, shards []dataset.Shard) error {
	if opts.Manifest == "" {
		return nil
	}
	n := opts.Shards
	if n == 0 {
		n = max(1, opts.Shard.Of)
	}
	eng, err := scenarios.New(ds.Scenario, scenarios.Options{Seed: ds.Seed, Flavor: ds.Flavor})
	if err != nil {
		return err
	}
	m := &dataset.Manifest{
		Dataset: dataset.Dataset{
			EventsimVersion: Version, Scenario: name, Seed: eng.Seed(), Flavor: string(eng.Flavor()), API: ds.API,
			Format: ds.Format, Compression: ds.Compression, Count: ds.Count, ShardCount: n,
		},
		Shards: shards,
	}
	if ds.Duration > 0 {
		m.Duration = ds.Duration.String()
	}
	if err := dataset.WriteManifest(opts.Manifest, m); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	return nil
}
