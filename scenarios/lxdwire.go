package scenarios

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/eventsim/eventsim/events"
)

// The LXD wire encoders the engine uses, exported so that the fake LXD
// server builds the events of the REST requests it answers with the same
// bytes as the events a scenario plays (field order, timestamp format,
// escaping, message texts).

// LXDEventJSON encodes one event envelope in the daemon's field order: type,
// timestamp (RFC 3339, nanoseconds, UTC), metadata, location and project,
// the last two left out when empty.
func LXDEventJSON(typ string, at time.Time, metadata []byte, location, project string) []byte {
	return appendLXDEvent(make([]byte, 0, 96+len(metadata)), typ, at, metadata, location, project)
}

// LXDLoggingJSON encodes the metadata of a logging event: message, level and
// context (an empty context is written as {}).
func LXDLoggingJSON(message, level string, context map[string]string) []byte {
	return appendLogging(make([]byte, 0, 128+len(message)), message, level, logCtxOf(context))
}

// LXDOperationJSON encodes the metadata of an operation event in the
// daemon's field order.
func LXDOperationJSON(op *events.LXDOperation) []byte {
	var meta []byte
	if op.Metadata != nil {
		var err error
		if meta, err = json.Marshal(op.Metadata); err != nil {
			panic("scenarios: operation metadata: " + err.Error()) // values are the server's own
		}
	}
	return appendOperation(make([]byte, 0, 512), op, meta)
}

// LXDLifecycleJSON encodes the metadata of a lifecycle event; context and
// requestor are left out when empty.
func LXDLifecycleJSON(lc *events.LXDLifecycle) []byte {
	return appendLifecycle(make([]byte, 0, 256), lc)
}

// LXDErrorResponseLog is the message of the daemon's debug log of an error
// answer ("Error Response" and the envelope).
func LXDErrorResponseLog(code int, message string) string { return errorResponse(code, message) }

// LXDIndentLog formats a JSON document as the daemon's debug logs quote
// bodies ("API Request", "WriteJSON"): the title, a newline, then the JSON
// indented by one tab per level under a leading tab, keys in their given
// order. It returns false when the document is not valid JSON.
func LXDIndentLog(title string, doc []byte) (string, bool) {
	var b bytes.Buffer
	if err := json.Indent(&b, bytes.TrimSpace(doc), "\t", "\t"); err != nil {
		return "", false
	}
	return title + "\n\t" + b.String(), true
}
