package conformance

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/eventsim/eventsim/internal/lxdcapture"
	"github.com/eventsim/eventsim/schemas"
)

// TestFieldsFromBytesAgreeWithDecoding: for real LXD events and thousands
// of corrupted ones (fields of the wrong kind, missing, null, escaped,
// repeated, bytes cut or changed), the fields read from the bytes with the
// shape are those a decoding reads, and the schema verdict is the same;
// where the bytes cannot be read, the decoding path is taken.
func TestFieldsFromBytesAgreeWithDecoding(t *testing.T) {
	v, err := schemas.NewValidator(schemas.LXDEvent)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(12, 4))
	values := []any{nil, true, 0, -1.5, json.Number("1e400"), json.Number("2e2"), "", "x", "a\"b", "<é>", "\u2028", []any{}, []any{"a"}, map[string]any{}, map[string]any{"protocol": "unix", "old_name": "o"}, 200, "2026-11-21T05:26:48Z", "instance-renamed"}
	keys := []string{"type", "project", "timestamp", "location", "metadata", "id", "description", "status", "status_code", "created_at", "updated_at", "action", "source", "context", "requestor", "old_name", "protocol", "ty\\u0070e"}
	var docs [][]byte
	for _, line := range lxdcapture.Lines() {
		docs = append(docs, line)
		for range 20 {
			var ev map[string]any
			if err := json.Unmarshal(line, &ev); err != nil {
				t.Fatal(err)
			}
			// Change, add or remove a field at some depth.
			obj := ev
			for depth := rng.IntN(4); depth > 0; depth-- {
				var next []map[string]any
				for _, x := range obj {
					if m, ok := x.(map[string]any); ok {
						next = append(next, m)
					}
				}
				if len(next) == 0 {
					break
				}
				obj = next[rng.IntN(len(next))]
			}
			k := keys[rng.IntN(len(keys))]
			if rng.IntN(4) == 0 {
				delete(obj, k)
			} else {
				obj[k] = values[rng.IntN(len(values))]
			}
			b, err := json.Marshal(ev)
			if err != nil {
				continue
			}
			switch rng.IntN(6) {
			case 0: // a key written twice
				b = bytes.Replace(b, []byte(`"type":`), []byte(`"type":"logging","type":`), 1)
			case 1: // a byte changed
				const junk = "{}[]\",:\\ 0ae\x00\xff"
				b[rng.IntN(len(b))] = junk[rng.IntN(len(junk))]
			case 2: // cut
				b = b[:rng.IntN(len(b))]
			}
			docs = append(docs, b)
			docs = append(docs, bytes.ReplaceAll(b, []byte(`"location":"none"`), []byte(`"location":"n\u006fne"`)))
		}
	}
	read := 0
	for _, doc := range docs {
		var ev map[string]any
		if json.Unmarshal(doc, &ev) != nil || ev == nil {
			continue
		}
		ms, ok, err := v.ValidateMembers(doc, memberDepth, nil)
		if !ok {
			continue
		}
		read++
		if got, want := fieldsFromMembers(doc, ms), fieldsFromMap(ev); !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\nfrom bytes %+v\ndecoded    %+v", doc, got, want)
		}
		full := v.ValidateValue(ev)
		if (err == nil) != (full == nil) || err != nil && err.Error() != full.Error() {
			t.Errorf("%s: schema %v from bytes, %v decoded", doc, err, full)
		}
		if ms2, ok2 := schemas.ReadMembers(doc, memberDepth, nil); !ok2 || !reflect.DeepEqual(ms2, ms) {
			t.Errorf("%s: ReadMembers %v %+v, ValidateMembers %+v", doc, ok2, ms2, ms)
		}
	}
	if read < len(docs)/3 {
		t.Errorf("only %d of %d documents read from bytes", read, len(docs))
	}
	t.Logf("%d documents, %d read from bytes", len(docs), read)
}
