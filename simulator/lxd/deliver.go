package lxd

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/gorilla/websocket"

	"github.com/eventsim/eventsim/events"
	"github.com/eventsim/eventsim/scenarios"
)

// malformedFrame is what a malformed fault sends: the start of an event, cut
// off, so that it is not JSON.
var malformedFrame = frameOf([]byte(`{"type":"lifecycle","timestamp":"2026-01-01T00:00:00Z","metadata":{"action":` + "\n"))

// event is one frame on its way to the clients.
type event struct {
	frame   []byte // the WebSocket frame of the event and its newline, shared by every client
	typ     string
	project string
	all     bool      // for every client, whatever its filters (faults)
	ctl     int       // 0 frame; > 0 close the connection with this code after the frames before it; ctlAbrupt
	alone   [1]*event // the event itself, as a batch of one without an allocation (newEvent)
}

// newEvent makes the event of a frame.
func newEvent(frame []byte, typ, project string) *event {
	ev := &event{frame: frame, typ: typ, project: project}
	ev.alone[0] = ev
	return ev
}

// held is an event waiting for its release time (pause, latency).
type held struct {
	at time.Time
	ev *event
}

// pipeline is the fault state events pass through on their way out.
// s.seqMu must be held.
type pipeline struct {
	drop       int // events still to drop
	dup        int // events still to send twice
	reorderN   int // events to collect and send reversed; 0 when off
	reorderBuf []*event

	pauseUntil   time.Time
	latency      time.Duration
	latencyCount int       // events still to delay; 0 when by time
	latencyUntil time.Time // end of a latency by time; zero when by count

	held []held // in release order; release times never decrease
}

// Deliver hands the server one LXD record of the timeline: an event to send
// to every client whose filters want it, or a fault to act on. The player
// calls it in timeline order at the wall time it chooses; the server keeps
// that order for every client. Deliver never waits for a client, unless
// Options.Backpressure is set (see there); a client whose queue is full is
// disconnected instead.
func (s *Server) Deliver(ctx context.Context, r *scenarios.Record) error {
	if r == nil {
		return errors.New("deliver: nil record")
	}
	if r.API != "lxd" {
		return fmt.Errorf("deliver %q record: %w", r.API, ErrNotLXD)
	}
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	if r.Fault != nil {
		return s.fault(r.Fault)
	}
	if len(r.JSON) == 0 {
		return errors.New("deliver: lxd record has no json")
	}
	s.stats.records.Add(1)
	s.followProjects(r)
	ev := newEvent(frameOf(r.JSON), r.Type, r.Project)
	s.seqMu.Lock()
	for len(s.pipe.held) >= s.heldLimit {
		s.seqMu.Unlock()
		if err := s.waitHold(ctx); err != nil {
			return err
		}
		s.seqMu.Lock()
	}
	if r.Time.After(s.lastAt) {
		s.lastAt = r.Time
	}
	s.fold(framePayload(ev.frame), nil) // the frame's copy: r.JSON is the caller's
	s.submit(ev)
	s.seqMu.Unlock()
	if s.opts.Backpressure {
		if err := s.WaitForClients(ctx); err != nil {
			return fmt.Errorf("deliver: %w", err)
		}
	}
	return nil
}

// followProjects keeps the projects in step with played project events,
// which belong to the project they name, as the REST API does for its own:
// a created project becomes a valid ?project= and is listed; a renamed one
// moves with its objects; a deleted one is forgotten with its objects. It
// reads the record's decoded action (Record.Action, OldName).
func (s *Server) followProjects(r *scenarios.Record) {
	if r.Type != events.LXDTypeLifecycle || r.Project == "" || r.Project == "default" {
		return
	}
	switch r.Action {
	case "project-created":
		s.AddProject(r.Project)
	case "project-renamed":
		if old := r.OldName; old != "" && old != "default" && old != r.Project && s.hasProject(old) {
			s.rest.mu.Lock()
			if !s.hasProject(r.Project) {
				s.renameProject(old, r.Project)
			} else {
				s.forgetProject(old)
			}
			s.rest.mu.Unlock()
		}
		s.AddProject(r.Project)
	case "project-deleted":
		s.rest.mu.Lock()
		s.forgetProject(r.Project)
		s.rest.mu.Unlock()
	}
}

