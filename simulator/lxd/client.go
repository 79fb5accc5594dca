package lxd

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/eventsim/eventsim/events"
)

// WebSocket close codes the server sends.
const (
	closeGoingAway      = websocket.CloseGoingAway       // 1001: Close, missed pongs
	closePolicyViolated = websocket.ClosePolicyViolation // 1008: queue full, stalled, data from client
)

// ctlAbrupt in an event closes the connection with no close frame.
const ctlAbrupt = -1

// maxBatch is how many queued frames a writer writes before flushing. A
// writer flushes whatever is queued in one system call, so the busier the
// stream, the bigger its batches.
const maxBatch = 512

// closeReq asks a client's writer to send a close frame and hang up.
type closeReq struct {
	code   int
	reason string
}

// client is one /1.0/events WebSocket. Its writer goroutine is the only one
// that writes to ws; its reader goroutine (the HTTP handler's) only reads, to
// see pongs, close frames and misbehaviour.
type client struct {
	s      *Server
	id     uint64
	remote string
	// listener, local and lremote name the listener in the daemon's
	// "Event listener server handler" logs.
	listener, local, lremote string
	ws                       *websocket.Conn
	bc                       *bufConn // the hijacked connection, write-buffered
	raw                      net.Conn // bc's connection, for cutting it off

	// Filters, fixed at connect.
	types       []string // nil means every type
	project     string
	allProjects bool

	queue      chan []*event // batches of events for this client (see broadcast)
	qlen       atomic.Int64  // events on queue: its length as QueueSize counts it
	closeOnce  sync.Once
	closeCh    chan closeReq // capacity 1, filled once
	pongCh     chan string   // pings from the client, to answer
	readerDone chan struct{}

	missed   atomic.Int32  // pings sent and not answered
	written  atomic.Uint64 // frames written (flushed) to the connection
	evicting atomic.Bool
	lastRead atomic.Int64 // when the peer was last seen reading (its writer flushed a batch, or its socket held less unread), in unix nanoseconds (crowded)
	unsent   atomic.Int64 // bytes the peer had yet to read at the last look (reading)

	// Pacing (pace.go), guarded by s.seqMu.
	queued      uint64        // frames ever put on the queue
	lastWritten uint64        // written at the last look
	stuckFor    time.Duration // over half full, nothing written
	behindFor   time.Duration // backlog over half the queue while others kept up
}

// wants reports whether the client's filters let an event through: its type
// must be asked for, and an event with a project goes only to listeners on
// that project or on all projects. Events without a project go to everyone.
func (c *client) wants(ev *event) bool {
	if c.types != nil && !slices.Contains(c.types, ev.typ) {
		return false
	}
	return ev.project == "" || c.allProjects || ev.project == c.project
}

// want returns the events of a batch the client wants, how many they are
// and how many of them are frames (the batch has frames frames): the batch
// itself when it wants them all.
func (c *client) want(batch []*event, frames int) (evs []*event, n, nf int) {
	i := 0
	for i < len(batch) && (batch[i].all || c.wants(batch[i])) {
		i++
	}
	if i == len(batch) {
		return batch, len(batch), frames
	}
	for _, ev := range batch[:i] {
		if ev.frame != nil {
			nf++
		}
	}
	for _, ev := range batch[i+1:] {
		if !ev.all && !c.wants(ev) {
			continue
		}
		if evs == nil {
			evs = append(make([]*event, 0, len(batch)-1), batch[:i]...)
		}
		evs = append(evs, ev)
		if ev.frame != nil {
			nf++
		}
	}
	if evs == nil {
		evs = batch[:i]
	}
	return evs, len(evs), nf
}

// requestClose asks the writer to close the connection with a close frame.
// Only the first request counts; it never blocks.
func (c *client) requestClose(code int, reason string) {
	c.closeOnce.Do(func() { c.closeCh <- closeReq{code, reason} })
}

