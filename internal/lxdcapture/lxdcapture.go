// Package lxdcapture holds the events recorded from a real LXD 5.0.2 daemon
// by `lxc monitor --format json` (the project's reference capture, copied
// unchanged from shared/reference/lxd-5.0.2-captured-events.ndjson), so that
// every package's tests read the same bytes from one place.
package lxdcapture

import (
	"bytes"
	_ "embed"
)

// NDJSON is the capture, one event a line: 596 events (524 logging, 39
// operation, 33 lifecycle). Callers must not modify it.
//
//go:embed lxd-5.0.2-captured-events.ndjson
var NDJSON []byte

// Lines returns the capture's events, each a fresh copy, in the capture's
// order.
func Lines() [][]byte {
	var out [][]byte
	for line := range bytes.Lines(NDJSON) {
		if line = bytes.TrimSpace(line); len(line) > 0 {
			out = append(out, bytes.Clone(line))
		}
	}
	return out
}

// Reader returns a reader of the whole capture.
func Reader() *bytes.Reader { return bytes.NewReader(NDJSON) }
