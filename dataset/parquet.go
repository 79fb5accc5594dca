package dataset

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	pqgzip "github.com/parquet-go/parquet-go/compress/gzip"
	pqzstd "github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/eventsim/eventsim/events"
	"github.com/eventsim/eventsim/scenarios"
)

// LXDRow is one LXD event as a Parquet row: typed columns for what every
// event has and for what readers filter on, and the metadata in full as
// JSON text, so the event can be rebuilt from the row.
type LXDRow struct {
	Type      string `parquet:"type,dict"`
	Timestamp int64  `parquet:"timestamp,timestamp(microsecond:utc)"`
	Location  string `parquet:"location,dict"`
	Project   string `parquet:"project,dict"`
	// Lifecycle events.
	Action            *string `parquet:"action,optional,dict"`
	Source            *string `parquet:"source,optional"`
	RequestorUsername *string `parquet:"requestor_username,optional,dict"`
	// Operation events.
	OperationID          *string `parquet:"operation_id,optional"`
	OperationStatus      *string `parquet:"operation_status,optional,dict"`
	OperationStatusCode  *int64  `parquet:"operation_status_code,optional"`
	OperationClass       *string `parquet:"operation_class,optional,dict"`
	OperationDescription *string `parquet:"operation_description,optional,dict"`
	// Logging events.
	Level   *string `parquet:"level,optional,dict"`
	Message *string `parquet:"message,optional"`
	// Metadata is the event's metadata object as JSON.
	Metadata string `parquet:"metadata,json"`
}

// LinodeEntityRow is a Linode event's entity or secondary entity. Its id is
// an integer for most entities and a name for tags (IDText).
type LinodeEntityRow struct {
	ID     *int64  `parquet:"id,optional"`
	IDText *string `parquet:"id_text,optional"`
	Label  string  `parquet:"label"`
	Type   string  `parquet:"type,dict"`
	URL    string  `parquet:"url"`
}

// LinodeRow is one Linode Event object as a Parquet row, a column per field.
type LinodeRow struct {
	ID              int64            `parquet:"id,delta"`
	Action          string           `parquet:"action,dict"`
	Created         int64            `parquet:"created,timestamp(microsecond:utc)"`
	Duration        *float64         `parquet:"duration,optional"`
	Entity          *LinodeEntityRow `parquet:"entity,optional"`
	SecondaryEntity *LinodeEntityRow `parquet:"secondary_entity,optional"`
	Message         *string          `parquet:"message,optional"`
	PercentComplete *int64           `parquet:"percent_complete,optional"`
	Rate            *string          `parquet:"rate,optional"`
	Read            bool             `parquet:"read"`
	Seen            bool             `parquet:"seen"`
	Status          string           `parquet:"status,dict"`
	// TimeRemaining is the field's JSON: null, a number or a string.
	TimeRemaining *string `parquet:"time_remaining,optional"`
	Username      *string `parquet:"username,optional,dict"`
	Details       string  `parquet:"details,json"`
}

// rowGroupRows is how many rows a row group holds. A row group is held in
// memory until it is written, so this bounds the writer's memory: about
// 16,384 LXD events of 400 to 900 bytes of metadata each.
const rowGroupRows = 16384

// rowBatch is how many rows go to the Parquet writer at a time.
const rowBatch = 256

type parquetSink[T any] struct {
	w    *parquet.GenericWriter[T]
	rows []T
	mem  rowMem
	conv func(r *scenarios.Record, buf *[]byte, mem *rowMem, row *T) error
	// metadata sets a row's metadata column (rowMem.meta).
	metadata func(row *T, s string)
}

// rowMem holds what a batch of rows points to, so that a row's columns
// take no allocations of their own: the optional columns' values in slabs,
// which the rows point into, and the metadata of the rows that have it in
// one buffer, made into one string when the batch is written. The writer
// copies what it is given, so the slabs are used again for the next batch.
type rowMem struct {
	strs []string
	ints []int64
	meta []byte
	ends []int // per row, where its metadata ends in meta; -1 if not there
}

