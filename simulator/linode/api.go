package linode

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/eventsim/eventsim/events"
)

// Header values shared by every response; net/http never modifies them.
var (
	hvJSON       = []string{"application/json"}
	hvVary       = []string{"Authorization, X-Filter"}
	hvSpec       = []string{SpecVersion}
	hvReadOnly   = []string{"events:read_only"}
	hvReadWrite  = []string{"events:read_write"}
	hvUnknown    = []string{"unknown"}
	hvRetryAfter = map[int][]string{}
)

// call is one request as the handlers see it.
type call struct {
	r    *http.Request
	id   int64  // the event id in the path, when there is one
	path string // an account path ("/linode/instances/5"), for entity routes
	wr   writeRoute
	body []byte
	// in is the request body the fast path read, when r is nil.
	in []byte

	lim      *limiter // the token's, or the anonymous one
	scope    []string // X-OAuth-Scopes; nil until the token is known
	accepted []string // X-Accepted-OAuth-Scopes of the route
}

// handler answers a call with a JSON body appended to c.body, or an error.
type handler func(s *Server, c *call) ([]byte, error)

// route is what a path and method resolve to.
type route struct {
	h     handler
	write bool // needs events:read_write
}

// callPool recycles calls with their body buffers: a GET by id allocates
// nothing of its own.
var callPool = sync.Pool{New: func() any { return &call{body: make([]byte, 0, 4096)} }}

// maxPooledBody is the largest body buffer kept for reuse; larger ones (long
// pages) go to the GC.
const maxPooledBody = 1 << 20

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if s.opts.Control != nil && strings.HasPrefix(r.URL.Path, ControlPrefix) {
		s.opts.Control.ServeHTTP(w, r)
		return
	}
	s.requests.Add(1)
	if s.log.Enabled(r.Context(), slog.LevelDebug) {
		s.log.Debug("linode request", "method", r.Method, "path", r.URL.Path, "query", r.URL.RawQuery, "remote", r.RemoteAddr)
	}
	h := w.Header()
	h["Content-Type"] = hvJSON
	h["Vary"] = hvVary
	h["X-Spec-Version"] = hvSpec

	if plan, hit := s.faults.take(s.clock, r); hit {
		s.faulted.Add(1)
		if plan.delay > 0 {
			t := time.NewTimer(plan.delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
			case <-s.closing:
			}
			t.Stop()
		}
		if plan.drop {
			s.drop(w)
			return
		}
		if plan.err != nil {
			s.finish(w, &call{r: r, lim: s.anon}, nil, plan.err)
			return
		}
	}

	c := callPool.Get().(*call)
	c.r, c.lim = r, s.anon
	body, err := s.dispatch(c)
	s.finish(w, c, body, err)
	if cap(body) > cap(c.body) && cap(body) <= maxPooledBody {
		c.body = body // keep the grown buffer
	}
	*c = call{body: c.body[:0]}
	callPool.Put(c)
}

// dispatch checks the request and runs its handler.
func (s *Server) dispatch(c *call) ([]byte, error) {
	r := c.r
	if headerSize(r) > headerLimit {
		return nil, &apiError{kind: errHeaderTooLarge, reason: "Request headers too large"}
	}
	rt, err := s.route(c)
	if err != nil {
		return nil, err
	}
	tok, ok := bearer(r)
	ti, known := s.tokens[tok]
	if err := s.admit(c, ok && known, ti, rt.write); err != nil {
		return nil, err
	}
	return rt.h(s, c)
}

// admit runs the checks between routing and the handler: the token (known
// says whether the request bore a valid one, ti is its entry), the rate
// limit and the scope a route that writes needs.
func (s *Server) admit(c *call, known bool, ti token, write bool) error {
	if !known {
		s.anon.take(time.Now())
		return &apiError{kind: errUnauthorized, reason: "Invalid Token"}
	}
	c.lim, c.scope = ti.lim, hvReadOnly
	if ti.rw {
		c.scope = hvReadWrite
	}
	if allowed, _, reset := c.lim.take(time.Now()); !allowed {
		return &apiError{kind: errRateLimited, reason: "Too Many Requests", retryAfter: secondsUntil(reset)}
	}
	if write && !ti.rw {
		return &apiError{kind: errForbidden, reason: "Unauthorized"}
	}
	return nil
}

