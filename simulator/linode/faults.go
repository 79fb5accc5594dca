package linode

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eventsim/eventsim/scenarios"
)

// activeFault is a fault still affecting requests.
type activeFault struct {
	f   *scenarios.Fault
	use scenarios.FaultUse // on the virtual clock
}

// faultSet holds the faults in force, oldest first.
type faultSet struct {
	n  atomic.Int32 // len(list), read without the lock on every request
	mu sync.Mutex
	l  []*activeFault
}

// faultPlan is what the faults make of one request.
type faultPlan struct {
	delay time.Duration
	drop  bool
	err   error // an injected error answer
}

func (fs *faultSet) add(f *scenarios.Fault, now time.Time) error {
	switch f.Kind {
	case scenarios.FaultHTTPError, scenarios.FaultRateLimit, scenarios.FaultLatency, scenarios.FaultDropConn:
	default:
		return fmt.Errorf("fault %q does not apply to the linode server", f.Kind)
	}
	// A fault made in Go need not have come through the parser or the
	// control API: check it the same way, on a copy.
	cp := *f
	if field, err := cp.Normalize(); err != nil {
		return fmt.Errorf("fault %s: %s %w", f.Kind, field, err)
	}
	f = &cp
	a := &activeFault{f: f, use: scenarios.StartFault(f, now)}
	fs.mu.Lock()
	fs.l = append(fs.l, a)
	fs.n.Store(int32(len(fs.l)))
	fs.mu.Unlock()
	return nil
}

func (fs *faultSet) reset() {
	fs.mu.Lock()
	fs.l = nil
	fs.n.Store(0)
	fs.mu.Unlock()
}

// take decides what the faults in force do to one request and uses them up:
// a dropped connection wins; otherwise the oldest error fault answers (an
// http-error only requests matching its method and path); all latency
// faults add their delay (the largest applies).
func (fs *faultSet) take(clock func() time.Time, r *http.Request) (p faultPlan, hit bool) {
	if fs.n.Load() == 0 {
		return p, false
	}
	now := clock()
	fs.mu.Lock()
	defer fs.mu.Unlock()
	live := fs.l[:0]
	for _, a := range fs.l {
		if a.use.Over(now) {
			continue
		}
		live = append(live, a)
	}
	clear(fs.l[len(live):])
	fs.l = live
	use := func(a *activeFault) {
		hit = true
		a.use.Use()
	}
	for _, a := range fs.l {
		if a.f.Kind == scenarios.FaultDropConn {
			use(a)
			p.drop = true
			break
		}
	}
	if !p.drop {
		for _, a := range fs.l {
			switch a.f.Kind {
			case scenarios.FaultHTTPError:
				if !a.f.MatchesRequest(r.Method, r.URL.Path) {
					continue
				}
				use(a)
				st := a.f.Status
				if st == 0 {
					st = http.StatusInternalServerError
				}
				reason := a.f.Error
				if reason == "" {
					reason = http.StatusText(st)
				}
				p.err = &apiError{kind: errInjected, status: st, reason: reason}
			case scenarios.FaultRateLimit:
				use(a)
				ra := max(a.f.RetryAfter, 1)
				p.err = &apiError{kind: errRateLimited, reason: "Too Many Requests", retryAfter: ra}
			default:
				continue
			}
			break
		}
	}
	for _, a := range fs.l {
		if a.f.Kind == scenarios.FaultLatency {
			use(a)
			p.delay = max(p.delay, a.f.Delay)
		}
	}
	fs.n.Store(int32(len(fs.l)))
	return p, hit
}
