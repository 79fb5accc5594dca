package lxd

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/events"
	"github.com/eventsim/eventsim/scenarios"
	"github.com/eventsim/eventsim/world"
)

// Operations on the virtual clock. A request answered by an operation
// writes its 202 while the operation runs; the operation then takes its
// time (the usual duration of its scenario verb, scenarios.LXDOperationTook,
// unless its route says otherwise) on the server's clock, emitting its
// progress metadata on the way, and ends Success, Failure or, for what may
// be cancelled, Cancelled. With Options.Speed 0 it runs to its end at once,
// before the 202's handler returns, as a burst of events.

const (
	// maxOps is how many finished operations the server remembers at most.
	maxOps = 1024
	// maxRunningOps bounds the operations running at once: each holds a
	// timer, and a token operation runs until it is cancelled.
	maxRunningOps = 10_000
)

// errTooManyOps refuses a request that could start an operation while
// maxRunningOps operations run.
var errTooManyOps = &apiError{http.StatusServiceUnavailable, fmt.Sprintf("eventsim: %d operations are running; wait for some to end", maxRunningOps)}

// operation is one background operation of an async request.
type operation struct {
	mu      sync.Mutex // guards op and endedAt
	op      events.LXDOperation
	project string        // "" for operations without a project (project rename)
	done    chan struct{} // closed when the operation reaches a final state
	endedAt time.Time     // wall time it ended; zero while it runs
	fail    *opFailure    // an operation-error fault's verdict, or nil

	// step serialises the operation's scheduled steps and its cancel, so
	// that each sees the status the other left.
	step  sync.Mutex
	timer *time.Timer // the next step; guarded by the store's mu
}

func (o *operation) id() string { return o.op.ID }

// snapshot returns the operation as it stands.
func (o *operation) snapshot() events.LXDOperation {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.op
}

// status returns the operation's status code.
func (o *operation) status() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.op.StatusCode
}

// logCtx is the context of the daemon's operation logs.
func (o *operation) logCtx() map[string]string {
	return map[string]string{"class": o.op.Class, "description": o.op.Description, "operation": o.op.ID, "project": o.project}
}

// opStore holds the operations the server runs and, for keep of wall
// time after they end (at most maxOps of them), those it has run.
type opStore struct {
	mu      sync.Mutex
	byID    map[string]*operation
	ended   []*operation // finished operations, in the order they ended
	running int
	keep    time.Duration
	closed  bool // set by Close: no more steps are scheduled
}

// full reports whether maxRunningOps operations run: the API then
// refuses requests that could start another (errTooManyOps).
func (st *opStore) full() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.running >= maxRunningOps
}

// add registers a new operation.
func (st *opStore) add(o *operation) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.byID == nil {
		st.byID = map[string]*operation{}
	}
	st.byID[o.id()] = o
	st.running++
}

// ended records that an operation has ended at wall time now.
func (st *opStore) end(o *operation, now time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.running--
	st.ended = append(st.ended, o)
	st.expireLocked(now)
}

// expireLocked forgets finished operations older than keep, and the
// oldest past maxOps. st.mu must be held.
func (st *opStore) expireLocked(now time.Time) {
	i := 0
	for ; i < len(st.ended); i++ {
		o := st.ended[i]
		o.mu.Lock()
		old := now.Sub(o.endedAt) > st.keep
		o.mu.Unlock()
		if !old && len(st.ended)-i <= maxOps {
			break
		}
		delete(st.byID, o.id())
		st.ended[i] = nil
	}
	st.ended = st.ended[i:]
}

func (st *opStore) get(id string) *operation {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.expireLocked(time.Now())
	return st.byID[id]
}

// after runs fn once d of wall time has passed, unless the server closes
// first; false when it is closing. Each pending step counts in s.wg.
func (s *Server) after(o *operation, d time.Duration, fn func()) bool {
	st := &s.ops
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return false
	}
	s.wg.Add(1)
	o.timer = time.AfterFunc(d, func() {
		defer s.wg.Done()
		select {
		case <-s.quit:
			return
		default:
		}
		defer s.makeGroup()() // the step's events go together
		fn()
	})
	return true
}

// stopOperations stops every pending step, for Close.
func (s *Server) stopOperations() {
	st := &s.ops
	st.mu.Lock()
	st.closed = true
	var timers []*time.Timer
	for _, o := range st.byID {
		if o.timer != nil {
			timers = append(timers, o.timer)
			o.timer = nil
		}
	}
	st.mu.Unlock()
	for _, t := range timers {
		if t.Stop() {
			s.wg.Done() // its fn will never run
		}
	}
}

