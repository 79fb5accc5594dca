package linode

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eventsim/eventsim/internal/netguard"
)

// The fast path.
//
// Profiles of GET /v4/account/events/{id} show most of the server's own time
// in net/http machinery the answer does not need: a Request with its header
// map, URL and context, a background read per request, and a copied and
// sorted response header map. So the server reads each connection itself and
// answers the plain requests that dominate load, GET
// /v4[beta]/account/events/{id} over HTTP/1.1 without a body, directly: the
// same checks (token, rate limit), the same handler and the same answer,
// written in one piece.
//
// The account's writes (writeRoutes: POST, PUT and DELETE on plain paths)
// are plain too when their body comes with a Content-Length and fits in
// fastMax with the headers: a REST lifecycle (create, boot, shut down,
// delete) then never pays for net/http's request and response machinery,
// which cost more CPU than the writes themselves.
//
// Anything else (another route or method, a query, a chunked body, HTTP/1.0, a
// header it does not fully understand, headers beyond fastMax bytes, or a
// fault in force) makes it hand the connection, with every byte it has not
// answered, to the net/http server, which then serves that connection to the
// end. net/http thus remains the reference for everything that is not plain,
// and the fast path only answers what it fully understands.

// fastMax is the most a connection's pending bytes may hold before the fast
// path gives the connection to net/http: a request whose headers do not fit
// is not a plain one.
const fastMax = 8 << 10

// idleDeadlineSlack is how stale the idle read deadline of a fast
// connection may become before it is set again: setting it costs a timer
// update, so it is moved at most once a second.
const idleDeadlineSlack = time.Second

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

type fastStatus uint8

const (
	fastMore    fastStatus = iota // the request is not complete yet
	fastOK                        // a plain request, fastReq filled in
	fastHandoff                   // not a plain request: give the connection to net/http
)

// parseFast reads the request at the start of b. With fastOK, n is its
// length. It never answers a request net/http would refuse or read
// differently: on any doubt it says fastHandoff.
func parseFast(b []byte) (r fastReq, n int, st fastStatus) {
	end := bytes.Index(b, crlfcrlf)
	if end < 0 {
		// A bare LF could end a request net/http accepts: not ours.
		if bareLF(b) || len(b) >= fastMax || malformedHead(b) {
			return r, 0, fastHandoff
		}
		return r, 0, fastMore
	}
	if end+4 > fastMax || bareLF(b[:end+4]) {
		return r, 0, fastHandoff
	}
	n = end + 4
	head := b[:end+2] // every line ends with CRLF

	line, rest := cutLine(head)
	var ok bool
	if r.id, r.instance, ok = parseRequestLine(line); !ok {
		if r.wr, r.path, ok = parseWriteLine(line); !ok {
			return r, 0, fastHandoff
		}
	}
	hosts, lengths, length := 0, 0, 0
	for len(rest) > 0 {
		line, rest = cutLine(rest)
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !tokenBytes(line[:colon]) {
			return r, 0, fastHandoff
		}
		name, value := line[:colon], trimOWS(line[colon+1:])
		if !fieldValue(value) {
			return r, 0, fastHandoff
		}
		switch {
		case bytes.EqualFold(name, hdrHost):
			if hosts++; !hostValue(value) {
				return r, 0, fastHandoff
			}
		case bytes.EqualFold(name, hdrAuthorization):
			if r.auth == nil {
				r.auth = value
			}
		case bytes.EqualFold(name, hdrContentLength):
			if lengths++; r.wr.h == nil && string(value) != "0" || lengths > 1 {
				return r, 0, fastHandoff
			}
			if length, ok = smallLength(value); !ok {
				return r, 0, fastHandoff
			}
		case bytes.EqualFold(name, hdrConnection):
			// Closing well (net/http lingers so that the client reads
			// the last answer) is left to net/http.
			if !bytes.EqualFold(value, []byte("keep-alive")) {
				return r, 0, fastHandoff
			}
		case bytes.EqualFold(name, hdrTransferEncoding), bytes.EqualFold(name, hdrExpect),
			bytes.EqualFold(name, hdrUpgrade), bytes.EqualFold(name, hdrTE), bytes.EqualFold(name, hdrTrailer):
			return r, 0, fastHandoff
		}
	}
	if hosts != 1 {
		return r, 0, fastHandoff
	}
	if length > 0 {
		if n+length > fastMax {
			return r, 0, fastHandoff
		}
		if len(b) < n+length {
			return r, 0, fastMore
		}
		r.body = b[n : n+length]
		n += length
	}
	return r, n, fastOK
}