// route resolves /v4[beta]/account/events[/{id}[/seen|/read]], and every
// other path to the account's entities (entities.go).
func (s *Server) route(c *call) (route, error) {
	r := c.r
	p := r.URL.Path
	c.accepted = hvReadOnly
	rest, ok := strings.CutPrefix(p, "/v4/")
	if !ok {
		rest, ok = strings.CutPrefix(p, "/v4beta/")
	}
	if !ok {
		return route{}, notFoundRoute(r)
	}
	rest = strings.TrimSuffix(rest, "/")
	evRest, isEvents := strings.CutPrefix(rest, "account/events")
	if !isEvents || evRest != "" && evRest[0] != '/' {
		return s.entityRoute(c, "/"+rest)
	}
	rest = evRest
	want := http.MethodGet
	var rt route
	if rest == "" {
		rt = route{h: (*Server).listEvents}
	} else {
		idText, verb, hasVerb := strings.Cut(rest[1:], "/")
		switch {
		case !hasVerb:
			rt = route{h: (*Server).getEvent}
		case verb == "seen":
			rt, want = route{h: (*Server).markSeen, write: true}, http.MethodPost
			c.accepted = hvReadWrite
		case verb == "read":
			rt, want = route{h: (*Server).markRead, write: true}, http.MethodPost
			c.accepted = hvReadWrite
		default:
			return route{}, notFoundRoute(r)
		}
		if r.Method == want {
			id, err := strconv.ParseInt(idText, 10, 64)
			if err != nil {
				return route{}, &apiError{kind: errBadRequest, field: "eventId", reason: "eventId must be an integer from 1 to 9223372036854775807"}
			}
			c.id = id
		}
	}
	if r.Method != want {
		return route{}, methodNotAllowed(r, want)
	}
	return rt, nil
}

func methodNotAllowed(r *http.Request, allow string) error {
	return &apiError{kind: errMethodNotAllowed, allow: allow,
		reason: "Method Not Allowed: " + r.Method + " " + r.URL.Path + " (allowed: " + allow + ")"}
}

func notFoundRoute(r *http.Request) error {
	return &apiError{kind: errNotFound, reason: "Not found: no route for " + r.Method + " " + r.URL.Path}
}

// autoLengthMax is the largest body net/http gives a Content-Length of its
// own (one Write of at most its 2048-byte pre-chunking buffer, then the
// handler returns). Setting the header only above it keeps the response's
// header map at 8 entries, small enough for Go's map to stay in one group,
// which makes net/http's per-response copy of it much cheaper.
const autoLengthMax = 2048

// finish is the one place answers are written: a body with 200, or the
// error envelope with the status the error maps to.
func (s *Server) finish(w http.ResponseWriter, c *call, body []byte, err error) {
	h := w.Header()
	c.lim.headers(h)
	// Each key is assigned once: Go's map grows out of its single group when
	// a full one is assigned to, even to overwrite a key.
	scope, accepted := hvUnknown, hvReadOnly
	if c.scope != nil {
		scope = c.scope
	}
	if c.accepted != nil {
		accepted = c.accepted
	}
	h["X-Oauth-Scopes"] = scope
	h["X-Accepted-Oauth-Scopes"] = accepted
	code, body, ae := s.answer(body, err)
	if ae != nil {
		if ae.retryAfter > 0 {
			h["Retry-After"] = retryAfterValue(ae.retryAfter)
		}
		if ae.allow != "" {
			h["Allow"] = []string{ae.allow}
		}
	}
	if len(body) > autoLengthMax {
		h["Content-Length"] = []string{strconv.Itoa(len(body))}
	}
	w.WriteHeader(code)
	s.statuses[code].Add(1)
	_, _ = w.Write(body)
}

// answer turns a handler's result into the status and body to send: body
// with 200, or the error envelope (written over body) with the status the
// error maps to. ae, when not nil, may ask for Retry-After and Allow.
func (s *Server) answer(body []byte, err error) (int, []byte, *apiError) {
	if err == nil {
		return http.StatusOK, body, nil
	}
	return s.errorAnswer(body, err)
}