// newOperation creates an operation, Pending, emitting what LXD emits:
// "New operation" and the Pending event. An operation-error in force may
// mark it to fail. It runs on the cluster member named by location, ""
// for the server's own (Server.location).
func (s *Server) newOperation(class, description, project, location string, resources map[string][]string, meta map[string]any) *operation {
	o := &operation{project: project, done: make(chan struct{})}
	at := s.stamp()
	o.op = events.LXDOperation{
		ID: newUUID(), Class: class, Description: description, CreatedAt: at, UpdatedAt: at,
		Resources: resources, Metadata: meta, MayCancel: class == "token", Location: cmp.Or(location, s.location()),
	}
	s.ops.add(o)
	o.fail = s.operationFailure(description, resources)
	s.logEvent("debug", "New operation", o.logCtx())
	s.setStatus(o, events.OpPending, "")
	return o
}

// start moves a Pending operation to Running: "Started operation" and the
// Running event.
func (s *Server) start(o *operation) {
	s.logEvent("debug", "Started operation", o.logCtx())
	s.setStatus(o, events.OpRunning, "")
}

// startOperation creates a task operation and starts it. The request's
// handler then answers 202 and runs it (runOperation).
func (s *Server) startOperation(description, project string, resources map[string][]string) *operation {
	o := s.newOperation("task", description, project, "", resources, nil)
	s.start(o)
	return o
}

// runOperation runs an operation whose 202 has been written: its work and
// its end, with its progress updates at even points of its time, before
// them or, where the work comes first (LXDProgress.WorkFirst), after the
// work. An operation-error in force replaces the work with its failure.
func (s *Server) runOperation(rep *reply) {
	o := rep.op
	if rep.run == nil {
		return // a token: it runs until it is cancelled
	}
	took, run, progress := rep.took, rep.run, rep.progress
	if took == 0 {
		took = scenarios.LXDOperationTook(o.op.Description)
	}
	if f := o.fail; f != nil {
		if f.after > 0 {
			took = f.after
		}
		run, progress = func() error { return errors.New(f.err) }, nil
	}
	after := rep.after
	// Each step runs at its point of took, in order; one that ends the
	// operation reports false.
	type step struct {
		at float64
		do func() bool
	}
	var steps []step
	work := func() bool {
		if err := run(); err != nil {
			s.finish(o, err)
			return false
		}
		return true
	}
	succeed := func() bool {
		s.finish(o, nil)
		if after != nil {
			after()
		}
		return false
	}
	switch {
	case progress == nil:
		steps = append(steps, step{1, func() bool { return work() && succeed() }})
	case progress.WorkFirst:
		steps = append(steps, step{0, work})
		n := progress.Points(took)
		for i := 1; i <= n; i++ {
			steps = append(steps, step{float64(i) / float64(n), func() bool {
				s.setMetadata(o, progress.Metadata(i, n, took))
				return i < n || succeed()
			}})
		}
	default:
		n := progress.Points(took)
		for i := 1; i <= n; i++ {
			steps = append(steps, step{float64(i) / float64(n+1), func() bool {
				s.setMetadata(o, progress.Metadata(i, n, took))
				return true
			}})
		}
		steps = append(steps, step{1, func() bool { return work() && succeed() }})
	}
	if s.opts.Speed <= 0 {
		for _, st := range steps {
			if !st.do() {
				return
			}
		}
		return
	}
	// At speed, a point of took comes took*at/Speed of wall time after the
	// operation started.
	wall := func(i int) time.Duration {
		prev := 0.0
		if i > 0 {
			prev = steps[i-1].at
		}
		return time.Duration((steps[i].at - prev) * float64(took) / s.opts.Speed)
	}
	var next func(i int)
	next = func(i int) {
		o.step.Lock()
		goOn := o.status() == events.OpRunning && steps[i].do()
		o.step.Unlock()
		if goOn && i+1 < len(steps) {
			s.after(o, wall(i+1), func() { next(i + 1) })
		}
	}
	s.after(o, wall(0), func() { next(0) })
}

