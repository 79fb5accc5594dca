// Package lxd is a fake LXD daemon for testing software that consumes LXD's
// /1.0/events stream. It answers GET /1.0 and GET /1.0/projects the way a real
// LXD 5.0.2 does, and serves /1.0/events over WebSocket to any number of
// clients, each filtered on the server by type and project, each fed in
// timeline order by its own bounded queue.
//
// It is a library first, like net/http/httptest:
//
//	srv, err := lxd.New(lxd.Options{Socket: dir + "/unix.socket"})
//	if err != nil { ... }
//	defer srv.Close()
//	// point a client at srv.URL() or srv.SocketPath(), then
//	srv.Deliver(ctx, record) // for each record of the timeline, in order
//
// The scenario player calls Deliver with each LXD record (events and faults)
// in timeline order, at the wall time it decides; the server decides only to
// whom each event goes. Each event is encoded once and the same bytes are
// shared by every client that wants it.
//
// See docs/lxd-server.md for the behaviour in full and where it departs from
// a real daemon.
package lxd

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/events"
	"github.com/eventsim/eventsim/internal/fastpath"
	"github.com/eventsim/eventsim/internal/netguard"
	"github.com/eventsim/eventsim/scenarios"
	"github.com/eventsim/eventsim/world"
)

// Timing of every WebSocket connection, as a real LXD daemon uses them.
const (
	// writeWait is the deadline of every write to a client.
	writeWait = 5 * time.Second
	// pingPeriod is how often the server pings each client.
	pingPeriod = 10 * time.Second
	// maxMissedPongs is how many pings may go unanswered; one more closes the
	// connection.
	maxMissedPongs = 2
	// stallLimit is how long, under Backpressure, a client may make no
	// progress with a queue over half full before it is evicted.
	stallLimit = 5 * time.Second
	// closeWait is how long Close lets clients take their close frame before
	// cutting their connections.
	closeWait = 2 * time.Second
	// DefaultQueueSize is the per-client queue length used when
	// Options.QueueSize is 0.
	DefaultQueueSize = 1024
)

// Sentinel errors callers may branch on.
var (
	// ErrClosed is returned by Deliver after Close.
	ErrClosed = errors.New("lxd server closed")
	// ErrNotLXD is returned by Deliver for a record of another API.
	ErrNotLXD = errors.New("record is not for the lxd api")
)

