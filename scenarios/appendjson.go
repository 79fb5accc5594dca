package scenarios

import (
	"encoding/json"
	"sort"
	"strconv"
	"time"

	"github.com/eventsim/eventsim/events"
	"github.com/eventsim/eventsim/internal/jsonenc"
)

// Hand-written encoders for the hot path: they write exactly what
// encoding/json writes for the events package's types (a test holds them to
// it), several times faster.

// appendString writes s as a JSON string the way encoding/json does.
func appendString(b []byte, s string) []byte { return jsonenc.AppendString(b, s) }

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = appendRFC3339Nano(b, t)
	return append(b, '"')
}

// appendRFC3339Nano appends t.UTC().AppendFormat(b, time.RFC3339Nano),
// computing the date straight from the Unix day (every event has one or
// three timestamps). Years before 1970 or after 9999 go to the library.
func appendRFC3339Nano(b []byte, t time.Time) []byte {
	sec := t.Unix()
	if sec < 0 || sec >= 253402300800 { // 10000-01-01
		return t.UTC().AppendFormat(b, time.RFC3339Nano)
	}
	days, clock := sec/86400, sec%86400
	// The civil date of a day count (Howard Hinnant's days_from_civil,
	// inverted), in eras of 400 years from 0000-03-01.
	z := days + 719468
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	y := yoe + era*400
	if m <= 2 {
		y++
	}
	var buf [30]byte
	w := buf[:0]
	w = append(w, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+m/10), byte('0'+m%10), '-', byte('0'+d/10), byte('0'+d%10), 'T',
		byte('0'+clock/36000), byte('0'+clock/3600%10), ':', byte('0'+clock/600%6), byte('0'+clock/60%10), ':',
		byte('0'+clock%60/10), byte('0'+clock%10))
	if ns := t.Nanosecond(); ns != 0 {
		// Nine digits, then the trailing zeros dropped.
		w = append(w, '.', '0', '0', '0', '0', '0', '0', '0', '0', '0')
		for i := len(w) - 1; ns > 0; i-- {
			w[i] = byte('0' + ns%10)
			ns /= 10
		}
		for w[len(w)-1] == '0' {
			w = w[:len(w)-1]
		}
	}
	w = append(w, 'Z')
	return append(b, w...)
}

// ctxKV is one entry of a logging context.
type ctxKV struct{ k, v string }

// logCtx is a logging context as its entries sorted by key, which is how
// encoding/json writes the map[string]string of events.LXDLogging. Building
// it as a slice in key order saves a map and a sort per event; nil encodes as
// null, like a nil map.
type logCtx []ctxKV

// logCtxOf turns a map into a logCtx.
func logCtxOf(m map[string]string) logCtx {
	if m == nil {
		return nil
	}
	out := make(logCtx, 0, len(m))
	for k, v := range m {
		out = append(out, ctxKV{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].k < out[j].k })
	return out
}

func appendLogCtx(b []byte, ctx logCtx) []byte {
	if ctx == nil {
		return append(b, "null"...)
	}
	b = append(b, '{')
	for i, kv := range ctx {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, kv.k)
		b = append(b, ':')
		b = appendString(b, kv.v)
	}
	return append(b, '}')
}

// appendLogging encodes events.LXDLogging; ctx must be sorted by key.
func appendLogging(b []byte, msg, level string, ctx logCtx) []byte {
	return appendLoggingJSON(b, msg, "", level, ctx)
}

// appendLoggingJSON is appendLogging with the message's JSON, when made
// ahead: msgJSON, or "" to encode msg.
func appendLoggingJSON(b []byte, msg, msgJSON, level string, ctx logCtx) []byte {
	b = append(b, `{"message":`...)
	if msgJSON != "" {
		b = append(b, msgJSON...)
	} else {
		b = appendString(b, msg)
	}
	b = append(b, `,"level":`...)
	b = appendString(b, level)
	b = append(b, `,"context":`...)
	b = appendLogCtx(b, ctx)
	return append(b, '}')
}

