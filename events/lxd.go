// Package events defines the wire shapes of the events eventsim produces and
// checks: LXD's /1.0/events envelope with its logging, operation and lifecycle
// payloads, and Linode's Event object.
//
// The field order of every struct is the order the real servers write, so that
// encoding/json produces the same bytes a real daemon would.
package events

import (
	"encoding/json"
	"time"
)

// LXD event types.
const (
	LXDTypeLogging   = "logging"
	LXDTypeOperation = "operation"
	LXDTypeLifecycle = "lifecycle"
)

// LXDEvent is the envelope of every message on LXD's /1.0/events stream.
//
// Example: {"type":"lifecycle","timestamp":"2026-01-01T00:00:00.000001Z","metadata":{...},"location":"none","project":"default"}
type LXDEvent struct {
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Metadata  json.RawMessage `json:"metadata"`
	Location  string          `json:"location,omitempty"`
	Project   string          `json:"project,omitempty"`
}

// LXDLogging is the metadata of a logging event.
type LXDLogging struct {
	Message string            `json:"message"`
	Level   string            `json:"level"`
	Context map[string]string `json:"context"`
}

// LXDOperation is the metadata of an operation event: the operation as it
// stands after a state change.
type LXDOperation struct {
	ID          string              `json:"id"`
	Class       string              `json:"class"`
	Description string              `json:"description"`
	CreatedAt   time.Time           `json:"created_at"`
	UpdatedAt   time.Time           `json:"updated_at"`
	Status      string              `json:"status"`
	StatusCode  int                 `json:"status_code"`
	Resources   map[string][]string `json:"resources"`
	Metadata    map[string]any      `json:"metadata"`
	MayCancel   bool                `json:"may_cancel"`
	Err         string              `json:"err"`
	Location    string              `json:"location"`
}

// LXDLifecycle is the metadata of a lifecycle event.
type LXDLifecycle struct {
	Action    string                 `json:"action"`
	Source    string                 `json:"source"`
	Context   map[string]any         `json:"context,omitempty"`
	Requestor *LXDLifecycleRequestor `json:"requestor,omitempty"`
	// Name and Project name the instance of an Incus instance event
	// (catalog.LXDAction.NameProject); other daemons and events leave them out.
	Name    string `json:"name,omitempty"`
	Project string `json:"project,omitempty"`
}

// LXDLifecycleRequestor says who caused a lifecycle event.
//
// Example: {"username":"root","protocol":"unix","address":"@"}
type LXDLifecycleRequestor struct {
	Username string `json:"username"`
	Protocol string `json:"protocol"`
	Address  string `json:"address"`
}

// LXD operation status codes, as the daemon defines them.
const (
	OpCreated    = 100
	OpStarted    = 101
	OpStopped    = 102
	OpRunning    = 103
	OpCancelling = 104
	OpPending    = 105
	OpStarting   = 106
	OpStopping   = 107
	OpAborting   = 108
	OpFreezing   = 109
	OpFrozen     = 110
	OpThawed     = 111
	OpError      = 112
	OpReady      = 113
	OpSuccess    = 200
	OpFailure    = 400
	OpCancelled  = 401
)

// OpStatus maps each status code to the status string the daemon sends with it.
var OpStatus = map[int]string{
	OpCreated:    "Operation created",
	OpStarted:    "Started",
	OpStopped:    "Stopped",
	OpRunning:    "Running",
	OpCancelling: "Cancelling",
	OpPending:    "Pending",
	OpStarting:   "Starting",
	OpStopping:   "Stopping",
	OpAborting:   "Aborting",
	OpFreezing:   "Freezing",
	OpFrozen:     "Frozen",
	OpThawed:     "Thawed",
	OpError:      "Error",
	OpReady:      "Ready",
	OpSuccess:    "Success",
	OpFailure:    "Failure",
	OpCancelled:  "Cancelled",
}

// OpFinal reports whether an operation status code is final: nothing may follow it.
func OpFinal(code int) bool { return code >= 200 }

// LXD log levels, most severe first.
var LXDLevels = []string{"panic", "fatal", "error", "warning", "info", "debug", "trace"}

// LXDTypes are the event types each flavour's /1.0/events accepts in `type=`.
var LXDTypes = map[string][]string{
	"lxd-5.0": {LXDTypeLogging, LXDTypeOperation, LXDTypeLifecycle},
	"lxd-6":   {LXDTypeLogging, LXDTypeOperation, LXDTypeLifecycle, "ovn", "security"},
	"incus":   {LXDTypeLogging, LXDTypeOperation, LXDTypeLifecycle, "ovn"},
}

// LXDTimeFormat is how LXD writes timestamps: RFC 3339 with nanoseconds, UTC.
const LXDTimeFormat = time.RFC3339Nano

// LXDResponse is the envelope of every answer of LXD's REST API: "sync"
// (status_code 200), "async" (202 with the operation's URL and the operation
// as metadata) or "error" (error_code and error). M is the metadata's type:
// a decoder can take it raw, a server its own value.
type LXDResponse[M any] struct {
	Type       string `json:"type"`
	Status     string `json:"status"`
	StatusCode int    `json:"status_code"`
	Operation  string `json:"operation"`
	ErrorCode  int    `json:"error_code"`
	Error      string `json:"error"`
	Metadata   M      `json:"metadata"`
}
