package lxd

import (
	"encoding/json"
	"net/http"
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
	encInstance = iota // GET /1.0/instances/NAME's metadata
	encFull            // the instance with its state, snapshots and backups
)

// instanceJSON returns an instance's answer, encoded. s.worldMu must be held.
func (s *Server) instanceJSON(o *world.Object) []byte {
	if b := o.Encoded(encInstance); b != nil {
		return b
	}
	b := mustJSON(s.instanceOf(o))
	o.SetEncoded(encInstance, b)
	return b
}

// fullJSON returns an instance with its state, snapshots and backups,
// encoded. s.worldMu must be held.
func (s *Server) fullJSON(o *world.Object) []byte {
	if b := o.Encoded(encFull); b != nil {
		return b
	}
	b := mustJSON(s.fullOf(o))
	o.SetEncoded(encFull, b)
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

// listCache keeps encoded list answers while the world's version stays.
// s.worldMu guards it. Its keys are the lists' kinds, scopes and levels, of
// projects that exist, so it stays small; it is emptied when the world
// changes.
type listCache struct {
	version uint64
	bodies  map[listKey][]byte
}

type listKey struct {
	kind, project string
	level         int
}

// cachedList returns a list answer built by build, built again only after
// the world changed. s.worldMu must be held.
func (s *Server) cachedList(w *world.World, k listKey, build func() []byte) []byte {
	lc := &s.lists
	if v := w.Version(); lc.bodies == nil || lc.version != v {
		lc.version = v
		lc.bodies = map[listKey][]byte{}
	}
	if b, ok := lc.bodies[k]; ok {
		return b
	}
	b := build()
	lc.bodies[k] = b
	return b
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
// answer would write it, with its length.
func (s *Server) answerRaw(w http.ResponseWriter, code int, meta []byte) {
	if s.opts.Logging {
		b := make([]byte, 0, len(syncHead)+len(meta)+1)
		b = append(append(append(b, syncHead...), meta...), '}')
		if msg, ok := scenarios.LXDIndentLog("WriteJSON", b); ok {
			s.logEvent("debug", msg, map[string]string{"http_code": strconv.Itoa(code)})
		}
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(syncHead)+len(meta)+len(syncTail)))
	w.WriteHeader(code)
	w.Write(syncHead)
	w.Write(meta)
	w.Write(syncTail)
}