// finish ends an operation: Success, or Failure with the error's message.
func (s *Server) finish(o *operation, err error) {
	if err != nil {
		ctx := o.logCtx()
		ctx["err"] = err.Error()
		s.logEvent("debug", "Failure for operation", ctx)
		s.end(o, events.OpFailure, err.Error())
	} else {
		s.logEvent("debug", "Success for operation", o.logCtx())
		s.end(o, events.OpSuccess, "")
	}
}

// end moves an operation to a final status and lets its waiters go.
func (s *Server) end(o *operation, code int, errMsg string) {
	s.setStatus(o, code, errMsg)
	now := time.Now()
	o.mu.Lock()
	o.endedAt = now
	o.mu.Unlock()
	s.ops.end(o, now)
	close(o.done)
}

// setMetadata updates a running operation's metadata, as LXD's
// UpdateMetadata does: updated_at moves, and an operation event carries it.
func (s *Server) setMetadata(o *operation, meta map[string]any) {
	s.logEvent("debug", "Updated metadata for operation", o.logCtx())
	at := s.stamp()
	o.mu.Lock()
	o.op.Metadata, o.op.UpdatedAt = meta, at
	j, loc := scenarios.LXDOperationJSON(&o.op), o.op.Location
	o.mu.Unlock()
	s.emitFrom(loc, events.LXDTypeOperation, o.project, j, nil)
}

// setStatus moves an operation to a status and emits its operation event.
// As in LXD, a status change leaves updated_at alone; a final status takes
// may_cancel away.
func (s *Server) setStatus(o *operation, code int, errMsg string) {
	o.mu.Lock()
	// may_cancel stays as it was: LXD's mayCancel is true for a token
	// whatever its status (testdata/real-tokens-*.json).
	o.op.StatusCode, o.op.Status, o.op.Err = code, events.OpStatus[code], errMsg
	meta, loc := scenarios.LXDOperationJSON(&o.op), o.op.Location
	o.mu.Unlock()
	s.emitFrom(loc, events.LXDTypeOperation, o.project, meta, nil)
}

// deleteOperation answers DELETE /1.0/operations/ID as LXD's Cancel does:
// 400 "Only running operations can be cancelled" for one that has ended,
// 400 "This operation can't be cancelled" unless it may_cancel; otherwise
// the Cancelling then Cancelled events, the operation-cancelled lifecycle
// event, and 200 with {}.
func (s *Server) deleteOperation(c *call) (*reply, error) {
	id := c.r.PathValue("id")
	o := s.ops.get(id)
	if o == nil {
		// Played operations are the scenario's: the fake cannot end them.
		code := -1
		s.withWorld(func(w *world.World) {
			if op := w.Operation(id); op != nil {
				code = op.StatusCode
			}
		})
		switch code {
		case -1:
			return nil, notFound("Operation")
		case events.OpRunning:
			return nil, badRequest("This operation can't be cancelled")
		}
		return nil, badRequest("Only running operations can be cancelled")
	}
	if err := s.cancel(o, c.rq); err != nil {
		return nil, err
	}
	return emptyOK(), nil
}

// cancel cancels an operation as LXD's Cancel does, for rq: 400 unless it
// runs and may be cancelled; otherwise the Cancelling then Cancelled
// events and operation-cancelled.
func (s *Server) cancel(o *operation, rq *events.LXDLifecycleRequestor) error {
	o.step.Lock()
	defer o.step.Unlock()
	cur := o.snapshot()
	if cur.StatusCode != events.OpRunning {
		return badRequest("Only running operations can be cancelled")
	}
	if !cur.MayCancel {
		return badRequest("This operation can't be cancelled")
	}
	s.ops.mu.Lock()
	if o.timer != nil && o.timer.Stop() {
		s.wg.Done()
	}
	o.timer = nil
	s.ops.mu.Unlock()
	s.logEvent("debug", "Cancelling operation", o.logCtx())
	s.setStatus(o, events.OpCancelling, "")
	s.end(o, events.OpCancelled, "")
	s.logEvent("debug", "Cancelled operation", o.logCtx())
	s.lifecycle("operation-cancelled", map[string]string{"name": o.id()}, orDefaultProject(o.project), nil, rq)
	return nil
}

// runningToken returns the running trust-token operation whose secret is
// secret, or nil.
func (st *opStore) runningToken(secret string) *operation {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, o := range st.byID {
		op := o.snapshot()
		if op.Class == "token" && op.Description == "Executing operation" && op.StatusCode == events.OpRunning && op.Metadata["secret"] == secret {
			return o
		}
	}
	return nil
}

