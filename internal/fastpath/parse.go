// Package fastpath answers the plain HTTP/1.1 requests a fake server sees
// most without net/http's request and response machinery, and hands every
// other connection to net/http.
//
// Profiles of the fakes' hottest reads (a Linode event or instance by id,
// an LXD instance by name) show most of a server's own time in net/http
// machinery the answer does not need: a Request with its header map, URL
// and context, a background read per request, and a copied and sorted
// response header map. So a server reads its connections itself (Server)
// and answers the plain requests it recognises directly, written in one
// piece. Anything else (another route or method, a chunked body, HTTP/1.0,
// a header it does not fully understand, headers beyond Max bytes) makes it
// hand the connection, with every byte it has not answered, to a net/http
// server, which then serves that connection to the end. net/http thus
// remains the reference for everything that is not plain, and the fast
// path only answers what it fully understands.
//
// Parse reads a request as net/http would, or says it cannot tell; each
// server reads the request line its own way (the routes it answers).
package fastpath

import (
	"bytes"
	"net/http"
	"sync/atomic"
	"time"
)

// Max is the most a connection's pending bytes may hold before the fast
// path gives the connection to net/http: a request whose head and body do
// not fit is not a plain one.
const Max = 8 << 10

// Status is what Parse made of the bytes it was given.
type Status uint8

const (
	More    Status = iota // the request is not complete yet
	OK                    // a plain request
	Handoff               // not a plain request: give the connection to net/http
)

// Request is what Parse reads of a plain request beyond its request line.
type Request struct {
	// Auth is the first Authorization value, trimmed; nil when there is
	// none.
	Auth []byte
	// Body is the request's body (Content-Length bytes); nil without one.
	Body []byte
}

// Parse reads the request at the start of b. line reads its request line
// (without its CRLF): ok false means the server does not answer it (the
// connection is handed over), body whether the request may carry a body
// (one without may only say Content-Length: 0). With OK, n is the length of
// the request, body included. Parse never takes a request net/http would
// refuse or read differently: on any doubt it says Handoff.
func Parse(b []byte, line func(l []byte) (ok, body bool)) (r Request, n int, st Status) {
	end := bytes.Index(b, crlfcrlf)
	if end < 0 {
		// A bare LF could end a request net/http accepts: not ours.
		if bareLF(b) || len(b) >= Max || malformedHead(b) {
			return r, 0, Handoff
		}
		return r, 0, More
	}
	if end+4 > Max || bareLF(b[:end+4]) {
		return r, 0, Handoff
	}
	n = end + 4
	head := b[:end+2] // every line ends with CRLF

	first, rest := cutLine(head)
	ok, withBody := line(first)
	if !ok {
		return r, 0, Handoff
	}
	hosts, lengths, length := 0, 0, 0
	for len(rest) > 0 {
		var l []byte
		l, rest = cutLine(rest)
		colon := bytes.IndexByte(l, ':')
		if colon <= 0 || !tokenBytes(l[:colon]) {
			return r, 0, Handoff
		}
		name, value := l[:colon], trimOWS(l[colon+1:])
		if !fieldValue(value) {
			return r, 0, Handoff
		}
		switch {
		case bytes.EqualFold(name, hdrHost):
			if hosts++; !hostValue(value) {
				return r, 0, Handoff
			}
		case bytes.EqualFold(name, hdrAuthorization):
			if r.Auth == nil {
				r.Auth = value
			}
		case bytes.EqualFold(name, hdrContentLength):
			if lengths++; !withBody && string(value) != "0" || lengths > 1 {
				return r, 0, Handoff
			}
			if length, ok = smallLength(value); !ok {
				return r, 0, Handoff
			}
		case bytes.EqualFold(name, hdrConnection):
			// Closing well (net/http lingers so that the client reads
			// the last answer) is left to net/http.
			if !bytes.EqualFold(value, []byte("keep-alive")) {
				return r, 0, Handoff
			}
		case bytes.EqualFold(name, hdrTransferEncoding), bytes.EqualFold(name, hdrExpect),
			bytes.EqualFold(name, hdrUpgrade), bytes.EqualFold(name, hdrTE), bytes.EqualFold(name, hdrTrailer):
			return r, 0, Handoff
		}
	}
	if hosts != 1 {
		return r, 0, Handoff
	}
	if length > 0 {
		if n+length > Max {
			return r, 0, Handoff
		}
		if len(b) < n+length {
			return r, 0, More
		}
		r.Body = b[n : n+length]
		n += length
	}
	return r, n, OK
}

