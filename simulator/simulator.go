// Package simulator runs the fake LXD and Linode servers together, fed by one
// scenario played on a virtual clock, with a control API to steer them.
//
// It is a library first: Go tests construct a Server with Options, point
// their clients at LXD().URL() or Linode().URL(), and Close it. The
// `eventsim serve` command maps its flags onto the same Options.
package simulator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/scenarios"
	"github.com/eventsim/eventsim/simulator/linode"
	"github.com/eventsim/eventsim/simulator/lxd"
)

// Options configure a Server. The zero value plays the demo scenario as fast
// as clients take events, serving LXD and Linode on free loopback ports.
type Options struct {
	// Scenario is a built-in name or a file; "" means "demo".
	Scenario string
	// Seed 0 means the scenario's own seed.
	Seed int64
	// Speed is how fast virtual time runs: 1 is real time, 10 ten times
	// faster, 0 as fast as clients take events.
	Speed float64
	// Flavor is the LXD flavour played; "" means lxd-5.0.
	Flavor catalog.Flavor
	// Loop plays the scenario again when it ends; otherwise the servers stay
	// up and idle.
	Loop bool
	// Start, when not zero, is when Scenario starts on the virtual clock:
	// its first event, for a recording. Zero means now, or the start the
	// scenario file sets. Scenarios run later through the control API are
	// not affected.
	Start time.Time
	// LXD and Linode configure the two servers; their Control, Flavor,
	// Members, EventMode, Projects and Clock fields are set by the
	// simulator, LXD.Pools and LXD.Profiles from the scenario when unset,
	// and LXD.Logging when the scenario asks for logging (its default).
	LXD    lxd.Options
	Linode linode.Options
	// Logger receives the player's logs (scenario start, end and loop) and
	// control calls, and is passed to LXD and Linode when theirs is unset;
	// nil means discard.
	Logger *slog.Logger
	// ControlToken is the token control API requests over plain HTTP must
	// send as "Authorization: Bearer TOKEN" (docs/control-api.md); "" means
	// one generated, returned by Server.ControlToken.
	ControlToken string
}

// Server is a running simulator.
type Server struct {
	opts   Options
	log    *slog.Logger
	lxd    *lxd.Server
	linode *linode.Server

	// runMu serialises Run, Reset and Close, so that one player at most
	// is ever running.
	runMu  sync.Mutex
	closed bool // guarded by runMu

	mu      sync.Mutex // guards the fields below
	scen    *scenarios.Scenario
	cancel  context.CancelFunc
	done    chan struct{}
	virt    time.Time // virtual time at wall
	wall    time.Time
	lastRec time.Time
	// next is a lower bound on the time of every record still to be
	// played: the record the player holds, or while it asks the engine for
	// one, the last one delivered. Zero when the scenario has ended.
	next time.Time

	records atomic.Int64
	// eng is the engine playing, for the LXD server's REST events
	// (observe) and Stats; nil before the first Run.
	eng atomic.Pointer[scenarios.Engine]
	// engSwap is held for writing while a new engine replaces eng and
	// takes in what the old one knew (Engine.Carry), and for reading while
	// an event is observed, so that no REST event goes to the old engine
	// after Carry read it.
	engSwap sync.RWMutex

	ctlToken string // see guard.go
}

