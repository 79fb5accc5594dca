package conformance

import (
	"encoding/json"
	"slices"
	"strconv"
	"sync"

	"github.com/eventsim/eventsim/events"
	"github.com/eventsim/eventsim/schemas"
)

// lxdFields are the fields of an LXD event the event-level checks read,
// each as a type assertion on the decoded event would give it: a string
// field that is absent or not a JSON string is "", an object that is
// absent or not a JSON object is missing. They are read straight from the
// event's bytes as its shape is validated (fieldsFromMembers), or, when
// the bytes cannot be read that way, from the decoded event
// (fieldsFromMap); TestFieldsFromBytesAgreeWithDecoding holds the two
// equal.
type lxdFields struct {
	typ, project, timestamp string
	location                string
	hasLocation             bool // location is a string
	hasMetadata             bool // metadata is an object
	// From metadata: an operation's...
	opID, description, status, opLocation, createdAt, updatedAt string
	statusCode                                                  float64
	hasStatusCode                                               bool // status_code is a number
	// ...and a lifecycle event's.
	action, source string
	// contextKeys are metadata.context's keys, for lifecycle events only;
	// oldName is its old_name.
	contextKeys  []string
	oldName      string
	hasRequestor bool // metadata.requestor is an object
	protocol     string
}

// hasContextKey reports whether metadata.context has the key k.
func (f *lxdFields) hasContextKey(k string) bool { return slices.Contains(f.contextKeys, k) }

// fieldsFromMap reads the fields from a decoded event.
func fieldsFromMap(ev map[string]any) lxdFields {
	var f lxdFields
	f.typ, _ = ev["type"].(string)
	f.project, _ = ev["project"].(string)
	f.timestamp, _ = ev["timestamp"].(string)
	f.location, f.hasLocation = ev["location"].(string)
	md, ok := ev["metadata"].(map[string]any)
	if !ok {
		return f
	}
	f.hasMetadata = true
	f.opID, _ = md["id"].(string)
	f.description, _ = md["description"].(string)
	f.status, _ = md["status"].(string)
	f.statusCode, f.hasStatusCode = md["status_code"].(float64)
	f.opLocation, _ = md["location"].(string)
	f.createdAt, _ = md["created_at"].(string)
	f.updatedAt, _ = md["updated_at"].(string)
	f.action, _ = md["action"].(string)
	f.source, _ = md["source"].(string)
	if ctx, ok := md["context"].(map[string]any); ok && f.typ == events.LXDTypeLifecycle {
		for k := range ctx {
			f.contextKeys = append(f.contextKeys, k)
		}
		slices.Sort(f.contextKeys)
		f.oldName, _ = ctx["old_name"].(string)
	}
	if req, ok := md["requestor"].(map[string]any); ok {
		f.hasRequestor = true
		f.protocol, _ = req["protocol"].(string)
	}
	return f
}

// memberDepth is how deep fieldsFromMembers reads: the event's members,
// metadata's, and those of metadata.context and metadata.requestor.
const memberDepth = 3

var memberBufs = sync.Pool{New: func() any { b := make([]schemas.Member, 0, 64); return &b }}

// fieldsFromMembers reads the fields from an event's members (see
// schemas.Validator.ValidateMembers), which are in document order: an
// object's member comes before its own members.
func fieldsFromMembers(doc []byte, ms []schemas.Member) lxdFields {
	var f lxdFields
	md, ctx, req := int32(-2), int32(-2), int32(-2)
	for i := range ms {
		m := &ms[i]
		switch m.Parent {
		case -1:
			switch string(m.Key) {
			case "type":
				f.typ, _ = jsonString(doc, m)
			case "project":
				f.project, _ = jsonString(doc, m)
			case "timestamp":
				f.timestamp, _ = jsonString(doc, m)
			case "location":
				f.location, f.hasLocation = jsonString(doc, m)
			case "metadata":
				if doc[m.Start] == '{' {
					f.hasMetadata, md = true, int32(i)
				}
			}
		case md:
			switch string(m.Key) {
			case "id":
				f.opID, _ = jsonString(doc, m)
			case "description":
				f.description, _ = jsonString(doc, m)
			case "status":
				f.status, _ = jsonString(doc, m)
			case "status_code":
				if c := doc[m.Start]; c == '-' || c >= '0' && c <= '9' {
					// The bytes are a JSON number (the shape reader checked
					// its grammar and range), parsed as encoding/json does.
					f.statusCode, _ = strconv.ParseFloat(string(doc[m.Start:m.End]), 64)
					f.hasStatusCode = true
				}
			case "location":
				f.opLocation, _ = jsonString(doc, m)
			case "created_at":
				f.createdAt, _ = jsonString(doc, m)
			case "updated_at":
				f.updatedAt, _ = jsonString(doc, m)
			case "action":
				f.action, _ = jsonString(doc, m)
			case "source":
				f.source, _ = jsonString(doc, m)
			case "context":
				if doc[m.Start] == '{' {
					ctx = int32(i)
				}
			case "requestor":
				if doc[m.Start] == '{' {
					f.hasRequestor, req = true, int32(i)
				}
			}
		case req:
			if string(m.Key) == "protocol" {
				f.protocol, _ = jsonString(doc, m)
			}
		}
	}
	if ctx >= 0 && f.typ == events.LXDTypeLifecycle {
		for i := int(ctx) + 1; i < len(ms); i++ {
			if m := &ms[i]; m.Parent == ctx {
				f.contextKeys = append(f.contextKeys, string(m.Key))
				if string(m.Key) == "old_name" {
					f.oldName, _ = jsonString(doc, m)
				}
			}
		}
		slices.Sort(f.contextKeys)
	}
	return f
}

// jsonString returns the member's value when it is a JSON string.
func jsonString(doc []byte, m *schemas.Member) (string, bool) {
	v := doc[m.Start:m.End]
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	body := v[1 : len(v)-1]
	for _, c := range body {
		if c == '\\' {
			var s string
			if json.Unmarshal(v, &s) != nil {
				return "", false
			}
			return s, true
		}
	}
	return string(body), true
}