// errorAnswer is answer for an error; apart, so that the success path does
// not pay for errors.As's escaping pointer.
func (s *Server) errorAnswer(body []byte, err error) (code int, out []byte, ae *apiError) {
	code = status(err)
	e := events.LinodeError{Reason: http.StatusText(code)}
	if errors.As(err, &ae) {
		e = events.LinodeError{Reason: ae.reason, Field: ae.field}
	} else {
		s.log.Error("linode request failed", "err", err)
	}
	if e.Reason == "" {
		e.Reason = "Unknown error"
	}
	out = append(body[:0], `{"errors":[{"reason":`...)
	out = appendString(out, e.Reason)
	if e.Field != "" {
		out = append(out, `,"field":`...)
		out = appendString(out, e.Field)
	}
	out = append(out, "}]}"...)
	if s.log.Enabled(context.Background(), slog.LevelDebug) { // the arguments would allocate
		s.log.Debug("linode error answer", "status", code, "reason", e.Reason)
	}
	return code, out, ae
}

var retryMu sync.Mutex

func retryAfterValue(n int) []string {
	retryMu.Lock()
	defer retryMu.Unlock()
	v, ok := hvRetryAfter[n]
	if !ok {
		v = []string{strconv.Itoa(n)}
		if len(hvRetryAfter) < 1000 {
			hvRetryAfter[n] = v
		}
	}
	return v
}

func secondsUntil(t time.Time) int {
	return max(1, int(math.Ceil(time.Until(t).Seconds())))
}

// drop cuts the connection without an answer.
func (s *Server) drop(w http.ResponseWriter) {
	s.dropped.Add(1)
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			if lc, ok := conn.(interface{ SetLinger(int) error }); ok {
				_ = lc.SetLinger(0) // reset, as a crashed proxy would
			}
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler) // HTTP/2 or a recorder: net/http aborts the stream quietly
}

// bearer returns the token of an "Authorization: Bearer TOKEN" header.
func bearer(r *http.Request) (string, bool) {
	vs := r.Header["Authorization"] // already canonical: no Get, no allocation
	if len(vs) == 0 {
		return "", false
	}
	v := vs[0]
	if len(v) < 7 || !strings.EqualFold(v[:7], "bearer ") {
		return "", false
	}
	t := strings.TrimSpace(v[7:])
	return t, t != ""
}

func headerSize(r *http.Request) int {
	n := 0
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

// cutoff is the oldest created a list shows, in Unix seconds.
func (s *Server) cutoff() int64 { return s.clock().Add(-Window).Unix() }

// Handlers.

func (s *Server) getEvent(c *call) ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, ok := s.st.find(c.id)
	if !ok {
		return nil, &apiError{kind: errNotFound, reason: "Not found"}
	}
	return s.st.appendJSON(c.body, &s.st.ents[i]), nil
}

func (s *Server) listEvents(c *call) ([]byte, error) {
	q := c.r.URL.Query()
	page, err := intParam(q.Get("page"), "page", 1, 1, math.MaxInt32, "page must be an integer from 1 to 2147483647")
	if err != nil {
		return nil, err
	}
	size, err := intParam(q.Get("page_size"), "page_size", 100, 25, 500, "page_size must be an integer from 25 to 500")
	if err != nil {
		return nil, err
	}
	f, err := parseFilter(c.r.Header.Get("X-Filter"))
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	res := s.st.list(f, s.cutoff(), page, size)
	b := append(c.body, `{"data":[`...)
	for i, p := range res.pos {
		if i > 0 {
			b = append(b, ',')
		}
		b = s.st.appendJSON(b, &s.st.ents[p])
	}
	pages := max(1, (res.results+size-1)/size)
	b = append(b, `],"page":`...)
	b = strconv.AppendInt(b, int64(page), 10)
	b = append(b, `,"pages":`...)
	b = strconv.AppendInt(b, int64(pages), 10)
	b = append(b, `,"results":`...)
	b = strconv.AppendInt(b, int64(res.results), 10)
	return append(b, '}'), nil
}

func (s *Server) markSeen(c *call) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.st.find(c.id); !ok {
		return nil, &apiError{kind: errNotFound, reason: "Not found"}
	}
	s.st.seenUpTo = max(s.st.seenUpTo, c.id)
	return append(c.body, "{}"...), nil
}

// markRead marks one event read: POST .../read, deprecated on 2025-05-20 and
// gone from current specs, still called by linodego v1's MarkEventRead.
func (s *Server) markRead(c *call) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.st.find(c.id)
	if !ok {
		return nil, &apiError{kind: errNotFound, reason: "Not found"}
	}
	s.st.ents[i].flags |= flagMarkedRead
	return append(c.body, "{}"...), nil
}

// intParam reads a query parameter that must be an integer in [lo, hi].
func intParam(v, name string, def, lo, hi int, reason string) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, &apiError{kind: errBadRequest, field: name, reason: reason}
	}
	return n, nil
}
