package lxd

import (
	"context"
	"fmt"
	"time"
)

// Pacing: how the server keeps a burst of events (a player catching up after
// a stall, the end of a pause or latency fault, a player at speed 0) from
// filling every client's queue at once, and which client it disconnects
// when one cannot keep up.
//
// On schedule, Deliver never waits and a client whose queue is full is
// evicted: it is slower than the scenario. A burst is different: every
// client, however healthy, is slower than a burst. So a burst goes out only
// while every client has room (its queue at most half full), and a client is
// evicted only when it is much slower than the others:
//
//   - laggard: its backlog (frames queued or being written) has been over
//     half its queue, and not back under a quarter, for laggardLimit while
//     another client kept up (a backlog at most a quarter of its queue);
//   - stuck: its queue has stayed over half full with nothing written for
//     stallLimit.
//
// Both limits count only the time someone was waiting for room, in steps of
// at most maxPaceStep, so a stall of the whole process (SIGSTOP, a GC pause,
// a suspended laptop) never counts against a client: after it, everyone is
// behind and no one is evicted.

const (
	// laggardLimit is how long a client may stay behind while another keeps
	// up before it is evicted.
	laggardLimit = 3 * time.Second
	// maxPaceStep is the most one look at the clients adds to the time they
	// are behind or stuck.
	maxPaceStep = 100 * time.Millisecond
	// pacePoll is how often a waiter looks at the clients again.
	pacePoll = time.Millisecond
	// heldPerQueue sizes the hold of the pause and latency faults: at most
	// heldPerQueue queues' worth of events (65,536 with the default queue).
	heldPerQueue = 64
)

// burstWaitMax is the longest a request waits for the event listeners
// (waitForListeners); aliveWithin is how recently a slow listener must have
// been seen reading (client.reading, or a flush) to hold requests alone
// (crowded).
const (
	burstWaitMax = time.Second
	aliveWithin  = 2 * time.Second
)

// waitForListeners holds a request that changes something, and so makes
// events, while event listeners are behind (crowded), until they have room
// again, at most Options.burstWait (burstWaitMax) or until ctx is done.
// REST requests at speed 0 come as fast as clients send them, faster than
// any listener reads: their events would fill the queues and evict
// listeners however healthy, as a burst must not (see above). A listener
// whose connection takes nothing holds no request for long: it is evicted
// when its queue is full, as on schedule.
func (s *Server) waitForListeners(ctx context.Context) {
	if s.roomy() || !s.crowded() {
		return
	}
	s.burstHeld.Add(1)
	ctx, cancel := context.WithTimeout(ctx, s.opts.burstWait)
	defer cancel()
	// While it waits, a listener much slower than the others is evicted as
	// a laggard, as while a player catches up: a slow listener paces the
	// requests for at most laggardLimit, not for as long as it stays slow.
	_ = s.pollUntil(ctx, "wait for listeners", func() bool { // on timeout the request goes on
		s.seqMu.Lock()
		s.assessLocked()
		s.seqMu.Unlock()
		return !s.crowded()
	})
}

// crowded reports whether event clients are behind, evicted ones aside:
// more than one in sixteen (and more than one) with a queue over half full,
// as in a burst, or any such client seen reading in the last aliveWithin
// (its peer read some of what is on the socket, or its writer flushed a
// batch), a slow client but a live one. A client over half full that has
// read nothing for that long does not count alone: it is evicted when its
// queue is full, and holds no one meanwhile.
func (s *Server) crowded() bool {
	half := int64(s.queueSize / 2)
	alive := time.Now().Add(-aliveWithin).UnixNano()
	over, n := 0, 0
	s.mu.RLock()
	defer s.mu.RUnlock()
	for c := range s.clients {
		if c.evicting.Load() {
			continue
		}
		n++
		if c.qlen.Load() > half {
			if c.reading() || c.lastRead.Load() >= alive {
				return true
			}
			over++
		}
	}
	return over > max(n/16, 1)
}

// pacing is the state of the look at the clients. s.seqMu guards it and the
// client fields it names.
type pacing struct {
	last time.Time // of the last look
}

// roomy reports, without locking, whether every client had room at the last
// broadcast or look: no queue over half full.
func (s *Server) roomy() bool {
	return s.fullest.Load() <= int64(s.queueSize/2)
}

// WaitForClients waits until every client has room for more events (a
// queue at most half full), evicting clients much slower than the others
// meanwhile (see above). A player that has fallen behind its schedule calls
// it before each event, so that it catches up no faster than the clients
// take events. It returns at once when every client has room, and with
// ctx's error when ctx is done.
func (s *Server) WaitForClients(ctx context.Context) error {
	if s.roomy() {
		return nil
	}
	return s.pollUntil(ctx, "wait for clients", func() bool {
		s.seqMu.Lock()
		s.assessLocked()
		s.seqMu.Unlock()
		return s.roomy()
	})
}

