package lxd

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/events"
	"github.com/eventsim/eventsim/scenarios"
	"github.com/eventsim/eventsim/world"
)

// The events the server makes itself: those of the REST requests it answers
// and of its event listeners. They are encoded by the scenario engine's LXD
// encoders, so they have the bytes of played events, and go through the same
// pipeline as delivered records (order, filters, faults).

// connKind is the context key saying which listener a request came in on.
type connKind struct{}

// connContext marks requests that came in on the unix socket.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if c.LocalAddr().Network() == "unix" {
		return context.WithValue(ctx, connKind{}, "unix")
	}
	return ctx
}

// overUnix reports whether a request came in on the unix socket.
func overUnix(r *http.Request) bool { return r.Context().Value(connKind{}) == "unix" }

// requestorOf says who made a request, as LXD names callers: root over the
// unix socket; over TCP the client certificate's fingerprint (none on
// plain HTTP), protocol "tls" and the client's address.
func requestorOf(r *http.Request) *events.LXDLifecycleRequestor {
	if overUnix(r) {
		return &events.LXDLifecycleRequestor{Username: "root", Protocol: "unix", Address: "@"}
	}
	user := ""
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		sum := sha256.Sum256(r.TLS.PeerCertificates[0].Raw)
		user = hex.EncodeToString(sum[:])
	}
	return &events.LXDLifecycleRequestor{Username: user, Protocol: "tls", Address: r.RemoteAddr}
}

// location is what the server's own events say in location: "none" for a
// standalone server, the first member's name for a cluster.
func (s *Server) location() string {
	if len(s.opts.Members) > 0 {
		return s.opts.Members[0]
	}
	return "none"
}

// clock returns the server's time: Options.Clock, or the wall clock.
func (s *Server) clock() time.Time {
	if s.opts.Clock != nil {
		return s.opts.Clock().UTC()
	}
	return time.Now().UTC()
}

// stampLocked returns the time for the next event the server makes: its
// clock, but never before an event already on the stream, so timestamps
// follow stream order (equal stamps are allowed: played records may share a
// time, and a REST event between two of them must not run ahead of the
// second). s.seqMu must be held.
func (s *Server) stampLocked() time.Time {
	at := s.clock()
	if at.Before(s.lastAt) {
		at = s.lastAt
	}
	s.lastAt = at
	return at
}

// stamp is stampLocked for callers not holding s.seqMu.
func (s *Server) stamp() time.Time {
	s.seqMu.Lock()
	defer s.seqMu.Unlock()
	return s.stampLocked()
}

// emit puts an event the server made on the stream, stamped now.
func (s *Server) emit(typ, project string, meta []byte) {
	s.emitFrom(s.location(), typ, project, meta, nil)
}

// emitWith is emit for an event that carries what its request said of the
// object beyond the event (see world.Detail), for the world to keep.
func (s *Server) emitWith(typ, project string, meta []byte, d *world.Detail) {
	s.emitFrom(s.location(), typ, project, meta, d)
}

// emitFrom is emitWith for an event from the cluster member named by
// location (a request forwarded to the member it acts on). It reports
// whether the event went on the stream (and into the world).
func (s *Server) emitFrom(location, typ, project string, meta []byte, d *world.Detail) bool {
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return false
	}
	s.seqMu.Lock()
	defer s.seqMu.Unlock()
	if len(s.pipe.held) >= s.heldLimit {
		// A long pause holds as much as it may; the player waits for
		// room, a request cannot.
		s.stats.dropped.Add(1)
		s.log.Warn("event dropped: a pause holds too many", "type", typ, "held", len(s.pipe.held))
		return false
	}
	j := scenarios.LXDEventJSON(typ, s.stampLocked(), meta, location, project)
	s.fold(j, d)
	s.stats.emitted.Add(1)
	s.submit(newEvent(frameOf(j), typ, project))
	return true
}