// smallLength reads a Content-Length of at most fastMax: digits only.
func smallLength(v []byte) (int, bool) {
	if len(v) == 0 || len(v) > 5 {
		return 0, false
	}
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n <= fastMax
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

var (
	crlfcrlf            = []byte("\r\n\r\n")
	hdrHost             = []byte("Host")
	hdrAuthorization    = []byte("Authorization")
	hdrContentLength    = []byte("Content-Length")
	hdrConnection       = []byte("Connection")
	hdrTransferEncoding = []byte("Transfer-Encoding")
	hdrExpect           = []byte("Expect")
	hdrUpgrade          = []byte("Upgrade")
	hdrTE               = []byte("TE")
	hdrTrailer          = []byte("Trailer")
	bearerPrefix        = []byte("bearer ")
)

// malformedHead reports whether the complete lines of an unfinished head
// hold one net/http refuses with a 400 as soon as it has read it, without
// waiting for the rest: a request line not of the form "METHOD TARGET
// HTTP/...", or a header line without a valid name and value. Lines that
// are merely not plain wait for the whole head, as they then go to
// net/http, whose Shutdown would wait for them.
func malformedHead(b []byte) bool {
	i := bytes.LastIndex(b, []byte("\r\n"))
	if i < 0 {
		return false
	}
	line, rest := cutLine(b[:i+2])
	method, target, ok := bytes.Cut(line, []byte(" "))
	if !ok || !tokenBytes(method) {
		return true
	}
	if target, proto, ok := bytes.Cut(target, []byte(" ")); !ok || len(target) == 0 || !bytes.HasPrefix(proto, []byte("HTTP/")) {
		return true
	}
	for len(rest) > 0 {
		line, rest = cutLine(rest)
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !tokenBytes(line[:colon]) || !fieldValue(trimOWS(line[colon+1:])) {
			return true
		}
	}
	return false
}

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

func cutLine(b []byte) (line, rest []byte) {
	i := bytes.Index(b, []byte("\r\n"))
	return b[:i], b[i+2:]
}

// bareLF reports whether b holds a LF not preceded by CR.
func bareLF(b []byte) bool {
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return false
		}
		if i+j == 0 || b[i+j-1] != '\r' {
			return true
		}
		i += j + 1
	}
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// tokenBytes reports whether b is an RFC 9110 token (a valid field name).
func tokenBytes(b []byte) bool {
	for _, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), c) >= 0:
		default:
			return false
		}
	}
	return len(b) > 0
}

// fieldValue reports whether b is a field value with no control characters
// other than tab (so no CR or LF either).
func fieldValue(b []byte) bool {
	for _, c := range b {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// hostValue accepts the plain host[:port] forms clients send; net/http judges
// anything rarer.
func hostValue(b []byte) bool {
	for _, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '-', c == ':', c == '[', c == ']', c == '_':
		default:
			return false
		}
	}
	return true
}

// fastBearer returns the token of an Authorization value, as bearer does.
func fastBearer(v []byte) []byte {
	if len(v) < 7 || !bytes.EqualFold(v[:7], bearerPrefix) {
		return nil
	}
	return bytes.TrimSpace(v[7:])
}

// httpDate is the Date header's value, made once a second.
var httpDate atomic.Pointer[dateValue]

type dateValue struct {
	sec int64
	b   []byte
}

