package scenarios

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand"
	"time"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/events"
)

// Options tune how the engine plays a scenario. The zero value plays the
// scenario once with its own seed on the default flavour.
type Options struct {
	// Seed 0 means the scenario's own seed (itself 1 unless the file says).
	Seed int64
	// Flavor is the LXD flavour whose catalogue and quirks apply; "" is lxd-5.0.
	Flavor catalog.Flavor
	// Start is the virtual time the scenario starts at; zero means the
	// scenario's start, itself 2026-01-01T00:00:00Z unless the file says.
	Start time.Time
	// Loop plays the scenario again, virtual time running on, when it ends.
	Loop bool
	// KeepObjects makes each pass after the first start from the LXD
	// objects the last pass left (its own and those Observe reported), as
	// objects the scenario did not make (see Carry): a server whose state
	// outlives a pass sets it, so that its stream never says an object is
	// created while the server has it. Unset, each pass starts from the
	// scenario's lxd: objects alone, as generate's passes always have.
	KeepObjects bool
	// DeferJSON leaves the JSON of the LXD logging, operation and
	// lifecycle events that verbs make to the caller: Next returns them
	// without it (JSON empty), and Record.AppendJSON writes them, on any
	// goroutine. Unset, every record comes with its JSON.
	DeferJSON bool
	// Shard and Shards make the engine play shard Shard (0-based) of a
	// dataset split into Shards: a world of its own, whose objects' names
	// and ids no other shard makes (see shardInfo). Shards 0 or 1 plays the
	// whole dataset.
	Shard, Shards int

	// Await, when set, is called before a step marked external runs at
	// virtual time at, and returns when that time has come for whoever
	// feeds Observe (the simulator: when its clock reaches at), so that the
	// step sees the objects REST requests made until then; an error (ctx
	// done) stops the engine with it. Nil runs such steps at once.
	Await func(ctx context.Context, at time.Time) error
	// OnSkip, when set, is told of each step marked external that is
	// skipped because the object it names does not exist (Engine.Skipped
	// counts them); it runs on the goroutine that calls Next.
	OnSkip func(err error)

	// check runs the scenario once to find mistakes; mixes and endless
	// repeats play once and nothing is encoded.
	check bool
}

// Record is one entry of the timeline: an event of either API, or a fault for
// the servers, stamped with virtual time.
type Record struct {
	// Time is when it happens on the virtual clock.
	Time time.Time
	// API is "lxd" or "linode".
	API string

	// LXD events: the encoded event (one JSON object, no newline) and the
	// fields servers filter on.
	JSON     []byte
	Type     string
	Project  string
	Location string
	// Action is a lifecycle event's action, decoded ("" for other types),
	// and OldName its context's old_name when it has one, so that a server
	// follows what a record does (a project made, renamed or deleted)
	// without reading its encoded bytes.
	Action  string
	OldName string

	// Linode events: the Event as it stands after this change. JSON holds it
	// encoded too.
	Linode *events.LinodeEvent

	// lazy is the metadata of an LXD event not yet encoded into JSON.
	lazy lazyMeta

	// Fault is set for fault records, which carry no event.
	Fault *Fault
}

// Engine turns a scenario into a timeline of records ordered by virtual time.
// The same scenario, options and seed give the same records, byte for byte.
// It holds only what is in flight, so a timeline of any length takes
// constant memory.
type Engine struct {
	s    *Scenario
	opts Options
	seed int64
	cat  *catalog.LXDCatalog
	lcat *catalog.LinodeCatalog

	pending pendingHeap
	seq     uint64
	tracks  []*track // live tracks, blocked or not
	nextID  int      // track ids

	lxd    *lxdWorld
	linode *linodeWorld
	shard  *shardInfo // nil: the whole dataset

	start time.Time // of the current pass
	last  time.Time // time of the last record
	pass  int
	err   error

	// bodies caches pretty-printed request body templates (see requestBody).
	bodies map[string]*bodyTemplate

	// replay is how far this pass moves a recording's events (FromRecording).
	replay struct {
		set   bool
		shift time.Duration
	}
	// idle counts the steps run since the last record, so a scenario that
	// runs steps without ever making an event stops with an error instead
	// of spinning (see maxIdleSteps).
	idle int64
	// limit bounds a check (see Check); nil when playing.
	limit *checkLimit
	// free holds records handed back with Recycle, for newRecord.
	free []*Record
	// inbox holds what Observe was told, until the next step.
	inbox *inbox
	// lxdSteps holds what each LXD step played says (lxdWorld.stepOf).
	lxdSteps map[*Step]*lxdStep
	// verbActions holds the flavour's action of each of lxdVerbList's
	// verbs once looked up (verbActionsSet), for lxdWorld.action.
	verbActions    []*catalog.LXDAction
	verbActionsSet []bool
}

