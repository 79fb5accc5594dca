package lxd

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/eventsim/eventsim/events"
	"github.com/eventsim/eventsim/scenarios"
	"github.com/eventsim/eventsim/world"
)

// maxOps is how many finished operations the server remembers for
// GET /1.0/operations/ID (LXD forgets each one 5 s after it ends; the fake
// keeps the most recent ones so that slow pollers still find theirs).
const maxOps = 1024

// operation is one background operation of an async request.
type operation struct {
	mu      sync.Mutex // guards op
	op      events.LXDOperation
	project string        // "" for operations without a project (project rename)
	done    chan struct{} // closed when the operation reaches a final state
}

func (o *operation) id() string { return o.op.ID }

// snapshot returns the operation as it stands.
func (o *operation) snapshot() events.LXDOperation {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.op
}

// logCtx is the context of the daemon's operation logs.
func (o *operation) logCtx() map[string]string {
	return map[string]string{"class": o.op.Class, "description": o.op.Description, "operation": o.op.ID, "project": o.project}
}

// opStore holds the operations the server has run.
type opStore struct {
	mu    sync.Mutex
	byID  map[string]*operation
	order []string // ids, oldest first
}

func (st *opStore) add(o *operation) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.byID == nil {
		st.byID = map[string]*operation{}
	}
	st.byID[o.id()] = o
	st.order = append(st.order, o.id())
	for len(st.order) > maxOps {
		old := st.byID[st.order[0]]
		if old != nil && !events.OpFinal(old.snapshot().StatusCode) {
			break // never forget a running operation
		}
		delete(st.byID, st.order[0])
		st.order = st.order[1:]
	}
}

func (st *opStore) get(id string) *operation {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.byID[id]
}

func (st *opStore) all() []*operation {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make([]*operation, 0, len(st.order))
	for _, id := range st.order {
		out = append(out, st.byID[id])
	}
	return out
}

// startOperation creates a task operation and starts it, emitting what LXD
// emits: "New operation", the Pending event, "Started operation", the
// Running event. The request's handler then answers 202 and runs it.
func (s *Server) startOperation(description, project string, resources map[string][]string) *operation {
	o := &operation{project: project, done: make(chan struct{})}
	at := s.stamp()
	o.op = events.LXDOperation{
		ID: newUUID(), Class: "task", Description: description, CreatedAt: at, UpdatedAt: at,
		Resources: resources, Location: s.location(),
	}
	s.ops.add(o)
	s.logEvent("debug", "New operation", o.logCtx())
	s.setStatus(o, events.OpPending, "")
	s.logEvent("debug", "Started operation", o.logCtx())
	s.setStatus(o, events.OpRunning, "")
	return o
}

// finish ends an operation: Success, or Failure with the error's message.
func (s *Server) finish(o *operation, err error) {
	if err != nil {
		ctx := o.logCtx()
		ctx["err"] = err.Error()
		s.logEvent("debug", "Failure for operation", ctx)
		s.setStatus(o, events.OpFailure, err.Error())
	} else {
		s.logEvent("debug", "Success for operation", o.logCtx())
		s.setStatus(o, events.OpSuccess, "")
	}
	close(o.done)
}

// setMetadata updates a running operation's metadata, as LXD's
// UpdateMetadata does: updated_at moves, and an operation event carries it.
func (s *Server) setMetadata(o *operation, meta map[string]any) {
	s.logEvent("debug", "Updated metadata for operation", o.logCtx())
	at := s.stamp()
	o.mu.Lock()
	o.op.Metadata, o.op.UpdatedAt = meta, at
	j := scenarios.LXDOperationJSON(&o.op)
	o.mu.Unlock()
	s.emit(events.LXDTypeOperation, o.project, j)
}

// setStatus moves an operation to a status and emits its operation event.
// As in LXD, a status change leaves updated_at alone.
func (s *Server) setStatus(o *operation, code int, errMsg string) {
	o.mu.Lock()
	o.op.StatusCode, o.op.Status, o.op.Err = code, events.OpStatus[code], errMsg
	meta := scenarios.LXDOperationJSON(&o.op)
	o.mu.Unlock()
	s.emit(events.LXDTypeOperation, o.project, meta)
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

// getOperation answers GET /1.0/operations/ID: the operation as its last
// event showed it, while the world remembers it (5 s of event time after
// it ends), then, for the server's own operations, as the server keeps it.
func (s *Server) getOperation(c *call) (*reply, error) {
	id := c.r.PathValue("id")
	var out json.RawMessage
	s.withWorld(func(w *world.World) {
		if op := w.Operation(id); op != nil {
			out = slices.Clone(op.JSON)
		}
	})
	if out != nil {
		return ok(out), nil
	}
	o := s.ops.get(id)
	if o == nil {
		return nil, notFound("Operation")
	}
	return ok(o.snapshot()), nil
}

// waitOperation answers GET /1.0/operations/ID/wait[?timeout=S]: the
// operation once it has ended, or as it stands when the timeout passes.
func (s *Server) waitOperation(c *call) (*reply, error) {
	o := s.ops.get(c.r.PathValue("id"))
	if o == nil {
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
	select {
	case <-o.done:
	case <-timeout:
	case <-c.r.Context().Done():
		return nil, c.r.Context().Err()
	case <-s.quit:
		return nil, &apiError{http.StatusServiceUnavailable, "server shutting down"}
	}
	return ok(o.snapshot()), nil
}