// evict disconnects a client that fell behind; only the first call counts.
func (c *client) evict(reason string) {
	if !c.evicting.CompareAndSwap(false, true) {
		return
	}
	c.s.stats.evicted.Add(1)
	c.s.log.Warn("event client evicted", "client", c.id, "remote", c.remote, "reason", reason)
	c.requestClose(closePolicyViolated, reason)
}

// writeFailed notes a write that failed. One that timed out is a client
// that stopped reading: an eviction, logged with its reason, as operators
// look for; anything else is a connection gone.
func (c *client) writeFailed(err error) {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		c.evict(fmt.Sprintf("not reading: a write waited %s", c.s.opts.writeWait))
		return
	}
	c.s.log.Info("event client write failed", "client", c.id, "remote", c.remote, "err", err)
}

// readLoop reads until the connection ends. A normal client sends nothing but
// pongs and a final close frame; any data frame ends its connection.
func (c *client) readLoop() {
	defer close(c.readerDone)
	c.ws.SetReadLimit(4096)
	c.ws.SetPongHandler(func(string) error { c.missed.Store(0); return nil })
	c.ws.SetPingHandler(func(p string) error {
		select {
		case c.pongCh <- p:
		default: // a pong is already due; one answer is enough
		}
		return nil
	})
	c.ws.SetCloseHandler(func(code int, _ string) error {
		if code == websocket.CloseNoStatusReceived {
			code = websocket.CloseNormalClosure
		}
		c.requestClose(code, "")
		return nil
	})
	// NextReader handles control frames (pings, pongs, close) through the
	// handlers above and returns only for a data frame or an error.
	mt, _, err := c.ws.NextReader()
	if err != nil {
		return
	}
	c.s.log.Info("event client sent a data frame", "client", c.id, "remote", c.remote, "type", mt)
	c.requestClose(closePolicyViolated, "clients must not send data frames")
}

// writeLoop is the connection's only writer: queued frames in order, pings,
// pongs and the close frame. It hangs up when it returns.
func (c *client) writeLoop() {
	s := c.s
	defer func() {
		c.bc.Flush()
		c.raw.Close()
		s.unregister(c)
		s.wg.Done()
	}()
	ticker := time.NewTicker(s.opts.pingPeriod)
	defer ticker.Stop()
	for {
		select {
		case req := <-c.closeCh:
			c.writeClose(req)
			return
		default:
		}
		select {
		case req := <-c.closeCh:
			c.writeClose(req)
			return
		case <-c.readerDone:
			select {
			case req := <-c.closeCh:
				c.writeClose(req)
			default:
			}
			return
		case evs := <-c.queue:
			if !c.writeBatch(evs) {
				return
			}
		case p := <-c.pongCh:
			if c.ws.WriteControl(websocket.PongMessage, []byte(p), time.Now().Add(s.opts.writeWait)) != nil || c.bc.Flush() != nil {
				return
			}
		case <-ticker.C:
			if n := c.missed.Load(); n > maxMissedPongs {
				s.log.Info("event client missed pongs", "client", c.id, "remote", c.remote, "missed", n)
				c.writeClose(closeReq{closeGoingAway, "keepalive timeout"})
				return
			}
			c.missed.Add(1)
			if c.ws.WriteControl(websocket.PingMessage, []byte("keepalive"), time.Now().Add(s.opts.writeWait)) != nil || c.bc.Flush() != nil {
				return
			}
		}
	}
}

