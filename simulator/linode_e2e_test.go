package simulator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linode/linodego"

	"github.com/eventsim/eventsim/scenarios"
	"github.com/eventsim/eventsim/simulator"
	"github.com/eventsim/eventsim/simulator/linode"
)

// End-to-end tests of the Linode side of the simulator: the composition
// `eventsim serve` runs (simulator.New), played scenarios and the control
// API, seen through linodego as a real consumer sees them.

// e2eSilenceLog hides linodego's retry and wait messages, which it
// writes through the standard logger, for the rest of the test.
func e2eSilenceLog(t *testing.T) {
	t.Helper()
	w := log.Writer()
	log.SetOutput(io.Discard)
	t.Cleanup(func() { log.SetOutput(w) })
}

// e2eClient is a linodego client for the simulator's Linode server that
// polls fast. retries 0 turns linodego's retries off, so that every answer
// reaches the caller.
func e2eClient(s *simulator.Server, retries int) *linodego.Client {
	c := linodego.NewClient(&http.Client{Transport: &http.Transport{}})
	c.SetBaseURL(s.Linode().URL())
	c.SetToken(s.Linode().Token())
	c.SetPollDelay(20 * time.Millisecond)
	c.SetRetryCount(retries)
	c.SetRetryWaitTime(10 * time.Millisecond)
	c.SetRetryMaxWaitTime(2 * time.Second)
	c.SetLogger(e2eQuietLogger{})
	return &c
}

// e2eQuietLogger drops resty's warnings about failed attempts.
type e2eQuietLogger struct{}

func (e2eQuietLogger) Errorf(string, ...any) {}
func (e2eQuietLogger) Warnf(string, ...any)  {}
func (e2eQuietLogger) Debugf(string, ...any) {}

// e2eCut reports whether err is how linodego reports a connection cut
// without an answer: an Error made from the transport's error, no response.
func e2eCut(err error) bool {
	var le *linodego.Error
	return errors.As(err, &le) && le.Code == linodego.ErrorFromError && le.Response == nil &&
		strings.Contains(le.Message, "connection reset by peer")
}

