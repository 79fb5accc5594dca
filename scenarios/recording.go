package scenarios

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// RecordingFormat names the recording format in each recording's header.
const RecordingFormat = "eventsim-recording/1"

// RecordingHeader is the first line of a recording (`eventsim record`): what
// was recorded, from where, and when.
type RecordingHeader struct {
	// Recording is RecordingFormat.
	Recording string `json:"recording"`
	// Kind is "lxd" or "linode".
	Kind string `json:"kind"`
	// Target is the --target the events came from (its host scrubbed).
	Target string `json:"target"`
	// Server, ServerVersion and Flavor come from LXD's GET /1.0
	// (environment.server, environment.server_version, and the catalogue
	// flavour they imply); Clustered from environment.server_clustered.
	Server        string `json:"server,omitempty"`
	ServerVersion string `json:"server_version,omitempty"`
	Flavor        string `json:"flavor,omitempty"`
	Clustered     bool   `json:"clustered,omitempty"`
	// Project, AllProjects and Types are the LXD listener's filters.
	Project     string   `json:"project,omitempty"`
	AllProjects bool     `json:"all_projects,omitempty"`
	Types       []string `json:"types,omitempty"`
	// Interval is how often a Linode recording polled, as a Go duration.
	Interval string `json:"interval,omitempty"`
	// Started is when recording began; each event's offset counts from it.
	Started time.Time `json:"started"`
	// EventsimVersion is the version of eventsim that recorded.
	EventsimVersion string `json:"eventsim_version"`
	// Scrubbed says secrets were replaced by stand-ins (see docs/recording.md).
	Scrubbed bool `json:"scrubbed"`
}

// RecordedEvent is one event of a recording: its JSON exactly as received
// (scrubbed) and when it arrived after the recording started. Offset is -1
// for events of a plain NDJSON capture, which has no arrival times.
type RecordedEvent struct {
	Offset time.Duration
	Event  json.RawMessage
	// Line is the event's line in the file, from 1.
	Line int
}

// recordingPrefix starts every event line of a recording.
var recordingPrefix = []byte(`{"offset_ns":`)

// AppendRecordedEvent appends one recording line (ending in a newline) for
// an event that arrived offset after the start. ev must be one JSON value;
// it is compacted when it spans lines.
func AppendRecordedEvent(dst []byte, offset time.Duration, ev []byte) []byte {
	dst = append(dst, recordingPrefix...)
	dst = strconv.AppendInt(dst, int64(offset), 10)
	dst = append(dst, `,"event":`...)
	ev = bytes.TrimSpace(ev)
	if bytes.ContainsAny(ev, "\r\n") {
		var b bytes.Buffer
		if json.Compact(&b, ev) == nil {
			ev = b.Bytes()
		}
	}
	dst = append(dst, ev...)
	return append(dst, '}', '\n')
}

// AppendRecordingHeader appends a header line.
func AppendRecordingHeader(dst []byte, h RecordingHeader) []byte {
	h.Recording = RecordingFormat
	b, _ := json.Marshal(h)
	dst = append(dst, b...)
	return append(dst, '\n')
}

// RecordingReader reads a recording, or any NDJSON capture of events (one
// event a line, no header, no arrival times), one event at a time.
type RecordingReader struct {
	name    string
	sc      *bufio.Scanner
	line    int
	header  *RecordingHeader
	pending []byte // the first line, when it was an event
	pline   int
}

// ErrRecording reports a recording that cannot be read.
var ErrRecording = errors.New("invalid recording")