// getOperations answers GET /1.0/operations from the world: URLs (or
// objects with recursion) grouped by lower-case status, as LXD does; the
// project's operations and those of no project, or every project's with
// all-projects=true.
func (s *Server) getOperations(c *call) (*reply, error) {
	project, err := c.scope()
	if err != nil {
		return nil, err
	}
	urls := map[string][]string{}
	objs := map[string][]json.RawMessage{}
	s.withWorld(func(w *world.World) {
		for _, op := range w.Operations(project) {
			k := strings.ToLower(op.Status)
			urls[k] = append(urls[k], "/1.0/operations/"+op.ID)
			objs[k] = append(objs[k], slices.Clone(op.JSON))
		}
	})
	if c.level() > 0 {
		return ok(objs), nil
	}
	return ok(urls), nil
}

// getOperation answers GET /1.0/operations/ID: the server's own
// operation as it stands, while the server keeps it (5 s of its clock and
// at least 5 s of wall time after it ends), else a played one as its last
// event showed it, while the world remembers it.
func (s *Server) getOperation(c *call) (*reply, error) {
	id := c.r.PathValue("id")
	if o := s.ops.get(id); o != nil {
		return ok(o.snapshot()), nil
	}
	if j := s.playedOperation(id); j != nil {
		return ok(j), nil
	}
	return nil, notFound("Operation")
}

// playedOperation returns an operation as the world has it, or nil.
func (s *Server) playedOperation(id string) json.RawMessage {
	var out json.RawMessage
	s.withWorld(func(w *world.World) {
		if op := w.Operation(id); op != nil {
			out = slices.Clone(op.JSON)
		}
	})
	return out
}

// waitOperation answers GET /1.0/operations/ID/wait[?timeout=S]: the
// operation once it has ended, or as it stands when the timeout (seconds
// of wall time, as a client counts them) passes. A played operation is
// followed in the world.
func (s *Server) waitOperation(c *call) (*reply, error) {
	id := c.r.PathValue("id")
	o := s.ops.get(id)
	played := o == nil && s.playedOperation(id) != nil
	if o == nil && !played {
		return nil, notFound("Operation")
	}
	d, err := waitTimeout(c.r)
	if err != nil {
		return nil, err
	}
	var timeout <-chan time.Time
	if d >= 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	if played {
		return s.waitPlayed(c, id, timeout)
	}
	select {
	case <-o.done:
	case <-timeout:
	case <-c.r.Context().Done():
		return nil, c.r.Context().Err()
	case <-s.quit:
		return nil, errShuttingDown
	}
	op := o.snapshot()
	return s.waited(op, op.StatusCode, op.Err), nil
}

// waited is /wait's answer: the operation, except that Incus answers a
// failed one with 200 and an error envelope carrying its err (recorded in
// testdata/real-operations-incus.json).
func (s *Server) waited(op any, code int, errMsg string) *reply {
	if s.flavor == catalog.Incus && code == events.OpFailure {
		r := ok(nil)
		r.body = errorBody(http.StatusInternalServerError, errMsg)
		return r
	}
	return ok(op)
}

var errShuttingDown = &apiError{http.StatusServiceUnavailable, "server shutting down"}

// playedPoll is how often a wait on a played operation looks at the world.
const playedPoll = 10 * time.Millisecond

// waitPlayed waits for a played operation to end in the world, or for the
// timeout, and answers it as it stands (as last seen, if the world forgot
// it meanwhile).
func (s *Server) waitPlayed(c *call, id string, timeout <-chan time.Time) (*reply, error) {
	tick := time.NewTicker(playedPoll)
	defer tick.Stop()
	var last json.RawMessage
	for {
		final := false
		s.withWorld(func(w *world.World) {
			if op := w.Operation(id); op != nil {
				last, final = slices.Clone(op.JSON), events.OpFinal(op.StatusCode)
			} else {
				final = true // forgotten: it ended long enough ago
			}
		})
		if final {
			var st struct {
				StatusCode int    `json:"status_code"`
				Err        string `json:"err"`
			}
			json.Unmarshal(last, &st)
			return s.waited(last, st.StatusCode, st.Err), nil
		}
		select {
		case <-tick.C:
		case <-timeout:
			return ok(last), nil
		case <-c.r.Context().Done():
			return nil, c.r.Context().Err()
		case <-s.quit:
			return nil, errShuttingDown
		}
	}
}
