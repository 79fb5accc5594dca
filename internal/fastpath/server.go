package fastpath

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eventsim/eventsim/internal/netguard"
)

// idleDeadlineSlack is how stale the idle read deadline of a fast
// connection may become before it is set again: setting it costs a timer
// update, so it is moved at most once a second.
const idleDeadlineSlack = time.Second

// AnswerFunc reads the request at the start of b, which came on nc (Parse
// does the reading). With OK it has appended the whole answer to out and n
// is the request's length; More asks for more bytes; Handoff gives the
// connection, from this request on, to net/http.
type AnswerFunc func(nc net.Conn, out, b []byte) (answer []byte, n int, st Status)

// Config is what a Server needs.
type Config struct {
	// Name starts the server's log messages ("linode", "lxd").
	Name string
	// Log receives accept errors and recovered panics.
	Log *slog.Logger
	// ReadHeaderTimeout and IdleTimeout are those of the net/http server
	// that takes the connections handed over: the fast path keeps them too.
	ReadHeaderTimeout, IdleTimeout time.Duration
	// Answer answers plain requests.
	Answer AnswerFunc
}

// Server reads connections: plain requests answered by Config.Answer,
// pipelined ones answered together, until the client closes the
// connection, it idles out, the server shuts down, or a request that is not
// plain hands it to net/http (served from Handed).
type Server struct {
	cfg      Config
	conns    connSet
	handed   *handoffListener
	handoffs atomic.Int64
	quit     chan struct{}
	quitOnce sync.Once
}

// New returns a Server whose handed-over connections come from a listener
// with address addr (Handed).
func New(addr net.Addr, cfg Config) *Server {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, handed: newHandoffListener(addr), quit: make(chan struct{})}
}

// Handed is the listener the net/http server is to serve: it yields the
// connections the fast path hands over. Closing it (as http.Server's Close
// and Shutdown do) makes later handoffs close their connections.
func (s *Server) Handed() net.Listener { return s.handed }

// Handoffs counts the connections handed to net/http.
func (s *Server) Handoffs() int64 { return s.handoffs.Load() }

// Accept serves the connections ln accepts until ln is closed or the
// server shuts down.
func (s *Server) Accept(ln net.Listener) {
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || s.conns.closing.Load() {
				return
			}
			// Out of file descriptors and the like: wait and retry, as
			// net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.cfg.Log.Error(s.cfg.Name+" accept", "err", err, "retry_in", backoff)
			select {
			case <-time.After(backoff):
				continue
			case <-s.quit:
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

// Shutdown stops the fast path: connections waiting for a request stop
// waiting, those answering finish their answers; it returns when all are
// done or, after timeout, once it has closed those left. The listeners
// given to Accept are the caller's to close.
func (s *Server) Shutdown(timeout time.Duration) {
	s.quitOnce.Do(func() { close(s.quit) })
	s.conns.shutdown(timeout)
}

// serveConn serves one accepted connection.
func (s *Server) serveConn(nc net.Conn) {
	handed := false
	defer func() {
		// As net/http does for a handler: a bug costs the connection, not
		// the server.
		if v := recover(); v != nil {
			s.cfg.Log.Error(s.cfg.Name+" fast path panic", "panic", v, "stack", string(debug.Stack()))
		}
		s.conns.done(nc, !handed)
	}()
	buf := make([]byte, Max)
	out := make([]byte, 0, 2048)
	start, end := 0, 0
	// As net/http does: ReadHeaderTimeout from the connection's start for
	// its first request and from the first bytes of each later one, and
	// the idle timeout between requests.
	deadline := time.Now().Add(s.cfg.ReadHeaderTimeout)
	headerDeadline := true // deadline bounds a request's headers, not idleness
	_ = nc.SetReadDeadline(deadline)
	answered := false // a request was answered since the deadline was set
	for {
		full := false // answers piled up: write them before answering more
		for start < end && !full {
			var n int
			var st Status
			out, n, st = s.cfg.Answer(nc, out, buf[start:end])
			if st == More {
				break
			}
			if st == Handoff {
				if len(out) > 0 {
					if _, err := nc.Write(out); err != nil {
						return
					}
				}
				handed = s.handoff(nc, buf[start:end], nil)
				return
			}
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
			deadline, headerDeadline = now.Add(s.cfg.ReadHeaderTimeout), true
			_ = nc.SetReadDeadline(deadline)
		case end == 0 && headerDeadline && answered, // idle now
			end == 0 && !headerDeadline && deadline.Sub(now) < s.cfg.IdleTimeout-idleDeadlineSlack:
			deadline, headerDeadline = now.Add(s.cfg.IdleTimeout), false
			_ = nc.SetReadDeadline(deadline)
		}
		answered = false
		// Again: had Shutdown come since the check above, the deadline
		// just set would have replaced the one it set to end the wait.
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
	// From here the connection is net/http's, and so is ending it: a
	// Shutdown must no longer cut its reads, which it would do to a
	// WebSocket that net/http made of it (before that client got its close
	// frame) were the connection still in the set when Shutdown looks.
	s.conns.forget(nc)
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
func (c *handedConn) CloseWrite() error { return netguard.CloseWrite(c.Conn) }

// SetLinger lets a drop-connection fault reset the connection.
func (c *handedConn) SetLinger(sec int) error { return netguard.SetLinger(c.Conn, sec) }

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

// connSet tracks the connections on the fast path, so that Shutdown can end
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

// forget takes a connection out of the set, which Shutdown ends; done
// still counts it out.
func (cs *connSet) forget(nc net.Conn) {
	cs.mu.Lock()
	delete(cs.m, nc)
	cs.mu.Unlock()
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

// shutdown ends every connection: see Server.Shutdown.
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

// NetConn returns the connection below, for a look at its socket.
func (c *handedConn) NetConn() net.Conn { return c.Conn }
