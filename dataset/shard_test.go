package dataset

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/scenarios"
	"github.com/eventsim/eventsim/schemas"
)

func TestCountAndDurationDivideExactly(t *testing.T) {
	for _, c := range []struct {
		name  string
		total int64
		n     int
	}{
		{"even", 1000, 4},
		{"remainder", 1001, 4},
		{"fewer than shards", 3, 8},
		{"one shard", 17, 1},
		{"nanoseconds of a day", int64(24 * time.Hour), 7},
		{"huge", 1<<62 + 12345, 65536},
	} {
		t.Run(c.name, func(t *testing.T) {
			var sum int64
			for i := range c.n {
				if got := offset(c.total, i, c.n); got != sum {
					t.Fatalf("shard %d starts at %d, want %d (the shares before it)", i, got, sum)
				}
				s := split(c.total, i, c.n)
				if s < c.total/int64(c.n) || s > c.total/int64(c.n)+1 {
					t.Fatalf("shard %d gets %d of %d, want %d or one more", i, s, c.total, c.total/int64(c.n))
				}
				sum += s
			}
			if sum != c.total {
				t.Fatalf("shares add up to %d, want %d", sum, c.total)
			}
		})
	}
}

func TestParsePart(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Part
		err  string
	}{
		{in: "0/1", want: Part{0, 1}},
		{in: "3/8", want: Part{3, 8}},
		{in: "8/8", err: "index must be 0 to 7"},
		{in: "-1/8", err: "index must be 0 to 7"},
		{in: "0/0", err: "must be 1 to 65536"},
		{in: "3", err: "must be I/N"},
		{in: "a/b", err: "whole numbers"},
	} {
		got, err := ParsePart(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParsePart(%q) = %v, %v; want an error saying %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParsePart(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

// shardBytes writes one shard of a dataset as NDJSON.
func shardBytes(t *testing.T, o *Options, p Part) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := o.WriteShard(t.Context(), p, &buf); err != nil {
		t.Fatalf("shard %s: %v", p, err)
	}
	return buf.Bytes()
}

func load(t testing.TB, name string) *scenarios.Scenario {
	t.Helper()
	s, err := scenarios.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// objects is what one shard of a dataset makes and refers to, read from
// its events as a consumer would.
type objects struct {
	made map[string]bool // objects created ("kind:name" or "kind:id")
	refs map[string]bool // objects named by any event
	ids  map[string]bool // ids that must be unique: operations, Linode events
}

func newObjects() *objects {
	return &objects{made: map[string]bool{}, refs: map[string]bool{}, ids: map[string]bool{}}
}

// readLXD collects the objects of LXD events: a lifecycle event's source
// is the object; actions ending in -created or -added make it; an
// operation's id is its own and its resources are references.
func (o *objects) readLXD(t *testing.T, line []byte) {
	var ev struct {
		Type     string `json:"type"`
		Project  string `json:"project"`
		Metadata struct {
			Action    string              `json:"action"`
			Source    string              `json:"source"`
			ID        string              `json:"id"`
			Status    string              `json:"status"`
			Resources map[string][]string `json:"resources"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(line, &ev); err != nil {
		t.Fatalf("not JSON: %v: %s", err, line)
	}
	m := ev.Metadata
	switch ev.Type {
	case "lifecycle":
		src, _, _ := strings.Cut(m.Source, "?")
		key := ev.Project + ":" + src
		o.refs[key] = true
		if strings.HasSuffix(m.Action, "-created") || strings.HasSuffix(m.Action, "-added") {
			o.made[key] = true
		}
	case "operation":
		if m.Status == "Pending" {
			o.ids["operation:"+m.ID] = true
		}
		for _, l := range m.Resources {
			for _, r := range l {
				o.refs[ev.Project+":"+r] = true
			}
		}
	}
}

// readLinode collects the objects of Linode events: event ids are unique
// per event (all its updates share one); an entity is made by a *_create
// action; entities and secondary entities are references.
func (o *objects) readLinode(t *testing.T, line []byte, seenIDs map[int64]bool) {
	var ev struct {
		ID     int64  `json:"id"`
		Action string `json:"action"`
		Status string `json:"status"`
		Entity *struct {
			ID    any    `json:"id"`
			Label string `json:"label"`
			Type  string `json:"type"`
		} `json:"entity"`
		SecondaryEntity *struct {
			ID   any    `json:"id"`
			Type string `json:"type"`
		} `json:"secondary_entity"`
	}
	if err := json.Unmarshal(line, &ev); err != nil {
		t.Fatalf("not JSON: %v: %s", err, line)
	}
	if !seenIDs[ev.ID] {
		seenIDs[ev.ID] = true
		o.ids[fmt.Sprintf("event:%d", ev.ID)] = true
	}
	if e := ev.Entity; e != nil && e.ID != nil {
		key := fmt.Sprintf("%s:%v", e.Type, e.ID)
		o.refs[key] = true
		if strings.HasSuffix(ev.Action, "_create") {
			o.made[key] = true
			o.made[e.Type+" label:"+e.Label] = true
		}
	}
	if e := ev.SecondaryEntity; e != nil && e.ID != nil && e.Type != "image" {
		o.refs[fmt.Sprintf("%s:%v", e.Type, e.ID)] = true
	}
}

// TestUnionOfShardsIsAValidDataset splits built-in scenarios into shards,
// by count and by duration, and checks the union as a consumer would:
// every event valid; no object made in two shards, no id in two shards;
// no event naming an object another shard made.
func TestUnionOfShardsIsAValidDataset(t *testing.T) {
	lxdV, err := schemas.NewValidator(schemas.LXDEvent)
	if err != nil {
		t.Fatal(err)
	}
	linodeV, err := schemas.NewValidator(schemas.LinodeEvent)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		scenario string
		api      string
		count    int64
		duration time.Duration
		n        int
	}{
		{scenario: "lxd-steady", api: "lxd", count: 3000, n: 3},
		{scenario: "lxd-steady", api: "lxd", duration: 4 * time.Second, n: 4},
		{scenario: "lxd-catalogue-tour", api: "lxd", count: 2000, n: 3},
		{scenario: "lxd-instance-lifecycle", api: "lxd", count: 500, n: 2},
		{scenario: "lxd-projects", api: "lxd", count: 1000, n: 3},
		{scenario: "lxd-cluster", api: "lxd", count: 1000, n: 2},
		{scenario: "linode-provisioning", api: "linode", count: 600, n: 3},
		{scenario: "linode-catalogue-tour", api: "linode", count: 1000, n: 2},
		{scenario: "linode-failures", api: "linode", duration: 10 * time.Minute, n: 3},
	} {
		name := fmt.Sprintf("%s/%s/count=%d,duration=%s", c.scenario, c.api, c.count, c.duration)
		t.Run(name, func(t *testing.T) {
			o := &Options{Scenario: load(t, c.scenario), API: c.api, Count: c.count, Duration: c.duration, Format: "ndjson", Flavor: catalog.DefaultFlavor}
			v := lxdV
			if c.api == "linode" {
				v = linodeV
			}
			var total int64
			shards := make([]*objects, c.n)
			var lastOfPrev time.Time
			for i := range c.n {
				sh := newObjects()
				shards[i] = sh
				seenIDs := map[int64]bool{}
				sc := bufio.NewScanner(bytes.NewReader(shardBytes(t, o, Part{i, c.n})))
				sc.Buffer(nil, 1<<20)
				var first, last time.Time // of the shard, by timestamp or created
				for sc.Scan() {
					line := sc.Bytes()
					total++
					if err := v.Validate(line); err != nil {
						t.Fatalf("shard %d: invalid event: %v: %s", i, err, line)
					}
					ts := eventTime(t, line)
					if c.api == "lxd" {
						sh.readLXD(t, line)
						// LXD events come in timestamp order. (Linode events
						// come in the order they change, which they do not
						// carry: a long event's update keeps its created.)
						if ts.Before(last) {
							t.Fatalf("shard %d: %s after %s: not in time order", i, ts, last)
						}
					} else {
						sh.readLinode(t, line, seenIDs)
					}
					if first.IsZero() || ts.Before(first) {
						first = ts
					}
					if ts.After(last) {
						last = ts
					}
				}
				if c.duration > 0 {
					// Windows: shard i's events all come before shard i+1's.
					if i > 0 && first.Before(lastOfPrev) {
						t.Errorf("shard %d starts at %s, before shard %d's last event at %s", i, first, i-1, lastOfPrev)
					}
					lastOfPrev = last
				}
			}
			if c.count > 0 && total != c.count {
				t.Errorf("the shards hold %d events together, want --count %d", total, c.count)
			}
			for i, a := range shards {
				if len(a.made) == 0 {
					t.Errorf("shard %d makes no object: nothing to check", i)
				}
				for j, b := range shards {
					if i == j {
						continue
					}
					for k := range a.made {
						if b.made[k] {
							t.Errorf("%s is made in shards %d and %d", k, i, j)
						}
					}
					for k := range a.ids {
						if b.ids[k] {
							t.Errorf("%s is in shards %d and %d", k, i, j)
						}
					}
					for k := range a.refs {
						if b.made[k] && !a.made[k] {
							t.Errorf("shard %d names %s, which shard %d made", i, k, j)
						}
					}
				}
			}
		})
	}
}

func eventTime(t *testing.T, line []byte) time.Time {
	t.Helper()
	var ev struct {
		Timestamp string `json:"timestamp"`
		Created   string `json:"created"`
	}
	if err := json.Unmarshal(line, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Created != "" {
		ts, err := time.Parse("2006-01-02T15:04:05", ev.Created)
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	ts, err := time.Parse(time.RFC3339Nano, ev.Timestamp)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func TestShardsAreDeterministic(t *testing.T) {
	o := &Options{Scenario: load(t, "lxd-steady"), API: "lxd", Count: 1500, Format: "ndjson"}
	a0 := shardBytes(t, o, Part{0, 2})
	if b := shardBytes(t, o, Part{0, 2}); !bytes.Equal(a0, b) {
		t.Fatal("shard 0/2 differs between two runs")
	}
	a1 := shardBytes(t, o, Part{1, 2})
	if b := shardBytes(t, o, Part{1, 2}); !bytes.Equal(a1, b) {
		t.Fatal("shard 1/2 differs between two runs")
	}
	if bytes.Equal(a0, a1) {
		t.Fatal("shards 0/2 and 1/2 are the same bytes")
	}
	whole := shardBytes(t, o, Part{})
	if one := shardBytes(t, o, Part{0, 1}); !bytes.Equal(whole, one) {
		t.Fatal("shard 0/1 is not the whole dataset")
	}
}

// TestShardsInOneProcessEqualConcatenatedRuns holds --shards N to the N
// separate runs, for every compression and both ways of splitting.
func TestShardsInOneProcessEqualConcatenatedRuns(t *testing.T) {
	for _, c := range []struct {
		compression string
		count       int64
		duration    time.Duration
		n           int
	}{
		{"none", 2000, 0, 3},
		{"gzip", 2000, 0, 4},
		{"zstd", 0, 3 * time.Second, 3},
		{"none", 5, 0, 8}, // some shards empty
	} {
		t.Run(fmt.Sprintf("%s/%d/%s/%d", c.compression, c.count, c.duration, c.n), func(t *testing.T) {
			o := &Options{Scenario: load(t, "lxd-steady"), API: "lxd", Count: c.count, Duration: c.duration, Format: "ndjson", Compression: c.compression, Hash: true}
			var want bytes.Buffer
			for i := range c.n {
				want.Write(shardBytes(t, o, Part{i, c.n}))
			}
			var got bytes.Buffer
			shards, err := o.WriteShards(t.Context(), c.n, &got, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Fatalf("--shards %d wrote %d bytes, the %d runs %d; not the same bytes", c.n, got.Len(), c.n, want.Len())
			}
			var off int64
			for i, sh := range shards {
				if sh.Index != i || sh.Offset != off {
					t.Errorf("shard %d: index %d offset %d, want %d %d", i, sh.Index, sh.Offset, i, off)
				}
				off += sh.Bytes
			}
			if off != int64(got.Len()) {
				t.Errorf("shards add up to %d bytes, output has %d", off, got.Len())
			}
			// And it reads back: decompressed, the events are all there.
			r, err := Decompress(bytes.NewReader(got.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(r)
			sc.Buffer(nil, 1<<20)
			n := 0
			for sc.Scan() {
				n++
			}
			if c.count > 0 && int64(n) != c.count {
				t.Errorf("read back %d events, want %d", n, c.count)
			}
		})
	}
}

func TestShardsDir(t *testing.T) {
	dir := t.TempDir()
	o := &Options{Scenario: load(t, "linode-provisioning"), API: "linode", Count: 300, Format: "json", Compression: "gzip"}
	shards, err := o.WriteShardsDir(t.Context(), 3, dir, "prov")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, sh := range shards {
		names = append(names, sh.File)
	}
	sort.Strings(names)
	want := []string{"prov-00000-of-00003.json.gz", "prov-00001-of-00003.json.gz", "prov-00002-of-00003.json.gz"}
	if fmt.Sprint(names) != fmt.Sprint(want) {
		t.Errorf("files %v, want %v", names, want)
	}
}
