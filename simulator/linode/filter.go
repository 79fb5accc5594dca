package linode

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/eventsim/eventsim/events"
)

// MaxFilterDepth is how deeply +and and +or may nest in an X-Filter; deeper
// filters are a 400. The real API's limit is not published.
const MaxFilterDepth = 8

// MaxFilterConditions bounds the conditions in one X-Filter, so that no
// request can make a list cost more than a few scans of the store.
const MaxFilterConditions = 64

// field is a filterable Event field.
type field uint8

const (
	fieldNone field = iota
	fieldID
	fieldAction
	fieldCreated
	fieldEntityID
	fieldEntityType
	fieldRead
)

// filterable maps X-Filter keys to fields. seen is deliberately absent: the
// real API answers "Cannot filter on seen".
var filterable = map[string]field{
	"id":          fieldID,
	"action":      fieldAction,
	"created":     fieldCreated,
	"entity.id":   fieldEntityID,
	"entity.type": fieldEntityType,
	"read":        fieldRead,
}

// op is a filter operation.
type op uint8

const (
	opEq op = iota
	opNeq
	opGt
	opGte
	opLt
	opLte
	opContains
	opAnd
	opOr
	opTrue  // matches everything (e.g. created +neq a fractional second)
	opFalse // matches nothing
)

var operators = map[string]op{
	"+eq": opEq, "+neq": opNeq, "+gt": opGt, "+gte": opGte, "+lt": opLt, "+lte": opLte, "+contains": opContains,
}

// cond is one node of a parsed filter.
type cond struct {
	op    op
	field field
	i     int64  // id, entity.id, created (Unix seconds)
	null  bool   // entity.id compared with null
	s     string // action, entity.type
	b     bool   // read
	kids  []*cond
	table []bool // for action and entity.type: match per interned string, set by plan
}

// filter is a parsed X-Filter.
type filter struct {
	conds   []*cond // ANDed
	orderBy field   // fieldNone: the default order
	desc    bool
	order   bool // +order was given
}

// filterError is a 400 on the X-Filter header.
func filterError(format string, args ...any) error {
	return &apiError{kind: errBadRequest, field: "X-Filter", reason: fmt.Sprintf(format, args...)}
}

// parseFilter parses an X-Filter header value. An empty value is no filter.
func parseFilter(h string) (*filter, error) {
	f := &filter{}
	m, err := decodeFilter(h)
	if m == nil || err != nil {
		return f, err
	}
	p := &filterParser{f: f}
	conds, err := p.object(m, 0, true)
	if err != nil {
		return nil, err
	}
	f.conds = conds
	return f, nil
}

// decodeFilter decodes an X-Filter header into its JSON object (numbers as
// json.Number); nil when the header is empty.
func decodeFilter(h string) (map[string]any, error) {
	if strings.TrimSpace(h) == "" {
		return nil, nil
	}
	dec := json.NewDecoder(strings.NewReader(h))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, filterError("Could not apply filter: invalid JSON: %s", jsonProblem(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, filterError("Could not apply filter: invalid JSON: data after the filter object")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, filterError("Could not apply filter: X-Filter must be a JSON object")
	}
	return m, nil
}

func jsonProblem(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s at offset %d", se.Error(), se.Offset)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of input"
	}
	return err.Error()
}

type filterParser struct {
	f     *filter
	count int
}

func (p *filterParser) add(c *cond) (*cond, error) {
	p.count++
	if p.count > MaxFilterConditions {
		return nil, filterError("Could not apply filter: more than %d conditions", MaxFilterConditions)
	}
	return c, nil
}

// object parses one filter object, whose keys are ANDed. depth counts the
// +and and +or levels above it.
func (p *filterParser) object(m map[string]any, depth int, top bool) ([]*cond, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var out []*cond
	for _, k := range keys {
		v := m[k]
		switch k {
		case "+order_by":
			if !top {
				return nil, filterError("+order_by is only allowed at the top level of the filter")
			}
			s, ok := v.(string)
			if !ok {
				return nil, filterError("+order_by must be a string naming a filterable field")
			}
			fl, ok := filterable[s]
			if !ok {
				return nil, filterError("Cannot order by %s", s)
			}
			p.f.orderBy = fl
		case "+order":
			if !top {
				return nil, filterError("+order is only allowed at the top level of the filter")
			}
			switch v {
			case "asc":
				p.f.desc = false
			case "desc":
				p.f.desc = true
			default:
				return nil, filterError("+order must be asc or desc")
			}
			p.f.order = true
		case "+and", "+or":
			if depth+1 > MaxFilterDepth {
				return nil, filterError("Could not apply filter: +and and +or nest deeper than %d levels", MaxFilterDepth)
			}
			arr, ok := v.([]any)
			if !ok || len(arr) == 0 {
				return nil, filterError("%s must be a non-empty array of filter objects", k)
			}
			c, err := p.add(&cond{op: opOr})
			if err != nil {
				return nil, err
			}
			if k == "+and" {
				c.op = opAnd
			}
			for _, el := range arr {
				em, ok := el.(map[string]any)
				if !ok {
					return nil, filterError("%s must be a non-empty array of filter objects", k)
				}
				kids, err := p.object(em, depth+1, false)
				if err != nil {
					return nil, err
				}
				c.kids = append(c.kids, &cond{op: opAnd, kids: kids})
			}
			out = append(out, c)
		default:
			if _, isOp := operators[k]; isOp {
				return nil, filterError("Could not apply filter: operator %s must be applied to a field", k)
			}
			if strings.HasPrefix(k, "+") {
				return nil, filterError("Could not apply filter: unknown operator %s", k)
			}
			fl, ok := filterable[k]
			if !ok {
				return nil, filterError("Cannot filter on %s", k)
			}
			cs, err := p.field(fl, k, v)
			if err != nil {
				return nil, err
			}
			out = append(out, cs...)
		}
	}
	return out, nil
}

