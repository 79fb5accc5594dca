package conformance

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/scenarios"
)

// RecordOptions configures RecordLXD and RecordLinode; the fields map to the
// flags of `eventsim record lxd|linode`.
type RecordOptions struct {
	// Target, Cert, Key and Insecure say where to connect, as for conform.
	Target    string
	Cert, Key string
	Insecure  bool
	// Token is the Linode bearer token.
	Token string

	// Project is the LXD project to listen to ("" with AllProjects unset:
	// the daemon's default project); AllProjects listens to every project.
	Project     string
	AllProjects bool
	// Types are the LXD event types to ask for; none means every type.
	Types []string
	// Interval is how often Linode is polled; 0 means 1s.
	Interval time.Duration

	// Duration and Count end the recording (whichever comes first); both 0
	// records until ctx ends.
	Duration time.Duration
	Count    int

	// Scrub replaces secrets by stand-ins; nil records everything as received.
	Scrub *Scrubber
	// Version is eventsim's version, for the header.
	Version string
	// Progress, when set, is called about twice a second with the events
	// recorded so far.
	Progress func(events int, elapsed time.Duration)
}

// RecordStats says what a recording holds.
type RecordStats struct {
	Events  int
	Elapsed time.Duration
	// Header is the recording's header.
	Header scenarios.RecordingHeader
}

// lxdFlavor names the catalogue flavour a daemon's GET /1.0 implies.
func lxdFlavor(server, version string) catalog.Flavor {
	switch {
	case strings.EqualFold(server, "incus"):
		return catalog.Incus
	case strings.HasPrefix(version, "5.0"):
		return catalog.LXD50
	case version != "":
		return catalog.LXD6
	}
	return catalog.DefaultFlavor
}

// scrubTarget hides the host of a network target.
func scrubTarget(target string, s *Scrubber) string {
	u, err := url.Parse(target)
	if s == nil || err != nil || u.Host == "" {
		return target
	}
	host := u.Hostname()
	cat := "host"
	if strings.ContainsAny(host, ":") || strings.Trim(host, "0123456789.") == "" {
		cat = "address"
	}
	port := u.Port()
	u.Host = s.Remember(cat, host)
	if port != "" {
		u.Host += ":" + port
	}
	return u.String()
}

// RecordLXD listens to an LXD daemon's /1.0/events and writes every event,
// as received, with its arrival offset, to w as a recording: a header line
// (from GET /1.0) and one line per event. It stops when Duration or Count is
// reached, when the daemon closes the stream, or when ctx ends; the file is
// complete in every case. An error means the recording could not start
// (*ConfigError, ErrTarget) or w failed.
func RecordLXD(ctx context.Context, o RecordOptions, w io.Writer) (RecordStats, error) {
	var st RecordStats
	if o.Count < 0 || o.Duration < 0 {
		return st, &ConfigError{Field: "count", Msg: "--count and --duration must not be negative"}
	}
	if o.AllProjects && o.Project != "" {
		return st, &ConfigError{Field: "project", Msg: "--project and --all-projects do not go together"}
	}
	c, err := newLXDClient(LXDOptions{Target: o.Target, Cert: o.Cert, Key: o.Key, Insecure: o.Insecure})
	if err != nil {
		return st, err
	}
	x, err := c.do(ctx, "GET", "/1.0", nil, nil)
	if err != nil {
		return st, fmt.Errorf("%w: GET /1.0 on %s: %v", ErrTarget, o.Target, err)
	}
	if x.status != 200 || x.envErr != nil {
		return st, fmt.Errorf("%w: GET /1.0 on %s answered %d", ErrTarget, o.Target, x.status)
	}
	var md struct {
		Environment struct {
			Server    string `json:"server"`
			Version   string `json:"server_version"`
			Clustered bool   `json:"server_clustered"`
		} `json:"environment"`
	}
	_ = json.Unmarshal(x.env.Metadata, &md)
	q := url.Values{}
	switch {
	case o.AllProjects:
		q.Set("all-projects", "true")
	case o.Project != "":
		q.Set("project", o.Project)
	}
	if len(o.Types) > 0 {
		q.Set("type", strings.Join(o.Types, ","))
	}
	u := c.wsBase + "/1.0/events"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	conn, resp, err := c.dialer.DialContext(ctx, u, nil)
	if err != nil {
		if resp != nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			return st, &ConfigError{Field: "target", Msg: fmt.Sprintf("GET /1.0/events?%s answered %d: %s", q.Encode(), resp.StatusCode, strings.TrimSpace(string(b)))}
		}
		return st, fmt.Errorf("%w: /1.0/events on %s: %v", ErrTarget, o.Target, err)
	}
	defer conn.Close()
	start := time.Now()
	server := md.Environment.Server
	if server == "" {
		server = "lxd"
	}
	st.Header = scenarios.RecordingHeader{
		Kind: "lxd", Target: scrubTarget(o.Target, o.Scrub), Server: server,
		ServerVersion: md.Environment.Version, Flavor: string(lxdFlavor(server, md.Environment.Version)),
		Clustered: md.Environment.Clustered, Project: o.Project, AllProjects: o.AllProjects, Types: o.Types,
		Started: start.UTC(), EventsimVersion: o.Version, Scrubbed: o.Scrub != nil,
	}
	// One goroutine only reads, queueing frames without bound, so a burst
	// the writer is slow to scrub never backs up into the daemon (which
	// would drop a slow listener).
	q2 := newFrameQueue()
	conn.SetPingHandler(func(data string) error {
		err := conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(wsWriteWait))
		if errors.Is(err, websocket.ErrCloseSent) {
			return nil
		}
		return err
	})
	go func() {
		var sl slab
		for {
			mt, r, err := conn.NextReader()
			if err != nil {
				q2.close()
				return
			}
			if mt != websocket.TextMessage && mt != websocket.BinaryMessage {
				continue
			}
			data, err := sl.read(r)
			if err != nil {
				q2.close()
				return
			}
			q2.push(frame{data: data, at: time.Now()})
		}
	}()
	stop := func() {
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(wsWriteWait))
		_ = conn.Close()
	}
	err = writeRecording(ctx, o, w, &st, start, q2, stop)
	return st, err
}

