// Package linode is a fake of the Linode API v4 events endpoints, for testing
// software that consumes /v4/account/events.
//
// It is a library first, like net/http/httptest: New starts a server on
// loopback, Deliver feeds it the engine's records (an event as it stands
// after each change, or a fault), and clients such as linodego list, get and
// mark events exactly as they would against api.linode.com. See
// docs/linode-server.md for the behaviour in full and where it departs from
// the real API.
package linode

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	mrand "math/rand"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eventsim/eventsim/account"
	"github.com/eventsim/eventsim/events"
	"github.com/eventsim/eventsim/internal/fastpath"
	"github.com/eventsim/eventsim/internal/netguard"
	"github.com/eventsim/eventsim/scenarios"
)

// Defaults of Options.
const (
	// DefaultRateLimit requests per DefaultRatePeriod per token, the real
	// API's published overall limit.
	DefaultRateLimit  = 800
	DefaultRatePeriod = 2 * time.Minute
	// Window is how far back lists reach, in virtual time.
	Window = 90 * 24 * time.Hour
	// SpecVersion is sent as X-Spec-Version: the spec the facts come from.
	SpecVersion = "4.229.1"
	// ControlPrefix is where Options.Control is mounted.
	ControlPrefix = "/eventsim/v1/"
)

// Header limits: net/http refuses headers over maxHeaderBytes itself (with a
// plain-text 431 and a closed connection); between headerLimit and that, the
// server answers 431 in the API's error envelope and keeps the connection.
const (
	headerLimit    = 64 << 10
	maxHeaderBytes = 1 << 20
)

// Options configure a Server. The zero value works.
type Options struct {
	// Addr is the address to listen on; "" means 127.0.0.1:0.
	Addr string
	// Tokens are the accepted bearer tokens, with scope events:read_write.
	// Empty means one generated token, returned by Server.Token.
	Tokens []string
	// ReadOnlyTokens may list and get events (scope events:read_only); they
	// get a 403 on seen and read.
	ReadOnlyTokens []string
	// RateLimit is how many requests each token may make per RatePeriod;
	// 0 means 800 and a negative value means no limit. RatePeriod 0 means
	// two minutes. The window is fixed and runs on the real clock.
	RateLimit  int
	RatePeriod time.Duration
	// Clock is the virtual "now": lists show events created within 90 days
	// before it, and fault durations run on it. nil means time.Now.
	Clock func() time.Time
	// Control, if set, is mounted at /eventsim/v1/ (the path is passed on
	// unchanged; no Linode token is needed, the handler judges who may call).
	Control http.Handler
	// MaxConns caps the connections open at once; past it a new connection
	// is closed as soon as it is accepted. 0 means a quarter of the
	// process's open-file limit.
	MaxConns int
	// IdleTimeout closes keep-alive connections idle this long; 0 means 2
	// minutes. BodyTimeout is how long a request body may take to arrive;
	// 0 means 30 s.
	IdleTimeout time.Duration
	BodyTimeout time.Duration
	// Logger receives request errors and faults; nil means no logs.
	Logger *slog.Logger
	// Speed is how the events of REST writes progress: 0 stores every
	// state of them at once (stamped with their virtual times); otherwise
	// each state is stored when Clock reaches its time, Speed being how much
	// faster than real time Clock runs (1 for time.Now).
	Speed float64
	// Seed draws the durations and progress steps of the events REST
	// writes make; 0 means 1.
	Seed int64
}

// Stats counts what the server has done since it started or was Reset.
type Stats struct {
	// Events is how many events the store holds; Records how many records
	// Deliver accepted (events and faults).
	Events  int   `json:"events"`
	Records int64 `json:"records"`
	// Requests is every request served, Statuses the count per status.
	Requests int64         `json:"requests"`
	Statuses map[int]int64 `json:"statuses"`
	// Faulted is how many requests an injected fault answered (or delayed),
	// Dropped how many connections were cut.
	Faulted int64 `json:"faulted"`
	Dropped int64 `json:"dropped"`
}

