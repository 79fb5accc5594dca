package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/scenarios"
)

// Offline suites: the checks that need only what was received, run on a
// recording (eventsim record) or any NDJSON capture.
const (
	SuiteLXDOffline    = "lxd-offline"
	SuiteLinodeOffline = "linode-offline"
)

// OfflineOptions configures CheckLXDFile and CheckLinodeFile.
type OfflineOptions struct {
	// Name is the file's name, for the report and errors.
	Name string
	// LXD configures the LXD checks. An unset Flavor is taken from the
	// recording's header when it has one; Clustered likewise.
	LXD EventOptions
	// FlavorSet says LXD.Flavor was chosen by the user and wins over the header.
	FlavorSet bool
	// Linode configures the Linode checks.
	Linode LinodeEventOptions
}

// CheckLXDFile runs the event-level LXD checks on a recording or an NDJSON
// capture. A recording's events carry their arrival times, so the clock check
// runs on them as it does live. It returns an error when the file cannot be
// read or is a recording of something else (*ConfigError).
func CheckLXDFile(ctx context.Context, r io.Reader, o OfflineOptions) (*Report, error) {
	start := time.Now()
	rr, err := scenarios.NewRecordingReader(r, o.Name)
	if err != nil {
		return nil, err
	}
	opts := o.LXD
	var started time.Time
	if h := rr.Header(); h != nil {
		if h.Kind != "lxd" {
			return nil, &ConfigError{Field: "from", Msg: fmt.Sprintf("%s is a recording of %s events; use conform %s --from", o.Name, h.Kind, h.Kind)}
		}
		if !o.FlavorSet && h.Flavor != "" {
			f, err := catalog.ParseFlavor(h.Flavor)
			if err != nil {
				return nil, &ConfigError{Field: "from", Msg: fmt.Sprintf("%s: header: %v", o.Name, err)}
			}
			opts.Flavor = f
		}
		opts.Clustered = opts.Clustered || h.Clustered
		started = h.Started
	}
	c, err := NewEventChecker(opts)
	if err != nil {
		return nil, err
	}
	if err := observeAll(ctx, rr, started, c); err != nil {
		return nil, err
	}
	return c.report(SuiteLXDOffline, o.Name, start), nil
}

// CheckLinodeFile runs the Linode event checks on a recording (each event
// in each state it was seen in) or an NDJSON capture whose lines are Event
// objects or pages ({"data":[...]}).
func CheckLinodeFile(ctx context.Context, r io.Reader, o OfflineOptions) (*Report, error) {
	start := time.Now()
	rr, err := scenarios.NewRecordingReader(r, o.Name)
	if err != nil {
		return nil, err
	}
	if h := rr.Header(); h != nil && h.Kind != "linode" {
		return nil, &ConfigError{Field: "from", Msg: fmt.Sprintf("%s is a recording of %s events; use conform %s --from", o.Name, h.Kind, h.Kind)}
	}
	c, err := NewLinodeEventChecker(o.Linode)
	if err != nil {
		return nil, err
	}
	for n := 0; ; n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		ev, err := rr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if bytes.HasPrefix(ev.Event, []byte(`{"data":`)) {
			var p lnPage
			if json.Unmarshal(ev.Event, &p) == nil {
				for _, d := range p.Data {
					c.Observe(Observation{Raw: d})
				}
				continue
			}
		}
		c.Observe(Observation{Raw: ev.Event})
	}
	return c.report(o.Name, start), nil
}

// observeAll feeds every event of rr to c: batches are decoded and
// validated on every core (prepare) and applied in the file's order.
func observeAll(ctx context.Context, rr *scenarios.RecordingReader, started time.Time, c *EventChecker) error {
	const batch = 512
	type job struct {
		ps   []prepared
		done chan struct{}
	}
	workers := runtime.GOMAXPROCS(0)
	jobs := make(chan *job, 2*workers)
	ordered := make(chan *job, 2*workers)
	var readErr error
	stop := make(chan struct{})
	go func() {
		defer close(jobs)
		defer close(ordered)
		for {
			j := &job{ps: make([]prepared, 0, batch), done: make(chan struct{})}
			for len(j.ps) < batch {
				ev, err := rr.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					readErr = err
					break
				}
				obs := Observation{Raw: ev.Event}
				if ev.Offset >= 0 && !started.IsZero() {
					obs.Received = started.Add(ev.Offset)
				}
				j.ps = append(j.ps, prepared{o: obs})
			}
			if len(j.ps) == 0 {
				return
			}
			select {
			case ordered <- j:
			case <-stop:
				return
			}
			jobs <- j
			if len(j.ps) < batch || ctx.Err() != nil {
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				for i := range j.ps {
					j.ps[i] = c.prepare(j.ps[i].o)
				}
				close(j.done)
			}
		}()
	}
	defer wg.Wait()
	for j := range ordered {
		<-j.done
		if ctx.Err() != nil {
			close(stop)
			for range ordered {
			}
			return ctx.Err()
		}
		for _, p := range j.ps {
			c.apply(p)
		}
	}
	return readErr
}