// writeRecording writes the header, then frames from q until the recording
// ends; stop ends the source.
func writeRecording(ctx context.Context, o RecordOptions, w io.Writer, st *RecordStats, start time.Time, q *frameQueue, stop func()) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	if _, err := bw.Write(scenarios.AppendRecordingHeader(nil, st.Header)); err != nil {
		stop()
		return err
	}
	var deadline <-chan time.Time
	if o.Duration > 0 {
		t := time.NewTimer(o.Duration - time.Since(start))
		defer t.Stop()
		deadline = t.C
	}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	var line []byte
	// write writes frames up to --count, and, when the recording has a
	// --duration, those that arrived within it.
	write := func(fs []frame) error {
		for _, f := range fs {
			if o.Count > 0 && st.Events >= o.Count || o.Duration > 0 && !f.at.Before(start.Add(o.Duration)) {
				return nil
			}
			ev := f.data
			if o.Scrub != nil {
				ev = o.Scrub.Scrub(ev)
			}
			line = scenarios.AppendRecordedEvent(line[:0], f.at.Sub(start), ev)
			if _, err := bw.Write(line); err != nil {
				return err
			}
			st.Events++
		}
		return nil
	}
	stopped := false
	for {
		fs, open := q.take()
		if err := write(fs); err != nil {
			stop()
			return err
		}
		done := !open || (o.Count > 0 && st.Events >= o.Count)
		if done {
			break
		}
		select {
		case <-q.ready:
		case <-deadline:
			done = true
		case <-ctx.Done():
			done = true
		case <-tick.C:
			if o.Progress != nil {
				o.Progress(st.Events, time.Since(start))
			}
		}
		if done && !stopped {
			// Stop the source, then write what it had already queued.
			stopped = true
			stop()
			deadline = nil
			fs, _ := q.takeAll()
			if err := write(fs); err != nil {
				return err
			}
			break
		}
	}
	if !stopped {
		stop()
	}
	st.Elapsed = time.Since(start)
	if o.Progress != nil {
		o.Progress(st.Events, st.Elapsed)
	}
	return bw.Flush()
}

// slab holds received messages back to back in large blocks, so that
// reading one costs no allocation of its own: a block is freed once every
// message in it has been written.
type slab struct{ b []byte }

// slabSize is the size of a block; a longer message gets a block of its own.
const slabSize = 256 << 10