// New makes an engine for a parsed scenario.
func New(s *Scenario, opts Options) (*Engine, error) {
	cat, err := catalog.LXD(opts.Flavor)
	if err != nil {
		return nil, err
	}
	shard, err := shardPart(opts.Shard, opts.Shards)
	if err != nil {
		return nil, err
	}
	if shard != nil {
		s = shard.forShard(s)
	}
	e := &Engine{s: s, opts: opts, cat: cat, lcat: catalog.Linode(), bodies: map[string]*bodyTemplate{}, shard: shard, inbox: new(inbox)}
	e.seed = opts.Seed
	if e.seed == 0 {
		e.seed = s.Seed
	}
	e.start = opts.Start
	if e.start.IsZero() {
		e.start = s.Start
	}
	e.start = e.start.UTC()
	e.linode = newLinodeWorld(e)
	e.begin()
	return e, nil
}

// Scenario returns the scenario being played.
func (e *Engine) Scenario() *Scenario { return e.s }

// Flavor returns the LXD flavour being played.
func (e *Engine) Flavor() catalog.Flavor { return e.cat.Flavor }

// Seed returns the seed in use.
func (e *Engine) Seed() int64 { return e.seed }

// Start returns the virtual time the first pass started at.
func (e *Engine) Start() time.Time { return e.start }

// Pass counts how many times a looping scenario has started again: 0 on
// the first play.
func (e *Engine) Pass() int { return e.pass }

// begin starts a pass of the scenario at e.start. With KeepObjects, a
// pass after the first starts from the objects the last one left (carry):
// the server it plays on still has them.
func (e *Engine) begin() {
	e.replay.set = false
	last := e.lxd
	if last != nil && e.opts.KeepObjects {
		e.drainObserved() // into the last pass's world, carried below
	} else {
		last = nil
	}
	e.lxd = newLXDWorld(e)
	if last != nil {
		e.lxd.carry(last)
	}
	e.linode.reset()
	root := e.newTrack("main", e.start, e.s.Steps)
	e.tracks = append(e.tracks[:0], root)
}

func (e *Engine) newTrack(name string, at time.Time, steps []*Step) *track {
	e.nextID++
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%d/%s/%d", e.seed, e.pass, name, e.nextID)
	if e.shard != nil {
		// Each shard draws its own numbers; the whole dataset's are kept.
		fmt.Fprintf(h, "/shard %d of %d", e.shard.i, e.shard.n)
	}
	t := &track{
		id:   e.nextID,
		name: name,
		now:  at,
		rng:  rand.New(rand.NewSource(int64(h.Sum64()))),
	}
	t.fake = newFaker(t.rng)
	t.fake.prefix = e.shard.hexPrefix()
	t.push(&frame{steps: steps, count: 1})
	return t
}

// Recycle hands back records the caller is done with, so that the engine
// makes its next LXD records in their memory instead of allocating more:
// after Recycle, neither the records nor their JSON may be used. Only a
// caller that owns the records (no other goroutine holds them) may call
// it, and on the goroutine that calls Next.
func (e *Engine) Recycle(rs []*Record) {
	for _, r := range rs {
		if len(e.free) >= maxFreeRecords {
			return
		}
		if r == nil || r.API != "lxd" || r.Fault != nil || r.Linode != nil {
			continue
		}
		e.free = append(e.free, r) // newRecord resets it
	}
}