// Server is a running fake Linode API.
type Server struct {
	opts    Options
	log     *slog.Logger
	clock   func() time.Time
	token   string
	tokens  map[string]token
	anon    *limiter // requests without a valid token
	handler http.Handler

	mu   sync.RWMutex // guards st, acct and the event ids below
	st   *store
	acct *account.Account
	// Event ids: the store's ids follow the order events are first stored
	// in, played or made by REST writes. Played events keep their engine id
	// until a REST write has made one; after that a played event first seen
	// gets the next id, and its later states the same one (idmap, for
	// events still in progress).
	nextEventID int64
	restMade    bool
	idmap       map[int64]int64
	// rng draws the events REST writes make; pendingChanges holds the
	// changes scheduled events carry with their first state.
	rng            *mrand.Rand
	pendingChanges map[int64]*account.Change
	sched          sched
	instant        []scenarios.LinodeState // at speed 0, states to apply once the write has answered

	faults faultSet

	records  atomic.Int64
	requests atomic.Int64
	faulted  atomic.Int64
	dropped  atomic.Int64
	statuses [600]atomic.Int64

	ln        net.Listener     // accepted by fast
	fast      *fastpath.Server // reads ln's connections, hands others to hs
	hs        *http.Server
	closing   chan struct{}
	closeOnce sync.Once
	closeErr  error
	served    sync.WaitGroup // the scheduler, fast.Accept and hs.Serve
}

// New starts a server listening on opts.Addr.
func New(opts Options) (*Server, error) {
	s := &Server{
		opts:   opts,
		log:    opts.Logger,
		clock:  opts.Clock,
		tokens: map[string]token{},
		st:     newStore(),
		acct:   account.New(),
		idmap:  map[int64]int64{},

		pendingChanges: map[int64]*account.Change{},
		closing:        make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	s.opts.Seed = opts.Seed
	s.rng = newRand(opts.Seed)
	s.sched.kick = make(chan struct{}, 1)
	limit, period := opts.RateLimit, opts.RatePeriod
	if limit == 0 {
		limit = DefaultRateLimit
	}
	if period <= 0 {
		period = DefaultRatePeriod
	}
	tokens := opts.Tokens
	if len(tokens) == 0 {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		tokens = []string{"eventsim-" + hex.EncodeToString(b)}
	}
	s.token = tokens[0]
	for _, t := range opts.ReadOnlyTokens {
		s.tokens[t] = token{}
	}
	for _, t := range tokens {
		s.tokens[t] = token{rw: true}
	}
	for t, ti := range s.tokens {
		if t == "" {
			return nil, errors.New("empty token in Options")
		}
		ti.lim = newLimiter(limit, period)
		s.tokens[t] = ti
	}
	s.anon = newLimiter(limit, period)
	s.handler = http.HandlerFunc(s.serveHTTP)

	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	s.ln = netguard.Limit(ln, opts.MaxConns, "linode", s.log)
	idle := opts.IdleTimeout
	if idle <= 0 {
		idle = idleTimeout
	}
	s.fast = fastpath.New(ln.Addr(), fastpath.Config{
		Name: "linode", Log: s.log, ReadHeaderTimeout: readHeaderTimeout, IdleTimeout: idle, Answer: s.answerFast,
	})
	s.hs = &http.Server{
		Handler:           netguard.BodyDeadline(s.handler, opts.BodyTimeout),
		MaxHeaderBytes:    maxHeaderBytes,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idle,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.served.Add(3)
	go func() {
		defer s.served.Done()
		s.runSched()
	}()
	go func() {
		defer s.served.Done()
		s.fast.Accept(s.ln)
	}()
	go func() {
		defer s.served.Done()
		if err := s.hs.Serve(s.fast.Handed()); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("linode server stopped", "err", err)
		}
	}()
	return s, nil
}

// URL is the server's base URL, e.g. http://127.0.0.1:41234; the API is at
// URL()+"/v4". Give it to linodego's SetBaseURL as it is.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Token is the first read-write token: the generated one when Options.Tokens
// was empty.
func (s *Server) Token() string { return s.token }

// Handler is the server's handler, for mounting elsewhere (httptest, a mux).
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops listening and waits for requests in flight (delayed ones are
// cut short) and returns once the server is down. It is safe to call twice.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.closing)
		_ = s.ln.Close()
		fast := make(chan struct{})
		go func() {
			defer close(fast)
			s.fast.Shutdown(closeTimeout)
		}()
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		if err := s.hs.Shutdown(ctx); err != nil {
			s.closeErr = s.hs.Close()
		}
		<-fast
		s.served.Wait()
	})
	return s.closeErr
}

