package lxd

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"

	"github.com/eventsim/eventsim/scenarios"
	"github.com/eventsim/eventsim/world"
)

// Encoded answers. The REST reads that clients repeat most (lxc list's
// GET /1.0/instances?recursion=2, GET /1.0/instances/NAME) are answered
// from encodings kept with the world's objects: each instance is encoded
// once per change (world.Object.Encoded drops the encoding when the fold
// changes the instance or its children), and a list once per change to the
// world (World.Version). So a read costs about what writing its bytes
// costs, and what it shows is always what the world holds at that moment.

// Encoding slots of world objects.
const (
	encInstance    = iota // GET /1.0/instances/NAME's metadata
	encFull               // the instance with its state, snapshots and backups
	encInstanceLog        // the "WriteJSON" log message of encInstance's answer
)

// instanceJSON returns an instance's answer, encoded. s.worldMu must be held.
func (s *Server) instanceJSON(o *world.Object) []byte {
	return encodedIn(o, encInstance, func() any { return s.instanceOf(o) })
}

// fullJSON returns an instance with its state, snapshots and backups,
// encoded. s.worldMu must be held.
func (s *Server) fullJSON(o *world.Object) []byte {
	return encodedIn(o, encFull, func() any { return s.fullOf(o) })
}

// instanceLogJSON returns the "WriteJSON" log message (Options.Logging) of
// GET /1.0/instances/NAME's answer, kept as the answer is: indenting it
// costs more than the rest of the read. s.worldMu must be held.
func (s *Server) instanceLogJSON(o *world.Object) []byte {
	if b := o.Encoded(encInstanceLog); b != nil {
		return b
	}
	meta := s.instanceJSON(o)
	msg, _ := scenarios.LXDIndentLog("WriteJSON", slices.Concat(syncHead, meta, []byte("}")))
	b := []byte(msg)
	o.SetEncoded(encInstanceLog, b)
	return b
}

// encodedIn returns the encoding kept in an object's slot, made from what
// build returns when there is none.
func encodedIn(o *world.Object, slot int, build func() any) []byte {
	if b := o.Encoded(slot); b != nil {
		return b
	}
	b := mustJSON(build())
	o.SetEncoded(slot, b)
	return b
}

// mustJSON encodes a value made of strings, numbers, maps and slices, which
// cannot fail.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("lxd: encode answer: " + err.Error())
	}
	return b
}

// listKeepMax is the largest list answer kept whole: a bigger one (a world
// of 100,000 instances lists 80 MB with recursion=2) is written from its
// objects' encodings each time instead of being kept twice.
const listKeepMax = 16 << 20

// listCache keeps encoded list answers while the world's version stays.
// s.worldMu guards it. Its keys are the lists' kinds, scopes and levels, of
// projects that exist, so it stays small; it is emptied when the world
// changes.
type listCache struct {
	version uint64
	bodies  map[listKey][]byte
	keepMax int // listKeepMax; tests lower it
}

type listKey struct {
	kind, project string
	level         int
}

// cachedList returns a list answer kept for k since the world last changed,
// or nil. s.worldMu must be held.
func (s *Server) cachedList(w *world.World, k listKey) []byte {
	if lc := &s.lists; lc.bodies != nil && lc.version == w.Version() {
		return lc.bodies[k]
	}
	return nil
}

// keepList keeps a list answer for k until the world changes. s.worldMu
// must be held.
func (s *Server) keepList(w *world.World, k listKey, b []byte) {
	lc := &s.lists
	if v := w.Version(); lc.bodies == nil || lc.version != v {
		lc.version = v
		lc.bodies = map[listKey][]byte{}
	}
	lc.bodies[k] = b
}

// jsonArray is a JSON array of encoded elements, its length and, when it
// is not larger than keepMax, the array itself.
func jsonArray(elems [][]byte, keepMax int) (n int, whole []byte) {
	n = 2 + max(len(elems)-1, 0)
	for _, e := range elems {
		n += len(e)
	}
	if n > keepMax {
		return n, nil
	}
	whole = make([]byte, 0, n)
	whole = append(whole, '[')
	for i, e := range elems {
		if i > 0 {
			whole = append(whole, ',')
		}
		whole = append(whole, e...)
	}
	return n, append(whole, ']')
}

// syncHead is LXD's sync envelope up to its metadata; syncTail ends it.
var (
	syncHead = func() []byte {
		b := mustJSON(syncResponse{Type: "sync", Status: "Success", StatusCode: 200})
		const tail = `null}`
		return b[:len(b)-len(tail)]
	}()
	syncTail = []byte("}\n")
)

// answerRaw writes a sync answer whose metadata is already encoded, as
// answer would write it, with its length. log, when not nil, is the
// answer's "WriteJSON" log message, made already.
func (s *Server) answerRaw(w http.ResponseWriter, code int, meta, log []byte) {
	s.writeRaw(w, code, len(meta), func(w io.Writer) { w.Write(meta) }, log)
}

// answerArray is answerRaw for a JSON array of n bytes written from its
// encoded elements.
func (s *Server) answerArray(w http.ResponseWriter, code, n int, elems [][]byte) {
	s.writeRaw(w, code, n, func(w io.Writer) {
		// Elements are small: gather them into large writes.
		bw := bufio.NewWriterSize(w, 64<<10)
		bw.WriteByte('[')
		for i, e := range elems {
			if i > 0 {
				bw.WriteByte(',')
			}
			bw.Write(e)
		}
		bw.WriteByte(']')
		bw.Flush()
	}, nil)
}

// writeRaw writes a sync answer whose n bytes of metadata write writes;
// log is its "WriteJSON" log message when made already.
func (s *Server) writeRaw(w http.ResponseWriter, code, n int, write func(w io.Writer), log []byte) {
	s.logRaw(code, n, write, log)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(syncHead)+n+len(syncTail)))
	w.WriteHeader(code)
	w.Write(syncHead)
	write(w)
	w.Write(syncTail)
}

// logRaw emits the "WriteJSON" log of a sync answer whose n bytes of
// metadata write writes, when Options.Logging is set; log is the message
// when made already.
func (s *Server) logRaw(code, n int, write func(w io.Writer), log []byte) {
	if !s.logging() {
		return
	}
	if log != nil {
		s.logEvent("debug", string(log), map[string]string{"http_code": strconv.Itoa(code)})
		return
	}
	var b bytes.Buffer
	b.Grow(len(syncHead) + n + 1)
	b.Write(syncHead)
	write(&b)
	b.WriteByte('}')
	s.logWriteJSON(code, b.Bytes())
}