// maxFreeRecords bounds how many recycled records the engine keeps.
const maxFreeRecords = 4096

// newRecord returns a recycled record or a new one, empty but for the
// memory a recycled one keeps (its JSON's and its lazy operation's) and for
// the fields group.record sets.
func (e *Engine) newRecord() *Record {
	if n := len(e.free); n > 0 {
		r := e.free[n-1]
		e.free = e.free[:n-1]
		// Only what a maker of LXD records may leave unset is reset:
		// whoever sets lazy.kind writes that kind's fields whole, and a
		// recycled record has no Linode event or fault (Recycle). Writing
		// the whole record again costs more than the rest of its making.
		r.Time, r.Action, r.OldName, r.JSON, r.lazy.kind = time.Time{}, "", "", r.JSON[:0], 0
		return r
	}
	return new(Record)
}

// Next returns the next record of the timeline, or io.EOF when a scenario
// that does not loop has ended.
func (e *Engine) Next() (*Record, error) {
	return e.NextContext(context.Background())
}

// interruptSteps is how many engine steps NextContext runs between looks at
// its context, so that a scenario making no records for a long stretch of
// steps (repeated waits) can still be stopped at once.
const interruptSteps = 1024

// NextContext is Next that gives up, with ctx's error, when ctx is done,
// even in the middle of a long run of steps that make no record.
func (e *Engine) NextContext(ctx context.Context) (*Record, error) {
	for steps := 1; ; steps++ {
		if e.err != nil {
			return nil, e.err
		}
		if steps%interruptSteps == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		t := e.earliestTrack()
		if e.pending.Len() > 0 && (t == nil || !e.pending.peek().at.After(t.now)) {
			e.idle = 0
			return e.pop(), nil
		}
		if t == nil {
			if e.pending.Len() > 0 {
				e.idle = 0
				return e.pop(), nil
			}
			if !e.opts.Loop || e.opts.check {
				return nil, io.EOF
			}
			if e.last.IsZero() || e.pass > 0 && e.last.Equal(e.start) {
				return nil, &Error{Pos: Pos{File: e.s.File}, Msg: "scenario makes no events, so it cannot loop"}
			}
			e.pass++
			e.start = e.last.Add(time.Second)
			e.begin()
			continue
		}
		if e.idle++; e.idle > maxIdleSteps {
			e.err = e.idleError(t)
			return nil, e.err
		}
		if e.limit != nil {
			if err := e.limit.step(e, t); err != nil {
				e.err = err
				return nil, err
			}
		}
		e.drainObserved()
		if err := e.advance(ctx, t); err != nil {
			e.err = err
			return nil, err
		}
	}
}

// earliestTrack returns the runnable track with the smallest cursor, ties to
// the oldest track.
func (e *Engine) earliestTrack() *track {
	var best *track
	for _, t := range e.tracks {
		if t.waiting > 0 {
			continue
		}
		if best == nil || t.now.Before(best.now) {
			best = t
		}
	}
	return best
}

func (e *Engine) pop() *Record {
	it := e.pending.pop()
	var r *Record
	if it.proc != nil {
		r = it.proc.record(it.at)
		if next, ok := it.proc.advance(); ok {
			e.schedule(next, nil, it.proc)
		}
	} else {
		r = it.rec
	}
	r.Time = it.at
	if !e.opts.check {
		if r.lazy.kind != 0 && !e.opts.DeferJSON {
			r.JSON = r.AppendJSON(make([]byte, 0, 640))
			r.lazy = lazyMeta{}
		}
		if err := e.encode(r); err != nil {
			e.err = err
		}
	}
	e.last = it.at
	return r
}

// schedule puts a record (or a running Linode event) on the timeline.
func (e *Engine) schedule(at time.Time, r *Record, p *linodeProc) {
	e.seq++
	e.pending.push(pendingItem{at: at, seq: e.seq, rec: r, proc: p})
}