// appendOperation encodes events.LXDOperation whose Metadata, encoded, is
// meta (nil for a nil map); op.Metadata itself is not read.
func appendOperation(b []byte, op *events.LXDOperation, meta []byte) []byte {
	return appendOperationRes(b, op, nil, meta)
}

// appendOperationRes is appendOperation with op.Resources encoded ahead as
// res (appendResources), or nil to encode them.
func appendOperationRes(b []byte, op *events.LXDOperation, res, meta []byte) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, op.ID)
	b = append(b, `,"class":`...)
	b = appendString(b, op.Class)
	b = append(b, `,"description":`...)
	b = appendString(b, op.Description)
	b = append(b, `,"created_at":`...)
	b = appendTime(b, op.CreatedAt)
	b = append(b, `,"updated_at":`...)
	b = appendTime(b, op.UpdatedAt)
	b = append(b, `,"status":`...)
	b = appendString(b, op.Status)
	b = append(b, `,"status_code":`...)
	b = strconv.AppendInt(b, int64(op.StatusCode), 10)
	b = append(b, `,"resources":`...)
	if res != nil {
		b = append(b, res...)
	} else {
		b = appendResources(b, op.Resources)
	}
	b = append(b, `,"metadata":`...)
	if meta == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, meta...)
	}
	b = append(b, `,"may_cancel":`...)
	b = strconv.AppendBool(b, op.MayCancel)
	b = append(b, `,"err":`...)
	b = appendString(b, op.Err)
	b = append(b, `,"location":`...)
	b = appendString(b, op.Location)
	return append(b, '}')
}

// appendResources encodes an operation's resources as encoding/json does.
func appendResources(b []byte, m map[string][]string) []byte {
	if m == nil {
		b = append(b, "null"...)
	} else {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			if m[k] == nil {
				b = append(b, "null"...)
				continue
			}
			b = append(b, '[')
			for j, v := range m[k] {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendString(b, v)
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	return b
}

// appendLifecycle encodes events.LXDLifecycle. Context values of the kinds
// the engine makes (strings, lists of strings) are written by hand; any other
// value goes through encoding/json.
func appendLifecycle(b []byte, lc *events.LXDLifecycle) []byte {
	b = append(b, `{"action":`...)
	b = appendString(b, lc.Action)
	b = append(b, `,"source":`...)
	b = appendString(b, lc.Source)
	if len(lc.Context) > 0 {
		b = append(b, `,"context":{`...)
		var arr [8]string
		keys := arr[:0]
		for k := range lc.Context {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendAny(b, lc.Context[k])
		}
		b = append(b, '}')
	}
	if rq := lc.Requestor; rq != nil {
		b = append(b, `,"requestor":{"username":`...)
		b = appendString(b, rq.Username)
		b = append(b, `,"protocol":`...)
		b = appendString(b, rq.Protocol)
		b = append(b, `,"address":`...)
		b = appendString(b, rq.Address)
		b = append(b, '}')
	}
	if lc.Name != "" {
		b = append(b, `,"name":`...)
		b = appendString(b, lc.Name)
	}
	if lc.Project != "" {
		b = append(b, `,"project":`...)
		b = appendString(b, lc.Project)
	}
	return append(b, '}')
}

// appendAny writes a decoded JSON value as encoding/json does.
func appendAny(b []byte, v any) []byte {
	switch x := v.(type) {
	case string:
		return appendString(b, x)
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendAny(b, e)
		}
		return append(b, ']')
	}
	m, err := json.Marshal(v)
	if err != nil {
		// As encoding/json would fail the whole event; the engine only
		// holds values that came from JSON or YAML, which marshal.
		panic(err)
	}
	return append(b, m...)
}

// appendMetadata appends what json.Marshal writes for an operation's
// metadata map (jsonenc.AppendValue: the values the engine puts there are
// written by hand, anything else through encoding/json).
func appendMetadata(b []byte, m map[string]any) []byte {
	out, err := jsonenc.AppendValue(b, m)
	if err != nil {
		panic(err) // the engine puts only strings, numbers, lists and maps there
	}
	return out
}