// field parses the value of a field key: a plain value (equality) or an
// object of operators.
func (p *filterParser) field(fl field, name string, v any) ([]*cond, error) {
	om, ok := v.(map[string]any)
	if !ok {
		c, err := p.value(fl, name, opEq, v)
		if err != nil {
			return nil, err
		}
		return []*cond{c}, nil
	}
	if len(om) == 0 {
		return nil, filterError("Could not apply filter: %s has an empty operator object", name)
	}
	ops := make([]string, 0, len(om))
	for k := range om {
		ops = append(ops, k)
	}
	slices.Sort(ops)
	out := make([]*cond, 0, len(ops))
	for _, k := range ops {
		o, ok := operators[k]
		if !ok {
			return nil, filterError("Could not apply filter: unknown operator %s on %s", k, name)
		}
		c, err := p.value(fl, name, o, om[k])
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// fieldReasons are the 400 reasons for a value of the wrong type.
var fieldReasons = map[field]string{
	fieldID:         "ID must be an integer",
	fieldEntityID:   "Entity ID must be an integer",
	fieldCreated:    "Created must be a date-time in 2006-01-02T15:04:05 form",
	fieldAction:     "Action must be a string",
	fieldEntityType: "Entity type must be a string",
	fieldRead:       "Read must be a boolean",
}

func (p *filterParser) value(fl field, name string, o op, v any) (*cond, error) {
	c := &cond{op: o, field: fl}
	bad := func() (*cond, error) { return nil, filterError("%s", fieldReasons[fl]) }
	switch fl {
	case fieldID, fieldEntityID:
		if o == opContains {
			return nil, filterError("Cannot apply +contains to %s", name)
		}
		if v == nil && fl == fieldEntityID && (o == opEq || o == opNeq) {
			c.null = true
			break
		}
		n, ok := v.(json.Number)
		if !ok {
			return bad()
		}
		i, err := jsonInt(n)
		if err != nil {
			return bad()
		}
		c.i = i
	case fieldCreated:
		if o == opContains {
			return nil, filterError("Cannot apply +contains to %s", name)
		}
		s, ok := v.(string)
		if !ok {
			return bad()
		}
		t, err := time.Parse(events.LinodeTimeFormat, s)
		if err != nil {
			return bad()
		}
		c.i = t.Unix()
		if t.Nanosecond() != 0 {
			// created has whole seconds; compare with the fraction exactly.
			switch o {
			case opEq:
				c.op = opFalse
			case opNeq:
				c.op = opTrue
			case opGte:
				c.op = opGt // > floor is >= ceil
			case opLt:
				c.op = opLte // <= floor is < ceil
			}
		}
	case fieldAction, fieldEntityType:
		s, ok := v.(string)
		if !ok {
			return bad()
		}
		c.s = s
	case fieldRead:
		if o != opEq && o != opNeq {
			return nil, filterError("Cannot apply %s to %s", opName(o), name)
		}
		b, ok := v.(bool)
		if !ok {
			return bad()
		}
		c.b = b
	}
	return p.add(c)
}

func opName(o op) string {
	for k, v := range operators {
		if v == o {
			return k
		}
	}
	return "?"
}

// jsonInt reads an integral JSON number that fits int64.
func jsonInt(n json.Number) (int64, error) {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return i, nil
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) >= 1<<63 {
		return 0, errors.New("not an integer")
	}
	return int64(f), nil
}

// cmpOp applies an ordering operator to the result of a comparison.
func cmpOp(o op, c int) bool {
	switch o {
	case opEq:
		return c == 0
	case opNeq:
		return c != 0
	case opGt:
		return c > 0
	case opGte:
		return c >= 0
	case opLt:
		return c < 0
	case opLte:
		return c <= 0
	}
	return false
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compile prepares string conditions against the store's interned strings.
// s.mu must be held (read) from compile until the last match.
func (c *cond) compile(st *store) {
	switch c.field {
	case fieldAction, fieldEntityType:
		c.table = make([]bool, len(st.strs))
		for i, v := range st.strs {
			if c.op == opContains {
				c.table[i] = strings.Contains(v, c.s)
			} else {
				c.table[i] = cmpOp(c.op, strings.Compare(v, c.s))
			}
		}
	}
	for _, k := range c.kids {
		k.compile(st)
	}
}

// match reports whether the event satisfies the condition.
func (c *cond) match(st *store, e *entry) bool {
	switch c.op {
	case opTrue:
		return true
	case opFalse:
		return false
	case opAnd:
		for _, k := range c.kids {
			if !k.match(st, e) {
				return false
			}
		}
		return true
	case opOr:
		for _, k := range c.kids {
			if k.match(st, e) {
				return true
			}
		}
		return false
	}
	switch c.field {
	case fieldID:
		return cmpOp(c.op, cmpInt(e.id, c.i))
	case fieldCreated:
		return cmpOp(c.op, cmpInt(e.created, c.i))
	case fieldAction:
		return c.table[e.action]
	case fieldEntityType:
		return c.table[e.etype]
	case fieldRead:
		return (e.read() == c.b) == (c.op == opEq)
	case fieldEntityID:
		if c.null {
			return (e.ekind == kindNull) == (c.op == opEq)
		}
		if e.ekind != kindInt {
			return c.op == opNeq
		}
		return cmpOp(c.op, cmpInt(e.entityID, c.i))
	}
	return false
}
