package scenarios

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// TestRecordingRoundTrip: what AppendRecordedEvent writes, the reader reads
// back, offset and event, with the line it is on; bad lines are errors
// naming the file and line.
func TestRecordingRoundTrip(t *testing.T) {
	h := RecordingHeader{Kind: "lxd", Target: "unix:///x", Started: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC), EventsimVersion: "test"}
	b := AppendRecordingHeader(nil, h)
	evs := []string{`{"type":"logging"}`, "{\n  \"type\": \"lifecycle\"\n}", `{"a":"}"}`}
	for i, e := range evs {
		b = AppendRecordedEvent(b, time.Duration(i)*time.Second, []byte(e))
	}
	got, list, err := ReadRecording(bytes.NewReader(b), "r")
	if err != nil || got.Kind != "lxd" || !got.Started.Equal(h.Started) || len(list) != 3 {
		t.Fatalf("%v %+v %d", err, got, len(list))
	}
	for i, e := range list {
		var want, have any
		_ = json.Unmarshal([]byte(evs[i]), &want)
		if err := json.Unmarshal(e.Event, &have); err != nil || !jsonEqual(want, have) || e.Offset != time.Duration(i)*time.Second || e.Line != i+2 {
			t.Errorf("event %d: %s at %s line %d (%v)", i, e.Event, e.Offset, e.Line, err)
		}
	}
	for _, c := range []struct{ in, want string }{
		{`{"recording":"eventsim-recording/9","kind":"lxd"}`, `r:1: recording "eventsim-recording/9"`},
		{`{"recording":"eventsim-recording/1","kind":"openstack"}`, `r:1: kind "openstack", must be lxd or linode`},
		{`{"recording":"eventsim-recording/1","kind":"lxd"}` + "\n" + `{"type":"logging"}`, `r:2: want {"offset_ns":N,"event":{...}}`},
		{`{"recording":"eventsim-recording/1","kind":"lxd"}` + "\n\n" + `{"offset_ns":-4,"event":{}}`, `r:3: offset_ns "-4"`},
	} {
		_, _, err := ReadRecording(strings.NewReader(c.in), "r")
		if !errors.Is(err, ErrRecording) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.in, err, c.want)
		}
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// FuzzRecordingReader: whatever a file holds, reading it never panics, an
// error names the file, and every event it returns comes with a line.
func FuzzRecordingReader(f *testing.F) {
	h := AppendRecordingHeader(nil, RecordingHeader{Kind: "linode", Started: time.Unix(0, 0).UTC()})
	f.Add(string(AppendRecordedEvent(h, 5, []byte(`{"id":1}`))))
	f.Add(`{"type":"logging"}` + "\n\n" + `{"type":"operation"}`)
	f.Add(`{"recording":"eventsim-recording/1","kind":"lxd"}` + "\n" + `{"offset_ns":1,"event":`)
	f.Fuzz(func(t *testing.T, in string) {
		rr, err := NewRecordingReader(strings.NewReader(in), "f")
		if err != nil {
			if !strings.Contains(err.Error(), "f") {
				t.Errorf("error %q does not name the file", err)
			}
			return
		}
		for range 10000 {
			ev, err := rr.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				if !strings.Contains(err.Error(), "f:") && !strings.Contains(err.Error(), "read f") {
					t.Errorf("error %q does not name the file and line", err)
				}
				return
			}
			if ev.Line < 1 {
				t.Errorf("event without a line: %+v", ev)
			}
		}
	})
}
