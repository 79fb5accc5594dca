package lxd

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/scenarios"
)

// Failures on demand: faults that make REST requests fail rather than touch
// the stream. An http-error answers the next requests matching a method and
// path with an error envelope; an operation-error fails the next operations
// of a description, after a while, with an err; a start-failure is an
// operation-error on one instance's starts, with the daemon's own message.

// failure is a request or operation fault still in force.
type failure struct {
	f   scenarios.Fault
	use scenarios.FaultUse // on wall time
}

// failures holds the failures in force, oldest first.
type failures struct {
	n  atomic.Int32 // len(l), read without the lock on every request
	mu sync.Mutex
	l  []*failure
}

// opFailure is what an operation-error makes of one operation.
type opFailure struct {
	err   string
	after time.Duration // 0: the operation's usual time
}

func (fs *failures) add(f *scenarios.Fault, now time.Time) {
	a := &failure{f: *f, use: scenarios.StartFault(f, now)}
	fs.mu.Lock()
	fs.l = append(fs.l, a)
	fs.n.Store(int32(len(fs.l)))
	fs.mu.Unlock()
}

func (fs *failures) reset() {
	fs.mu.Lock()
	fs.l = nil
	fs.n.Store(0)
	fs.mu.Unlock()
}

// take finds the oldest failure in force of one of kinds that match
// accepts, uses it up once and returns it; nil when none.
func (fs *failures) take(now time.Time, match func(f *scenarios.Fault) bool) *scenarios.Fault {
	if fs.n.Load() == 0 {
		return nil
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.l = slices.DeleteFunc(fs.l, func(a *failure) bool {
		return a.use.Over(now)
	})
	fs.n.Store(int32(len(fs.l)))
	for _, a := range fs.l {
		if match(&a.f) {
			if a.use.Use() {
				// Spent: gone at once, so that requests find nothing in
				// force without taking the lock (the fast path).
				fs.l = slices.DeleteFunc(fs.l, func(x *failure) bool { return x == a })
				fs.n.Store(int32(len(fs.l)))
			}
			f := a.f
			return &f
		}
	}
	return nil
}

// addFailure puts an http-error, operation-error or start-failure in
// force. A fault made in Go need not have come through the parser or the
// control API, so it is checked the same way, on a copy.
func (s *Server) addFailure(f *scenarios.Fault) error {
	cp := *f
	if field, err := cp.Normalize(); err != nil {
		return fmt.Errorf("deliver fault %s: %s: %w", f, field, err)
	}
	s.failures.add(&cp, time.Now())
	return nil
}

// requestFailure returns the error an http-error in force answers r with,
// or nil.
func (s *Server) requestFailure(r *http.Request) error {
	f := s.failures.take(time.Now(), func(f *scenarios.Fault) bool {
		return f.Kind == scenarios.FaultHTTPError && f.MatchesRequest(r.Method, r.URL.Path)
	})
	if f == nil {
		return nil
	}
	msg := f.Error
	if msg == "" {
		msg = http.StatusText(f.Status)
	}
	return &apiError{f.Status, msg}
}

// operationFailure returns how an operation starting now with this
// description and these resources is to fail, or nil.
func (s *Server) operationFailure(description string, resources map[string][]string) *opFailure {
	f := s.failures.take(time.Now(), func(f *scenarios.Fault) bool {
		if f.Kind != scenarios.FaultOperationError && f.Kind != scenarios.FaultStartFailure || f.Description != description {
			return false
		}
		return f.Instance == "" || slices.Contains(resources["instances"], instanceURL(orDefaultProject(f.Project), f.Instance))
	})
	if f == nil {
		return nil
	}
	msg := f.Error
	if msg == "" {
		msg = s.startFailureMessage(orDefaultProject(f.Project), f.Instance)
	}
	return &opFailure{err: msg, after: f.After}
}

// startFailureMessage is the err of a container start that fails, as the
// daemon words it when its forkstart helper exits with an error: LXD 5.0
// from Debian's package layout, Incus from its own.
func (s *Server) startFailureMessage(project, name string) string {
	if project != "default" {
		name = project + "_" + name
	}
	if s.flavor == catalog.Incus {
		return fmt.Sprintf("Failed to run: /usr/libexec/incus/incusd forkstart %s /var/lib/incus/containers /run/incus/%s/lxc.conf: exit status 1", name, name)
	}
	return fmt.Sprintf("Failed to run: /usr/bin/lxd forkstart %s /var/lib/lxd/containers /var/log/lxd/%s/lxc.conf: exit status 1", name, name)
}

func orDefaultProject(p string) string {
	if p == "" {
		return "default"
	}
	return p
}