// scheduleRun puts a record on the timeline after the ones run holds (a
// run of the pending heap, or -1 for none yet), in the same run when it
// comes after them, and sets run to the run it went into. A run is for
// what one engine step schedules: it may be extended only until the
// engine takes the next record.
func (e *Engine) scheduleRun(run *int32, at time.Time, r *Record) {
	e.seq++
	it := pendingItem{at: at, seq: e.seq, rec: r}
	if *run >= 0 && e.pending.extend(*run, it) {
		return
	}
	*run = e.pending.push(it)
}

// advance runs the next step of a track.
func (e *Engine) advance(ctx context.Context, t *track) error {
	f := t.top()
	if f == nil {
		e.finish(t)
		return nil
	}
	if f.mix != nil {
		return e.mixTick(t, f)
	}
	if f.i >= len(f.steps) {
		f.done++
		if f.count == 0 && !e.opts.check || int64(f.done) < f.count {
			f.i = 0
		} else {
			t.pop()
		}
		return nil
	}
	st := f.steps[f.i]
	f.i++
	switch st.Kind {
	case StepWait:
		d := st.Wait
		if st.Jitter > 0 {
			d += time.Duration(t.rng.Int63n(int64(2*st.Jitter)+1)) - st.Jitter
		}
		t.now = t.now.Add(d)
	case StepRepeat:
		t.push(&frame{steps: st.Steps, count: st.Count, step: st})
	case StepParallel:
		t.waiting = len(st.Tracks)
		for _, tr := range st.Tracks {
			c := e.newTrack(t.name+"/"+tr.Name, t.now, tr.Steps)
			c.parent = t
			e.tracks = append(e.tracks, c)
		}
	case StepMix:
		if e.opts.check {
			for _, c := range st.Choices {
				if err := e.verbCheck(c); err != nil {
					return err
				}
			}
			return nil
		}
		m := &mixState{step: st, left: st.Count}
		if st.Duration > 0 {
			m.end = t.now.Add(st.Duration)
		}
		for _, c := range st.Choices {
			m.total += c.Weight
		}
		t.push(&frame{mix: m})
	case StepEmit:
		r, err := e.emitRecord(st, t.now)
		if err != nil {
			return err
		}
		if r.Action != "" {
			// What the event does to the objects the verbs know, so a
			// later verb can act on what an emit made.
			md, _ := st.Event["metadata"].(map[string]any)
			src, _ := md["source"].(string)
			ctx, _ := md["context"].(map[string]any)
			e.lxd.observe(r.Action, src, r.Project, r.Location, ctx)
		}
		e.schedule(t.now, r, nil)
		t.now = t.now.Add(time.Microsecond)
	case StepFault:
		e.schedule(t.now, &Record{API: st.Fault.API, Fault: st.Fault}, nil)
	case StepLXD, StepLinode:
		if external(st) {
			if err := e.awaitExternal(ctx, t.now); err != nil {
				return err
			}
		}
		end, err := e.run(t, st, false)
		if err != nil {
			return err
		}
		t.now = end
	}
	return nil
}

// run plays one verb step at t.now and returns when its caller is done with it.
func (e *Engine) run(t *track, st *Step, inMix bool) (time.Time, error) {
	if st.Kind == StepLXD {
		return e.lxd.run(t, st, inMix)
	}
	return e.linode.run(t, st, inMix)
}

// verbCheck checks a mix choice's fixed arguments without running it.
func (e *Engine) verbCheck(st *Step) error {
	if st.Kind == StepLXD {
		return e.lxd.checkArgs(st)
	}
	return e.linode.checkArgs(st)
}