// Options configure a Server. The zero value works: a standalone lxd-5.0
// daemon listening on TCP 127.0.0.1 at a free port, without TLS.
type Options struct {
	// Flavor is the daemon being played; "" means catalog.DefaultFlavor
	// (lxd-5.0). It sets server and server_version in GET /1.0 and the event
	// types /1.0/events accepts.
	Flavor catalog.Flavor
	// Members names the cluster members. Empty means a standalone server;
	// otherwise GET /1.0 says server_clustered true and server_name is
	// Members[0]. Records carry their own location either way.
	Members []string
	// EventMode is GET /1.0's server_event_mode; "" means "full-mesh".
	EventMode string
	// Projects are the projects that exist besides "default", which always
	// does. /1.0/events?project=P answers 404 for any other P. AddProject
	// adds more later.
	Projects []string

	// Addr is the TCP address to listen on; "" means "127.0.0.1:0" (a free
	// port) and "-" means no TCP listener.
	Addr string
	// Socket is the path of a unix socket to listen on too (mode 0660,
	// removed on Close); "" means none. The socket is always trusted, as
	// LXD's is.
	Socket string
	// TLS serves HTTPS on Addr with a freshly generated self-signed
	// certificate. Clients must then present a certificate listed in
	// TrustedCerts; others get 403 "not authorized" on everything but GET /
	// and GET /1.0 (which, as in LXD, answer untrusted clients with less).
	TLS bool
	// TrustedCerts are the PEM client certificates trusted over TLS.
	TrustedCerts [][]byte

	// MaxConns caps the connections open at once on each listener (TCP and
	// unix socket apart); past it a new connection is closed as soon as it
	// is accepted. 0 means a quarter of the process's open-file limit.
	MaxConns int
	// IdleTimeout closes keep-alive connections idle this long; 0 means 2
	// minutes. BodyTimeout is how long a request body may take to arrive;
	// 0 means 30 s. Event WebSockets are exempt from both (pings keep them
	// alive).
	IdleTimeout time.Duration
	BodyTimeout time.Duration

	// QueueSize is each client's queue of frames waiting to be written; 0
	// means DefaultQueueSize (1024). A client whose queue is full is
	// disconnected (close 1008) rather than slowing anyone else.
	QueueSize int
	// Backpressure makes Deliver wait while any client's queue is more than
	// half full, for players that run as fast as the clients read (speed 0).
	// A client that makes no progress for 5 s meanwhile is evicted, so one
	// stuck client cannot stall the run. Off, Deliver never waits.
	Backpressure bool

	// Pools are the storage pools (driver dir) that exist; empty means one,
	// "default", as after `lxd init --auto`. Custom volumes can be made in them.
	Pools []string
	// Profiles are profiles that exist in the default project besides
	// "default", which always does.
	Profiles []string
	// Logging makes the server emit the debug logging events a real daemon
	// sends for each request it answers ("Handling API request",
	// "API Request", "WriteJSON", operation and driver logs) and for each
	// event listener ("Event listener server handler started"/"stopped").
	// Off, REST requests still emit their operation and lifecycle events.
	Logging bool
	// Clock stamps the events the server makes itself (REST requests,
	// listeners); nil means the wall clock. The simulator passes its
	// virtual clock. Stamps never go back before an event already sent.
	Clock func() time.Time
	// Speed is how much faster than the wall clock Clock runs (1 for the
	// wall clock itself), and so how operations take their time: 0 means
	// an operation runs to its end at once, before its request's handler
	// returns; otherwise it runs for its duration of Clock time (the usual
	// time of its scenario verb, 3 s for an instance created from an
	// image), that is duration/Speed of wall time, its 202 answered while
	// it is Running. Finished operations stay readable for 5 s of Clock
	// time, and never less than 5 s of wall time.
	Speed float64

	// Observe, when set, is told of each lifecycle event the server makes
	// for a REST request, once the event is on the stream: the simulator
	// passes them to the scenario engine (scenarios.Engine.Observe), so a
	// scenario step can act on an object a request made. It is called on
	// the request's goroutine, possibly with the server's locks held, and
	// must not block.
	Observe func(scenarios.Observed)

	// Control, when set, is mounted at /eventsim/v1/ on every listener.
	Control http.Handler
	// Logger receives connection and fault logs; nil means discard.
	Logger *slog.Logger

	// Test hooks: zero means the real daemon's values.
	pingPeriod   time.Duration
	writeWait    time.Duration
	stallLimit   time.Duration
	laggardLimit time.Duration
	burstWait    time.Duration // how long a request waits for the event listeners at most; 0 means burstWaitMax
}

// Stats counts what the server has done since New.
type Stats struct {
	// Clients is the number of event clients connected now.
	Clients int `json:"clients"`
	// Connections is the number of event clients ever accepted.
	Connections uint64 `json:"connections"`
	// Rejected counts /1.0/events requests refused before the upgrade.
	Rejected uint64 `json:"rejected"`
	// Records counts the LXD event records given to Deliver.
	Records uint64 `json:"records"`
	// Sent counts frames queued to clients (one event to three clients is three).
	Sent uint64 `json:"sent"`
	// Written counts frames written to clients' connections.
	Written uint64 `json:"written"`
	// Dropped counts events a drop fault threw away, and events the server
	// made itself while a pause held as many as it may.
	Dropped uint64 `json:"dropped"`
	// Held is the number of events a pause or latency fault holds now, at
	// most 64 queues' worth (65,536 with the default queue).
	Held int `json:"held"`
	// Evicted counts clients disconnected because they fell behind.
	Evicted uint64 `json:"evicted"`
	// Faults counts fault records acted on.
	Faults uint64 `json:"faults"`
	// Emitted counts events the server made itself: those of REST requests
	// and, with Logging, of event listeners.
	Emitted uint64 `json:"emitted"`
}