// logging reports whether the server makes its own logging events now:
// with Options.Logging, while a connected client takes logging events.
// Without such a client no one could see them, so they are not made at all
// (they change nothing in the world): a read such as GET
// /1.0/instances/NAME then costs no event.
func (s *Server) logging() bool {
	return s.opts.Logging && s.nlogging.Load() > 0
}

// logEvent emits a logging event when logging() holds.
func (s *Server) logEvent(level, msg string, ctx map[string]string) {
	if !s.logging() {
		return
	}
	s.emit(events.LXDTypeLogging, "", scenarios.LXDLoggingJSON(msg, level, ctx))
}

// catalog returns the server's flavour's action catalogue.
func (s *Server) catalog() *catalog.LXDCatalog { return catalog.MustLXD(s.flavor) }

// lifecycle emits a lifecycle event of the flavour's catalogue.
func (s *Server) lifecycle(action string, names map[string]string, project string, ctx map[string]any, rq *events.LXDLifecycleRequestor) {
	s.lifecycleWith(action, names, project, ctx, rq, nil)
}

// lifecycleWith is lifecycle with what the request said of the object (see
// world.Detail).
func (s *Server) lifecycleWith(action string, names map[string]string, project string, ctx map[string]any, rq *events.LXDLifecycleRequestor, d *world.Detail) {
	s.lifecycleFrom(s.location(), action, names, project, ctx, rq, d)
}

// lifecycleFrom is lifecycleWith for an event from the cluster member
// named by location (a request forwarded to the member it acts on).
func (s *Server) lifecycleFrom(location, action string, names map[string]string, project string, ctx map[string]any, rq *events.LXDLifecycleRequestor, d *world.Detail) {
	a := s.catalog().Action(action)
	if a == nil {
		return // the flavour has no such action
	}
	// Where the daemon says it acts: always for the context keys that say
	// so (Incus's instance-created), when clustered for the others.
	for _, k := range a.Context {
		if k == "location" {
			ctx = withDefault(ctx, k, location)
		}
	}
	if len(s.opts.Members) > 0 {
		for _, k := range a.ClusterContext {
			ctx = withDefault(ctx, k, location)
		}
	}
	lc := events.LXDLifecycle{Action: action, Source: a.SourcePath(names, project)}
	if len(ctx) > 0 {
		lc.Context = ctx
	}
	if a.Requestor {
		lc.Requestor = rq
	}
	if a.NameProject {
		lc.Name, lc.Project = names["name"], project
		if lc.Project == "" {
			lc.Project = "default"
		}
	}
	evProject := project
	switch {
	case a.Resource == "project":
		evProject = names["name"] // project events belong to the project itself
	case !a.ProjectScoped || evProject == "":
		evProject = "default"
	}
	if s.emitFrom(location, events.LXDTypeLifecycle, evProject, scenarios.LXDLifecycleJSON(&lc), d) && s.opts.Observe != nil {
		s.opts.Observe(scenarios.Observed{Action: action, Source: lc.Source, Project: evProject, Location: location, Context: ctx})
	}
}

// startAction starts the operation that runs an action of the flavour's
// catalogue (or an operation whose action the flavour lacks, such as LXD
// 5.0.2's cluster evacuation) on the object names describe (its names before the request, a
// rename's old name): its description (LXDAction.Operation) and resources
// (LXDCatalog.OperationResources) are the catalogue's, which the scenario
// engine plays too. Project operations belong to no project, as in LXD.
func (s *Server) startAction(action, project string, names map[string]string) *operation {
	cat := s.catalog()
	opProject, desc := project, catalog.LXDOperation(action)
	if a := cat.Action(action); a != nil && a.Resource == "project" {
		opProject = ""
	}
	return s.startOperation(desc, opProject, cat.OperationResources(action, names, project))
}

// withDefault sets ctx[k] to v unless it is set, making ctx when nil.
func withDefault(ctx map[string]any, k string, v any) map[string]any {
	if _, ok := ctx[k]; ok {
		return ctx
	}
	if ctx == nil {
		ctx = map[string]any{}
	}
	ctx[k] = v
	return ctx
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