// New starts the servers and the player.
func New(opts Options) (*Server, error) {
	s := &Server{opts: opts, log: opts.Logger, ctlToken: opts.ControlToken}
	if s.ctlToken == "" {
		s.ctlToken = newControlToken()
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	scen, err := scenarios.Load(opts.Scenario)
	if err != nil {
		return nil, err
	}
	scen.SetStart(opts.Start)
	if _, err := catalog.LXD(opts.Flavor); err != nil {
		return nil, err
	}
	ctl := s.controlHandler()
	lo := opts.LXD
	lo.Flavor = opts.Flavor
	lo.Members = scen.LXD.Members
	lo.EventMode = scen.LXD.EventMode
	lo.Projects = scen.LXD.Projects
	if len(lo.Pools) == 0 {
		lo.Pools = scen.LXD.Pools
	}
	if len(lo.Profiles) == 0 {
		lo.Profiles = scen.LXD.Profiles
	}
	lo.Logging = lo.Logging || scen.LXD.Logging
	// Events of REST requests are stamped on the scenario's clock, so they
	// take their place among the played ones.
	lo.Clock = s.streamNow
	lo.Control = ctl
	if lo.Logger == nil {
		lo.Logger = opts.Logger
	}
	lo.Backpressure = lo.Backpressure || opts.Speed == 0
	// Operations of REST requests take their time on the same clock.
	lo.Speed = opts.Speed
	// What REST requests make becomes known to the scenario's steps.
	lo.Observe = s.observe
	if s.lxd, err = lxd.New(lo); err != nil {
		return nil, fmt.Errorf("lxd server: %w", err)
	}
	no := opts.Linode
	no.Control = ctl
	no.Clock = s.Now
	no.Speed = opts.Speed
	if no.Logger == nil {
		no.Logger = opts.Logger
	}
	if s.linode, err = linode.New(no); err != nil {
		s.lxd.Close()
		return nil, fmt.Errorf("linode server: %w", err)
	}
	if err := s.Run(scen); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// LXD returns the fake LXD server.
func (s *Server) LXD() *lxd.Server { return s.lxd }

// Linode returns the fake Linode server.
func (s *Server) Linode() *linode.Server { return s.linode }

// Now returns the virtual time: where the scenario's clock stands.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nowLocked()
}

func (s *Server) nowLocked() time.Time {
	if s.opts.Speed == 0 {
		if s.lastRec.IsZero() {
			return s.virt
		}
		return s.lastRec
	}
	return s.virt.Add(time.Duration(float64(time.Since(s.wall)) * s.opts.Speed))
}

// streamNow stamps the events the LXD server makes itself (REST requests):
// the virtual time, but never past the record the player is about to
// deliver, so that a player running a few milliseconds late cannot put a
// played event after a later-stamped REST event on the stream.
func (s *Server) streamNow() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	if !s.next.IsZero() && s.next.Before(now) {
		return s.next
	}
	return now
}

// Run plays a scenario now, replacing the one playing. Whatever the player
// is doing (sleeping, running behind, waiting for clients or for a long
// stretch of the scenario that makes no events), it stops at once; what an
// LXD fault still holds from the old scenario is dropped.
func (s *Server) Run(scen *scenarios.Scenario) error {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	return s.runLocked(scen)
}

func (s *Server) runLocked(scen *scenarios.Scenario) error {
	if s.closed {
		return errors.New("run: simulator closed")
	}
	opts := scenarios.Options{Seed: s.opts.Seed, Flavor: s.opts.Flavor, Loop: s.opts.Loop, KeepObjects: true, Await: s.await,
		OnSkip: func(err error) { s.log.Warn("scenario step skipped", "scenario", scen.Name, "err", err) }}
	if !scen.StartSet {
		// Served events are stamped near the wall clock, as a live server's are.
		opts.Start = time.Now().UTC().Truncate(time.Second)
	}
	eng, err := scenarios.New(scen, opts)
	if err != nil {
		return err
	}
	s.stop()
	s.lxd.ResetFaults()
	for _, p := range scen.LXD.Projects {
		s.lxd.AddProject(p)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	s.mu.Lock()
	s.scen, s.cancel, s.done = scen, cancel, done
	s.virt, s.wall, s.lastRec, s.next = eng.Start(), time.Now(), time.Time{}, eng.Start()
	s.mu.Unlock()
	s.engSwap.Lock()
	if old := s.eng.Swap(eng); old != nil {
		// The LXD daemon keeps what the old scenario and REST requests
		// made: the new engine knows it, so that it never says an object
		// is created while the daemon has it (scenarios.Engine.Carry).
		// What REST makes from now on goes to the new engine's inbox.
		eng.Carry(old)
	}
	s.engSwap.Unlock()
	s.log.Info("playing scenario", "scenario", scen.Name, "seed", eng.Seed(), "speed", s.opts.Speed)
	go s.play(ctx, eng, done)
	return nil
}

// stop ends the scenario playing, if any, and waits for its player, which
// looks at ctx at every record, every engine step batch and in every wait.
func (s *Server) stop() {
	s.mu.Lock()
	cancel, done := s.cancel, s.done
	s.cancel, s.done = nil, nil
	s.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// catchUpAfter is how late a record must be for the player to wait for the
// clients before delivering it: a few milliseconds late is the timer's
// slack and records that share a time, not a backlog.
const catchUpAfter = 100 * time.Millisecond

// play releases each record when its virtual time comes. A record whose
// time has passed by more than catchUpAfter (the player fell behind: a stall, a busy CPU, a speed the
// clients cannot follow) is an LXD event only once every client has room
// for it, so that the player catches up no faster than the clients take
// events instead of flooding their queues (see lxd.Server.WaitForClients).
func (s *Server) play(ctx context.Context, eng *scenarios.Engine, done chan struct{}) {
	defer close(done)
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	pass := 0
	for ctx.Err() == nil {
		r, err := eng.NextContext(ctx)
		if p := eng.Pass(); p != pass {
			pass = p
			s.log.Info("scenario looped", "scenario", eng.Scenario().Name, "pass", pass+1)
		}
		if err != nil {
			s.mu.Lock()
			s.next = time.Time{}
			s.mu.Unlock()
		}
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, io.EOF):
			s.log.Info("scenario ended; idle")
			return
		case err != nil:
			s.log.Error("scenario stopped", "err", err)
			return
		}
		s.mu.Lock()
		s.next = r.Time
		late := false // speed 0 always waits for the clients (lxd.Options.Backpressure)
		if s.opts.Speed > 0 {
			due := s.wall.Add(time.Duration(float64(r.Time.Sub(s.virt)) / s.opts.Speed))
			s.mu.Unlock()
			if d := time.Until(due); d > 0 {
				if timer == nil {
					timer = time.NewTimer(d)
				} else {
					timer.Reset(d)
				}
				select {
				case <-ctx.Done():
					return
				case <-timer.C:
				}
			} else {
				late = -d > catchUpAfter
			}
		} else {
			s.mu.Unlock()
		}
		if late && r.API == "lxd" && r.Fault == nil {
			if err := s.lxd.WaitForClients(ctx); err != nil {
				if ctx.Err() == nil {
					s.log.Warn("deliver", "err", err)
				}
				return
			}
		}
		if err := s.Deliver(ctx, r); err != nil && ctx.Err() == nil {
			s.log.Warn("deliver", "err", err)
		}
		s.mu.Lock()
		s.lastRec = r.Time
		s.mu.Unlock()
	}
}

