package linode

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"testing"
	"time"

	"github.com/eventsim/eventsim/events"
	"github.com/eventsim/eventsim/schemas"
)

// TestAppendEventMatchesEncodingJSON checks the hand-written encoder against
// encoding/json, byte for byte, over awkward values.
func TestAppendEventMatchesEncodingJSON(t *testing.T) {
	now := time.Date(2026, 11, 21, 5, 45, 38, 123456789, time.UTC)
	evs := []*events.LinodeEvent{
		event(1, "linode_boot", "linode", 123, now, events.LinodeScheduled),
		event(2, "linode_boot", "linode", 123, now, events.LinodeStarted),
		event(3, "linode_boot", "linode", 123, now, events.LinodeFinished),
		event(4, "linode_boot", "linode", 123, now, events.LinodeFailed),
		event(5, "tag_create", "tag", "prod <&> \"x\"\n", now, events.LinodeNotification),
		event(6, "account_update", "account", nil, now, events.LinodeNotification),
		event(7, "linode_migrate", "linode", float64(44), now.In(time.FixedZone("X", 3600)), events.LinodeStarted),
		{ID: 8, Action: "ünïcode", Details: json.RawMessage(` { "description" : "scheduled", "x": [1, 2] } `)},
	}
	evs[6].Rate = ptr("5 MB/s")
	evs[6].TimeRemaining = "00:03:20"
	evs[6].Duration = ptr(1e-7)
	evs[1].Duration = ptr(1e21)
	evs[5].Entity.Label = "\u2028\x01"
	for _, ev := range evs {
		want, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendEvent(nil, ev)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("event %d:\n got %s\nwant %s", ev.ID, got, want)
		}
	}
	if _, err := appendEvent(nil, &events.LinodeEvent{ID: 1, Details: json.RawMessage(`{`)}); err == nil {
		t.Error("invalid details accepted")
	}
}

func TestStoreServesValidEvents(t *testing.T) {
	st := newStore()
	now := time.Now()
	for i, status := range []string{events.LinodeScheduled, events.LinodeStarted, events.LinodeFinished, events.LinodeFailed, events.LinodeNotification} {
		if err := st.upsert(event(int64(i+1), "linode_boot", "linode", 1, now, status)); err != nil {
			t.Fatal(err)
		}
	}
	st.seenUpTo = 2
	st.ents[3].flags |= flagMarkedRead
	for i := range st.ents {
		b := st.appendJSON(nil, &st.ents[i])
		if err := schemas.Validate(schemas.LinodeEvent, b); err != nil {
			t.Errorf("event %d: %v\n%s", i+1, err, b)
		}
		var ev events.LinodeEvent
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Seen != (ev.ID <= 2) || ev.Read != (ev.ID == 4) {
			t.Errorf("event %d: seen %v read %v", ev.ID, ev.Seen, ev.Read)
		}
	}
}

// TestStoreInvariants delivers random progressions, out-of-order ids and
// created times and checks the indexes and the inversion count against a
// recount, and that compaction keeps every event.
func TestStoreInvariants(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	st := newStore()
	base := time.Now()
	actions := []string{"linode_boot", "volume_create", "tag_create", "account_update"}
	types := []string{"linode", "volume", "tag", "account"}
	latest := map[int64]string{}
	for range 5000 {
		id := int64(rng.Intn(800) + 1)
		k := rng.Intn(len(actions))
		created := base.Add(time.Duration(id+int64(rng.Intn(3)-1)) * time.Second)
		ev := event(id, actions[k], types[k], rng.Intn(5), created, events.LinodeStarted)
		ev.Message = ptr(string(bytes.Repeat([]byte("m"), rng.Intn(200))))
		if err := st.upsert(ev); err != nil {
			t.Fatal(err)
		}
		latest[id] = actions[k]
	}
	st.compact()
	if len(st.ents) != len(latest) {
		t.Fatalf("%d events, want %d", len(st.ents), len(latest))
	}
	inv := 0
	for i := range st.ents {
		e := &st.ents[i]
		if i > 0 && st.ents[i-1].id >= e.id {
			t.Fatalf("ids out of order at %d", i)
		}
		if i > 0 && st.ents[i-1].created > e.created {
			inv++
		}
		var ev events.LinodeEvent
		if err := json.Unmarshal(st.appendJSON(nil, e), &ev); err != nil || ev.ID != e.id || ev.Action != latest[e.id] {
			t.Fatalf("event %d: %v %+v", e.id, err, ev)
		}
	}
	if inv != st.inversions {
		t.Errorf("inversions %d, recount %d", st.inversions, inv)
	}
	for a, l := range st.byAction {
		for j, p := range l {
			if st.ents[p].action != uint16(a) || j > 0 && l[j-1] >= p {
				t.Fatalf("byAction[%s] wrong at %d", st.strs[a], j)
			}
		}
	}
	n := 0
	for _, l := range st.byType {
		n += len(l)
	}
	if n != len(st.ents) {
		t.Errorf("byType holds %d positions, want %d", n, len(st.ents))
	}
}