func appendDate(b []byte, now time.Time) []byte {
	d := httpDate.Load()
	if sec := now.Unix(); d == nil || d.sec != sec {
		d = &dateValue{sec: sec, b: now.UTC().AppendFormat(nil, http.TimeFormat)}
		httpDate.Store(d)
	}
	return append(b, d.b...)
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
	out = appendDate(out, time.Now())
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

// serveConn serves one accepted connection: plain requests on the fast
// path, pipelined ones answered together, until the client closes it, it
// idles out, the server closes, or a request that is not plain hands it to
// net/http.
func (s *Server) serveConn(nc net.Conn) {
	handed := false
	defer func() {
		// As net/http does for a handler: a bug costs the connection, not
		// the server.
		if v := recover(); v != nil {
			s.log.Error("linode fast path panic", "panic", v, "stack", string(debug.Stack()))
		}
		s.conns.done(nc, !handed)
	}()
	buf := make([]byte, fastMax)
	out := make([]byte, 0, 2048)
	start, end := 0, 0
	// As net/http does: readHeaderTimeout from the connection's start for
	// its first request and from the first bytes of each later one, and
	// the idle timeout between requests.
	deadline := time.Now().Add(readHeaderTimeout)
	headerDeadline := true // deadline bounds a request's headers, not idleness
	_ = nc.SetReadDeadline(deadline)
	answered := false // a request was answered since the deadline was set
	for {
		full := false // answers piled up: write them before answering more
		for start < end && !full {
			r, n, st := parseFast(buf[start:end])
			if st == fastOK && s.faults.n.Load() != 0 {
				st = fastHandoff // faults are applied by the net/http path alone
			}
			if st == fastMore {
				break
			}
			if st == fastHandoff {
				if len(out) > 0 {
					if _, err := nc.Write(out); err != nil {
						return
					}
				}
				handed = s.handoff(nc, buf[start:end], nil)
				return
			}
			out = s.serveFast(out, &r)
			answered = true
			start += n
			full = len(out) >= 64<<10
		}
		if len(out) > 0 {
			if _, err := nc.Write(out); err != nil {
				return
			}
			out = out[:0]
		}
		if s.conns.closing.Load() {
			return
		}
		if full {
			continue // more may be waiting in buf
		}
		if start == end {
			start, end = 0, 0
		} else if start > 0 {
			end = copy(buf, buf[start:end])
			start = 0
		}
		now := time.Now()
		switch {
		case end > 0 && (!headerDeadline || answered): // a request begun
			deadline, headerDeadline = now.Add(readHeaderTimeout), true
			_ = nc.SetReadDeadline(deadline)
		case end == 0 && headerDeadline && answered, // idle now
			end == 0 && !headerDeadline && deadline.Sub(now) < s.idle-idleDeadlineSlack:
			deadline, headerDeadline = now.Add(s.idle), false
			_ = nc.SetReadDeadline(deadline)
		}
		answered = false
		// Again: had Close come since the check above, the deadline just
		// set would have replaced the one it set to end the wait.
		if s.conns.closing.Load() {
			return
		}
		n, err := nc.Read(buf[end:])
		end += n
		if err != nil {
			// A request cut short by the client or by the header timeout:
			// net/http decides what it gets (a 400).
			if end > 0 && !s.conns.closing.Load() {
				handed = s.handoff(nc, buf[:end], err)
			}
			return
		}
	}
}

// handoff gives the connection, with the bytes read but not answered, to
// the net/http server; err, if not nil, is what reading the connection
// further gives. It reports whether net/http took it.
func (s *Server) handoff(nc net.Conn, pending []byte, err error) bool {
	_ = nc.SetReadDeadline(time.Time{}) // net/http sets its own
	s.handoffs.Add(1)
	hc := &handedConn{Conn: nc, pending: bytes.Clone(pending), err: err}
	select {
	case s.handed.ch <- hc:
		return true
	case <-s.handed.done:
		return false
	}
}

// handedConn is a connection given to net/http: it reads the bytes the fast
// path had read first, then err if the fast path's last read failed.
type handedConn struct {
	net.Conn
	pending []byte
	err     error
}

func (c *handedConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	if c.err != nil {
		return 0, c.err
	}
	return c.Conn.Read(p)
}

// CloseWrite lets net/http end the sending half before closing, as it does
// with a plain TCP connection.
func (c *handedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// SetLinger lets a drop-connection fault reset the connection.
func (c *handedConn) SetLinger(sec int) error {
	if lc, ok := c.Conn.(interface{ SetLinger(int) error }); ok {
		return lc.SetLinger(sec)
	}
	return nil
}

// handoffListener is the listener the net/http server serves: it yields the
// connections the fast path hands over.
type handoffListener struct {
	addr net.Addr
	ch   chan net.Conn
	once sync.Once
	done chan struct{}
}

func newHandoffListener(addr net.Addr) *handoffListener {
	return &handoffListener{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return l.addr }

// connSet tracks the connections on the fast path, so that Close can end
// them.
type connSet struct {
	closing atomic.Bool
	wg      sync.WaitGroup
	mu      sync.Mutex
	m       map[net.Conn]struct{}
}

// add registers a new connection; false when the server is closing.
func (cs *connSet) add(nc net.Conn) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closing.Load() {
		return false
	}
	if cs.m == nil {
		cs.m = map[net.Conn]struct{}{}
	}
	cs.m[nc] = struct{}{}
	cs.wg.Add(1)
	return true
}

// done forgets a connection, closing it unless net/http has it now.
func (cs *connSet) done(nc net.Conn, closeIt bool) {
	if closeIt {
		_ = nc.Close()
	}
	cs.mu.Lock()
	delete(cs.m, nc)
	cs.mu.Unlock()
	cs.wg.Done()
}

// shutdown stops the fast path: connections waiting for a request stop
// waiting, those answering finish their answers; it returns when all are
// done or, after timeout, once it has closed those left.
func (cs *connSet) shutdown(timeout time.Duration) {
	cs.mu.Lock()
	cs.closing.Store(true)
	for nc := range cs.m {
		_ = nc.SetReadDeadline(aLongTimeAgo)
	}
	cs.mu.Unlock()
	done := make(chan struct{})
	go func() { cs.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
		cs.mu.Lock()
		for nc := range cs.m {
			_ = nc.Close()
		}
		cs.mu.Unlock()
		<-done
	}
}

var aLongTimeAgo = time.Unix(1, 0)

// acceptLoop accepts connections for the fast path until the listener
// closes.
func (s *Server) acceptLoop() {
	var backoff time.Duration
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || s.conns.closing.Load() {
				return
			}
			// Out of file descriptors and the like: wait and retry, as
			// net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Error("linode accept", "err", err, "retry_in", backoff)
			select {
			case <-time.After(backoff):
				continue
			case <-s.closing:
				return
			}
		}
		backoff = 0
		if !s.conns.add(nc) {
			_ = nc.Close()
			return
		}
		go s.serveConn(nc)
	}
}
