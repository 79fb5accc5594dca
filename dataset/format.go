package dataset

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/eventsim/eventsim/scenarios"

	"go.yaml.in/yaml/v3"
)

// Writer writes a stream of JSON objects as NDJSON, a JSON array or a YAML
// list, one object at a time, so memory stays constant.
type Writer struct {
	w      io.Writer
	format string
	n      int
	buf    []byte // the YAML of the last object
}

// NewWriter returns a writer of the given format (ndjson, json or yaml).
func NewWriter(w io.Writer, format string) *Writer { return &Writer{w: w, format: format} }

// Write writes one JSON object.
func (w *Writer) Write(obj []byte) error {
	defer func() { w.n++ }()
	switch w.format {
	case "json":
		sep := ",\n  "
		if w.n == 0 {
			sep = "[\n  "
		}
		if _, err := io.WriteString(w.w, sep); err != nil {
			return err
		}
		_, err := w.w.Write(obj)
		return err
	case "yaml":
		var err error
		w.buf, err = appendYAML(w.buf[:0], obj)
		if err == errYAMLSlow {
			w.buf, err = appendYAMLv3(w.buf[:0], obj)
		}
		if err != nil {
			return err
		}
		_, err = w.w.Write(w.buf)
		return err
	}
	if _, err := w.w.Write(obj); err != nil {
		return err
	}
	_, err := w.w.Write([]byte{'\n'})
	return err
}

// Close ends the document.
func (w *Writer) Close() error {
	switch w.format {
	case "json":
		end := "\n]\n"
		if w.n == 0 {
			end = "[]\n"
		}
		_, err := io.WriteString(w.w, end)
		return err
	case "yaml":
		if w.n == 0 {
			_, err := io.WriteString(w.w, "[]\n")
			return err
		}
	}
	return nil
}

// appendYAMLv3 appends obj, one JSON value, as an item of a top-level YAML
// sequence, through yaml.v3: what appendYAML leaves.
func appendYAMLv3(dst, obj []byte) ([]byte, error) {
	node, err := jsonToYAML(obj)
	if err != nil {
		return dst, err
	}
	doc := &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{node}}
	buf := bytes.NewBuffer(dst)
	enc := yaml.NewEncoder(buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return dst, err
	}
	_ = enc.Close()
	return buf.Bytes(), nil
}

// jsonToYAML converts one JSON value to a YAML node, keeping key order.
func jsonToYAML(b []byte) (*yaml.Node, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return yamlValue(dec)
}

func yamlValue(dec *json.Decoder) (*yaml.Node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				val, err := yamlValue(dec)
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k.(string)}, val)
			}
			_, err := dec.Token()
			return n, err
		case '[':
			n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
			for dec.More() {
				val, err := yamlValue(dec)
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, val)
			}
			_, err := dec.Token()
			return n, err
		}
	case string:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}, nil
	case json.Number:
		tag := "!!int"
		if _, err := strconv.ParseInt(string(v), 10, 64); err != nil {
			tag = "!!float"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: string(v)}, nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v)}, nil
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

// sink writes a dataset's records in one format.
type sink interface {
	// write writes one record; buf is memory it may use to encode it.
	write(r *scenarios.Record, buf *[]byte) error
	// close ends the document; it does not close the writer below.
	close() error
}

func newSink(w io.Writer, format, api, compression string) (sink, error) {
	switch format {
	case "ndjson", "json", "yaml":
		return textSink{NewWriter(w, format)}, nil
	case "parquet":
		return newParquetSink(w, api, compression)
	}
	return nil, fmt.Errorf("invalid format %q, must be one of %s", format, strings.Join(Formats, ", "))
}

type textSink struct{ w *Writer }

func (s textSink) write(r *scenarios.Record, buf *[]byte) error {
	*buf = r.AppendJSON((*buf)[:0])
	return s.w.Write(*buf)
}

func (s textSink) close() error { return s.w.Close() }