// frameOf builds, once for every client, the WebSocket text frame of an
// encoded event: the event ending in a newline, as LXD's JSON encoder writes
// it. Server frames are not masked, so the same bytes go to every
// connection (RFC 6455 section 5.2).
func frameOf(j []byte) []byte {
	n := len(j)
	if j[n-1] != '\n' {
		n++
	}
	var f []byte
	switch {
	case n <= 125:
		f = make([]byte, 2, 2+n)
		f[1] = byte(n)
	case n <= 0xffff:
		f = make([]byte, 4, 4+n)
		f[1] = 126
		binary.BigEndian.PutUint16(f[2:], uint16(n))
	default:
		f = make([]byte, 10, 10+n)
		f[1] = 127
		binary.BigEndian.PutUint64(f[2:], uint64(n))
	}
	f[0] = 0x80 | websocket.TextMessage // FIN, text
	f = append(f, j...)
	if len(f) < cap(f) {
		f = append(f, '\n')
	}
	return f
}

// framePayload is the event a frame made by frameOf carries (with its
// newline).
func framePayload(f []byte) []byte {
	switch f[1] & 0x7f {
	case 126:
		return f[4:]
	case 127:
		return f[10:]
	}
	return f[2:]
}

// fault acts on a fault record. Faults that touch the stream (disconnect,
// malformed) take their place in it after the events delivered before them.
func (s *Server) fault(f *scenarios.Fault) error {
	if f.API != "" && f.API != "lxd" {
		return fmt.Errorf("deliver fault %s: %w", f, ErrNotLXD)
	}
	s.seqMu.Lock()
	defer s.seqMu.Unlock()
	p := &s.pipe
	now := time.Now()
	count := max(f.Count, 1)
	switch f.Kind {
	case scenarios.FaultDisconnect:
		code := f.Code
		if code == 0 {
			code = closeGoingAway
		}
		// 1006 and 1015 must never be sent: they mean the connection
		// ended without a close frame, which is what they get.
		if f.Abrupt || code == websocket.CloseAbnormalClosure || code == websocket.CloseTLSHandshake {
			code = ctlAbrupt
		}
		s.release(&event{all: true, ctl: code})
	case scenarios.FaultMalformed:
		s.release(&event{all: true, frame: malformedFrame})
	case scenarios.FaultPause:
		if f.For <= 0 {
			return fmt.Errorf("deliver fault %s: a pause needs a duration", f)
		}
		p.pauseUntil = later(p.pauseUntil, now.Add(f.For))
	case scenarios.FaultDuplicate:
		p.dup += count
	case scenarios.FaultDrop:
		p.drop += count
	case scenarios.FaultReorder:
		s.flushReorder()
		p.reorderN = max(count, 2)
	case scenarios.FaultLatency:
		if f.Delay <= 0 {
			return fmt.Errorf("deliver fault %s: latency needs a delay", f)
		}
		p.latency = f.Delay
		p.latencyCount = f.Count
		p.latencyUntil = time.Time{}
		if f.For > 0 {
			p.latencyUntil = now.Add(f.For)
		} else if f.Count <= 0 {
			return fmt.Errorf("deliver fault %s: latency needs a duration or a count", f)
		}
	case scenarios.FaultHTTPError, scenarios.FaultOperationError, scenarios.FaultStartFailure:
		if err := s.addFailure(f); err != nil {
			return err
		}
	default:
		return fmt.Errorf("deliver fault %s: unsupported by the lxd server, must be one of disconnect, pause, duplicate, drop, reorder, malformed, latency, http-error, operation-error, start-failure", f)
	}
	s.stats.faults.Add(1)
	s.log.Info("fault", "fault", f.String())
	return nil
}

// submit passes an event through drop, duplicate and reorder. s.seqMu must be held.
func (s *Server) submit(ev *event) {
	p := &s.pipe
	if p.drop > 0 {
		p.drop--
		s.stats.dropped.Add(1)
		return
	}
	n := 1
	if p.dup > 0 {
		p.dup--
		n = 2
	}
	for range n {
		if p.reorderN > 0 {
			p.reorderBuf = append(p.reorderBuf, ev)
			if len(p.reorderBuf) >= p.reorderN {
				s.flushReorder()
			}
			continue
		}
		s.release(ev)
	}
}

// flushReorder releases the events a reorder collected, last first, and ends
// the reorder. s.seqMu must be held.
func (s *Server) flushReorder() {
	p := &s.pipe
	buf := p.reorderBuf
	p.reorderBuf, p.reorderN = nil, 0
	for i := len(buf) - 1; i >= 0; i-- {
		s.release(buf[i])
	}
}

