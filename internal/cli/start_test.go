package cli

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/eventsim/eventsim/scenarios"
	"github.com/eventsim/eventsim/simulator"
)

// recordingOffsets returns each event's offset after the first's.
func recordingOffsets(t *testing.T, file string) []time.Duration {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, evs, err := scenarios.ReadRecording(f, file)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]time.Duration, len(evs))
	for i, e := range evs {
		out[i] = e.Offset - evs[0].Offset
	}
	return out
}

func eventTime(t *testing.T, raw []byte) time.Time {
	t.Helper()
	var ev struct {
		Timestamp time.Time `json:"timestamp"`
		Metadata  struct {
			CreatedAt time.Time `json:"created_at"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	return ev.Timestamp
}

// TestGenerateStart: generate --scenario RECORDING --start T plays the
// recording's first event at T and every other at T plus its offset from
// the first, operation times moved with them; without --start the first
// event is at the recording's start (to the second). A time that is not
// RFC 3339 is refused with what is allowed.
func TestGenerateStart(t *testing.T) {
	file, _ := captureRecording(t)
	offsets := recordingOffsets(t, file)
	start := time.Date(2030, 1, 2, 3, 4, 5, 500_000_000, time.UTC)
	out := mustRun(t, "", "generate", "--scenario", file, "--start", start.Format(time.RFC3339Nano))
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(offsets) {
		t.Fatalf("%d events, want %d", len(lines), len(offsets))
	}
	for i, l := range lines {
		// Each emit step takes the player a microsecond of virtual time.
		if got, want := eventTime(t, []byte(l)), start.Add(offsets[i]); i == 0 && !got.Equal(want) || got.Sub(want).Abs() > time.Millisecond {
			t.Fatalf("event %d at %s, want %s (--start plus its offset %s)", i, got.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano), offsets[i])
		}
		var op struct {
			Type     string `json:"type"`
			Metadata struct {
				CreatedAt time.Time `json:"created_at"`
			} `json:"metadata"`
		}
		_ = json.Unmarshal([]byte(l), &op)
		if op.Type == "operation" && (op.Metadata.CreatedAt.Before(start.Add(-time.Second)) || op.Metadata.CreatedAt.After(start.Add(time.Minute))) {
			t.Errorf("event %d: operation created_at %s was not moved to the replay's time", i, op.Metadata.CreatedAt)
		}
	}

	// Without --start: the recording's own start.
	first := strings.SplitN(mustRun(t, "", "generate", "--scenario", file), "\n", 2)[0]
	if got, want := eventTime(t, []byte(first)), time.Date(2026, 11, 21, 5, 26, 48, 0, time.UTC); !got.Equal(want) {
		t.Errorf("without --start the first event is at %s, want the recording's start %s", got, want)
	}

	// A YAML scenario moves too.
	first = strings.SplitN(mustRun(t, "", "generate", "--scenario", "lxd-projects", "--start", "2031-05-06T07:08:09Z"), "\n", 2)[0]
	if got := eventTime(t, []byte(first)); got.Before(time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)) || got.After(time.Date(2031, 5, 6, 7, 9, 9, 0, time.UTC)) {
		t.Errorf("lxd-projects with --start 2031-05-06T07:08:09Z: first event at %s", got)
	}

	for _, cmd := range []string{"generate", "serve"} {
		_, errOut, code := run(t, "", cmd, "--scenario", file, "--start", "tomorrow")
		if code != ExitUsage || !strings.Contains(errOut, `invalid argument "tomorrow" for "--start"`) || !strings.Contains(errOut, "must be an RFC 3339 time such as 2026-12-02T10:00:00Z") {
			t.Errorf("%s --start tomorrow: exit %d, stderr %q", cmd, code, errOut)
		}
	}
}

// TestServeStart: serve --scenario RECORDING --start T (simulator
// Options.Start) serves each event stamped at T plus its offset from the
// recording's first event.
func TestServeStart(t *testing.T) {
	file, want := captureRecording(t)
	offsets := recordingOffsets(t, file)
	start := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

	// The flag reaches the simulator's options.
	var got *ServeOptions
	cmd := NewCmdServe(&IO{}, func(_ context.Context, o *ServeOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--scenario", file, "--start", "2030-01-02T03:04:05Z"})
	if err := cmd.Execute(); err != nil || !got.Sim.Start.Equal(start) {
		t.Fatalf("serve --start: %v, options %+v", err, got)
	}

	opts := simulator.Options{Scenario: file, Speed: 10, Start: start}
	opts.LXD.Addr = "-"
	srv, err := simulator.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	sock := serveUnix(t, srv.LXD().Handler())
	ws := dialEvents(t, sock)
	_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	// The player began before we connected: match what arrives to the
	// recording in order and check the time of each.
	j, matched := 0, 0
	for matched < 100 && j < len(want) {
		_, g, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("after %d events: %v", matched, err)
		}
		for j < len(want) && !reflect.DeepEqual(comparable(t, g), comparable(t, want[j])) {
			j++
		}
		if j == len(want) {
			t.Fatalf("served event not in the recording, or out of its order: %s", g)
		}
		if at, exp := eventTime(t, g), start.Add(offsets[j]); at.Sub(exp).Abs() > time.Millisecond {
			t.Fatalf("event %d served at %s, want %s (--start plus its offset %s)", j, at.Format(time.RFC3339Nano), exp.Format(time.RFC3339Nano), offsets[j])
		}
		matched++
		j++
	}
	if matched < 100 {
		t.Fatalf("only %d events matched", matched)
	}
}