// Server is a fake LXD daemon. Create it with New; it is safe for concurrent use.
type Server struct {
	opts      Options
	flavor    catalog.Flavor
	types     []string // event types the flavour accepts
	log       *slog.Logger
	queueSize int
	cert      tls.Certificate
	certPEM   []byte
	certFP    string
	trusted   [][]byte // DER of trusted client certificates
	handler   http.Handler
	info      *serverInfo // GET /1.0 template

	httpSrv  *http.Server
	fast     *fastpath.Server // reads the plain listeners' connections, hands others to httpSrv
	tcp      net.Listener
	unix     net.Listener
	sockPath string
	wg       sync.WaitGroup // every goroutine the server starts

	mu       sync.RWMutex // guards clients, closed
	clients  map[*client]struct{}
	nclients atomic.Int64 // len(clients), read without s.mu
	// nlogging counts the clients that take logging events: without one,
	// the server makes none of its own (see logging).
	nlogging atomic.Int64
	closed   bool

	seqMu    sync.Mutex // orders Deliver and the releaser; guards pipe, pace, lastAt, out, outSince, lastOut and timerAt
	pipe     pipeline
	lastAt   time.Time    // the latest event time on the stream
	out      []*event     // events released, waiting for the clients' queues (see publishWindow)
	outSince time.Time    // when the first of out was released
	lastOut  time.Time    // when events last went to the clients' queues
	timerAt  time.Time    // when the releaser's timer fires next
	making   atomic.Int64 // groups of events being made (makeGroup)

	pace      pacing       // see pace.go
	fullest   atomic.Int64 // the fullest client queue at the last broadcast or look
	burstHeld atomic.Int64 // requests that waited for the event listeners (waitForListeners)
	heldLimit int          // the most events the pause and latency faults hold

	rest *restState // REST objects

	worldMu  sync.Mutex   // guards world and lists; taken after s.seqMu, never before (folder.mu after it)
	folder   folder       // the fold's queue (world.go)
	lists    listCache    // encoded list answers (encoded.go)
	world    *world.World // the daemon's state, folded from every event served
	ops      opStore      // operations of async requests
	failures failures     // http-error, operation-error and start-failure faults in force

	wake    chan struct{} // tells the releaser there is something held
	quit    chan struct{} // closed by Close
	closeMu sync.Mutex    // serialises Close

	stats struct {
		connections, rejected, records, sent, written, dropped, evicted, faults, emitted atomic.Uint64
	}
}

