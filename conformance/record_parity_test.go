package conformance

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/internal/realdaemon"
)

// recordWhileConforming records target (all projects) while a live
// conform run with --exercise judges it, then checks the recording offline.
func recordWhileConforming(t *testing.T, o LXDOptions) (live, offline *Report, rec []byte) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var buf bytes.Buffer
	type result struct {
		st  RecordStats
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := RecordLXD(ctx, RecordOptions{Target: o.Target, AllProjects: true, Scrub: NewScrubber(false)}, &buf)
		done <- result{st, err}
	}()
	time.Sleep(200 * time.Millisecond) // the recorder's listener is up before the run's
	live, err := RunLXD(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	cancel()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Logf("recorded %d events (%s)", r.st.Events, r.st.Header.Flavor)
	offline, err = CheckLXDFile(t.Context(), bytes.NewReader(buf.Bytes()), OfflineOptions{Name: "recording", LXD: EventOptions{Strict: o.Strict}})
	if err != nil {
		t.Fatal(err)
	}
	return live, offline, buf.Bytes()
}

// sameVerdict requires the offline report to judge every event-level check
// as the live run did.
func sameVerdict(t *testing.T, live, offline *Report) {
	t.Helper()
	for _, id := range eventCheckOrder {
		l, o := live.Result(id), offline.Result(id)
		if l == nil || o == nil {
			t.Errorf("%s: live %v, offline %v", id, l, o)
			continue
		}
		if l.Status != o.Status {
			t.Errorf("%s: live %s %s %+v, on its recording %s %s %+v", id, l.Status, l.Note, l.Findings, o.Status, o.Note, o.Findings)
		}
	}
	if live.Passed() != offline.Passed() && offline.Passed() != (offline.Counts()[Fail] == 0) {
		t.Errorf("verdicts differ")
	}
}

// TestRecordingVerdictMatchesLive: a live run against a correct and a
// broken server, and the same checks on a recording made meanwhile, agree.
func TestRecordingVerdictMatchesLive(t *testing.T) {
	tests := []struct {
		name   string
		m      *miniLXD
		failed string
	}{
		{"correct", &miniLXD{}, ""},
		{"wrong status code", &miniLXD{wrongStatusCode: true}, IDOperationStatus},
		{"bad source", &miniLXD{badSource: true}, IDLifecycleSource},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			target := startMiniLXD(t, tc.m)
			live, off, _ := recordWhileConforming(t, LXDOptions{Target: target, Exercise: true, Settle: 150 * time.Millisecond, Strict: true})
			sameVerdict(t, live, off)
			if tc.failed != "" {
				if r := off.Result(tc.failed); r.Status != Fail {
					t.Errorf("%s on the recording: %s, want fail", tc.failed, r.Status)
				}
			}
		})
	}
}

// TestRecordRealDaemons records real LXD 5.0.2 and real Incus 6.0 while
// conform --exercise drives them, and checks the recording: the same
// verdict as live on every event-level check, under the flavour the
// recording's header names.
func TestRecordRealDaemons(t *testing.T) {
	for _, k := range []struct {
		kind   realdaemon.Kind
		flavor catalog.Flavor
	}{{realdaemon.LXD, catalog.LXD50}, {realdaemon.Incus, catalog.Incus}} {
		t.Run(string(k.kind), func(t *testing.T) {
			d := realdaemon.Start(t, k.kind)
			d.AddDirPool(t, "eventsim")
			live, off, rec := recordWhileConforming(t, LXDOptions{Target: d.Target(), Exercise: true, Flavor: k.flavor})
			logReport(t, off)
			if got := off.Coverage.Flavor; got != string(k.flavor) {
				t.Errorf("the recording's header gave flavour %s, want %s", got, k.flavor)
			}
			sameVerdict(t, live, off)
			if off.Events < 20 {
				t.Errorf("the recording holds %d events, want the exercise's", off.Events)
			}
			if bytes.Contains(rec, []byte(`"username":"root"`)) {
				t.Error("the daemon's username survived scrubbing")
			}
		})
	}
}