func (m *rowMem) str(s string) *string {
	m.strs = append(m.strs, s)
	return &m.strs[len(m.strs)-1]
}

func (m *rowMem) int(v int64) *int64 {
	m.ints = append(m.ints, v)
	return &m.ints[len(m.ints)-1]
}

// fill gives each of the first n rows that has its metadata in m its
// part of one string.
func (m *rowMem) fill(n int, set func(i int, meta string)) {
	all, start := string(m.meta), 0
	for i, end := range m.ends[:n] {
		if end >= 0 {
			set(i, all[start:end])
			start = end
		}
	}
}

func (m *rowMem) reset() {
	clear(m.strs)
	m.strs, m.ints, m.meta, m.ends = m.strs[:0], m.ints[:0], m.meta[:0], m.ends[:0]
}

func newParquetSink(w io.Writer, api, compression string) (sink, error) {
	var codec compress.Codec
	switch compression {
	case "", "none":
	case "gzip":
		codec = &pqgzip.Codec{}
	case "zstd":
		codec = &pqzstd.Codec{}
	default:
		return nil, fmt.Errorf("invalid compression %q, must be one of none, gzip, zstd", compression)
	}
	opts := []parquet.WriterOption{
		parquet.MaxRowsPerRowGroup(rowGroupRows),
		parquet.CreatedBy("eventsim", "", ""),
	}
	if codec != nil {
		opts = append(opts, parquet.Compression(codec))
	}
	if api == "linode" {
		return &parquetSink[LinodeRow]{w: parquet.NewGenericWriter[LinodeRow](w, opts...), conv: linodeRow,
			metadata: func(row *LinodeRow, s string) { row.Details = s }}, nil
	}
	return &parquetSink[LXDRow]{w: parquet.NewGenericWriter[LXDRow](w, opts...), conv: lxdRow,
		metadata: setLXDMetadata}, nil
}

func setLXDMetadata(row *LXDRow, s string) { row.Metadata = s }

func (s *parquetSink[T]) write(r *scenarios.Record, buf *[]byte) error {
	s.rows = append(s.rows, *new(T))
	s.mem.ends = append(s.mem.ends, -1)
	if err := s.conv(r, buf, &s.mem, &s.rows[len(s.rows)-1]); err != nil {
		return err
	}
	if len(s.rows) == rowBatch {
		return s.flush()
	}
	return nil
}

func (s *parquetSink[T]) flush() error {
	if len(s.rows) == 0 {
		return nil
	}
	s.mem.fill(len(s.rows), func(i int, meta string) { s.metadata(&s.rows[i], meta) })
	_, err := s.w.Write(s.rows)
	clear(s.rows)
	s.rows = s.rows[:0]
	s.mem.reset()
	return err
}

func (s *parquetSink[T]) close() error {
	if err := s.flush(); err != nil {
		return err
	}
	return s.w.Close()
}

// lxdRow fills a row from an LXD event's record: the typed columns and the
// metadata's JSON as the record gives them (Record.AppendMetadata), or, for
// a record holding only its JSON, read from the JSON's bytes.
func lxdRow(r *scenarios.Record, buf *[]byte, mem *rowMem, row *LXDRow) error {
	*row = LXDRow{Type: r.Type, Timestamp: r.Time.UnixMicro(), Location: r.Location, Project: r.Project}
	var c scenarios.LXDColumns
	meta, ok := r.AppendMetadata(mem.meta, &c)
	if !ok {
		*buf = r.AppendJSON((*buf)[:0])
		return lxdRowFromJSON(r, *buf, row)
	}
	mem.meta = meta
	mem.ends[len(mem.ends)-1] = len(meta) // the flush sets row.Metadata
	ptr := mem.str
	switch r.Type {
	case "lifecycle":
		row.Action, row.Source = ptr(c.Action), ptr(c.Source)
		if c.HasRequestor {
			row.RequestorUsername = ptr(c.RequestorUsername)
		}
	case "operation":
		row.OperationID, row.OperationStatus = ptr(c.OperationID), ptr(c.OperationStatus)
		row.OperationClass, row.OperationDescription = ptr(c.OperationClass), ptr(c.OperationDescription)
		row.OperationStatusCode = mem.int(int64(c.OperationStatusCode))
	case "logging":
		row.Level, row.Message = ptr(c.Level), ptr(c.Message)
	}
	return nil
}

