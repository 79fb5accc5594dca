package dataset

import (
	"reflect"
	"testing"

	"github.com/eventsim/eventsim/scenarios"
)

// TestLXDRowsFromRecordsEqualRowsFromJSON holds the Parquet rows built from
// an engine's records (Record.AppendMetadata) to the rows read back from
// the same events' JSON, for every kind of LXD event the built-in
// scenarios make, with an emitted event (JSON only) and escapes among them.
func TestLXDRowsFromRecordsEqualRowsFromJSON(t *testing.T) {
	const emitted = `name: odd
api: lxd
steps:
  - lxd: log
    name: "odd \xff <&> \u2028 \t"
  - lxd: instance.create
    name: c1
  - emit:
      lxd: {type: lifecycle, metadata: {action: instance-started, source: /1.0/instances/c1}}
`
	odd, err := scenarios.Parse("odd.yaml", []byte(emitted))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*scenarios.Scenario{load(t, "lxd-steady"), load(t, "lxd-catalogue-tour"), load(t, "lxd-cluster"), load(t, "lxd-projects"), odd} {
		t.Run(s.Name, func(t *testing.T) {
			e, err := scenarios.New(s, scenarios.Options{DeferJSON: true, Loop: true})
			if err != nil {
				t.Fatal(err)
			}
			fromRecord, fromJSON := 0, 0
			var buf []byte
			var mem rowMem
			for range 5000 {
				r, err := e.Next()
				if err != nil {
					t.Fatal(err)
				}
				if r.API != "lxd" || r.Fault != nil {
					continue
				}
				var got LXDRow
				want := LXDRow{Type: r.Type, Timestamp: r.Time.UnixMicro(), Location: r.Location, Project: r.Project}
				// As the sink makes a row: its metadata set when its
				// batch is written.
				mem.reset()
				mem.ends = append(mem.ends, -1)
				if err := lxdRow(r, &buf, &mem, &got); err != nil {
					t.Fatal(err)
				}
				mem.fill(1, func(_ int, meta string) { setLXDMetadata(&got, meta) })
				var c scenarios.LXDColumns
				if _, ok := r.AppendMetadata(nil, &c); ok {
					fromRecord++
				} else {
					fromJSON++
				}
				if err := lxdRowFromJSON(r, r.AppendJSON(nil), &want); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("row from the record:\n%+v\nrow from the JSON:\n%+v\nevent: %s", got, want, r.AppendJSON(nil))
				}
			}
			if fromRecord == 0 {
				t.Error("no row was built from a record")
			}
			if s == odd && fromJSON == 0 {
				t.Error("no row was read from JSON")
			}
		})
	}
}