// release sends an event now, or holds it for a pause or a latency. Events
// are never released before one held earlier. s.seqMu must be held.
func (s *Server) release(ev *event) {
	p := &s.pipe
	now := time.Now()
	at := now
	if now.Before(p.pauseUntil) {
		at = p.pauseUntil
	}
	if p.latency > 0 {
		switch {
		case !p.latencyUntil.IsZero() && !now.Before(p.latencyUntil), p.latencyUntil.IsZero() && p.latencyCount <= 0:
			p.latency = 0 // over
		default:
			at = later(at, now.Add(p.latency))
			if p.latencyCount > 0 {
				p.latencyCount--
				if p.latencyCount == 0 {
					p.latency = 0
				}
			}
		}
	}
	if n := len(p.held); n > 0 {
		at = later(at, p.held[n-1].at)
	} else if !at.After(now) {
		s.send(ev, now)
		return
	}
	p.held = append(p.held, held{at, ev})
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// releaser sends held events when their time comes, and puts on the
// clients' queues the events send left waiting for the end of a window
// (see publishWindow).
func (s *Server) releaser() {
	defer s.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.seqMu.Lock()
		now := time.Now()
		p := &s.pipe
		// Held events go out no faster than the clients take them: the
		// end of a long pause is a burst (see pace.go).
		i := 0
		for ; i < len(p.held) && !p.held[i].at.After(now); i++ {
			if !s.roomy() {
				if s.assessLocked(); !s.roomy() {
					break
				}
			}
			s.send(p.held[i].ev, now)
			p.held[i] = held{}
		}
		p.held = p.held[i:]
		if len(p.held) == 0 {
			p.held = nil
		}
		next := time.Hour
		switch {
		case len(p.held) == 0:
		case !p.held[0].at.After(now):
			next = pacePoll // due, waiting for room
		default:
			next = p.held[0].at.Sub(now)
		}
		if len(s.out) > 0 {
			due := s.outSince.Add(s.outWait()).Sub(now)
			if due <= 0 {
				s.publish(now)
			} else {
				next = min(next, due)
			}
		}
		s.timerAt = now.Add(next)
		s.seqMu.Unlock()
		timer.Reset(next)
		select {
		case <-s.quit:
			return
		case <-s.wake:
		case <-timer.C:
		}
	}
}

// The fan-out's fixed costs are paid once per batch of events, not once per
// event: each client's writer wakes and writes one system call for the
// whole batch, and its reader wakes and reads once.
//
//   - Groups: the events of one REST request, or of one step of an
//     operation, go together at the group's end (see makeGroup), rather
//     than one by one as the request makes them.
//   - Windows: with many clients, an event released after a quiet spell of
//     a window goes at once (at the end of its group); those released in
//     the next window wait, at most a window after the first of them, and
//     go together, however many REST requests or records made them. The
//     window is publishPerClient for each client connected, at most
//     publishWindowMax: a batch costs each client a wakeup and a write on
//     the server's side (about 5 µs) and as much on the client's, so
//     windows that long keep those costs under about half a core however
//     many clients there are, and add at most the window to an event's
//     latency (2 ms from 100 clients up). Under publishWindowMin (fewer
//     than 10 clients) there is no window: every event goes at once, or at
//     the end of its group, as a writer that is behind batches anyway.
//
// An event that waits for a group goes at the latest groupWaitMax after it
// was released, so that a long request holds no one's events.
const (
	publishPerClient = 20 * time.Microsecond
	publishWindowMin = 200 * time.Microsecond
	publishWindowMax = 2 * time.Millisecond
	groupWaitMax     = time.Millisecond
)

// publishWindow is the window for the clients connected now, 0 for none.
func (s *Server) publishWindow() time.Duration {
	w := min(time.Duration(s.nclients.Load())*publishPerClient, publishWindowMax)
	if w < publishWindowMin {
		return 0
	}
	return w
}

// publishMax is how many events wait for the end of a window at most, a
// quarter of a queue: past it they go at once.
func (s *Server) publishMax() int { return max(s.queueSize/4, 1) }