// closeTimeout is how long Close waits for requests in flight.
const closeTimeout = 5 * time.Second

// Deliver applies one record of the timeline: a Linode event is stored,
// replacing the event with the same id (events progress by being delivered
// again), and a Linode fault starts affecting requests. Records must come in
// timeline order. A record for another API is an error.
func (s *Server) Deliver(ctx context.Context, r *scenarios.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if r == nil {
		return errors.New("deliver: nil record")
	}
	switch {
	case r.Fault != nil:
		if r.Fault.API != "linode" {
			return fmt.Errorf("deliver: fault %s is for api %q, want linode", r.Fault.Kind, r.Fault.API)
		}
		if err := s.faults.add(r.Fault, s.clock()); err != nil {
			return fmt.Errorf("deliver: %w", err)
		}
		s.log.Info("linode fault", "fault", r.Fault.String())
	case r.API != "linode":
		return fmt.Errorf("deliver: record for api %q, want linode", r.API)
	case r.Linode == nil:
		return errors.New("deliver: linode record without an event")
	default:
		s.mu.Lock()
		err := s.deliverEvent(r.Linode)
		s.mu.Unlock()
		if err != nil {
			return fmt.Errorf("deliver: %w", err)
		}
	}
	s.records.Add(1)
	return nil
}

// deliverEvent stores a played event and folds it into the account, under
// the id the store gives it (see Server.idmap). s.mu must be held.
func (s *Server) deliverEvent(ev *events.LinodeEvent) error {
	if ev.ID < 1 {
		return fmt.Errorf("event id %d, must be at least 1", ev.ID)
	}
	id, ok := s.idmap[ev.ID]
	if !ok {
		id = ev.ID
		if s.restMade {
			id = max(s.nextEventID, 1)
		}
	}
	s.nextEventID = max(s.nextEventID, id+1)
	if inFlight(ev.Status) {
		s.idmap[ev.ID] = id
	} else {
		delete(s.idmap, ev.ID)
	}
	if id != ev.ID {
		cp := *ev
		cp.ID = id
		ev = &cp
	}
	return s.apply(ev, nil)
}

// apply stores one state of an event and folds it into the account. s.mu
// must be held.
func (s *Server) apply(ev *events.LinodeEvent, ch *account.Change) error {
	if err := s.st.upsert(ev); err != nil {
		return err
	}
	return s.acct.Apply(account.Event{LinodeEvent: ev, Change: ch})
}

func inFlight(status string) bool {
	return status == events.LinodeScheduled || status == events.LinodeStarted || status == "in_progress"
}

// Reset forgets every event, seen mark, fault, rate-limit window and count.
func (s *Server) Reset() {
	s.mu.Lock()
	s.st.reset()
	s.acct.Reset()
	s.nextEventID, s.restMade, s.idmap = 0, false, map[int64]int64{}
	s.pendingChanges = map[int64]*account.Change{}
	s.rng = newRand(s.opts.Seed)
	s.sched.reset()
	s.mu.Unlock()
	s.faults.reset()
	for _, ti := range s.tokens {
		ti.lim.reset()
	}
	s.anon.reset()
	s.records.Store(0)
	s.requests.Store(0)
	s.faulted.Store(0)
	s.dropped.Store(0)
	for i := range s.statuses {
		s.statuses[i].Store(0)
	}
}

