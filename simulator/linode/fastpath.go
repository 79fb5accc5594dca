package linode

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/eventsim/eventsim/internal/fastpath"
	"github.com/eventsim/eventsim/internal/netguard"
)

// The fast path (package internal/fastpath reads the connections).
//
// The server answers the plain requests that dominate load, GET
// /v4[beta]/account/events/{id} and /linode/instances/{id} over HTTP/1.1
// without a body, directly: the same checks (token, rate limit), the same
// handler and the same answer, written in one piece.
//
// The account's writes (writeRoutes: POST, PUT and DELETE on plain paths)
// are plain too when their body comes with a Content-Length and fits in
// fastpath.Max with the headers: a REST lifecycle (create, boot, shut down,
// delete) then never pays for net/http's request and response machinery,
// which cost more CPU than the writes themselves.
//
// Anything else (another route or method, a query, a chunked body, HTTP/1.0,
// a header it does not fully understand, or a fault in force) hands the
// connection to the net/http server.

// Timeouts of both paths; variables only so that tests can shorten them
// (before New).
var (
	readHeaderTimeout = 30 * time.Second
	idleTimeout       = netguard.IdleTimeout // when Options.IdleTimeout is 0
)

// fastReq is one plain request, as parseFast reads it.
type fastReq struct {
	id       int64
	instance bool   // GET /v4[beta]/linode/instances/{id}, not an event
	auth     []byte // the first Authorization value, trimmed; nil when there is none

	// A write the account takes, when wr.h is set: its route, its account
	// path ("/linode/instances/5/boot") and its body.
	wr   writeRoute
	path string
	body []byte
}

// parseFast reads the request at the start of b (fastpath.Parse) and its
// request line: a GET by id or a write the account takes.
func parseFast(b []byte) (r fastReq, n int, st fastpath.Status) {
	req, n, st := fastpath.Parse(b, func(line []byte) (ok, body bool) {
		if r.id, r.instance, ok = parseRequestLine(line); ok {
			return true, false
		}
		r.wr, r.path, ok = parseWriteLine(line)
		return ok, true
	})
	if st != fastpath.OK {
		return fastReq{}, 0, st
	}
	r.auth, r.body = req.Auth, req.Body
	return r, n, st
}

// parseWriteLine accepts "METHOD /v4[beta]/PATH[/] HTTP/1.1" where METHOD
// and PATH are a write the account takes (writeRoutes, as entityRoute
// resolves them) and PATH holds only lower-case letters, digits, '-', '_'
// and single '/', so that net/http reads the same path. It returns the
// route and the account path.
func parseWriteLine(line []byte) (writeRoute, string, bool) {
	method, rest, ok := bytes.Cut(line, []byte(" /"))
	if !ok {
		return writeRoute{}, "", false
	}
	if rest, ok = bytes.CutSuffix(rest, []byte(" HTTP/1.1")); !ok {
		return writeRoute{}, "", false
	}
	if r, ok := bytes.CutPrefix(rest, []byte("v4/")); ok {
		rest = r
	} else if r, ok := bytes.CutPrefix(rest, []byte("v4beta/")); ok {
		rest = r
	} else {
		return writeRoute{}, "", false
	}
	rest, _ = bytes.CutSuffix(rest, []byte("/"))
	if len(rest) == 0 || rest[0] == '/' || rest[len(rest)-1] == '/' || bytes.Contains(rest, []byte("//")) ||
		bytes.HasPrefix(rest, []byte("account/events")) {
		return writeRoute{}, "", false
	}
	for _, c := range rest {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '/') {
			return writeRoute{}, "", false
		}
	}
	seg, _, _ := bytes.Cut(rest, []byte("/"))
	if _, ok := scopeOf[string(seg)]; !ok {
		return writeRoute{}, "", false
	}
	path := "/" + string(rest)
	for _, w := range writeRoutes {
		if w.method == string(method) && matchPattern(w.pattern, path) {
			return w, path, true
		}
	}
	return writeRoute{}, "", false
}

var bearerPrefix = []byte("bearer ")

// parseRequestLine accepts exactly "GET /v4[beta]/account/events/ID[/]
// HTTP/1.1" or the same with linode/instances (instance true), with ID at
// most 18 digits (so it cannot overflow).
func parseRequestLine(line []byte) (id int64, instance, ok bool) {
	rest, ok := bytes.CutPrefix(line, []byte("GET /"))
	if !ok {
		return 0, false, false
	}
	if rest, ok = bytes.CutSuffix(rest, []byte(" HTTP/1.1")); !ok {
		return 0, false, false
	}
	if r, ok := bytes.CutPrefix(rest, []byte("v4/")); ok {
		rest = r
	} else if r, ok := bytes.CutPrefix(rest, []byte("v4beta/")); ok {
		rest = r
	} else {
		return 0, false, false
	}
	if r, ok := bytes.CutPrefix(rest, []byte("account/events/")); ok {
		rest = r
	} else if r, ok := bytes.CutPrefix(rest, []byte("linode/instances/")); ok {
		rest, instance = r, true
	} else {
		return 0, false, false
	}
	rest, _ = bytes.CutSuffix(rest, []byte("/"))
	if len(rest) == 0 || len(rest) > 18 {
		return 0, false, false
	}
	for _, c := range rest {
		if c < '0' || c > '9' {
			return 0, false, false
		}
		id = id*10 + int64(c-'0')
	}
	return id, instance, true
}

