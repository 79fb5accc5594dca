package linode

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/eventsim/eventsim/events"
	"github.com/eventsim/eventsim/internal/jsonenc"
)

// chunkSize is the size of one arena chunk holding encoded events.
const chunkSize = 4 << 20

// rsFalse is how every event is encoded in the arena: read and seen are
// spliced in when served, so marking events seen never re-encodes them.
const rsFalse = `"read":false,"seen":false`

// Entity id kinds.
const (
	kindNull  uint8 = iota // no entity, or an entity whose id is null
	kindInt                // integer id
	kindName               // tag name, interned in store.names
	kindOther              // any other JSON value; matches no id filter
)

// Entry flags.
const (
	flagRead       uint8 = 1 << iota // delivered with read true
	flagSeen                         // delivered with seen true
	flagMarkedRead                   // marked by POST .../read
)

// entry is one event as the store keeps it: the fields filters and orders
// use, and where its encoded JSON lives in the arena. 48 bytes.
type entry struct {
	id       int64
	created  int64 // Unix seconds, UTC
	entityID int64 // integer id, or index into store.names for kindName
	chunk    uint32
	off      uint32
	n        uint32 // length of the JSON
	rs       uint32 // offset of rsFalse within the JSON
	action   uint16 // index into store.strs
	etype    uint16 // index into store.strs; 0 ("") when there is no entity
	ekind    uint8
	flags    uint8
}

func (e *entry) read() bool { return e.flags&(flagRead|flagMarkedRead) != 0 }

// store holds every delivered event in id order. Ids grow as the engine makes
// events, so delivering is an append; an id below the last is an insert that
// rebuilds the indexes. It is not safe for concurrent use: Server.mu guards it.
type store struct {
	ents []entry

	arena   [][]byte // encoded events; chunks never move once written
	live    int      // bytes of the arena in use
	dead    int      // bytes of replaced encodings, reclaimed by compact
	scratch []byte

	strs  []string          // interned action and entity.type values; strs[0] is ""
	strID map[string]uint16 // inverse of strs
	names []string          // interned string entity ids (tag names)
	nameI map[string]int64

	// byStr[i] lists, in id order, the positions of the events whose action
	// or entity.type is strs[i]. Actions and types never share a string in
	// practice; the filter checks the field again when they do.
	byAction [][]uint32
	byType   [][]uint32

	// inversions counts adjacent pairs whose created decreases in id order.
	// Zero means created is non-decreasing in id order, so ordering by
	// created is ordering by id and created ranges are binary searches.
	inversions int

	seenUpTo int64 // every event with id <= seenUpTo is seen
}

func newStore() *store {
	s := &store{}
	s.reset()
	return s
}

func (s *store) reset() {
	*s = store{
		strs:     []string{""},
		strID:    map[string]uint16{"": 0},
		nameI:    map[string]int64{},
		byAction: [][]uint32{nil},
		byType:   [][]uint32{nil},
		scratch:  s.scratch[:0],
	}
}

// monotone reports whether created is non-decreasing in id order.
func (s *store) monotone() bool { return s.inversions == 0 }

// find returns the position of id and whether it is there.
func (s *store) find(id int64) (int, bool) {
	// Engine ids are usually dense: try the position they would have then.
	if n := len(s.ents); n > 0 {
		if g := id - s.ents[0].id; g >= 0 && g < int64(n) && s.ents[g].id == id {
			return int(g), true
		}
	}
	return slices.BinarySearchFunc(s.ents, id, func(e entry, id int64) int {
		switch {
		case e.id < id:
			return -1
		case e.id > id:
			return 1
		}
		return 0
	})
}

func (s *store) bytes(e *entry) []byte {
	return s.arena[e.chunk][e.off : e.off+e.n]
}

// appendJSON appends the event as a client sees it now.
func (s *store) appendJSON(b []byte, e *entry) []byte {
	j := s.bytes(e)
	read := e.read()
	seen := e.flags&flagSeen != 0 || e.id <= s.seenUpTo
	if !read && !seen {
		return append(b, j...)
	}
	b = append(b, j[:e.rs]...)
	b = append(b, `"read":`...)
	b = strconv.AppendBool(b, read)
	b = append(b, `,"seen":`...)
	b = strconv.AppendBool(b, seen)
	return append(b, j[int(e.rs)+len(rsFalse):]...)
}

func (s *store) intern(v string) (uint16, error) {
	if i, ok := s.strID[v]; ok {
		return i, nil
	}
	if len(s.strs) > math.MaxUint16 {
		return 0, fmt.Errorf("too many distinct action and entity.type values (%d)", len(s.strs))
	}
	i := uint16(len(s.strs))
	s.strs = append(s.strs, v)
	s.strID[v] = i
	s.byAction = append(s.byAction, nil)
	s.byType = append(s.byType, nil)
	return i, nil
}

