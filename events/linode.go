package events

import (
	"encoding/json"
	"strconv"
	"time"
)

// Linode event statuses. The seed API knows the first five; current specs add
// in_progress and completed.
const (
	LinodeScheduled    = "scheduled"
	LinodeStarted      = "started"
	LinodeFinished     = "finished"
	LinodeFailed       = "failed"
	LinodeNotification = "notification"
)

// LinodeStatuses lists every status value the API may send.
var LinodeStatuses = []string{LinodeFailed, LinodeFinished, LinodeNotification, LinodeScheduled, LinodeStarted, "in_progress", "completed"}

// LinodeTimeFormat is how Linode writes `created`: no zone, UTC implied.
const LinodeTimeFormat = "2006-01-02T15:04:05"

// LinodeTime is a time written without zone, as Linode's `created` is.
type LinodeTime time.Time

// MarshalJSON writes the time as "2006-01-02T15:04:05" in UTC.
func (t LinodeTime) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(LinodeTimeFormat)+2)
	b = append(b, '"')
	b = time.Time(t).UTC().AppendFormat(b, LinodeTimeFormat)
	return append(b, '"'), nil
}

// UnmarshalJSON reads a zone-less time and refuses anything else.
func (t *LinodeTime) UnmarshalJSON(b []byte) error {
	s, err := strconv.Unquote(string(b))
	if err != nil {
		return err
	}
	v, err := time.Parse(LinodeTimeFormat, s)
	if err != nil {
		return err
	}
	*t = LinodeTime(v)
	return nil
}

// LinodeEntity is the primary or secondary entity of a Linode event.
//
// Example: {"id":123,"label":"app-1","type":"linode","url":"/v4/linode/instances/123"}
type LinodeEntity struct {
	// ID is an integer for most entities, the tag name for tags, and null
	// for account and profile events.
	ID    any    `json:"id"`
	Label string `json:"label"`
	Type  string `json:"type"`
	URL   string `json:"url"`
}

// LinodeEvent is an Event object of /v4/account/events, as it stands at one
// moment: long actions change status, percent_complete and duration over time.
type LinodeEvent struct {
	ID              int64           `json:"id"`
	Action          string          `json:"action"`
	Created         LinodeTime      `json:"created"`
	Duration        *float64        `json:"duration"`
	Entity          *LinodeEntity   `json:"entity"`
	SecondaryEntity *LinodeEntity   `json:"secondary_entity"`
	Message         *string         `json:"message"`
	PercentComplete *int            `json:"percent_complete"`
	Rate            *string         `json:"rate"`
	Read            bool            `json:"read"`
	Seen            bool            `json:"seen"`
	Status          string          `json:"status"`
	TimeRemaining   any             `json:"time_remaining"`
	Username        *string         `json:"username"`
	Details         json.RawMessage `json:"details"`
}

// LinodePage is the envelope of every paginated Linode list.
type LinodePage[T any] struct {
	Data    []T `json:"data"`
	Page    int `json:"page"`
	Pages   int `json:"pages"`
	Results int `json:"results"`
}

// LinodeError is one entry of Linode's error envelope.
type LinodeError struct {
	Reason string `json:"reason"`
	Field  string `json:"field,omitempty"`
}

// LinodeErrors is Linode's error envelope: {"errors":[{"reason":"Not found"}]}.
type LinodeErrors struct {
	Errors []LinodeError `json:"errors"`
}
