package dataset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
)

// ShardFile names shard i of n in a folder: NAME-IIIII-of-NNNNN.EXT, the
// numbers padded so the files sort in shard order.
func ShardFile(name string, i, n int, ext string) string {
	return fmt.Sprintf("%s-%05d-of-%05d%s", name, i, n, ext)
}

// workers is how many shards are written at once: one per core, each
// playing its engine on one goroutine and encoding on another.
func workers(n int) int { return max(1, min(n, runtime.GOMAXPROCS(0))) }

// WriteShardsDir writes all n shards into dir, one file each, as many at a
// time as there are cores, and returns them in shard order with File set
// to the file's name.
func (o *Options) WriteShardsDir(ctx context.Context, n int, dir, name string) ([]Shard, error) {
	ext := Ext(o.Format, o.Compression)
	return o.runShards(ctx, n, func(i int) (Shard, error) {
		file := ShardFile(name, i, n, ext)
		f, err := os.Create(filepath.Join(dir, file))
		if err != nil {
			return Shard{}, err
		}
		sh, err := o.WriteShard(ctx, Part{Index: i, Of: n}, f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		sh.File = file
		return sh, err
	}, nil)
}

// WriteShards writes all n shards to w, one after the other, in shard
// order: the same bytes as writing each with WriteShard and concatenating
// them. Shards are made as many at a time as there are cores; shard 0 goes
// to w as it is made and each later one to a spool file in spoolDir ("":
// the system's temporary folder) until the shards before it are written.
func (o *Options) WriteShards(ctx context.Context, n int, w io.Writer, spoolDir string) ([]Shard, error) {
	spools := make([]*os.File, n)
	defer func() {
		for _, f := range spools {
			if f != nil {
				f.Close()
				os.Remove(f.Name())
			}
		}
	}()
	var mu sync.Mutex // guards spools
	write := func(i int) (Shard, error) {
		if i == 0 {
			return o.WriteShard(ctx, Part{Index: 0, Of: n}, w)
		}
		f, err := os.CreateTemp(spoolDir, fmt.Sprintf("eventsim-shard-%05d-*", i))
		if err != nil {
			return Shard{}, fmt.Errorf("spool shard %d: %w", i, err)
		}
		mu.Lock()
		spools[i] = f
		mu.Unlock()
		return o.WriteShard(ctx, Part{Index: i, Of: n}, f)
	}
	var offset int64
	assemble := func(sh *Shard) error {
		sh.Offset = offset
		offset += sh.Bytes
		if sh.Index == 0 {
			return nil
		}
		mu.Lock()
		f := spools[sh.Index]
		spools[sh.Index] = nil
		mu.Unlock()
		defer os.Remove(f.Name())
		defer f.Close()
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if _, err := io.Copy(w, f); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		return nil
	}
	return o.runShards(ctx, n, write, assemble)
}

// runShards writes shards 0..n-1 with write, as many at a time as there are
// cores, handing each to done in shard order as soon as it and all before
// it are written. The first error stops everything.
func (o *Options) runShards(ctx context.Context, n int, write func(i int) (Shard, error), done func(*Shard) error) ([]Shard, error) {
	if n < 1 {
		return nil, errors.New("no shards to write")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		sh  Shard
		err error
	}
	results := make([]chan result, n)
	for i := range results {
		results[i] = make(chan result, 1)
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers(n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				sh, err := write(i)
				results[i] <- result{sh, err}
			}
		}()
	}
	go func() {
		defer close(next)
		for i := range n {
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	defer wg.Wait()
	out := make([]Shard, 0, n)
	for i := range n {
		var r result
		select {
		case r = <-results[i]:
		case <-ctx.Done():
			return out, ctx.Err()
		}
		if r.err != nil {
			cancel()
			return out, fmt.Errorf("shard %d of %d: %w", i, n, r.err)
		}
		if done != nil {
			if err := done(&r.sh); err != nil {
				cancel()
				return out, err
			}
		}
		out = append(out, r.sh)
	}
	return out, nil
}
