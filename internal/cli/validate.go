package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/spf13/cobra"

	"github.com/eventsim/eventsim/dataset"
	"github.com/eventsim/eventsim/schemas"
)

// ValidateOptions are the flags of `eventsim validate`.
type ValidateOptions struct {
	IO    *IO
	Kind  string
	Files []string
	// Flavor, when set (lxd only), also refuses event types and lifecycle
	// actions that flavour does not define.
	Flavor string
	// Manifests are manifests of a sharded dataset to check it against
	// (--manifest); the files they name are validated too.
	Manifests []string
}

// NewCmdValidate builds `eventsim validate`.
func NewCmdValidate(streams *IO, runF func(*ValidateOptions) error) *cobra.Command {
	opts := &ValidateOptions{IO: streams}
	cmd := &cobra.Command{
		Use:   "validate --kind lxd|linode [--flavor F] FILE... | validate --manifest FILE",
		Short: "Check events against the schemas",
		Long: `Check each event of NDJSON files or JSON arrays ("-" reads standard input)
against the project's schemas: LXD events (--kind lxd) or Linode Event
objects (--kind linode). Each invalid record is reported with its file,
line and the most specific problem. Exit 1 if any is invalid. Files
compressed with gzip or zstd are read as they are.

The schemas accept what any daemon may send (any LXD or Incus event type,
actions the catalogue does not know yet). With --flavor (lxd-5.0, lxd-6 or
incus) an LXD event must also have a type and, for lifecycle events, an
action that flavour defines.

With --manifest (given once per manifest, or comma-separated), check a
dataset assembled from shards against the manifests generate wrote: every
shard there, none missing, changed or extra, each named when it is wrong;
then validate the events of the files they name (NDJSON and JSON).`,
		Example: `  eventsim generate --scenario lxd-steady --count 100000 | eventsim validate --kind lxd -
  eventsim validate --kind lxd steady.ndjson.zst
  eventsim validate --kind lxd --flavor lxd-5.0 monitor.ndjson
  eventsim validate --manifest out/manifest.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(opts.Manifests) > 0 {
				if len(args) > 0 {
					return usageErr("validate --manifest checks the files the manifests name; give no files, got %q", args)
				}
				if runF != nil {
					return runF(opts)
				}
				return validateManifestRun(opts)
			}
			if opts.Kind != "lxd" && opts.Kind != "linode" {
				return usageErr("invalid --kind %q, must be lxd or linode", opts.Kind)
			}
			if len(args) == 0 {
				return usageErr("validate needs at least one file, or - for standard input")
			}
			if err := checkValidateFlavor(opts); err != nil {
				return err
			}
			opts.Files = args
			if runF != nil {
				return runF(opts)
			}
			return validateRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Kind, "kind", "", "what the files hold: lxd or linode (required without --manifest)")
	cmd.Flags().StringSliceVar(&opts.Manifests, "manifest", nil, "check the sharded dataset these manifests describe (repeat, or comma-separated)")
	cmd.Flags().StringVar(&opts.Flavor, "flavor", "", "with --kind lxd: also refuse event types and lifecycle actions this flavour (lxd-5.0, lxd-6, incus) does not define")
	return cmd
}

func validateRun(opts *ValidateOptions) error {
	total, bad, err := validateFiles(opts, opts.Kind, opts.Files)
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Err, "%d records checked, %d invalid\n", total, bad)
	if bad > 0 {
		return ErrFailed
	}
	return nil
}

// validateFiles checks every event of the files, reporting the invalid
// ones to opts.IO.Out, and returns how many it checked and found invalid.
func validateFiles(opts *ValidateOptions, kind string, files []string) (total, bad int, err error) {
	schema := schemas.LXDEvent
	if kind == "linode" {
		schema = schemas.LinodeEvent
	}
	// One Validator for every file: it learns which shapes of event are
	// valid and judges the next of the same shape without gojsonschema.
	v, err := schemas.NewValidator(schema)
	if err != nil {
		return 0, 0, err
	}
	check, err := flavorCheck(v, opts.Flavor)
	if err != nil {
		return 0, 0, &UsageError{Err: err}
	}
	defer collectLessOften()()
	rep := newReporter(opts.IO.Out)
	for _, name := range files {
		var r io.Reader
		if name == "-" {
			r = opts.IO.In
			name = "<stdin>"
		} else {
			f, err := os.Open(name)
			if err != nil {
				return total, bad, &UsageError{Err: fmt.Errorf("open %s: %w", name, err)}
			}
			defer f.Close()
			r = f
		}
		// gzip and zstd files are read through their decompressor.
		dr, err := dataset.Decompress(r)
		if err != nil {
			return total, bad, fmt.Errorf("%s: %w", name, err)
		}
		n, b, err := validateStream(dr, name, check, rep)
		dr.Close()
		total += n
		bad += b
		if err != nil {
			return total, bad, fmt.Errorf("%s: %w", name, err)
		}
	}
	if total > 0 && bad == total {
		// Nothing valid: most often the other --kind was meant.
		fmt.Fprintln(opts.IO.Err, kindHint(kind, rep.samples))
	}
	return total, bad, nil
}

// record is one document to check, with where it was found.
type record struct {
	line    int
	inArray bool // index is its place in a JSON array
	index   int
	doc     []byte
	err     error
}

// validateStream checks every record of r, NDJSON or a JSON array, in
// parallel across the cores, reporting in input order.
func validateStream(r io.Reader, name string, check func([]byte) error, rep *reporter) (int, int, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	first, err := peekNonSpace(br)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return 0, 0, nil
		}
		return 0, 0, err
	}
	batches := make(chan []record, 4)
	var readErr error
	go func() {
		defer close(batches)
		if first == '[' {
			readErr = readArray(br, batches)
		} else {
			readErr = readLines(br, batches)
		}
	}()
	// Check batches on every core, keeping their order for the report.
	type job struct {
		recs []record
		done chan struct{}
	}
	jobs := make(chan *job, 2*runtime.GOMAXPROCS(0))
	ordered := make(chan *job, 2*runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i := 0; i < runtime.GOMAXPROCS(0); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				for k := range j.recs {
					if j.recs[k].err == nil {
						j.recs[k].err = check(j.recs[k].doc)
					}
				}
				close(j.done)
			}
		}()
	}
	go func() {
		for b := range batches {
			j := &job{recs: b, done: make(chan struct{})}
			ordered <- j
			jobs <- j
		}
		close(jobs)
		close(ordered)
	}()
	total, bad := 0, 0
	for j := range ordered {
		<-j.done
		for k := range j.recs {
			total++
			if j.recs[k].err != nil {
				bad++
				rep.invalid(name, &j.recs[k])
			}
		}
	}
	wg.Wait()
	if err := rep.flush(); err != nil {
		return total, bad, err
	}
	return total, bad, readErr
}

const batchSize = 256

func peekNonSpace(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.Peek(1)
		if err != nil {
			return 0, err
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			_, _ = br.ReadByte()
			continue
		}
		return b[0], nil
	}
}

func readLines(br *bufio.Reader, out chan<- []record) error {
	batch := make([]record, 0, batchSize)
	line := 0
	for {
		l, err := br.ReadBytes('\n')
		if len(l) > 0 {
			line++
			l = bytes.TrimSpace(l)
			if len(l) > 0 {
				batch = append(batch, record{line: line, doc: l})
				if len(batch) == batchSize {
					out <- batch
					batch = make([]record, 0, batchSize)
				}
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
	}
	if len(batch) > 0 {
		out <- batch
	}
	return nil
}

// readArray streams the elements of a JSON array, noting each one's line.
func readArray(br *bufio.Reader, out chan<- []record) error {
	cr := &countingReader{r: br, line: 1}
	dec := json.NewDecoder(cr)
	if _, err := dec.Token(); err != nil {
		return err
	}
	batch := make([]record, 0, batchSize)
	for index := 0; dec.More(); index++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			batch = append(batch, record{line: cr.lineAt(dec.InputOffset()), inArray: true, index: index, err: fmt.Errorf("not JSON: %w", err)})
			out <- batch
			return nil
		}
		// The element ends at the decoder's offset; its line is where it
		// starts, past the comma and blank lines before it.
		line := cr.lineAt(dec.InputOffset() - int64(len(raw)))
		batch = append(batch, record{line: line, inArray: true, index: index, doc: raw})
		if len(batch) == batchSize {
			out <- batch
			batch = make([]record, 0, batchSize)
		}
	}
	if len(batch) > 0 {
		out <- batch
	}
	return nil
}

// countingReader remembers where each line starts, so a decoder offset can
// be turned into a line number. It forgets lines behind the reader.
type countingReader struct {
	r      io.Reader
	off    int64
	line   int
	starts []int64 // offsets of line starts not yet passed
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	for i := 0; i < n; i++ {
		if p[i] == '\n' {
			c.starts = append(c.starts, c.off+int64(i)+1)
		}
	}
	c.off += int64(n)
	return n, err
}

func (c *countingReader) lineAt(off int64) int {
	for len(c.starts) > 0 && c.starts[0] <= off {
		c.starts = c.starts[1:]
		c.line++
	}
	return c.line
}

// collectLessOften lets the heap grow to five times what is live before a
// collection, unless GOGC is set, and returns what undoes it. For commands
// that read a stream of small documents with little live (validate,
// conform --from): the default collects every few MiB read, dozens of times
// a second.
func collectLessOften() (restore func()) {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	old := debug.SetGCPercent(400)
	return func() { debug.SetGCPercent(old) }
}