func (e *Engine) mixTick(t *track, f *frame) error {
	m := f.mix
	if m.left == 0 && m.step.Count > 0 || !m.end.IsZero() && !t.now.Before(m.end) {
		t.pop()
		return nil
	}
	// Respect the concurrency cap: wait for the earliest in-flight verb.
	for len(m.inflight) >= m.step.Concurrency {
		if earliest := m.inflight[0]; earliest.After(t.now) {
			t.now = earliest
		}
		m.prune(t.now)
	}
	pick := t.rng.Intn(m.total)
	var choice *Step
	for _, c := range m.step.Choices {
		if pick < c.Weight {
			choice = c
			break
		}
		pick -= c.Weight
	}
	end, err := e.run(t, choice, true)
	if err != nil {
		return err
	}
	if end.After(t.now) {
		m.push(end)
	}
	if m.step.Count > 0 {
		m.left--
	}
	// Poisson arrivals at the mix's rate.
	gap := time.Duration(t.rng.ExpFloat64() / m.step.Rate * float64(time.Second))
	if gap < time.Microsecond {
		gap = time.Microsecond
	}
	t.now = t.now.Add(gap)
	m.prune(t.now)
	return nil
}

// finish retires a track whose steps are done, waking its parent when it is
// the last of a parallel step.
func (e *Engine) finish(t *track) {
	for i, x := range e.tracks {
		if x == t {
			e.tracks = append(e.tracks[:i], e.tracks[i+1:]...)
			break
		}
	}
	if p := t.parent; p != nil {
		if t.now.After(p.now) {
			p.now = t.now
		}
		p.waiting--
	}
}

// track is one sequential line of steps with its own cursor and random source.
type track struct {
	id      int
	name    string
	now     time.Time
	rng     *rand.Rand
	fake    *faker
	stack   []*frame
	parent  *track
	waiting int // children still running
}

type frame struct {
	steps []*Step
	i     int
	count int64 // 0: forever
	done  int
	mix   *mixState
	step  *Step // the repeat step; nil for a track's own steps
}

type mixState struct {
	step  *Step
	left  int64
	end   time.Time
	total int
	// inflight holds when each verb in flight ends, as a binary min-heap:
	// the mix only ever asks how many there are and which ends first.
	inflight []time.Time
}

// push adds a verb in flight that ends at end.
func (m *mixState) push(end time.Time) {
	q := append(m.inflight, end)
	for i := len(q) - 1; i > 0; {
		parent := (i - 1) / 2
		if !q[i].Before(q[parent]) {
			break
		}
		q[i], q[parent] = q[parent], q[i]
		i = parent
	}
	m.inflight = q
}

// prune forgets the verbs in flight that have ended by now.
func (m *mixState) prune(now time.Time) {
	q := m.inflight
	for len(q) > 0 && !q[0].After(now) {
		last := len(q) - 1
		q[0] = q[last]
		q = q[:last]
		for i := 0; ; {
			l := 2*i + 1
			if l >= len(q) {
				break
			}
			c := l
			if r := l + 1; r < len(q) && q[r].Before(q[l]) {
				c = r
			}
			if !q[c].Before(q[i]) {
				break
			}
			q[i], q[c] = q[c], q[i]
			i = c
		}
	}
	m.inflight = q
}

func (t *track) push(f *frame) { t.stack = append(t.stack, f) }
func (t *track) pop()          { t.stack = t.stack[:len(t.stack)-1] }
func (t *track) top() *frame {
	if len(t.stack) == 0 {
		return nil
	}
	return t.stack[len(t.stack)-1]
}

// jitter returns d scaled by a random factor in [1-spread, 1+spread].
func (t *track) jitter(d time.Duration, spread float64) time.Duration {
	f := 1 + spread*(2*t.rng.Float64()-1)
	return time.Duration(math.Round(float64(d) * f))
}

// between returns a random duration in [lo, hi].
func (t *track) between(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(t.rng.Int63n(int64(hi-lo)+1))
}

type pendingItem struct {
	at   time.Time
	seq  uint64
	rec  *Record
	proc *linodeProc
}

// pendingHeap is a binary min-heap of what is scheduled, by time then by
// order of scheduling. (at, seq) orders items totally, so the order they
// come out in does not depend on how the heap is laid out. Items come in
// runs: what one request schedules, in order, waits in one run, and the
// heap orders the runs by their first item not yet taken, so it holds a
// few dozen runs instead of every event scheduled. Taking the items of
// sorted runs smallest first gives the same order as taking the items
// one by one. The heap itself holds only keys without pointers, which the
// garbage collector does not have to watch as they move; the runs wait in
// a slab.
type pendingHeap struct {
	keys []pendingKey
	runs []pendingRun
	free []int32 // unused slots of runs
}