// fastBearer returns the token of an Authorization value, as bearer does.
func fastBearer(v []byte) []byte {
	if len(v) < 7 || !bytes.EqualFold(v[:7], bearerPrefix) {
		return nil
	}
	return bytes.TrimSpace(v[7:])
}

// serveFast answers one plain request, appending the whole response to out.
func (s *Server) serveFast(out []byte, r *fastReq) []byte {
	s.requests.Add(1)
	if s.log.Enabled(context.Background(), slog.LevelDebug) { // the arguments would allocate
		if r.wr.h != nil {
			s.log.Debug("linode request", "method", r.wr.method, "path", "/v4"+r.path, "fast_path", true)
		} else {
			s.log.Debug("linode request", "method", "GET", "path", "/v4/account/events/"+strconv.FormatInt(r.id, 10), "fast_path", true)
		}
	}
	c := callPool.Get().(*call)
	c.lim, c.id, c.accepted = s.anon, r.id, hvReadOnly
	write := r.wr.h != nil
	switch {
	case write:
		seg, _, _ := strings.Cut(r.path[1:], "/")
		c.accepted, c.path, c.wr, c.in = scopeOf[seg][1], r.path, r.wr, r.body
	case r.instance:
		c.accepted = scopeOf["linode"][0]
	}
	var body []byte
	tok := fastBearer(r.auth)
	ti, known := s.tokens[string(tok)] // no allocation: the compiler looks up the bytes
	err := s.admit(c, known && len(tok) > 0, ti, write)
	switch {
	case err != nil:
	case write:
		body, err = s.write(c)
	case r.instance:
		body, err = s.getInstance(c)
	default:
		body, err = s.getEvent(c)
	}
	code, body, ae := s.answer(body, err)

	limit, remaining, reset := c.lim.values()
	scope := hvUnknown
	if c.scope != nil {
		scope = c.scope
	}
	out = append(out, "HTTP/1.1 "...)
	out = strconv.AppendInt(out, int64(code), 10)
	out = append(out, ' ')
	out = append(out, http.StatusText(code)...)
	out = append(out, "\r\nContent-Length: "...)
	out = strconv.AppendInt(out, int64(len(body)), 10)
	out = append(out, "\r\nContent-Type: application/json\r\nDate: "...)
	out = fastpath.AppendDate(out, time.Now())
	if ae != nil && ae.retryAfter > 0 {
		out = append(out, "\r\nRetry-After: "...)
		out = strconv.AppendInt(out, int64(ae.retryAfter), 10)
	}
	out = append(out, "\r\nVary: "...)
	out = append(out, hvVary[0]...)
	out = append(out, "\r\nX-Accepted-Oauth-Scopes: "...)
	out = append(out, c.accepted[0]...)
	out = append(out, "\r\nX-Oauth-Scopes: "...)
	out = append(out, scope[0]...)
	out = append(out, "\r\nX-Ratelimit-Limit: "...)
	out = append(out, limit[0]...)
	out = append(out, "\r\nX-Ratelimit-Remaining: "...)
	out = append(out, remaining[0]...)
	out = append(out, "\r\nX-Ratelimit-Reset: "...)
	out = append(out, reset[0]...)
	out = append(out, "\r\nX-Spec-Version: "...)
	out = append(out, hvSpec[0]...)
	out = append(out, "\r\n\r\n"...)
	out = append(out, body...)
	s.statuses[code].Add(1)

	if cap(body) > cap(c.body) && cap(body) <= maxPooledBody {
		c.body = body
	}
	*c = call{body: c.body[:0]}
	callPool.Put(c)
	return out
}

// answerFast is the fast path's fastpath.AnswerFunc: plain requests while
// no fault is in force (faults are applied by the net/http path alone).
func (s *Server) answerFast(_ net.Conn, out, b []byte) ([]byte, int, fastpath.Status) {
	r, n, st := parseFast(b)
	if st == fastpath.OK && s.faults.n.Load() != 0 {
		st = fastpath.Handoff
	}
	if st != fastpath.OK {
		return out, 0, st
	}
	return s.serveFast(out, &r), n, st
}