// New starts a server listening as opts say. Close it when done.
func New(opts Options) (*Server, error) {
	flavor, err := catalog.ParseFlavor(string(opts.Flavor))
	if err != nil {
		return nil, fmt.Errorf("new lxd server: %w", err)
	}
	s := &Server{
		opts:      opts,
		flavor:    flavor,
		lists:     listCache{keepMax: listKeepMax},
		types:     events.LXDTypes[string(flavor)],
		log:       opts.Logger,
		queueSize: opts.QueueSize,
		clients:   make(map[*client]struct{}),
		wake:      make(chan struct{}, 1),
		quit:      make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.queueSize <= 0 {
		s.queueSize = DefaultQueueSize
	}
	if s.opts.pingPeriod <= 0 {
		s.opts.pingPeriod = pingPeriod
	}
	if s.opts.writeWait <= 0 {
		s.opts.writeWait = writeWait
	}
	if s.opts.stallLimit <= 0 {
		s.opts.stallLimit = stallLimit
	}
	if s.opts.laggardLimit <= 0 {
		s.opts.laggardLimit = laggardLimit
	}
	if s.opts.burstWait <= 0 {
		s.opts.burstWait = burstWaitMax
	}
	s.heldLimit = heldPerQueue * s.queueSize
	if s.opts.EventMode == "" {
		s.opts.EventMode = "full-mesh"
	}
	s.world = world.New(flavor)
	s.ops.keep = world.OperationKeep
	if opts.Speed > 0 && opts.Speed < 1 {
		s.ops.keep = time.Duration(float64(world.OperationKeep) / opts.Speed)
	}
	if opts.Speed > 1 {
		s.world.SetOperationKeep(time.Duration(float64(world.OperationKeep) * opts.Speed))
	}
	for _, p := range opts.Projects {
		s.AddProject(p)
	}
	if err := s.makeCert(); err != nil {
		return nil, fmt.Errorf("new lxd server: %w", err)
	}
	for i, pem := range opts.TrustedCerts {
		der, err := parseCertPEM(pem)
		if err != nil {
			return nil, fmt.Errorf("new lxd server: trusted certificate %d: %w", i, err)
		}
		s.trusted = append(s.trusted, der)
	}
	if s.info, err = newServerInfo(s); err != nil {
		return nil, fmt.Errorf("new lxd server: %w", err)
	}
	s.rest = newRestState(opts.Pools, s.location(), s.flavor)
	s.seedWorld()
	s.handler = s.logRequests(s.routes())
	idle := opts.IdleTimeout
	if idle <= 0 {
		idle = netguard.IdleTimeout
	}
	s.httpSrv = &http.Server{
		Handler:           netguard.BodyDeadline(s.handler, opts.BodyTimeout),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       idle,
		ConnContext:       connContext,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}

	if opts.Addr != "-" {
		addr := opts.Addr
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("new lxd server: listen on %s: %w", addr, err)
		}
		// Capped below TLS, so a refused client costs no handshake.
		ln = netguard.Limit(ln, opts.MaxConns, "lxd tcp", s.log)
		if opts.TLS {
			ln = tls.NewListener(ln, s.tlsConfig())
		}
		s.tcp = ln
	}
	if opts.Socket != "" {
		ln, err := listenUnix(opts.Socket)
		if err != nil {
			if s.tcp != nil {
				s.tcp.Close()
			}
			return nil, fmt.Errorf("new lxd server: %w", err)
		}
		s.unix, s.sockPath = netguard.Limit(ln, opts.MaxConns, "lxd unix", s.log), opts.Socket
	}
	// The unix socket and plain TCP are read by the fast path, which
	// hands what it does not answer to httpSrv; TLS is httpSrv's alone.
	var plain []net.Listener
	if s.unix != nil {
		plain = append(plain, s.unix)
	}
	if s.tcp != nil && !opts.TLS {
		plain = append(plain, s.tcp)
	}
	served := plain
	if len(plain) > 0 {
		s.fast = fastpath.New(plain[0].Addr(), fastpath.Config{
			Name: "lxd", Log: s.log, ReadHeaderTimeout: s.httpSrv.ReadHeaderTimeout, IdleTimeout: idle, Answer: s.answerFast,
		})
		for _, ln := range plain {
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.fast.Accept(ln)
			}()
		}
		served = []net.Listener{s.fast.Handed()}
	}
	if s.tcp != nil && opts.TLS {
		served = append(served, s.tcp)
	}
	for _, ln := range served {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.httpSrv.Serve(ln) // returns http.ErrServerClosed on Close
		}()
	}
	s.wg.Add(1)
	go s.releaser()
	s.startFolder()
	return s, nil
}

// listenUnix listens on a unix socket with mode 0660, replacing a stale
// socket file but nothing else.
func listenUnix(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&fs.ModeSocket == 0 {
			return nil, fmt.Errorf("listen on %s: file exists and is not a socket", path)
		}
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			return nil, fmt.Errorf("listen on %s: socket in use", path)
		}
		os.Remove(path)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(true)
	if err := os.Chmod(path, 0o660); err != nil {
		ln.Close()
		return nil, fmt.Errorf("chmod %s: %w", path, err)
	}
	return ln, nil
}