// pendingRun is a run of items in (at, seq) order; next is the first not
// yet taken.
type pendingRun struct {
	items []pendingItem
	next  int
}

type pendingKey struct {
	sec  int64 // at, as seconds and nanoseconds since the Unix epoch
	nsec int32
	slot int32 // in runs
	seq  uint64
}

func keyOf(it *pendingItem, slot int32) pendingKey {
	return pendingKey{sec: it.at.Unix(), nsec: int32(it.at.Nanosecond()), slot: slot, seq: it.seq}
}

func (h *pendingHeap) Len() int { return len(h.keys) }

func less(a, b *pendingKey) bool {
	if a.sec != b.sec {
		return a.sec < b.sec
	}
	if a.nsec != b.nsec {
		return a.nsec < b.nsec
	}
	return a.seq < b.seq
}

// peek returns the first item without taking it; the heap must not be empty.
func (h *pendingHeap) peek() *pendingItem {
	r := &h.runs[h.keys[0].slot]
	return &r.items[r.next]
}

// push puts it on the heap as a run of its own, and returns the run.
func (h *pendingHeap) push(it pendingItem) int32 {
	var slot int32
	if n := len(h.free); n > 0 {
		slot = h.free[n-1]
		h.free = h.free[:n-1]
	} else {
		slot = int32(len(h.runs))
		h.runs = append(h.runs, pendingRun{})
	}
	r := &h.runs[slot]
	r.items = append(r.items, it)
	h.keys = append(h.keys, keyOf(&it, slot))
	q := h.keys
	for i := len(q) - 1; i > 0; {
		parent := (i - 1) / 2
		if !less(&q[i], &q[parent]) {
			break
		}
		q[i], q[parent] = q[parent], q[i]
		i = parent
	}
	return slot
}

// extend adds it at the end of run, which push returned and whose items
// have not all been taken since, and reports true; or reports false and
// does nothing when it would come before the run's last item.
func (h *pendingHeap) extend(run int32, it pendingItem) bool {
	r := &h.runs[run]
	last := &r.items[len(r.items)-1]
	if it.at.Before(last.at) || it.seq < last.seq {
		return false
	}
	r.items = append(r.items, it)
	return true
}

// pop takes the first item; the heap must not be empty.
func (h *pendingHeap) pop() pendingItem {
	q := h.keys
	slot := q[0].slot
	r := &h.runs[slot]
	it := r.items[r.next]
	r.items[r.next] = pendingItem{}
	if r.next++; r.next < len(r.items) {
		// The run's next item takes its place, and goes down as far as
		// it belongs.
		x := keyOf(&r.items[r.next], slot)
		n, i := len(q), 0
		for {
			l := 2*i + 1
			if l >= n {
				break
			}
			if c := l + 1; c < n && less(&q[c], &q[l]) {
				l = c
			}
			if !less(&q[l], &x) {
				break
			}
			q[i] = q[l]
			i = l
		}
		q[i] = x
		return it
	}
	r.items, r.next = r.items[:0], 0
	h.free = append(h.free, slot)
	// The run is done. The hole at the top goes down to a leaf by the
	// smaller child, and the last key rises from there: one comparison a
	// level instead of two, since the last key belongs near the bottom.
	last := len(q) - 1
	x := q[last]
	q = q[:last]
	if n := len(q); n > 0 {
		i := 0
		for {
			l := 2*i + 1
			if l >= n {
				break
			}
			if c := l + 1; c < n && less(&q[c], &q[l]) {
				l = c
			}
			q[i] = q[l]
			i = l
		}
		for i > 0 {
			parent := (i - 1) / 2
			if !less(&x, &q[parent]) {
				break
			}
			q[i] = q[parent]
			i = parent
		}
		q[i] = x
	}
	h.keys = q
	return it
}