// upsert stores the event, replacing the one with the same id.
func (s *store) upsert(ev *events.LinodeEvent) error {
	if ev.ID < 1 {
		return fmt.Errorf("event id %d, must be at least 1", ev.ID)
	}
	var err error
	s.scratch, err = appendEvent(s.scratch[:0], ev)
	if err != nil {
		return fmt.Errorf("encode event %d: %w", ev.ID, err)
	}
	rs := bytes.Index(s.scratch, []byte(rsFalse))
	if rs < 0 || len(s.scratch) > math.MaxUint32/2 {
		return fmt.Errorf("encode event %d: unexpected encoding", ev.ID)
	}
	ne := entry{id: ev.ID, created: time.Time(ev.Created).Unix(), rs: uint32(rs)}
	if ev.Read {
		ne.flags |= flagRead
	}
	if ev.Seen {
		ne.flags |= flagSeen
	}
	if ne.action, err = s.intern(ev.Action); err != nil {
		return err
	}
	if ent := ev.Entity; ent != nil {
		if ne.etype, err = s.intern(ent.Type); err != nil {
			return err
		}
		ne.ekind, ne.entityID = s.entityID(ent.ID)
	}

	n := len(s.ents)
	i, found := s.find(ev.ID)
	switch {
	case found:
		old := &s.ents[i]
		s.live -= int(old.n)
		if last := len(s.arena) - 1; int(old.chunk) == last && int(old.off+old.n) == len(s.arena[last]) {
			// The newest encoding, as an event's states come one after
			// the other: written over (readers copy what they serve,
			// under the lock the caller holds).
			s.arena[last] = s.arena[last][:old.off]
		} else {
			s.dead += int(old.n)
		}
		ne.flags |= old.flags & flagMarkedRead
		s.countPairs(i, -1)
		if old.action != ne.action {
			s.byAction[old.action] = removePos(s.byAction[old.action], uint32(i))
			s.byAction[ne.action] = insertPos(s.byAction[ne.action], uint32(i))
		}
		if old.etype != ne.etype {
			s.byType[old.etype] = removePos(s.byType[old.etype], uint32(i))
			s.byType[ne.etype] = insertPos(s.byType[ne.etype], uint32(i))
		}
		s.put(&ne)
		s.ents[i] = ne
		s.countPairs(i, +1)
	case i == n:
		if n >= math.MaxUint32 {
			return errors.New("store is full")
		}
		s.put(&ne)
		s.ents = append(s.ents, ne)
		s.byAction[ne.action] = append(s.byAction[ne.action], uint32(n))
		s.byType[ne.etype] = append(s.byType[ne.etype], uint32(n))
		if n > 0 && s.ents[n-1].created > ne.created {
			s.inversions++
		}
	default:
		// An id below the last: positions after it shift, so rebuild.
		if i > 0 && s.ents[i-1].created > s.ents[i].created {
			s.inversions--
		}
		s.put(&ne)
		s.ents = slices.Insert(s.ents, i, ne)
		s.countPairs(i, +1)
		s.reindex()
	}
	if s.dead > 64<<20 && s.dead > s.live {
		s.compact()
	}
	return nil
}

// countPairs adds d for each inversion among the pairs around position i.
func (s *store) countPairs(i, d int) {
	if i > 0 && s.ents[i-1].created > s.ents[i].created {
		s.inversions += d
	}
	if i+1 < len(s.ents) && s.ents[i].created > s.ents[i+1].created {
		s.inversions += d
	}
}

func (s *store) entityID(id any) (uint8, int64) {
	switch v := id.(type) {
	case nil:
		return kindNull, 0
	case int:
		return kindInt, int64(v)
	case int64:
		return kindInt, v
	case int32:
		return kindInt, int64(v)
	case uint32:
		return kindInt, int64(v)
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<63 {
			return kindInt, int64(v)
		}
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return kindInt, n
		}
	case string:
		i, ok := s.nameI[v]
		if !ok {
			i = int64(len(s.names))
			s.names = append(s.names, v)
			s.nameI[v] = i
		}
		return kindName, i
	}
	return kindOther, 0
}

// put copies s.scratch into the arena and points e at it.
func (s *store) put(e *entry) {
	p := s.scratch
	if len(s.arena) == 0 || cap(s.arena[len(s.arena)-1])-len(s.arena[len(s.arena)-1]) < len(p) {
		s.arena = append(s.arena, make([]byte, 0, max(chunkSize, len(p))))
	}
	c := len(s.arena) - 1
	e.chunk, e.off, e.n = uint32(c), uint32(len(s.arena[c])), uint32(len(p))
	s.arena[c] = append(s.arena[c], p...)
	s.live += len(p)
}

// compact copies the live encodings into fresh chunks, dropping replaced ones.
func (s *store) compact() {
	old := s.arena
	s.arena, s.live, s.dead = nil, 0, 0
	for i := range s.ents {
		e := &s.ents[i]
		s.scratch = append(s.scratch[:0], old[e.chunk][e.off:e.off+e.n]...)
		s.put(e)
	}
}