// observe passes a lifecycle event the LXD server made for a REST request
// to the engine playing, so that a step marked external can act on the
// object it names. It never waits on the engine (Engine.Observe), only,
// briefly, while a new engine takes over (Run, Reset).
func (s *Server) observe(ev scenarios.Observed) {
	s.engSwap.RLock()
	defer s.engSwap.RUnlock()
	if eng := s.eng.Load(); eng != nil {
		eng.Observe(ev)
	}
}

// await returns when virtual time at has come on the server's clock, so
// that a step marked external runs at its time and sees what REST requests
// made until then, rather than when the player asks the engine for the
// records after it. At speed 0 the clock is the records' own: at has come.
func (s *Server) await(ctx context.Context, at time.Time) error {
	if s.opts.Speed == 0 {
		return nil
	}
	s.mu.Lock()
	due := s.wall.Add(time.Duration(float64(at.Sub(s.virt)) / s.opts.Speed))
	s.mu.Unlock()
	d := time.Until(due)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Deliver hands a record to the server of its API.
func (s *Server) Deliver(ctx context.Context, r *scenarios.Record) error {
	s.records.Add(1)
	if r.API == "linode" {
		return s.linode.Deliver(ctx, r)
	}
	return s.lxd.Deliver(ctx, r)
}

// Reset plays the current scenario again from the start, with an empty
// Linode store.
func (s *Server) Reset() error {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	s.mu.Lock()
	scen := s.scen
	s.mu.Unlock()
	s.stop()
	s.linode.Reset()
	return s.runLocked(scen)
}

// Stats says what the servers and the player have done.
type Stats struct {
	Scenario    string    `json:"scenario"`
	Speed       float64   `json:"speed"`
	VirtualTime time.Time `json:"virtual_time"`
	Records     int64     `json:"records"`
	// SkippedSteps counts the steps marked external that were skipped,
	// in this run of the scenario, because the object they name did not
	// exist (the log says which).
	SkippedSteps int64        `json:"skipped_steps"`
	LXD          lxd.Stats    `json:"lxd"`
	Linode       linode.Stats `json:"linode"`
}

// Stats returns the current counts.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	name := ""
	if s.scen != nil {
		name = s.scen.Name
	}
	now := s.nowLocked()
	s.mu.Unlock()
	var skipped int64
	if eng := s.eng.Load(); eng != nil {
		skipped = eng.Skipped()
	}
	return Stats{Scenario: name, Speed: s.opts.Speed, VirtualTime: now, Records: s.records.Load(), SkippedSteps: skipped, LXD: s.lxd.Stats(), Linode: s.linode.Stats()}
}

// Close stops the player and both servers: every LXD client gets a 1001
// close frame, listeners close and the unix socket is removed.
func (s *Server) Close() error {
	s.runMu.Lock()
	s.closed = true
	s.runMu.Unlock()
	s.stop()
	return errors.Join(s.lxd.Close(), s.linode.Close())
}