// send puts an event released at now on its way to the clients: at once
// after a quiet spell (of a window) when no group is being made, or when
// publishMax wait; otherwise at the end of the groups or of the window (the
// releaser's timer). s.seqMu must be held.
func (s *Server) send(ev *event, now time.Time) {
	s.out = append(s.out, ev)
	switch {
	case len(s.out) >= s.publishMax():
		s.publish(now)
	case s.making.Load() == 0 && s.quiet(now):
		s.publish(now)
	case len(s.out) == 1:
		s.outSince = now
		// Unless the releaser's timer fires in time (a timer in the past
		// has fired and its run is to come), wake it to set it.
		if s.timerAt.IsZero() || s.timerAt.After(now.Add(s.outWait())) {
			select {
			case s.wake <- struct{}{}:
			default:
			}
		}
	}
}

// outWait is how long the first event waiting may wait: the window, or
// groupWaitMax when only groups hold it.
func (s *Server) outWait() time.Duration {
	if w := s.publishWindow(); w > 0 {
		return w
	}
	return groupWaitMax
}

// quiet reports whether no batch went to the queues in the last window.
// s.seqMu must be held.
func (s *Server) quiet(now time.Time) bool { return now.Sub(s.lastOut) >= s.publishWindow() }

// makeGroup notes that the server is making a group of events (the events
// of one REST request, or of one step of an operation) and returns what
// ends it. The group's events go at its end, with what waited meanwhile:
// without a window at the end of every group; with one at the end of the
// last group open, when the window since the last batch has passed (else
// the releaser sends them when it does).
func (s *Server) makeGroup() (end func()) {
	s.making.Add(1)
	return s.endGroup
}

func (s *Server) endGroup() {
	open := s.making.Add(-1)
	w := s.publishWindow()
	if open != 0 && w != 0 {
		return
	}
	s.seqMu.Lock()
	if now := time.Now(); len(s.out) > 0 && s.quiet(now) {
		s.publish(now)
	}
	s.seqMu.Unlock()
}

// publish puts the waiting events on the clients' queues. s.seqMu must be
// held.
func (s *Server) publish(now time.Time) {
	s.lastOut = now
	if len(s.out) == 0 {
		return
	}
	var batch []*event
	if len(s.out) == 1 && s.out[0].alone[0] != nil { // the usual case of a quiet stream: out stays ours
		batch = s.out[0].alone[:]
		s.out[0] = nil
		s.out = s.out[:0]
	} else {
		batch = s.out
		s.out = make([]*event, 0, min(2*len(batch), s.publishMax())) // batch is the clients' now
	}
	s.broadcast(batch)
}

// broadcast queues a batch of events for every client that wants some of
// them, without ever waiting: a client whose queue has no room for them is
// evicted. A client that wants every event of the batch shares it.
// s.seqMu must be held.
func (s *Server) broadcast(batch []*event) {
	var full []*client
	var fullCtl []int
	var sent uint64
	frames := 0
	for _, ev := range batch {
		if ev.frame != nil {
			frames++
		}
	}
	limit := int64(s.queueSize)
	fullest := int64(0)
	s.mu.RLock()
	for c := range s.clients {
		evs, n, nf := c.want(batch, frames)
		if n == 0 {
			continue
		}
		q := c.qlen.Load()
		if q+int64(n) > limit {
			full = append(full, c)
			fullCtl = append(fullCtl, firstCtl(evs))
			continue
		}
		c.qlen.Add(int64(n))
		select {
		case c.queue <- evs: // room: the channel holds queueSize batches, each of at least one event
		default:
			c.qlen.Add(-int64(n))
			full = append(full, c)
			fullCtl = append(fullCtl, firstCtl(evs))
			continue
		}
		sent += uint64(nf)
		c.queued += uint64(n)
		if q += int64(n); q > fullest && !c.evicting.Load() {
			fullest = q
		}
	}
	s.mu.RUnlock()
	if fullest > s.fullest.Load() {
		s.fullest.Store(fullest)
	}
	s.stats.sent.Add(sent)
	for i, c := range full {
		switch ctl := fullCtl[i]; {
		case ctl == ctlAbrupt:
			c.raw.Close()
		case ctl > 0:
			c.requestClose(ctl, "eventsim fault: disconnect")
		default:
			c.evict(fmt.Sprintf("queue full: %d events waiting", s.queueSize))
		}
	}
}

// firstCtl is the first order to close a connection among evs, or 0.
func firstCtl(evs []*event) int {
	for _, ev := range evs {
		if ev.ctl != 0 {
			return ev.ctl
		}
	}
	return 0
}
