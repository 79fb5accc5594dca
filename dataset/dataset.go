// Package dataset writes datasets of events played from a scenario: whole,
// or as shards that separate processes or machines write independently and
// that together make one dataset; as NDJSON, JSON, YAML or Parquet,
// compressed or not; with a manifest that lets the assembled dataset be
// checked. Memory stays constant whatever the size.
package dataset

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/scenarios"
)

// Formats a dataset can be written in.
var Formats = []string{"ndjson", "json", "yaml", "parquet"}

// Concatenable reports whether files of a format, written one after the
// other, still make one valid file of that format, so that shards can be
// assembled with cat.
func Concatenable(format string) bool { return format == "ndjson" || format == "yaml" }

// Options say which dataset to write. Every shard of a dataset is written
// with the same Options.
type Options struct {
	Scenario *scenarios.Scenario
	// Seed 0 means the scenario's own.
	Seed   int64
	Flavor catalog.Flavor
	// API is "lxd" or "linode": whose events to write.
	API string
	// Count is how many events the whole dataset has, or Duration how much
	// virtual time it covers; both 0 plays the scenario once (unsharded).
	Count    int64
	Duration time.Duration
	// Format is one of Formats; Compression one of Compressions ("" is none).
	Format      string
	Compression string
	// Hash computes each shard's SHA-256 (for a manifest).
	Hash bool
	// Progress, if set, is called with the number of events just written,
	// from the goroutine writing them.
	Progress func(n int64)
}

// Shard is what one written shard holds: the entry a manifest has for it.
type Shard struct {
	Index int `json:"index"`
	// File is the file holding the shard, relative to the manifest, and
	// Offset where in it the shard starts (shards written into one file
	// follow each other).
	File   string `json:"file"`
	Offset int64  `json:"offset"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256,omitempty"`
	Events int64  `json:"events"`
	// First and Last are the timestamps of the shard's first and last
	// events; absent when it has none.
	First *time.Time `json:"first,omitempty"`
	Last  *time.Time `json:"last,omitempty"`
}

// check says what is wrong with the options, or nil.
func (o *Options) check(p Part) error {
	if o.Scenario == nil {
		return errors.New("no scenario")
	}
	if err := p.check(); err != nil && !(p.Of == 0 && p.Index == 0) {
		return err
	}
	if !p.Whole() && o.Count == 0 && o.Duration == 0 {
		return errors.New("a dataset split into shards needs --count or --duration to divide")
	}
	if o.Count > 0 && o.Duration > 0 {
		return errors.New("give a count or a duration, not both")
	}
	if o.Count < 0 || o.Duration < 0 {
		return errors.New("count and duration must not be negative")
	}
	return nil
}

// WriteShard writes part p of the dataset to w and returns what it wrote.
// The same Options and part give the same bytes.
func (o *Options) WriteShard(ctx context.Context, p Part, w io.Writer) (Shard, error) {
	if err := o.check(p); err != nil {
		return Shard{}, err
	}
	start := o.Scenario.Start
	pl := planFor(start, o.Count, o.Duration, p)
	eng, err := scenarios.New(o.Scenario, scenarios.Options{
		Seed:   o.Seed,
		Flavor: o.Flavor,
		Start:  pl.start,
		Loop:   o.Count > 0 || o.Duration > 0,
		// Events are encoded on another goroutine than the engine's.
		DeferJSON: true,
		Shard:     p.Index,
		Shards:    p.Of,
	})
	if err != nil {
		return Shard{}, err
	}
	cw := &countWriter{w: w}
	if o.Hash {
		cw.h = sha256.New()
	}
	compression := o.Compression
	if o.Format == "parquet" {
		compression = "none" // Parquet compresses its own pages
	}
	comp, err := compressor(cw, compression)
	if err != nil {
		return Shard{}, err
	}
	bw := bufio.NewWriterSize(comp, 256<<10)
	sk, err := newSink(bw, o.Format, o.API, o.Compression)
	if err != nil {
		return Shard{}, err
	}

	// The engine plays on its own goroutine and hands over batches of
	// records; this one encodes and writes them, in order.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []*scenarios.Record, 4)
	free := make(chan []*scenarios.Record, 6)
	var engErr error
	go func() {
		defer close(batches)
		engErr = play(ctx, eng, pl, o.API, batches, free)
	}()
	sh := Shard{Index: p.Index}
	var buf []byte
	var first, last time.Time
	for batch := range batches {
		for _, r := range batch {
			if err := sk.write(r, &buf); err != nil {
				cancel()
				for range batches {
				}
				return sh, fmt.Errorf("write: %w", err)
			}
		}
		if sh.Events == 0 {
			first = batch[0].Time
		}
		last = batch[len(batch)-1].Time
		sh.Events += int64(len(batch))
		if o.Progress != nil {
			o.Progress(int64(len(batch)))
		}
		// The engine makes its next records in these (Engine.Recycle).
		select {
		case free <- batch:
		default:
		}
	}
	if engErr != nil {
		return sh, engErr
	}
	if err := ctx.Err(); err != nil {
		return sh, err
	}
	if err := sk.close(); err != nil {
		return sh, fmt.Errorf("write: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return sh, fmt.Errorf("write: %w", err)
	}
	if err := comp.Close(); err != nil {
		return sh, fmt.Errorf("write: %w", err)
	}
	sh.Bytes = cw.n
	if cw.h != nil {
		sh.SHA256 = hex.EncodeToString(cw.h.Sum(nil))
	}
	if sh.Events > 0 {
		first, last = first.UTC(), last.UTC()
		sh.First, sh.Last = &first, &last
	}
	return sh, nil
}

// batchSize is how many records the engine hands over at a time.
const batchSize = 512

// play runs the engine until the shard has what its plan asks for, sending
// the records to write in batches. It stops early when ctx ends.
func play(ctx context.Context, eng *scenarios.Engine, pl plan, api string, out chan<- []*scenarios.Record, free <-chan []*scenarios.Record) error {
	end := pl.start.Add(pl.end)
	batch := make([]*scenarios.Record, 0, batchSize)
	send := func() bool {
		select {
		case out <- batch:
		case <-ctx.Done():
			return false
		}
		select {
		case batch = <-free:
			eng.Recycle(batch)
			clear(batch)
			batch = batch[:0]
		default:
			batch = make([]*scenarios.Record, 0, batchSize)
		}
		return true
	}
	var n int64
	for !pl.byCount || n < pl.count {
		r, err := eng.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if pl.byTime && !r.Time.Before(end) {
			break
		}
		if r.Fault != nil || r.API != api {
			continue
		}
		batch = append(batch, r)
		n++
		if len(batch) == batchSize && !send() {
			return nil
		}
	}
	if len(batch) > 0 {
		send()
	}
	return nil
}

// countWriter counts, and when h is set hashes, what goes through it.
type countWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if c.h != nil {
		c.h.Write(p[:n])
	}
	return n, err
}