// Stats returns the counts so far.
func (s *Server) Stats() Stats {
	s.mu.RLock()
	n := len(s.st.ents)
	s.mu.RUnlock()
	st := Stats{
		Events:   n,
		Records:  s.records.Load(),
		Requests: s.requests.Load(),
		Faulted:  s.faulted.Load(),
		Dropped:  s.dropped.Load(),
		Statuses: map[int]int64{},
	}
	for i := range s.statuses {
		if v := s.statuses[i].Load(); v > 0 {
			st.Statuses[i] = v
		}
	}
	return st
}

// token is what the server knows of an accepted token.
type token struct {
	rw  bool // scope events:read_write, else events:read_only
	lim *limiter
}

// limiter is a fixed-window request counter for one token. It also keeps
// the X-RateLimit-* header values ready-made, so that answering a request
// allocates nothing for them.
type limiter struct {
	limit  int // negative: unlimited
	period time.Duration

	mu    sync.Mutex
	start time.Time
	count int

	hvLimit   []string   // X-RateLimit-Limit, fixed
	remaining [][]string // X-RateLimit-Remaining per value, made on first use; nil when unlimited or too large to keep
	resetAt   int64      // the Unix second hvReset holds
	hvReset   []string   // X-RateLimit-Reset
}

// maxKeptRemaining is the largest limit whose X-RateLimit-Remaining values
// are kept (about 40 bytes each); above it they are formatted per request.
const maxKeptRemaining = 1 << 14

// hvUnlimited is what an unlimited limiter reports as limit and remaining.
var hvUnlimited = []string{strconv.Itoa(math.MaxInt32)}

func newLimiter(limit int, period time.Duration) *limiter {
	l := &limiter{limit: limit, period: period, hvLimit: hvUnlimited}
	if limit >= 0 {
		l.hvLimit = []string{strconv.Itoa(limit)}
	}
	if limit >= 0 && limit <= maxKeptRemaining {
		l.remaining = make([][]string, limit+1)
	}
	return l
}

// take counts a request and returns whether it is allowed, what remains and
// when the window resets.
func (l *limiter) take(now time.Time) (ok bool, remaining int, reset time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.start.IsZero() || now.Sub(l.start) >= l.period {
		l.start, l.count = now, 0
	}
	reset = l.start.Add(l.period)
	if l.limit < 0 {
		return true, 0, reset
	}
	if l.count >= l.limit {
		return false, 0, reset
	}
	l.count++
	return true, l.limit - l.count, reset
}

// headers sets X-RateLimit-Limit, -Remaining and -Reset as the window stands.
func (l *limiter) headers(h http.Header) {
	limit, remaining, reset := l.values()
	h["X-Ratelimit-Limit"] = limit
	h["X-Ratelimit-Remaining"] = remaining
	h["X-Ratelimit-Reset"] = reset
}

// values returns X-RateLimit-Limit, -Remaining and -Reset as the window
// stands, each a one-element header value that must not be modified.
func (l *limiter) values() (limit, remaining, reset []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	start := l.start
	if start.IsZero() {
		start = time.Now()
	}
	switch n := max(0, l.limit-l.count); {
	case l.limit < 0:
		remaining = hvUnlimited
	case l.remaining != nil:
		if l.remaining[n] == nil {
			l.remaining[n] = []string{strconv.Itoa(n)}
		}
		remaining = l.remaining[n]
	default:
		remaining = []string{strconv.Itoa(n)}
	}
	// Rounded up, so a client that waits until the second it names finds
	// the window reset.
	end := start.Add(l.period)
	r := end.Unix()
	if end.Nanosecond() > 0 {
		r++
	}
	if r != l.resetAt || l.hvReset == nil {
		l.resetAt, l.hvReset = r, []string{strconv.FormatInt(r, 10)}
	}
	return l.hvLimit, remaining, l.hvReset
}

func (l *limiter) reset() {
	l.mu.Lock()
	l.start, l.count = time.Time{}, 0
	l.mu.Unlock()
}
