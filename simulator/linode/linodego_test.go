package linode

import (
	"context"
	"errors"
	"io"
	"log"
	"slices"
	"testing"
	"time"

	"github.com/linode/linodego"

	"github.com/eventsim/eventsim/events"
	"github.com/eventsim/eventsim/scenarios"
)

func init() {
	log.SetOutput(io.Discard) // linodego logs retries and waits through the standard logger
}

// client is a linodego client for s that never retries and polls fast.
func client(s *Server, token string) *linodego.Client {
	c := linodego.NewClient(nil)
	c.SetBaseURL(s.URL())
	if token != "" {
		c.SetToken(token)
	}
	c.SetPollDelay(20 * time.Millisecond)
	c.SetRetryCount(0)
	return &c
}

// history delivers n finished or notification events, a minute apart and
// ending a minute before now, over linodes 100..104 and some volumes.
func history(t testing.TB, s *Server, firstID int64, n int, now time.Time) []*events.LinodeEvent {
	t.Helper()
	var out []*events.LinodeEvent
	for i := range n {
		created := now.Add(-time.Duration(n-i) * time.Minute)
		id := firstID + int64(i)
		var ev *events.LinodeEvent
		switch i % 4 {
		case 0, 1:
			ev = event(id, "linode_boot", "linode", 100+i%5, created, events.LinodeFinished)
		case 2:
			ev = event(id, "volume_create", "volume", 500+i%3, created, events.LinodeFinished)
		default:
			ev = event(id, "linode_config_update", "linode", 100+i%5, created, events.LinodeNotification)
		}
		out = append(out, ev)
	}
	deliver(t, s, out...)
	return out
}

func TestLinodegoListEvents(t *testing.T) {
	s := NewServer(t, Options{})
	c := client(s, s.Token())
	ctx := t.Context()
	all := history(t, s, 1000, 260, time.Now())

	got, err := c.ListEvents(ctx, &linodego.ListOptions{PageSize: 25})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(all) {
		t.Fatalf("ListEvents across pages: %d events, want %d", len(got), len(all))
	}
	// The default order is newest first.
	if got[0].ID != 1259 || got[len(got)-1].ID != 1000 {
		t.Errorf("default order: first %d last %d, want 1259 and 1000", got[0].ID, got[len(got)-1].ID)
	}

	tests := []struct {
		name   string
		filter string
		want   func(ev *events.LinodeEvent) bool
		asc    bool
	}{
		{"type", `{"entity.type":"volume"}`, func(ev *events.LinodeEvent) bool { return ev.Entity.Type == "volume" }, false},
		{"action and entity", `{"action":"linode_boot","entity.id":101,"entity.type":"linode"}`,
			func(ev *events.LinodeEvent) bool { return ev.Action == "linode_boot" && ev.Entity.ID == 101 }, false},
		{"id range asc", `{"id":{"+gte":1010,"+lt":1020},"+order_by":"id","+order":"asc"}`,
			func(ev *events.LinodeEvent) bool { return ev.ID >= 1010 && ev.ID < 1020 }, true},
		{"or", `{"+or":[{"action":"volume_create"},{"entity.id":103}]}`,
			func(ev *events.LinodeEvent) bool { return ev.Action == "volume_create" || ev.Entity.ID == 103 }, false},
		{"created desc", `{"+order_by":"created","+order":"desc","created":{"+gte":"` +
			time.Time(all[200].Created).UTC().Format(events.LinodeTimeFormat) + `"}}`,
			func(ev *events.LinodeEvent) bool { return ev.ID >= all[200].ID }, false},
		{"contains", `{"action":{"+contains":"config"}}`, func(ev *events.LinodeEvent) bool { return ev.Action == "linode_config_update" }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.ListEvents(ctx, &linodego.ListOptions{PageSize: 25, Filter: tc.filter})
			if err != nil {
				t.Fatal(err)
			}
			var want []int
			for _, ev := range all {
				if tc.want(ev) {
					want = append(want, int(ev.ID))
				}
			}
			if !tc.asc {
				slices.Reverse(want)
			}
			ids := make([]int, len(got))
			for i, ev := range got {
				ids[i] = ev.ID
			}
			if !slices.Equal(ids, want) {
				t.Errorf("ids %v\nwant %v", ids, want)
			}
		})
	}
}