// writeBatch writes evs and whatever else is queued, until at least
// maxBatch frames, then flushes. It returns false when the connection is
// done.
func (c *client) writeBatch(evs []*event) bool {
	n := 0
	for {
		c.qlen.Add(-int64(len(evs)))
		for _, ev := range evs {
			if ev.ctl != 0 {
				if c.bc.Flush() != nil {
					return false
				}
				c.s.stats.written.Add(uint64(n))
				c.written.Add(uint64(n))
				if ev.ctl > 0 {
					c.writeClose(closeReq{ev.ctl, "eventsim fault: disconnect"})
				}
				return false
			}
			// The frame is ready-made (see frameOf); gorilla/websocket
			// writes only control frames, through the same buffer.
			if _, err := c.bc.Write(ev.frame); err != nil {
				c.writeFailed(err)
				return false
			}
			n++
		}
		if n >= maxBatch || len(c.queue) == 0 {
			break
		}
		evs = <-c.queue // only this goroutine receives, so this never blocks
	}
	if err := c.bc.Flush(); err != nil {
		c.writeFailed(err)
		return false
	}
	c.s.stats.written.Add(uint64(n))
	c.written.Add(uint64(n))
	c.lastRead.Store(time.Now().UnixNano())
	return true
}

// writeClose sends a close frame, best effort.
func (c *client) writeClose(req closeReq) {
	c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(req.code, req.reason), time.Now().Add(c.s.opts.writeWait))
	c.bc.Flush()
}

// bufConn buffers what gorilla/websocket writes, so that a writer can put a
// batch of frames on the wire in one system call. Every flush has the
// server's write deadline; the deadlines gorilla sets are superseded by it.
// The buffer comes from a pool and goes back after each flush, so idle
// clients hold none.
type bufConn struct {
	net.Conn
	wait time.Duration
	mu   sync.Mutex // guards buf; gorilla may write a control frame from the reader
	buf  *[]byte
}

const bufSize = 64 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, bufSize); return &b }}

func (b *bufConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf == nil {
		b.buf = bufPool.Get().(*[]byte)
	}
	if len(*b.buf)+len(p) > cap(*b.buf) {
		if err := b.flushLocked(); err != nil {
			return 0, err
		}
		if len(p) > cap(*b.buf) {
			b.Conn.SetWriteDeadline(time.Now().Add(b.wait))
			return b.Conn.Write(p)
		}
	}
	*b.buf = append(*b.buf, p...)
	return len(p), nil
}

// SetWriteDeadline is ignored: flushes set their own.
func (b *bufConn) SetWriteDeadline(time.Time) error { return nil }

func (b *bufConn) flushLocked() error {
	if b.buf == nil || len(*b.buf) == 0 {
		return nil
	}
	b.Conn.SetWriteDeadline(time.Now().Add(b.wait))
	_, err := b.Conn.Write(*b.buf)
	*b.buf = (*b.buf)[:0]
	if err != nil {
		return fmt.Errorf("write to client: %w", err)
	}
	return nil
}

// Flush writes what is buffered and gives the buffer back.
func (b *bufConn) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	err := b.flushLocked()
	if b.buf != nil {
		bufPool.Put(b.buf)
		b.buf = nil
	}
	return err
}

// hijacker hands gorilla/websocket a bufConn in place of the raw connection.
type hijacker struct {
	http.ResponseWriter
	wait time.Duration
	bc   *bufConn
}

func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.bc = &bufConn{Conn: conn, wait: h.wait}
	return h.bc, brw, nil
}

// isTrue reads a boolean query value as LXD does.
func isTrue(v string) bool {
	switch strings.ToLower(v) {
	case "true", "1", "yes", "on":
		return true
	}
	return false
}