// smallLength reads a Content-Length of at most Max: digits only.
func smallLength(v []byte) (int, bool) {
	if len(v) == 0 || len(v) > 5 {
		return 0, false
	}
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n <= Max
}

var (
	crlfcrlf            = []byte("\r\n\r\n")
	hdrHost             = []byte("Host")
	hdrAuthorization    = []byte("Authorization")
	hdrContentLength    = []byte("Content-Length")
	hdrConnection       = []byte("Connection")
	hdrTransferEncoding = []byte("Transfer-Encoding")
	hdrExpect           = []byte("Expect")
	hdrUpgrade          = []byte("Upgrade")
	hdrTE               = []byte("TE")
	hdrTrailer          = []byte("Trailer")
)

// malformedHead reports whether the complete lines of an unfinished head
// hold one net/http refuses with a 400 as soon as it has read it, without
// waiting for the rest: a request line not of the form "METHOD TARGET
// HTTP/...", or a header line without a valid name and value. Lines that
// are merely not plain wait for the whole head, as they then go to
// net/http, whose Shutdown would wait for them.
func malformedHead(b []byte) bool {
	i := bytes.LastIndex(b, []byte("\r\n"))
	if i < 0 {
		return false
	}
	line, rest := cutLine(b[:i+2])
	method, target, ok := bytes.Cut(line, []byte(" "))
	if !ok || !tokenBytes(method) {
		return true
	}
	if target, proto, ok := bytes.Cut(target, []byte(" ")); !ok || len(target) == 0 || !bytes.HasPrefix(proto, []byte("HTTP/")) {
		return true
	}
	for len(rest) > 0 {
		line, rest = cutLine(rest)
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !tokenBytes(line[:colon]) || !fieldValue(trimOWS(line[colon+1:])) {
			return true
		}
	}
	return false
}

func cutLine(b []byte) (line, rest []byte) {
	i := bytes.Index(b, []byte("\r\n"))
	return b[:i], b[i+2:]
}

// bareLF reports whether b holds a LF not preceded by CR.
func bareLF(b []byte) bool {
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return false
		}
		if i+j == 0 || b[i+j-1] != '\r' {
			return true
		}
		i += j + 1
	}
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// tokenBytes reports whether b is an RFC 9110 token (a valid field name).
func tokenBytes(b []byte) bool {
	for _, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), c) >= 0:
		default:
			return false
		}
	}
	return len(b) > 0
}

// fieldValue reports whether b is a field value with no control characters
// other than tab (so no CR or LF either).
func fieldValue(b []byte) bool {
	for _, c := range b {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// hostValue accepts the plain host[:port] forms clients send; net/http judges
// anything rarer.
func hostValue(b []byte) bool {
	for _, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '-', c == ':', c == '[', c == ']', c == '_':
		default:
			return false
		}
	}
	return true
}

// httpDate is the Date header's value, made once a second.
var httpDate atomic.Pointer[dateValue]

type dateValue struct {
	sec int64
	b   []byte
}

// AppendDate appends now as net/http writes its Date header.
func AppendDate(b []byte, now time.Time) []byte {
	d := httpDate.Load()
	if sec := now.Unix(); d == nil || d.sec != sec {
		d = &dateValue{sec: sec, b: now.UTC().AppendFormat(nil, http.TimeFormat)}
		httpDate.Store(d)
	}
	return append(b, d.b...)
}
