package linode

import (
	"container/heap"
	"slices"
	"sync"
	"time"

	"github.com/eventsim/eventsim/scenarios"
)

// The events REST writes make progress on the virtual clock: each later
// state waits in sched until Clock reaches its time. With Options.Speed 0
// they are all applied at once instead (emit).

// sched holds the states still to apply, earliest first.
type sched struct {
	mu    sync.Mutex
	items stateHeap
	seq   uint64
	kick  chan struct{}
}

type schedItem struct {
	st  scenarios.LinodeState
	seq uint64
}

type stateHeap []schedItem

func (h stateHeap) Len() int { return len(h) }
func (h stateHeap) Less(i, j int) bool {
	if !h[i].st.At.Equal(h[j].st.At) {
		return h[i].st.At.Before(h[j].st.At)
	}
	return h[i].seq < h[j].seq
}
func (h stateHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *stateHeap) Push(x any)   { *h = append(*h, x.(schedItem)) }
func (h *stateHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (q *sched) push(st scenarios.LinodeState) {
	q.mu.Lock()
	q.seq++
	heap.Push(&q.items, schedItem{st: st, seq: q.seq})
	q.mu.Unlock()
}

// wake tells the runner the earliest state may have changed.
func (q *sched) wake() {
	select {
	case q.kick <- struct{}{}:
	default:
	}
}

func (q *sched) reset() {
	q.mu.Lock()
	q.items = nil
	q.mu.Unlock()
}

// due pops the states whose time has come.
func (q *sched) due(now time.Time) (out []scenarios.LinodeState, next time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.items) > 0 && !q.items[0].st.At.After(now) {
		out = append(out, heap.Pop(&q.items).(schedItem).st)
	}
	if len(q.items) > 0 {
		next = q.items[0].st.At
	}
	return out, next
}

// maxSchedSleep bounds how long the runner sleeps, so that a clock that
// jumps (a scenario started again) is noticed.
const maxSchedSleep = 250 * time.Millisecond

// runSched applies scheduled states as the virtual clock reaches them,
// until the server closes.
func (s *Server) runSched() {
	speed := s.opts.Speed
	if speed <= 0 {
		speed = 1
	}
	t := time.NewTimer(maxSchedSleep)
	defer t.Stop()
	for {
		// The clock is read only while states wait: a caller's clock need
		// not expect calls from this goroutine otherwise.
		s.sched.mu.Lock()
		idle := len(s.sched.items) == 0
		s.sched.mu.Unlock()
		if idle {
			select {
			case <-s.closing:
				return
			case <-s.sched.kick:
				continue
			}
		}
		now := s.clock()
		states, next := s.sched.due(now)
		if len(states) > 0 {
			s.mu.Lock()
			for i := range states {
				if err := s.apply(&states[i].Event, s.takeChange(states[i].Event.ID)); err != nil {
					s.log.Error("linode: apply a scheduled event", "id", states[i].Event.ID, "err", err)
				}
			}
			s.mu.Unlock()
		}
		wait := maxSchedSleep
		if !next.IsZero() {
			wait = min(wait, max(time.Millisecond, time.Duration(float64(next.Sub(now))/speed)))
		}
		t.Reset(wait)
		select {
		case <-s.closing:
			return
		case <-s.sched.kick:
			if !t.Stop() {
				<-t.C
			}
		case <-t.C:
		}
	}
}

// slicesSortStates orders states by time, keeping the order of equal ones.
func slicesSortStates(l []scenarios.LinodeState) {
	slices.SortStableFunc(l, func(a, b scenarios.LinodeState) int { return a.At.Compare(b.At) })
}