// serveEvents answers GET /1.0/events. It checks the query as LXD does
// (conflicting project options, then the project, then the types), answers
// mistakes with LXD's error envelope before any upgrade, and otherwise
// serves the client until its connection ends.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	rq := requestorOf(r)
	s.logEvent("debug", "Handling API request", map[string]string{"ip": rq.Address, "method": r.Method, "protocol": rq.Protocol, "url": r.RequestURI, "username": rq.Username})
	q := r.URL.Query()
	project := q.Get("project")
	all := isTrue(q.Get("all-projects"))
	var types []string
	err := func() error {
		if all && project != "" {
			return errBothProjects
		}
		if !all {
			if project == "" {
				project = "default"
			}
			if !s.hasProject(project) {
				return errNoProject
			}
		}
		if t := q.Get("type"); t != "" {
			types = strings.Split(t, ",")
			for _, t := range types {
				if !slices.Contains(s.types, t) {
					return &apiError{http.StatusBadRequest, fmt.Sprintf("%q isn't a supported event type", t)}
				}
			}
			if !slices.ContainsFunc(s.types, func(t string) bool { return !slices.Contains(types, t) }) {
				types = nil // every type: skip the check per event
			}
		}
		if !websocket.IsWebSocketUpgrade(r) {
			return errNotWebSocket
		}
		return nil
	}()
	if err != nil {
		s.stats.rejected.Add(1)
		s.log.Info("event client rejected", "remote", r.RemoteAddr, "url", r.URL.String(), "err", err)
		writeError(w, err)
		return
	}
	if all {
		project = ""
	}

	up := websocket.Upgrader{
		HandshakeTimeout: s.opts.writeWait,
		CheckOrigin:      func(*http.Request) bool { return true },
		Error: func(w http.ResponseWriter, _ *http.Request, status int, reason error) {
			writeError(w, &apiError{status, reason.Error()})
		},
	}
	hj := &hijacker{ResponseWriter: w, wait: s.opts.writeWait}
	ws, err := up.Upgrade(hj, r, nil)
	if err != nil {
		s.stats.rejected.Add(1)
		s.log.Info("event client upgrade failed", "remote", r.RemoteAddr, "err", err)
		if hj.bc != nil {
			hj.bc.Flush()
			hj.bc.Close()
		}
		return
	}
	c := &client{
		s:           s,
		remote:      r.RemoteAddr,
		ws:          ws,
		bc:          hj.bc,
		raw:         hj.bc.Conn,
		types:       types,
		project:     project,
		allProjects: all,
		queue:       make(chan []*event, s.queueSize),
		closeCh:     make(chan closeReq, 1),
		pongCh:      make(chan string, 1),
		readerDone:  make(chan struct{}),
	}
	if err := hj.bc.Flush(); err != nil || !s.register(c) {
		c.raw.Close()
		return
	}
	s.log.Info("event client connected", "client", c.id, "remote", c.remote, "project", project, "all-projects", all, "types", types)
	c.listener, c.lremote, c.local = newUUID(), rq.Address, s.sockPath
	if !overUnix(r) {
		if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
			c.local = a.String()
		}
	}
	// As in LXD, the listener is added first, so it hears of itself.
	s.logEvent("debug", "Event listener server handler started", map[string]string{"id": c.listener, "local": c.local, "remote": c.lremote})
	go c.writeLoop()
	defer s.wg.Done()
	c.readLoop()
}

// takesLogging reports whether the client's filter lets logging events
// through.
func (c *client) takesLogging() bool {
	return c.types == nil || slices.Contains(c.types, events.LXDTypeLogging)
}

// register adds a client, unless the server is closing. It counts the
// client's two goroutines in s.wg.
func (s *Server) register(c *client) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	c.id = s.stats.connections.Add(1)
	s.clients[c] = struct{}{}
	s.nclients.Store(int64(len(s.clients)))
	if c.takesLogging() {
		s.nlogging.Add(1)
	}
	s.wg.Add(2)
	return true
}

func (s *Server) unregister(c *client) {
	s.mu.Lock()
	if _, ok := s.clients[c]; ok && c.takesLogging() {
		s.nlogging.Add(-1)
	}
	delete(s.clients, c)
	s.nclients.Store(int64(len(s.clients)))
	s.mu.Unlock()
	s.log.Info("event client disconnected", "client", c.id, "remote", c.remote)
	if c.listener != "" {
		s.logEvent("debug", "Event listener server handler stopped", map[string]string{"listener": c.listener, "local": c.local, "remote": c.lremote})
	}
}
