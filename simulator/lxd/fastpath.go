package lxd

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/eventsim/eventsim/events"
	"github.com/eventsim/eventsim/internal/fastpath"
)

// The fast path (package internal/fastpath reads the connections).
//
// On the unix socket and on plain TCP the server answers the reads clients
// repeat most, GET /1.0/instances/NAME and …/NAME/state, with or without
// ?project=P, over HTTP/1.1 without a body, directly: the same world, the
// same encodings (encoded.go) and the same answer, byte for byte, as the
// net/http path writes (TestFastPathMatchesNetHTTP). Anything else (another
// route, another query, a name with characters other than letters, digits
// and '-', HTTP/1.0, a WebSocket upgrade, a fault in force, slog's debug
// level) hands the connection to net/http, which then serves it to the end.
// TLS connections are served by net/http alone: their trust is read from
// the TLS state of each request.

// fastReq is one plain read, as parseFast reads it.
type fastReq struct {
	target  []byte // the request target, as net/http's RequestURI
	name    []byte // the instance's name
	project []byte // ?project='s value; nil without one
	state   bool   // …/NAME/state
}

// parseFast reads the request at the start of b (fastpath.Parse) and its
// request line.
func parseFast(b []byte) (r fastReq, n int, st fastpath.Status) {
	_, n, st = fastpath.Parse(b, func(line []byte) (ok, body bool) {
		r, ok = parseInstanceLine(line)
		return ok, false
	})
	if st != fastpath.OK {
		return fastReq{}, 0, st
	}
	return r, n, st
}

// parseInstanceLine accepts exactly "GET /1.0/instances/NAME[/state]
// [?project=P] HTTP/1.1" where NAME holds letters, digits and '-' (what LXD
// allows in an instance name) and P letters, digits, '-', '_' and '.', so
// that net/http reads the same path and query.
func parseInstanceLine(line []byte) (r fastReq, ok bool) {
	target, ok := bytes.CutPrefix(line, []byte("GET "))
	if !ok {
		return r, false
	}
	if target, ok = bytes.CutSuffix(target, []byte(" HTTP/1.1")); !ok {
		return r, false
	}
	rest, ok := bytes.CutPrefix(target, []byte("/1.0/instances/"))
	if !ok {
		return r, false
	}
	r.target = target
	path, query, hasQuery := bytes.Cut(rest, []byte("?"))
	if hasQuery {
		p, ok := bytes.CutPrefix(query, []byte("project="))
		if !ok || !plainName(p, "-_.") {
			return r, false
		}
		r.project = p
	}
	if name, ok := bytes.CutSuffix(path, []byte("/state")); ok {
		path, r.state = name, true
	}
	if len(path) > 63 || !plainName(path, "-") {
		return r, false
	}
	r.name = path
	return r, true
}

// plainName reports whether b is not empty and holds only letters, digits
// and the bytes of extra.
func plainName(b []byte, extra string) bool {
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || bytes.IndexByte([]byte(extra), c) >= 0) {
			return false
		}
	}
	return len(b) > 0
}

// answerFast is the fast path's fastpath.AnswerFunc. It emits the logging
// events the net/http path emits (Options.Logging) in the same order.
func (s *Server) answerFast(nc net.Conn, out, b []byte) ([]byte, int, fastpath.Status) {
	// Faults in force and slog's debug log of every request are the
	// net/http path's.
	if s.failures.n.Load() != 0 || s.log.Enabled(context.Background(), slog.LevelDebug) {
		return out, 0, fastpath.Handoff
	}
	r, n, st := parseFast(b)
	if st != fastpath.OK {
		return out, 0, st
	}
	if s.logging() {
		s.logHandling(connRequestor(nc), "GET", string(r.target), true)
	}
	project := "default"
	if r.project != nil {
		project = string(r.project)
	}
	if r.state {
		meta, err := s.readState(project, string(r.name))
		if err != nil {
			return s.appendError(out, err, n)
		}
		return s.appendJSON(out, http.StatusOK, syncResponse{Type: "sync", Status: "Success", StatusCode: 200, Metadata: meta}, n)
	}
	meta, log, err := s.instanceBody(project, string(r.name), false)
	if err != nil {
		return s.appendError(out, err, n)
	}
	s.logRaw(http.StatusOK, len(meta), func(w io.Writer) { w.Write(meta) }, log)
	// As writeRaw writes it: the handler sets Content-Length and
	// Content-Type, net/http adds Date.
	out = append(out, "HTTP/1.1 200 OK\r\nContent-Length: "...)
	out = strconv.AppendInt(out, int64(len(syncHead)+len(meta)+len(syncTail)), 10)
	out = append(out, "\r\nContent-Type: application/json\r\nDate: "...)
	out = fastpath.AppendDate(out, time.Now())
	out = append(out, "\r\n\r\n"...)
	out = append(out, syncHead...)
	out = append(out, meta...)
	return append(out, syncTail...), n, fastpath.OK
}

// connRequestor is requestorOf for a connection of the fast path: root
// over the unix socket, the client's address over plain TCP.
func connRequestor(nc net.Conn) *events.LXDLifecycleRequestor {
	if nc.LocalAddr().Network() == "unix" {
		return &events.LXDLifecycleRequestor{Username: "root", Protocol: "unix", Address: "@"}
	}
	return &events.LXDLifecycleRequestor{Protocol: "tls", Address: nc.RemoteAddr().String()}
}

// chunkingSize is the largest answer net/http sends with a Content-Length
// when the handler sets none: a longer one it sends chunked.
const chunkingSize = 2048

// appendJSON appends what answer writes for body, as net/http sends it:
// the handler sets Content-Type, net/http adds Date and the Content-Length
// it counted. An answer net/http would send chunked is left to it (the
// read changes nothing, so net/http may make it again).
func (s *Server) appendJSON(out []byte, code int, body any, n int) ([]byte, int, fastpath.Status) {
	b, err := json.Marshal(body)
	if err != nil || len(b)+1 > chunkingSize {
		return out, 0, fastpath.Handoff
	}
	s.logWriteJSON(code, b)
	return appendAnswer(out, code, b), n, fastpath.OK
}

// appendError appends what answerError writes for err.
func (s *Server) appendError(out []byte, err error, n int) ([]byte, int, fastpath.Status) {
	code := status(err)
	b, merr := json.Marshal(errorBody(code, err.Error()))
	if merr != nil || len(b)+1 > chunkingSize {
		return out, 0, fastpath.Handoff
	}
	s.logErrorResponse(err)
	return appendAnswer(out, code, b), n, fastpath.OK
}

// appendAnswer appends an answer of JSON b and a newline, as net/http
// writes it when the handler sets only Content-Type.
func appendAnswer(out []byte, code int, b []byte) []byte {
	out = append(out, "HTTP/1.1 "...)
	out = strconv.AppendInt(out, int64(code), 10)
	out = append(out, ' ')
	out = append(out, http.StatusText(code)...)
	out = append(out, "\r\nContent-Type: application/json\r\nDate: "...)
	out = fastpath.AppendDate(out, time.Now())
	out = append(out, "\r\nContent-Length: "...)
	out = strconv.AppendInt(out, int64(len(b)+1), 10)
	out = append(out, "\r\n\r\n"...)
	out = append(out, b...)
	return append(out, '\n')
}