// URL returns the base URL of the TCP listener, "https://…" with TLS, or ""
// when there is none (Addr "-").
func (s *Server) URL() string {
	if s.tcp == nil {
		return ""
	}
	if s.opts.TLS {
		return "https://" + s.tcp.Addr().String()
	}
	return "http://" + s.tcp.Addr().String()
}

// SocketPath returns the unix socket's path, or "" when there is none.
func (s *Server) SocketPath() string { return s.sockPath }

// Addrs returns every address listened on: the TCP host:port, then the unix
// socket path.
func (s *Server) Addrs() []string {
	var out []string
	if s.tcp != nil {
		out = append(out, s.tcp.Addr().String())
	}
	if s.unix != nil {
		out = append(out, s.sockPath)
	}
	return out
}

// Handler returns the server's HTTP handler, for mounting in another server.
// Its /1.0/events needs a ResponseWriter that can be hijacked.
func (s *Server) Handler() http.Handler { return s.handler }

// Certificate returns the server's self-signed certificate as PEM (the one
// GET /1.0 shows, and the one served with TLS).
func (s *Server) Certificate() []byte { return slices.Clone(s.certPEM) }

// AddProject makes a project exist, as a scenario's project-created does:
// the world folds a project-created event no client is sent. Adding one
// that exists does nothing.
func (s *Server) AddProject(name string) {
	if name == "" || s.hasProject(name) {
		return
	}
	s.seedProject(name)
}

// hasProject reports whether a project exists in the world.
func (s *Server) hasProject(name string) bool {
	ok := false
	s.withWorld(func(w *world.World) { ok = w.Project(name) != nil })
	return ok
}

// projectList returns the projects, default first then by name.
func (s *Server) projectList() []string {
	var out []string
	s.withWorld(func(w *world.World) { out = w.Projects() })
	return out
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	s.mu.RLock()
	n := len(s.clients)
	s.mu.RUnlock()
	s.seqMu.Lock()
	held := len(s.pipe.held)
	s.seqMu.Unlock()
	return Stats{
		Clients:     n,
		Held:        held,
		Connections: s.stats.connections.Load(),
		Rejected:    s.stats.rejected.Load(),
		Records:     s.stats.records.Load(),
		Sent:        s.stats.sent.Load(),
		Written:     s.stats.written.Load(),
		Dropped:     s.stats.dropped.Load(),
		Evicted:     s.stats.evicted.Load(),
		Faults:      s.stats.faults.Load(),
		Emitted:     s.stats.emitted.Load(),
	}
}

// Close sends every event client a close frame 1001 (going away), closes the
// listeners, removes the unix socket and waits until every goroutine the
// server started has ended. Clients that do not take their close frame within
// 2 s are cut off. Close may be called more than once.
func (s *Server) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	clients := make([]*client, 0, len(s.clients))
	for c := range s.clients {
		clients = append(clients, c)
	}
	s.mu.Unlock()

	s.seqMu.Lock()
	s.publish(time.Now()) // what waits for its window goes before the close frames
	s.seqMu.Unlock()
	close(s.quit)
	s.stopOperations()
	if s.fast != nil {
		// The fast path's listeners, then its connections (answers in
		// progress end first), then net/http's.
		if s.unix != nil {
			s.unix.Close()
		}
		if s.tcp != nil && !s.opts.TLS {
			s.tcp.Close()
		}
		s.fast.Shutdown(closeWait)
	}
	err := s.httpSrv.Close() // its listeners and connections not hijacked
	for _, c := range clients {
		c.requestClose(closeGoingAway, "server shutting down")
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(closeWait):
		for _, c := range clients {
			c.raw.Close()
		}
		<-done
	}
	s.stopFolder()
	if err != nil {
		return fmt.Errorf("close lxd server: %w", err)
	}
	return nil
}