// lxdRowFromJSON fills the metadata and typed columns of a row from an LXD
// event's JSON, reading them from its bytes without decoding it whole.
func lxdRowFromJSON(r *scenarios.Record, js []byte, row *LXDRow) error {
	meta, ok := field(js, "metadata")
	if !ok {
		return fmt.Errorf("event at %s has no metadata", r.Time.UTC().Format(time.RFC3339Nano))
	}
	row.Metadata = string(meta)
	var err error
	str := func(v []byte) *string {
		if err != nil || v == nil {
			return nil
		}
		var s string
		s, err = jsonString(v)
		return &s
	}
	switch r.Type {
	case "lifecycle":
		v := fields(meta, "action", "source", "requestor")
		row.Action, row.Source = str(v[0]), str(v[1])
		if v[2] != nil {
			if u, ok := field(v[2], "username"); ok {
				row.RequestorUsername = str(u)
			}
		}
	case "operation":
		v := fields(meta, "id", "status", "status_code", "class", "description")
		row.OperationID, row.OperationStatus = str(v[0]), str(v[1])
		row.OperationClass, row.OperationDescription = str(v[3]), str(v[4])
		if v[2] != nil {
			var c int64
			if e := json.Unmarshal(v[2], &c); e == nil {
				row.OperationStatusCode = &c
			}
		}
	case "logging":
		v := fields(meta, "level", "message")
		row.Level, row.Message = str(v[0]), str(v[1])
	}
	return err
}

// linodeRow fills a row from a Linode event's record.
func linodeRow(r *scenarios.Record, _ *[]byte, _ *rowMem, row *LinodeRow) error {
	ev := r.Linode
	if ev == nil {
		return fmt.Errorf("record at %s is not a Linode event", r.Time.UTC().Format(time.RFC3339Nano))
	}
	*row = LinodeRow{
		ID: ev.ID, Action: ev.Action, Created: time.Time(ev.Created).Unix() * 1e6, // whole seconds, as the event says Duration: ev.Duration,
		Entity: entityRow(ev.Entity), SecondaryEntity: entityRow(ev.SecondaryEntity), Message: ev.Message,
		Rate: ev.Rate, Read: ev.Read, Seen: ev.Seen, Status: ev.Status, Username: ev.Username,
		Details: string(ev.Details),
	}
	if row.Details == "" {
		row.Details = "null"
	}
	if ev.PercentComplete != nil {
		p := int64(*ev.PercentComplete)
		row.PercentComplete = &p
	}
	if ev.TimeRemaining != nil {
		b, err := json.Marshal(ev.TimeRemaining)
		if err != nil {
			return err
		}
		s := string(b)
		row.TimeRemaining = &s
	}
	return nil
}

func entityRow(e *events.LinodeEntity) *LinodeEntityRow {
	if e == nil {
		return nil
	}
	row := &LinodeEntityRow{Label: e.Label, Type: e.Type, URL: e.URL}
	switch id := e.ID.(type) {
	case int64:
		row.ID = &id
	case int:
		v := int64(id)
		row.ID = &v
	case float64:
		v := int64(id)
		row.ID = &v
	case string:
		row.IDText = &id
	case nil:
	default:
		s := fmt.Sprint(id)
		row.IDText = &s
	}
	return row
}
