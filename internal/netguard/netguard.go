// Package netguard bounds what clients can hold on a server's listeners: the
// number of connections open at once, and how long a request body may take
// to arrive. Both fake servers (LXD and Linode) use it on every listener, so
// that idle or slow clients of one listener can neither exhaust the
// process's file descriptors nor starve the clients of another.
package netguard

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults the servers use when their Options leave a value at zero.
const (
	// IdleTimeout closes a keep-alive connection that waits this long for
	// its next request.
	IdleTimeout = 2 * time.Minute
	// BodyTimeout is how long a request body may take to arrive, from the
	// moment its handler starts.
	BodyTimeout = 30 * time.Second
	// listenerShare: each listener may hold 1/listenerShare of the
	// process's open-file limit. A process has at most three listeners
	// (LXD TCP, LXD unix socket, Linode), so a quarter each leaves a
	// quarter for everything else: files, the other listeners' accepts.
	listenerShare = 4
	minMaxConns   = 16
)

// DefaultMaxConns is the connections each listener may hold at once when
// Options do not say: a quarter of the process's open-file limit
// (RLIMIT_NOFILE, which Go raises to the hard limit at start), at least 16.
func DefaultMaxConns() int {
	return max(openFileLimit()/listenerShare, minMaxConns)
}

// Listener caps how many of its connections are open at once. Past the cap
// a new connection is closed as soon as it is accepted: the client sees the
// connection end at once (and can retry) rather than wait in the kernel's
// backlog, and the descriptor is free again. Closing is the only answer that
// suits every protocol the listener may carry (HTTP, TLS, unix socket) and
// cannot itself block on a client that does not read.
type Listener struct {
	net.Listener
	max     int64
	name    string
	log     *slog.Logger
	active  atomic.Int64
	refused atomic.Int64
	logged  atomic.Int64 // unix second of the last refusal logged
}

// Limit wraps ln so that at most maxConns of its connections are open at
// once (maxConns <= 0 means DefaultMaxConns). name says which listener it is
// in the log, where refusals are reported at most once a second.
func Limit(ln net.Listener, maxConns int, name string, log *slog.Logger) *Listener {
	if maxConns <= 0 {
		maxConns = DefaultMaxConns()
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Listener{Listener: ln, max: int64(maxConns), name: name, log: log}
}

// Accept returns the next connection within the cap, closing those past it.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.active.Add(1) <= l.max {
			return &conn{Conn: c, l: l}, nil
		}
		// Counted before the close, so that anyone who sees the
		// connection end also sees it counted.
		l.active.Add(-1)
		n := l.refused.Add(1)
		_ = c.Close()
		if now := time.Now().Unix(); l.logged.Swap(now) != now {
			l.log.Warn("connection refused: listener at its connection cap", "listener", l.name, "max_conns", l.max, "refused", n)
		}
	}
}

// Active is how many connections are open now; Refused how many were closed
// at accept because the listener was at its cap.
func (l *Listener) Active() int64  { return l.active.Load() }
func (l *Listener) Refused() int64 { return l.refused.Load() }

// Max is the cap.
func (l *Listener) Max() int { return int(l.max) }

// conn gives its slot back when closed, once.
type conn struct {
	net.Conn
	l    *Listener
	once sync.Once
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.active.Add(-1) })
	return err
}

// CloseWrite lets net/http end the sending half before closing, as it does
// with a plain TCP or unix connection.
func (c *conn) CloseWrite() error { return CloseWrite(c.Conn) }

// SetLinger lets a server reset a TCP connection (a drop-connection fault).
func (c *conn) SetLinger(sec int) error { return SetLinger(c.Conn, sec) }

// CloseWrite ends the sending half of c when c can (a TCP or unix
// connection, or a wrapper of one that forwards it); otherwise it does
// nothing. Wrappers of connections forward their CloseWrite through it.
func CloseWrite(c net.Conn) error {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// SetLinger sets c's linger when c can (a TCP connection, or a wrapper of
// one that forwards it); otherwise it does nothing.
func SetLinger(c net.Conn, sec int) error {
	if lc, ok := c.(interface{ SetLinger(int) error }); ok {
		return lc.SetLinger(sec)
	}
	return nil
}

// BodyDeadline makes every request body arrive within d of its handler's
// start: reads past it fail with a timeout (so a chunked body that never
// ends is cut, and its connection closed after the answer). Requests
// without a body, WebSocket handshakes among them, get no deadline, so
// long-lived upgraded connections are never cut by it. Once the body has
// been read to its end the deadline is lifted, so that a handler that takes
// longer than d to answer (a wait, an injected latency) is not cancelled by
// net/http's watch for a client going away.
func BodyDeadline(h http.Handler, d time.Duration) http.Handler {
	if d <= 0 {
		d = BodyTimeout
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			rc := http.NewResponseController(w)
			if rc.SetReadDeadline(time.Now().Add(d)) == nil {
				r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
			}
		}
		h.ServeHTTP(w, r)
	})
}

// deadlineBody lifts the read deadline when the body ends.
type deadlineBody struct {
	io.ReadCloser
	rc     *http.ResponseController
	lifted bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.lifted {
		b.lifted = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// NetConn returns the connection the listener accepted, as tls.Conn's
// does: for a look at its socket (the LXD server reads how much a slow
// event client has yet to read).
func (c *conn) NetConn() net.Conn { return c.Conn }