// read reads r to its end into the slab and returns the bytes read.
func (s *slab) read(r io.Reader) ([]byte, error) {
	start := len(s.b)
	for {
		if len(s.b) == cap(s.b) {
			// Full: carry the message begun here over to a new block.
			n := len(s.b) - start
			nb := make([]byte, n, max(slabSize, 2*n))
			copy(nb, s.b[start:])
			s.b, start = nb, 0
		}
		m, err := r.Read(s.b[len(s.b):cap(s.b)])
		s.b = s.b[:len(s.b)+m]
		if errors.Is(err, io.EOF) {
			return s.b[start:len(s.b):len(s.b)], nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// frameQueue is an unbounded queue of frames from one reader to one writer.
type frameQueue struct {
	mu     sync.Mutex
	frames []frame
	closed bool
	ready  chan struct{} // has a value when frames were pushed or the queue closed
}

func newFrameQueue() *frameQueue { return &frameQueue{ready: make(chan struct{}, 1)} }

func (q *frameQueue) push(f frame) {
	q.mu.Lock()
	q.frames = append(q.frames, f)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

func (q *frameQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// take returns the frames queued so far and whether more may come.
func (q *frameQueue) take() ([]frame, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	fs := q.frames
	q.frames = nil
	return fs, !q.closed || len(fs) > 0
}

// takeAll waits up to a second for the reader to end, then returns what it queued.
func (q *frameQueue) takeAll() ([]frame, bool) {
	deadline := time.After(time.Second)
	for {
		q.mu.Lock()
		closed := q.closed
		q.mu.Unlock()
		if closed {
			break
		}
		select {
		case <-q.ready:
		case <-deadline:
			return q.take()
		}
	}
	return q.take()
}

// linodeFinal reports whether a Linode status means the event will not change.
func linodeFinal(status string) bool {
	switch status {
	case "finished", "failed", "notification", "completed":
		return true
	}
	return false
}

// RecordLinode polls a Linode account's /account/events as a consumer does
// (newest first, page after page while a page holds anything new or still
// moving) and records each event every time it changes, so its progression
// (status, percent_complete, seen...) is kept.
func RecordLinode(ctx context.Context, o RecordOptions, w io.Writer) (RecordStats, error) {
	var st RecordStats
	if o.Count < 0 || o.Duration < 0 || o.Interval < 0 {
		return st, &ConfigError{Field: "count", Msg: "--count, --duration and --interval must not be negative"}
	}
	u, err := url.Parse(o.Target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return st, &ConfigError{Field: "target", Msg: fmt.Sprintf("%q, must be http(s)://HOST/v4", o.Target)}
	}
	if o.Token == "" {
		return st, &ConfigError{Field: "token", Msg: "a token is required (--token or LINODE_TOKEN)"}
	}
	if o.Interval == 0 {
		o.Interval = time.Second
	}
	r := newLinodeRun(LinodeOptions{Target: o.Target, Token: o.Token, Insecure: o.Insecure})
	// The first poll says whether the target answers at all.
	first, err := r.get(ctx, "GET", "/account/events?page=1&page_size=100", true, "")
	if err != nil {
		return st, fmt.Errorf("%w: GET %s/account/events: %v", ErrTarget, r.base, err)
	}
	if first.status != 200 {
		return st, fmt.Errorf("%w: GET %s/account/events answered %d: %s", ErrTarget, r.base, first.status, strings.TrimSpace(string(first.body)))
	}
	start := time.Now()
	st.Header = scenarios.RecordingHeader{Kind: "linode", Target: scrubTarget(o.Target, o.Scrub), Interval: o.Interval.String(),
		Started: start.UTC(), EventsimVersion: o.Version, Scrubbed: o.Scrub != nil}
	q := newFrameQueue()
	pctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer q.close()
		last := map[int64]string{}
		poll := func(firstPage *lnResp) {
			for page := 1; page <= 1000; page++ {
				x := firstPage
				if page > 1 || x == nil {
					var err error
					x, err = r.get(pctx, "GET", fmt.Sprintf("/account/events?page=%d&page_size=100", page), true, "")
					if err != nil || x.status != 200 {
						return
					}
				}
				firstPage = nil
				at := time.Now()
				var p lnPage
				if json.Unmarshal(x.body, &p) != nil {
					return
				}
				moving := false
				for _, d := range p.Data {
					e := decodeEvent(d)
					if prev, ok := last[e.id]; !ok || prev != string(d) {
						last[e.id] = string(d)
						q.push(frame{data: append([]byte(nil), d...), at: at})
						moving = true
					}
					moving = moving || !linodeFinal(e.status)
				}
				if !moving || page >= p.Pages {
					return
				}
			}
		}
		poll(first)
		t := time.NewTicker(o.Interval)
		defer t.Stop()
		for {
			select {
			case <-pctx.Done():
				return
			case <-t.C:
				poll(nil)
			}
		}
	}()
	err = writeRecording(ctx, o, w, &st, start, q, func() { cancel(); wg.Wait() })
	cancel()
	return st, err
}