// NewRecordingReader reads the first line of r: a recording header, or the
// first event of a plain capture. name is used in errors.
func NewRecordingReader(r io.Reader, name string) (*RecordingReader, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 256<<10), 16<<20)
	rr := &RecordingReader{name: name, sc: sc}
	for sc.Scan() {
		rr.line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		if bytes.HasPrefix(b, []byte(`{"recording":`)) {
			var h RecordingHeader
			if err := json.Unmarshal(b, &h); err != nil {
				return nil, fmt.Errorf("%w: %s:%d: header: %v", ErrRecording, name, rr.line, err)
			}
			if h.Recording != RecordingFormat {
				return nil, fmt.Errorf("%w: %s:%d: recording %q, this eventsim reads %q", ErrRecording, name, rr.line, h.Recording, RecordingFormat)
			}
			if h.Kind != "lxd" && h.Kind != "linode" {
				return nil, fmt.Errorf("%w: %s:%d: kind %q, must be lxd or linode", ErrRecording, name, rr.line, h.Kind)
			}
			rr.header = &h
		} else {
			rr.pending, rr.pline = bytes.Clone(b), rr.line
		}
		return rr, nil
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: line %d: %w", name, rr.line+1, err)
	}
	return rr, nil
}

// Header returns the recording's header, or nil for a plain capture.
func (r *RecordingReader) Header() *RecordingHeader { return r.header }

// Next returns the next event, or io.EOF after the last. A recording line
// that is not `{"offset_ns":N,"event":E}` is an error naming its line; a
// line of a plain capture is returned as it is (the checks judge it).
func (r *RecordingReader) Next() (RecordedEvent, error) {
	if r.pending != nil {
		b, line := r.pending, r.pline
		r.pending = nil
		return r.parse(b, line)
	}
	for r.sc.Scan() {
		r.line++
		b := bytes.TrimSpace(r.sc.Bytes())
		if len(b) == 0 {
			continue
		}
		return r.parse(bytes.Clone(b), r.line)
	}
	if err := r.sc.Err(); err != nil {
		return RecordedEvent{}, fmt.Errorf("read %s: line %d: %w", r.name, r.line+1, err)
	}
	return RecordedEvent{}, io.EOF
}

func (r *RecordingReader) parse(b []byte, line int) (RecordedEvent, error) {
	if !bytes.HasPrefix(b, recordingPrefix) {
		if r.header != nil {
			return RecordedEvent{}, fmt.Errorf("%w: %s:%d: want {\"offset_ns\":N,\"event\":{...}}, got %.80s", ErrRecording, r.name, line, b)
		}
		return RecordedEvent{Offset: -1, Event: b, Line: line}, nil
	}
	rest := b[len(recordingPrefix):]
	i := bytes.IndexByte(rest, ',')
	if i < 0 {
		return RecordedEvent{}, fmt.Errorf("%w: %s:%d: no event after offset_ns", ErrRecording, r.name, line)
	}
	n, err := strconv.ParseInt(string(rest[:i]), 10, 64)
	if err != nil || n < 0 {
		return RecordedEvent{}, fmt.Errorf("%w: %s:%d: offset_ns %q, must be a whole number of nanoseconds, 0 or more", ErrRecording, r.name, line, rest[:i])
	}
	rest = rest[i+1:]
	const key = `"event":`
	if !bytes.HasPrefix(rest, []byte(key)) || rest[len(rest)-1] != '}' {
		return RecordedEvent{}, fmt.Errorf("%w: %s:%d: want {\"offset_ns\":N,\"event\":{...}}", ErrRecording, r.name, line)
	}
	return RecordedEvent{Offset: time.Duration(n), Event: rest[len(key) : len(rest)-1], Line: line}, nil
}

// ReadRecording reads a whole recording into memory.
func ReadRecording(r io.Reader, name string) (*RecordingHeader, []RecordedEvent, error) {
	rr, err := NewRecordingReader(r, name)
	if err != nil {
		return nil, nil, err
	}
	var out []RecordedEvent
	for {
		ev, err := rr.Next()
		if errors.Is(err, io.EOF) {
			return rr.Header(), out, nil
		}
		if err != nil {
			return nil, nil, err
		}
		out = append(out, ev)
	}
}