func (s *store) reindex() {
	for i := range s.byAction {
		s.byAction[i] = s.byAction[i][:0]
		s.byType[i] = s.byType[i][:0]
	}
	for i := range s.ents {
		e := &s.ents[i]
		s.byAction[e.action] = append(s.byAction[e.action], uint32(i))
		s.byType[e.etype] = append(s.byType[e.etype], uint32(i))
	}
}

func insertPos(l []uint32, p uint32) []uint32 {
	i, _ := slices.BinarySearch(l, p)
	return slices.Insert(l, i, p)
}

func removePos(l []uint32, p uint32) []uint32 {
	if i, ok := slices.BinarySearch(l, p); ok {
		return slices.Delete(l, i, i+1)
	}
	return l
}

// appendEvent appends ev encoded exactly as encoding/json would, without the
// allocations, with read and seen false (see rsFalse).
func appendEvent(b []byte, ev *events.LinodeEvent) ([]byte, error) {
	var err error
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, ev.ID, 10)
	b = append(b, `,"action":`...)
	b = appendString(b, ev.Action)
	b = append(b, `,"created":"`...)
	b = appendCreated(b, time.Time(ev.Created))
	b = append(b, `","duration":`...)
	if b, err = appendFloatPtr(b, ev.Duration); err != nil {
		return b, fmt.Errorf("duration: %w", err)
	}
	b = append(b, `,"entity":`...)
	if b, err = appendEntity(b, ev.Entity); err != nil {
		return b, fmt.Errorf("entity: %w", err)
	}
	b = append(b, `,"secondary_entity":`...)
	if b, err = appendEntity(b, ev.SecondaryEntity); err != nil {
		return b, fmt.Errorf("secondary_entity: %w", err)
	}
	b = append(b, `,"message":`...)
	b = appendStringPtr(b, ev.Message)
	b = append(b, `,"percent_complete":`...)
	if ev.PercentComplete == nil {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, int64(*ev.PercentComplete), 10)
	}
	b = append(b, `,"rate":`...)
	b = appendStringPtr(b, ev.Rate)
	b = append(b, ',')
	b = append(b, rsFalse...)
	b = append(b, `,"status":`...)
	b = appendString(b, ev.Status)
	b = append(b, `,"time_remaining":`...)
	if b, err = appendAny(b, ev.TimeRemaining); err != nil {
		return b, fmt.Errorf("time_remaining: %w", err)
	}
	b = append(b, `,"username":`...)
	b = appendStringPtr(b, ev.Username)
	b = append(b, `,"details":`...)
	switch {
	case ev.Details == nil:
		b = append(b, "null"...)
	case string(ev.Details) == "{}":
		b = append(b, "{}"...)
	default:
		d, err := json.Marshal(ev.Details)
		if err != nil {
			return b, fmt.Errorf("details: %w", err)
		}
		b = append(b, d...)
	}
	return append(b, '}'), nil
}

// appendCreated writes an event's created time. Every state of an event
// has the same, so the last one formatted is kept.
func appendCreated(b []byte, t time.Time) []byte {
	if p := lastCreated.Load(); p != nil && p.t.Equal(t) {
		return append(b, p.b...)
	}
	f := t.UTC().AppendFormat(nil, events.LinodeTimeFormat)
	lastCreated.Store(&createdValue{t, f})
	return append(b, f...)
}

var lastCreated atomic.Pointer[createdValue]

type createdValue struct {
	t time.Time
	b []byte
}

func appendEntity(b []byte, e *events.LinodeEntity) ([]byte, error) {
	if e == nil {
		return append(b, "null"...), nil
	}
	var err error
	b = append(b, `{"id":`...)
	if b, err = appendAny(b, e.ID); err != nil {
		return b, fmt.Errorf("id: %w", err)
	}
	b = append(b, `,"label":`...)
	b = appendString(b, e.Label)
	b = append(b, `,"type":`...)
	b = appendString(b, e.Type)
	b = append(b, `,"url":`...)
	b = appendString(b, e.URL)
	return append(b, '}'), nil
}

func appendAny(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case int:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case string:
		return appendString(b, v), nil
	case float64:
		return appendFloat(b, v)
	}
	j, err := json.Marshal(v)
	if err != nil {
		return b, err
	}
	return append(b, j...), nil
}

func appendFloatPtr(b []byte, f *float64) ([]byte, error) {
	if f == nil {
		return append(b, "null"...), nil
	}
	return appendFloat(b, *f)
}

// appendFloat writes f as encoding/json does.
func appendFloat(b []byte, f float64) ([]byte, error) { return jsonenc.AppendFloat(b, f) }

func appendStringPtr(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendString(b, *s)
}

// appendString writes s as a JSON string as encoding/json does.
func appendString(b []byte, s string) []byte { return jsonenc.AppendString(b, s) }