// waitHold waits until the hold of the pause and latency faults has room,
// so that a long pause holds a bounded number of events: the player waits
// (falls behind) instead of the hold growing.
func (s *Server) waitHold(ctx context.Context) error {
	return s.pollUntil(ctx, "deliver: wait for a pause to end", func() bool {
		s.seqMu.Lock()
		n := len(s.pipe.held)
		s.seqMu.Unlock()
		return n < s.heldLimit
	})
}

// pollUntil checks done every pacePoll until it holds, ctx is done (an
// error wrapping ctx's, prefixed with what) or the server closes.
func (s *Server) pollUntil(ctx context.Context, what string, done func() bool) error {
	var timer *time.Timer
	for !done() {
		if timer == nil {
			timer = time.NewTimer(pacePoll)
			defer timer.Stop()
		} else {
			timer.Reset(pacePoll)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, ctx.Err())
		case <-s.quit:
			return ErrClosed
		case <-timer.C:
		}
	}
	return nil
}

// assessLocked looks at every client: it measures how long each has been
// behind or stuck, evicts those past their limit, and sets s.fullest to the
// fullest queue of the clients that remain. s.seqMu must be held.
func (s *Server) assessLocked() {
	now := time.Now()
	step := min(max(now.Sub(s.pace.last), 0), maxPaceStep)
	s.pace.last = now
	half, quarter := uint64(s.queueSize/2), uint64(s.queueSize/4)
	var fullest int
	var behind, evict []*client
	keeping := false
	s.mu.RLock()
	for c := range s.clients {
		if c.evicting.Load() {
			continue
		}
		q := int(c.qlen.Load())
		written := c.written.Load()
		// Stuck: over half full and nothing written since the last look.
		if uint64(q) > half && written == c.lastWritten {
			c.stuckFor += step
		} else {
			c.stuckFor = 0
		}
		c.lastWritten = written
		switch backlog := c.queued - written; {
		case backlog > half:
			behind = append(behind, c)
		case backlog <= quarter:
			c.behindFor = 0
			keeping = true
		}
		if c.stuckFor >= s.opts.stallLimit {
			evict = append(evict, c)
			continue
		}
		fullest = max(fullest, q)
	}
	s.mu.RUnlock()
	if keeping {
		for _, c := range behind {
			c.behindFor += step
			if c.behindFor >= s.opts.laggardLimit && c.stuckFor < s.opts.stallLimit {
				evict = append(evict, c)
			}
		}
	}
	for _, c := range evict {
		if c.stuckFor >= s.opts.stallLimit {
			c.evict(fmt.Sprintf("no progress for %s with a queue over half full", s.opts.stallLimit))
		} else {
			c.evict(fmt.Sprintf("%d events behind for %s while other clients kept up", c.queued-c.lastWritten, s.opts.laggardLimit))
		}
	}
	if len(evict) > 0 {
		// The evicted no longer hold the others back.
		fullest = 0
		s.mu.RLock()
		for c := range s.clients {
			if !c.evicting.Load() {
				fullest = max(fullest, int(c.qlen.Load()))
			}
		}
		s.mu.RUnlock()
	}
	s.fullest.Store(int64(fullest))
}

// ResetFaults ends every fault in force (pause, latency, drop, duplicate,
// reorder, and the failures of requests and operations) and frees the
// events they hold, unsent. The simulator calls it
// when it starts a scenario, so that nothing of the old one leaks into the
// new.
func (s *Server) ResetFaults() {
	s.failures.reset()
	s.seqMu.Lock()
	clear(s.pipe.held)
	clear(s.pipe.reorderBuf)
	s.pipe = pipeline{}
	s.seqMu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// reading reports whether the client's peer has read some of what was
// written to it since the last look (or has read everything), and notes
// it in c.lastRead. A kernel wakes a writer blocked on a slow reader only
// once much of the socket's buffer is free (a unix socket: three quarters
// of it, seconds of a slow reader), so the writer's own progress says
// little; the bytes the peer has yet to read (unsentBytes) say more.
func (c *client) reading() bool {
	n, ok := unsentBytes(c.raw)
	if !ok {
		return false
	}
	last := c.unsent.Swap(int64(n))
	if n == 0 || int64(n) < last {
		c.lastRead.Store(time.Now().UnixNano())
		return true
	}
	return false
}
