package dataset

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// duckdbReader is the script that reads Parquet with DuckDB; .ci/run
// installs its one dependency (npm install in its folder).
const duckdbReader = "testdata/duckdb/count.mjs"

// duckdb reads a Parquet file with DuckDB, an independent reader, and
// returns what count.mjs reports. Without node or DuckDB the test fails,
// saying how to install them, unless EVENTSIM_SKIP_DUCKDB is set.
func duckdb(t *testing.T, file, timeCol string, groups ...string) duckdbReport {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat("testdata/duckdb/node_modules/@duckdb/node-api")
	}
	if err != nil {
		msg := fmt.Sprintf("DuckDB reader not installed (%v): install Node.js and run `npm install --no-package-lock` in dataset/testdata/duckdb, as .ci/run does", err)
		if os.Getenv("EVENTSIM_SKIP_DUCKDB") != "" {
			t.Skip(msg + "; skipped because EVENTSIM_SKIP_DUCKDB is set")
		}
		t.Fatal(msg + " (or set EVENTSIM_SKIP_DUCKDB=1 to skip this test locally)")
	}
	cmd := exec.CommandContext(t.Context(), node, append([]string{duckdbReader, file, timeCol}, groups...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node %s: %v\n%s", duckdbReader, err, stderr.String())
	}
	var r duckdbReport
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("DuckDB reader printed %q: %v", out, err)
	}
	return r
}

type duckdbReport struct {
	Rows   int64                       `json:"rows"`
	First  string                      `json:"first"`
	Last   string                      `json:"last"`
	Types  map[string]string           `json:"types"`
	Groups map[string]map[string]int64 `json:"groups"`
}

// duckTime reads a timestamp as DuckDB prints a TIMESTAMPTZ in UTC.
func duckTime(t *testing.T, s string) time.Time {
	t.Helper()
	ts, err := time.Parse("2006-01-02 15:04:05.999999-07", s)
	if err != nil {
		t.Fatalf("DuckDB time %q: %v", s, err)
	}
	return ts
}

// TestDuckDBReadsTheParquet writes a dataset as Parquet and as NDJSON from
// the same scenario and seed, reads the Parquet with DuckDB, and requires
// the same number of events, per type and per action (LXD) or per action,
// status and entity type (Linode), the same first and last times, and the
// column types the docs promise.
func TestDuckDBReadsTheParquet(t *testing.T) {
	for _, c := range []struct {
		scenario, api string
		count         int64
		compression   string
		timeCol       string
		groups        []string
		types         map[string]string
	}{
		{
			scenario: "lxd-steady", api: "lxd", count: 10000, compression: "zstd", timeCol: "timestamp",
			groups: []string{"type", "action", "operation_status", "level"},
			types:  map[string]string{"timestamp": "TIMESTAMP WITH TIME ZONE", "type": "VARCHAR", "operation_status_code": "BIGINT", "metadata": "JSON"},
		},
		{
			scenario: "linode-catalogue-tour", api: "linode", count: 1500, compression: "none", timeCol: "created",
			groups: []string{"action", "status", "entity.type"},
			types:  map[string]string{"created": "TIMESTAMP WITH TIME ZONE", "id": "BIGINT", "read": "BOOLEAN", "details": "JSON"},
		},
	} {
		t.Run(c.scenario, func(t *testing.T) {
			o := &Options{Scenario: load(t, c.scenario), API: c.api, Count: c.count, Format: "parquet", Compression: c.compression}
			file := filepath.Join(t.TempDir(), c.scenario+".parquet")
			f, err := os.Create(file)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := o.WriteShard(t.Context(), Part{}, f); err != nil {
				t.Fatal(err)
			}
			f.Close()
			got := duckdb(t, file, c.timeCol, c.groups...)

			o.Format, o.Compression = "ndjson", "none"
			want := ndjsonCounts(t, shardBytes(t, o, Part{}), c.timeCol, c.groups)
			if got.Rows != want.Rows {
				t.Errorf("DuckDB reads %d rows, the NDJSON has %d events", got.Rows, want.Rows)
			}
			for _, g := range c.groups {
				if !reflect.DeepEqual(got.Groups[g], want.Groups[g]) {
					t.Errorf("counts per %s: DuckDB %v, NDJSON %v", g, got.Groups[g], want.Groups[g])
				}
			}
			if len(want.Groups[c.groups[0]]) < 2 {
				t.Errorf("counts per %s: %v: too few groups to tell anything", c.groups[0], want.Groups[c.groups[0]])
			}
			first, last := duckTime(t, got.First), duckTime(t, got.Last)
			if wf := duckTime(t, want.First); !first.Equal(wf) {
				t.Errorf("first time: DuckDB %s, NDJSON %s", first, wf)
			}
			if wl := duckTime(t, want.Last); !last.Equal(wl) {
				t.Errorf("last time: DuckDB %s, NDJSON %s", last, wl)
			}
			for col, typ := range c.types {
				if got.Types[col] != typ {
					t.Errorf("column %s is %s to DuckDB, want %s", col, got.Types[col], typ)
				}
			}
		})
	}
}

// ndjsonCounts counts NDJSON events as count.mjs counts rows: per value of
// each group (a dotted path into the event or its LXD metadata), and the
// first and last times, truncated to microseconds as Parquet keeps them.
func ndjsonCounts(t *testing.T, data []byte, timeCol string, groups []string) duckdbReport {
	t.Helper()
	r := duckdbReport{Groups: map[string]map[string]int64{}}
	for _, g := range groups {
		r.Groups[g] = map[string]int64{}
	}
	var first, last time.Time
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		r.Rows++
		meta, _ := ev["metadata"].(map[string]any)
		for _, g := range groups {
			var v any
			switch g {
			case "action", "level":
				if meta != nil {
					v = meta[g]
				} else {
					v = ev[g]
				}
			case "operation_status":
				if ev["type"] == "operation" {
					v = meta["status"]
				}
			case "entity.type":
				if e, ok := ev["entity"].(map[string]any); ok {
					v = e["type"]
				}
			default:
				v = ev[g]
			}
			if s, ok := v.(string); ok {
				r.Groups[g][s]++
			}
		}
		var ts time.Time
		var err error
		if timeCol == "created" {
			ts, err = time.Parse("2006-01-02T15:04:05", ev["created"].(string))
		} else {
			ts, err = time.Parse(time.RFC3339Nano, ev["timestamp"].(string))
		}
		if err != nil {
			t.Fatal(err)
		}
		ts = ts.Truncate(time.Microsecond)
		if first.IsZero() || ts.Before(first) {
			first = ts
		}
		if ts.After(last) {
			last = ts
		}
	}
	const layout = "2006-01-02 15:04:05.999999-07"
	r.First, r.Last = first.UTC().Format(layout), last.UTC().Format(layout)
	return r
}