func TestLinodegoGetSeenRead(t *testing.T) {
	s := NewServer(t, Options{})
	c := client(s, s.Token())
	ctx := t.Context()
	history(t, s, 1, 10, time.Now())

	ev, err := c.GetEvent(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	if ev.ID != 5 || ev.Action != linodego.ActionLinodeBoot || ev.Entity == nil || ev.Entity.Type != linodego.EntityLinode || ev.Seen || ev.Read {
		t.Errorf("GetEvent(5) = %+v", ev)
	}
	if ev.Created == nil || time.Since(*ev.Created) > 10*time.Minute {
		t.Errorf("created %v", ev.Created)
	}

	if err := c.MarkEventsSeen(ctx, ev); err != nil {
		t.Fatal(err)
	}
	for id := 1; id <= 10; id++ {
		ev, err := c.GetEvent(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Seen != (id <= 5) {
			t.Errorf("event %d seen %v after MarkEventsSeen(5)", id, ev.Seen)
		}
	}
	seen, err := c.ListEvents(ctx, &linodego.ListOptions{Filter: `{"id":{"+lte":5}}`})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range seen {
		if !ev.Seen {
			t.Errorf("listed event %d not seen", ev.ID)
		}
	}

	ev7, _ := c.GetEvent(ctx, 7)
	if err := c.MarkEventRead(ctx, ev7); err != nil {
		t.Fatal(err)
	}
	read, err := c.ListEvents(ctx, &linodego.ListOptions{Filter: `{"read":true}`})
	if err != nil {
		t.Fatal(err)
	}
	if len(read) != 1 || read[0].ID != 7 || !read[0].Read {
		t.Errorf("read events %+v, want event 7 alone", read)
	}
	// Progress leaves the read and seen marks alone.
	deliver(t, s, event(7, "linode_boot", "linode", 102, time.Time(ev7.Created.UTC()), events.LinodeFinished),
		event(5, "linode_boot", "linode", 100, time.Time(ev.Created.UTC()), events.LinodeFinished))
	if ev, _ := c.GetEvent(ctx, 7); !ev.Read || ev.Seen {
		t.Errorf("event 7 after progress: read %v seen %v, want read and not seen", ev.Read, ev.Seen)
	}
	if ev, _ := c.GetEvent(ctx, 5); ev.Read || !ev.Seen {
		t.Errorf("event 5 after progress: read %v seen %v, want seen and not read", ev.Read, ev.Seen)
	}

	if err := c.MarkEventsSeen(ctx, &linodego.Event{ID: 999}); !linodego.IsNotFound(err) {
		t.Errorf("MarkEventsSeen(999) = %v, want a 404", err)
	}
	if err := c.MarkEventRead(ctx, &linodego.Event{ID: 999}); !linodego.IsNotFound(err) {
		t.Errorf("MarkEventRead(999) = %v, want a 404", err)
	}
}

// progress delivers a linode_boot of linode 123 going scheduled, started
// 30%, 70% and finished, stamped with the real clock.
func progress(ctx context.Context, s *Server, id int64, every time.Duration) error {
	created := time.Now().UTC().Truncate(time.Second)
	steps := []struct {
		status string
		pct    int
	}{{events.LinodeScheduled, 0}, {events.LinodeStarted, 30}, {events.LinodeStarted, 70}, {events.LinodeFinished, 100}}
	for i, st := range steps {
		if i > 0 {
			select {
			case <-time.After(every):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		ev := event(id, "linode_boot", "linode", 123, created, st.status)
		ev.PercentComplete = ptr(st.pct)
		if err := s.Deliver(ctx, &scenarios.Record{Time: time.Now(), API: "linode", Linode: ev}); err != nil {
			return err
		}
	}
	return nil
}

func TestLinodegoWaitForEventFinished(t *testing.T) {
	s := NewServer(t, Options{})
	c := client(s, s.Token())
	ctx := t.Context()
	history(t, s, 1, 20, time.Now()) // older boots of linode 100..104, before minStart

	minStart := time.Now()
	errc := make(chan error, 1)
	go func() { errc <- progress(ctx, s, 50, 60*time.Millisecond) }()
	ev, err := c.WaitForEventFinished(ctx, 123, linodego.EntityLinode, linodego.ActionLinodeBoot, minStart, 10)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if ev.ID != 50 || ev.Status != linodego.EventFinished || ev.PercentComplete != 100 {
		t.Errorf("WaitForEventFinished = id %d status %s %d%%", ev.ID, ev.Status, ev.PercentComplete)
	}
}

func TestLinodegoEventPoller(t *testing.T) {
	s := NewServer(t, Options{})
	c := client(s, s.Token())
	ctx := t.Context()
	// An earlier boot of the same linode, which the poller must skip.
	deliver(t, s, event(40, "linode_boot", "linode", 123, time.Now().Add(-time.Hour), events.LinodeFinished))

	p, err := c.NewEventPoller(ctx, 123, linodego.EntityLinode, linodego.ActionLinodeBoot)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- progress(ctx, s, 41, 60*time.Millisecond) }()
	ev, err := p.WaitForFinished(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if ev.ID != 41 || ev.Status != linodego.EventFinished {
		t.Errorf("WaitForFinished = id %d status %s", ev.ID, ev.Status)
	}
}

func TestLinodegoErrors(t *testing.T) {
	ctx := t.Context()
	var le *linodego.Error

	t.Run("401", func(t *testing.T) {
		s := NewServer(t, Options{})
		for _, tok := range []string{"", "wrong"} {
			_, err := client(s, tok).ListEvents(ctx, nil)
			if !linodego.ErrHasStatus(err, 401) || !errors.As(err, &le) || le.Message != "Invalid Token" {
				t.Errorf("token %q: %v, want [401] Invalid Token", tok, err)
			}
		}
	})
	t.Run("404", func(t *testing.T) {
		s := NewServer(t, Options{})
		_, err := client(s, s.Token()).GetEvent(ctx, 42)
		if !linodego.IsNotFound(err) || !errors.As(err, &le) || le.Message != "Not found" {
			t.Errorf("GetEvent(42) = %v, want [404] Not found", err)
		}
	})
	t.Run("400", func(t *testing.T) {
		s := NewServer(t, Options{})
		_, err := client(s, s.Token()).ListEvents(ctx, &linodego.ListOptions{Filter: `{"seen":false}`})
		if !linodego.ErrHasStatus(err, 400) || !errors.As(err, &le) || le.Message != "[X-Filter] Cannot filter on seen" {
			t.Errorf("filter on seen: %v", err)
		}
	})
	t.Run("403", func(t *testing.T) {
		s := NewServer(t, Options{ReadOnlyTokens: []string{"ro"}})
		history(t, s, 1, 3, time.Now())
		c := client(s, "ro")
		if _, err := c.GetEvent(ctx, 1); err != nil {
			t.Fatalf("read-only GetEvent: %v", err)
		}
		if err := c.MarkEventsSeen(ctx, &linodego.Event{ID: 1}); !linodego.ErrHasStatus(err, 403) {
			t.Errorf("read-only MarkEventsSeen: %v, want 403", err)
		}
	})
	t.Run("429 limit", func(t *testing.T) {
		s := NewServer(t, Options{RateLimit: 2})
		c := client(s, s.Token())
		for range 2 {
			if _, err := c.ListEvents(ctx, nil); err != nil {
				t.Fatal(err)
			}
		}
		_, err := c.ListEvents(ctx, nil)
		if !linodego.ErrHasStatus(err, 429) || !errors.As(err, &le) {
			t.Fatalf("third request: %v, want 429", err)
		}
		if ra := le.Response.Header.Get("Retry-After"); ra == "" || ra == "0" {
			t.Errorf("Retry-After %q", ra)
		}
	})
	t.Run("429 fault retried", func(t *testing.T) {
		s := NewServer(t, Options{})
		history(t, s, 1, 3, time.Now())
		if err := s.Deliver(ctx, &scenarios.Record{API: "linode", Fault: &scenarios.Fault{Kind: scenarios.FaultRateLimit, API: "linode", Count: 2, RetryAfter: 1}}); err != nil {
			t.Fatal(err)
		}
		c := client(s, s.Token())
		c.SetRetryCount(3).SetRetryWaitTime(5 * time.Millisecond).SetRetryMaxWaitTime(20 * time.Millisecond)
		got, err := c.ListEvents(ctx, nil)
		if err != nil || len(got) != 3 {
			t.Fatalf("after two 429s: %d events, %v", len(got), err)
		}
		if st := s.Stats(); st.Statuses[429] != 2 || st.Faulted != 2 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("503 fault", func(t *testing.T) {
		s := NewServer(t, Options{})
		if err := s.Deliver(ctx, &scenarios.Record{API: "linode", Fault: &scenarios.Fault{Kind: scenarios.FaultHTTPError, API: "linode", Status: 503, Count: 1}}); err != nil {
			t.Fatal(err)
		}
		c := client(s, s.Token())
		if _, err := c.ListEvents(ctx, nil); !linodego.ErrHasStatus(err, 503) {
			t.Errorf("first request: %v, want 503", err)
		}
		if _, err := c.ListEvents(ctx, nil); err != nil {
			t.Errorf("second request: %v", err)
		}
	})
}