// e2eRecords is how many Linode records (events as they progress, and
// faults) a built-in scenario plays with its own seed.
func e2eRecords(t *testing.T, name string) int64 {
	t.Helper()
	scen, err := scenarios.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := scenarios.New(scen, scenarios.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for {
		r, err := eng.Next()
		if errors.Is(err, io.EOF) {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
		if r.API == "linode" {
			n++
		}
	}
}

// e2eWaitRecords waits until the Linode server has taken n records.
func e2eWaitRecords(t *testing.T, s *simulator.Server, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.Linode().Stats().Records < n {
		if time.Now().After(deadline) {
			t.Fatalf("the Linode server took %d records in 10s, want %d", s.Linode().Stats().Records, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// e2eEntityID finds the id the scenario gave the Linode labelled label, from
// its linode_create event.
func e2eEntityID(ctx context.Context, t *testing.T, c *linodego.Client, label string) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		evs, err := c.ListEvents(ctx, &linodego.ListOptions{Filter: `{"action":"linode_create","entity.type":"linode"}`})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if ev.Entity != nil && ev.Entity.Label == label {
				id, ok := ev.Entity.ID.(float64)
				if !ok {
					t.Fatalf("linode %s: entity id %#v, want a number", label, ev.Entity.ID)
				}
				return int(id)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no linode_create for %s within 10s", label)
	return 0
}

// TestLinodeE2EFailures plays linode-failures as fast as it goes: every
// fault is then in force at once and, as the server documents, a dropped
// connection wins, then the oldest error fault, while latency delays each
// request it touches. linodego with retries off sees each one in turn; the
// server keeps serving afterwards.
func TestLinodeE2EFailures(t *testing.T) {
	e2eSilenceLog(t)
	ctx := t.Context()
	s := simulator.NewServer(t, simulator.Options{Scenario: "linode-failures"})
	e2eWaitRecords(t, s, e2eRecords(t, "linode-failures"))
	c := e2eClient(s, 0)

	type want struct {
		status     int  // 0: the connection is cut, no answer
		slow       bool // the 250ms latency fault applies
		retryAfter string
	}
	for i, w := range []want{
		{0, true, ""},
		{503, true, ""}, {503, true, ""}, {503, true, ""},
		{429, true, "1"}, {429, false, "1"},
		{200, false, ""},
	} {
		start := time.Now()
		evs, err := c.ListEvents(ctx, &linodego.ListOptions{PageSize: 25})
		took := time.Since(start)
		var le *linodego.Error
		switch {
		case w.status == 200:
			if err != nil {
				t.Fatalf("request %d: %v, want an answer", i+1, err)
			}
			if len(evs) != 7 {
				t.Errorf("request %d: %d events, want 7", i+1, len(evs))
			}
		case w.status == 0:
			if !e2eCut(err) {
				t.Fatalf("request %d: %v, want the connection cut", i+1, err)
			}
		default:
			if !linodego.ErrHasStatus(err, w.status) || !errors.As(err, &le) {
				t.Fatalf("request %d: %v, want %d", i+1, err, w.status)
			}
			if got := le.Response.Header.Get("Retry-After"); got != w.retryAfter {
				t.Errorf("request %d: Retry-After %q, want %q", i+1, got, w.retryAfter)
			}
			if w.status == 503 && le.Message != "Service Unavailable" {
				t.Errorf("request %d: message %q", i+1, le.Message)
			}
		}
		if w.slow && took < 250*time.Millisecond {
			t.Errorf("request %d took %v, want the 250ms latency", i+1, took)
		}
	}

	// Afterwards linodego sees the failed events with their messages.
	failed, err := c.ListEvents(ctx, &linodego.ListOptions{Filter: `{"+order":"asc"}`})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, ev := range failed {
		if ev.Status == linodego.EventFailed {
			msgs = append(msgs, string(ev.Action)+": "+ev.Message)
		}
	}
	wantMsgs := []string{
		"linode_boot: Linode failed to boot: kernel panic",
		"linode_migrate_datacenter_create: Migration failed: host unavailable",
		"linode_migrate_datacenter: Migration failed: host unavailable",
		"disk_resize: Disk resize failed: not enough free space",
	}
	if strings.Join(msgs, "\n") != strings.Join(wantMsgs, "\n") {
		t.Errorf("failed events:\n%s\nwant\n%s", strings.Join(msgs, "\n"), strings.Join(wantMsgs, "\n"))
	}
	ev, err := c.GetEvent(ctx, failed[len(failed)-1].ID)
	if err != nil || ev.Action != linodego.ActionLinodeShutdown || ev.Status != linodego.EventFinished || ev.PercentComplete != 100 {
		t.Errorf("last event: %+v, %v", ev, err)
	}
	st := s.Linode().Stats()
	if st.Dropped != 1 || st.Statuses[503] != 3 || st.Statuses[429] != 2 || st.Faulted != 6 || st.Statuses[500] != 0 {
		t.Errorf("stats %+v, want 1 dropped, 3×503, 2×429, 6 faulted, no 500", st)
	}
}

// TestLinodeE2EFailuresRetried: the same faults with linodego's retries on.
// The cut connection reaches the caller; the 503 burst and the 429s are
// retried, honouring Retry-After, and the list then succeeds.
func TestLinodeE2EFailuresRetried(t *testing.T) {
	e2eSilenceLog(t)
	ctx := t.Context()
	s := simulator.NewServer(t, simulator.Options{Scenario: "linode-failures"})
	e2eWaitRecords(t, s, e2eRecords(t, "linode-failures"))
	c := e2eClient(s, 10)

	if _, err := c.ListEvents(ctx, nil); !e2eCut(err) {
		t.Fatalf("first request: %v, want the connection cut", err)
	}
	start := time.Now()
	evs, err := c.ListEvents(ctx, nil)
	if err != nil || len(evs) != 7 {
		t.Fatalf("second request, retried: %d events, %v", len(evs), err)
	}
	// Two 429s with Retry-After: 1 cost at least two seconds.
	if d := time.Since(start); d < 2*time.Second {
		t.Errorf("retried request took %v, want at least the 2s Retry-After asked", d)
	}
	if st := s.Linode().Stats(); st.Statuses[503] != 3 || st.Statuses[429] != 2 || st.Statuses[200] != 1 {
		t.Errorf("stats %+v", st.Statuses)
	}
}

// TestLinodeE2EProvisioningWaiters plays linode-provisioning at 40 times
// real speed while linodego's WaitForEventFinished waits for web-1's boot
// and an EventPoller, made before db-1 boots, waits for db-1's.
func TestLinodeE2EProvisioningWaiters(t *testing.T) {
	e2eSilenceLog(t)
	ctx := t.Context()
	minStart := time.Now().UTC().Truncate(time.Second)
	s := simulator.NewServer(t, simulator.Options{Scenario: "linode-provisioning", Speed: 40})
	c := e2eClient(s, 0)
	web := e2eEntityID(ctx, t, c, "web-1")
	db := e2eEntityID(ctx, t, c, "db-1")

	// db-1 boots three virtual minutes in: the poller is made long before.
	poller, err := c.NewEventPoller(ctx, db, linodego.EntityLinode, linodego.ActionLinodeBoot)
	if err != nil {
		t.Fatal(err)
	}
	if boots, _ := c.ListEvents(ctx, &linodego.ListOptions{Filter: fmt.Sprintf(`{"action":"linode_boot","entity.id":%d}`, db)}); len(boots) != 0 {
		t.Fatalf("db-1 already booting when the poller was made: %+v", boots)
	}

	var wg sync.WaitGroup
	var webEv, dbEv *linodego.Event
	var webErr, dbErr error
	wg.Go(func() {
		webEv, webErr = c.WaitForEventFinished(ctx, web, linodego.EntityLinode, linodego.ActionLinodeBoot, minStart, 30)
	})
	wg.Go(func() { dbEv, dbErr = poller.WaitForFinished(ctx, 30) })
	wg.Wait()

	for _, x := range []struct {
		name   string
		entity int
		ev     *linodego.Event
		err    error
	}{{"web-1 WaitForEventFinished", web, webEv, webErr}, {"db-1 EventPoller", db, dbEv, dbErr}} {
		if x.err != nil {
			t.Errorf("%s: %v", x.name, x.err)
			continue
		}
		ev := x.ev
		if ev.Action != linodego.ActionLinodeBoot || ev.Status != linodego.EventFinished || ev.PercentComplete != 100 ||
			ev.Entity == nil || ev.Entity.ID != float64(x.entity) || ev.Username != "deployer" {
			t.Errorf("%s: %+v", x.name, ev)
		}
		if ev.SecondaryEntity == nil || ev.SecondaryEntity.Type != "linode_config" {
			t.Errorf("%s: secondary entity %+v, want the boot config", x.name, ev.SecondaryEntity)
		}
		if ev.Created == nil || ev.Created.Before(minStart) {
			t.Errorf("%s: created %v, before %v", x.name, ev.Created, minStart)
		}
	}
	// Virtual time ran ahead of the real clock: db-1's boot finished about
	// four virtual minutes after the start, in a few real seconds.
	if now := s.Now(); now.Sub(minStart) < 3*time.Minute {
		t.Errorf("virtual time %v after start, want minutes", now.Sub(minStart))
	}
}

// e2eControl calls the control API on the Linode listener and decodes the
// JSON answer into out (when not nil).
func e2eControl(t *testing.T, s *simulator.Server, method, path, body string, wantStatus int, out any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.Linode().URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := controlClient(s, http.DefaultClient).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != wantStatus {
		t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, wantStatus)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, b)
		}
	}
}

// TestLinodeE2EControl drives the simulator through the control API on the
// Linode listener and checks that linodego sees each change.
func TestLinodeE2EControl(t *testing.T) {
	e2eSilenceLog(t)
	ctx := t.Context()
	s := simulator.NewServer(t, simulator.Options{Scenario: "linode-provisioning"})
	prov := e2eRecords(t, "linode-provisioning")
	e2eWaitRecords(t, s, prov)
	c := e2eClient(s, 0)

	provEvents, err := c.ListEvents(ctx, nil)
	if err != nil || len(provEvents) != 16 {
		t.Fatalf("linode-provisioning: %d events, %v; want 16", len(provEvents), err)
	}

	var st simulator.Stats
	e2eControl(t, s, "GET", "/eventsim/v1/stats", "", 200, &st)
	if st.Scenario != "linode-provisioning" || st.Linode.Events != 16 || st.Linode.Records != prov || st.Linode.Requests != 1 {
		t.Errorf("stats %+v", st)
	}

	// emit: an event linodego can get and find.
	e2eControl(t, s, "POST", "/eventsim/v1/emit?api=linode",
		`{"id":5000,"action":"linode_snapshot","status":"notification","entity":{"id":77,"label":"snap-box","type":"linode","url":"/v4/linode/instances/77"},"details":{}}`,
		202, nil)
	ev, err := c.GetEvent(ctx, 5000)
	if err != nil || ev.Action != linodego.ActionLinodeSnapshot || ev.Entity == nil || ev.Entity.Label != "snap-box" || ev.Created == nil {
		t.Fatalf("emitted event: %+v, %v", ev, err)
	}
	if d := ev.Created.Sub(s.Now()); d > time.Second || d < -time.Second {
		t.Errorf("emitted event created %v, want the virtual now %v", ev.Created, s.Now())
	}
	found, err := c.ListEvents(ctx, &linodego.ListOptions{Filter: `{"entity.id":77,"entity.type":"linode"}`})
	if err != nil || len(found) != 1 || found[0].ID != 5000 {
		t.Errorf("list by entity: %+v, %v", found, err)
	}
	// A bad event is the control API's 400, and changes nothing.
	e2eControl(t, s, "POST", "/eventsim/v1/emit?api=linode", `{"id":-3}`, 400, nil)
	e2eControl(t, s, "POST", "/eventsim/v1/emit?api=linode", `not json`, 400, nil)

	// fault: linodego sees it, then the server recovers.
	e2eControl(t, s, "POST", "/eventsim/v1/fault", `{"kind":"http-error","status":503,"count":1}`, 202, nil)
	if _, err := c.GetEvent(ctx, 5000); !linodego.ErrHasStatus(err, 503) {
		t.Errorf("after an http-error fault: %v, want 503", err)
	}
	e2eControl(t, s, "POST", "/eventsim/v1/fault", `{"kind":"rate-limit","retry_after":7,"count":1}`, 202, nil)
	_, err = c.GetEvent(ctx, 5000)
	var le *linodego.Error
	if !linodego.ErrHasStatus(err, 429) || !errors.As(err, &le) || le.Response.Header.Get("Retry-After") != "7" {
		t.Errorf("after a rate-limit fault: %v, want 429 with Retry-After 7", err)
	}
	e2eControl(t, s, "POST", "/eventsim/v1/fault", `{"kind":"latency","api":"linode","delay":"300ms","count":1}`, 202, nil)
	start := time.Now()
	if _, err := c.GetEvent(ctx, 5000); err != nil || time.Since(start) < 300*time.Millisecond {
		t.Errorf("after a latency fault: %v in %v, want an answer after 300ms", err, time.Since(start))
	}
	e2eControl(t, s, "POST", "/eventsim/v1/fault", `{"kind":"drop-connection","count":1}`, 202, nil)
	if _, err := e2eClient(s, 0).GetEvent(ctx, 5000); !e2eCut(err) {
		t.Errorf("after a drop-connection fault: %v, want the connection cut", err)
	}
	if _, err := c.GetEvent(ctx, 5000); err != nil {
		t.Errorf("after the faults: %v", err)
	}
	e2eControl(t, s, "POST", "/eventsim/v1/fault", `{"kind":"disconnect","api":"linode"}`, 400, nil)

	e2eControl(t, s, "GET", "/eventsim/v1/stats", "", 200, &st)
	if l := st.Linode; l.Faulted != 4 || l.Dropped != 1 || l.Statuses[503] != 1 || l.Statuses[429] != 1 || l.Events != 17 {
		t.Errorf("stats after faults %+v", l)
	}

	// reset: the store is emptied and the scenario plays again.
	e2eControl(t, s, "POST", "/eventsim/v1/reset", "", 200, nil)
	e2eWaitRecords(t, s, prov)
	if _, err := c.GetEvent(ctx, 5000); !linodego.IsNotFound(err) {
		t.Errorf("emitted event after reset: %v, want 404", err)
	}
	again, err := c.ListEvents(ctx, nil)
	if err != nil || len(again) != len(provEvents) {
		t.Errorf("after reset: %d events, %v; want %d", len(again), err, len(provEvents))
	}

	// run: another scenario plays into the same store; its faults reach
	// linodego too (retries on, so only the cut connection shows).
	e2eControl(t, s, "POST", "/eventsim/v1/run?scenario=linode-failures", "", 202, nil)
	e2eWaitRecords(t, s, prov+e2eRecords(t, "linode-failures"))
	e2eControl(t, s, "GET", "/eventsim/v1/stats", "", 200, &st)
	if st.Scenario != "linode-failures" {
		t.Errorf("stats after run: scenario %q", st.Scenario)
	}
	e2eControl(t, s, "POST", "/eventsim/v1/run?scenario=no-such-scenario", "", 400, nil)
	rc := e2eClient(s, 10)
	if _, err := rc.ListEvents(ctx, nil); !e2eCut(err) {
		t.Error("first request after running linode-failures answered, want the connection cut")
	}
	failed, err := rc.ListEvents(ctx, &linodego.ListOptions{Filter: `{"action":"linode_migrate_datacenter"}`})
	if err != nil || len(failed) != 1 || failed[0].Status != linodego.EventFailed || failed[0].Message != "Migration failed: host unavailable" {
		t.Errorf("linode-failures' migration through linodego: %+v, %v", failed, err)
	}
}

// TestLinodeE2EControlNotAPI checks that the control API on the Linode
// listener is not behind the API's token, rate limit or faults, while the API
// beside it still answers in its own envelope.
func TestLinodeE2EControlNotAPI(t *testing.T) {
	e2eSilenceLog(t)
	ctx := t.Context()
	s := simulator.NewServer(t, simulator.Options{Scenario: "linode-provisioning", Linode: linode.Options{RateLimit: 1}})
	c := e2eClient(s, 0)
	if _, err := c.ListEvents(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListEvents(ctx, nil); !linodego.ErrHasStatus(err, 429) {
		t.Errorf("second request with a limit of 1: %v, want 429", err)
	}
	e2eControl(t, s, "POST", "/eventsim/v1/fault", `{"kind":"http-error","status":500,"for":"1h"}`, 202, nil)
	for range 3 {
		e2eControl(t, s, "GET", "/eventsim/v1/stats", "", 200, nil)
	}
	resp, err := http.Get(s.Linode().URL() + "/v4/account/events")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 500 || !bytes.Contains(b, []byte(`"reason":"Internal Server Error"`)) {
		t.Errorf("API under an http-error fault: %d %s", resp.StatusCode, b)
	}
	e2eControl(t, s, "GET", "/eventsim/v1/nothing", "", 404, nil)
	var st simulator.Stats
	e2eControl(t, s, "GET", "/eventsim/v1/stats", "", 200, &st)
	if l := st.Linode; l.Requests != 3 || l.Statuses[200] != 1 || l.Statuses[429] != 1 || l.Statuses[500] != 1 {
		t.Errorf("control requests counted as API requests, or API answers miscounted: %+v", l)
	}
}
