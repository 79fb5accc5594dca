package scenarios

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// TestCheckIsBounded: checking a scenario ends within its bounds whatever the
// scenario, and the error says which bound it hit and where. The 93-byte
// scenario of issue 13 (a repeat of 2^63-1 waits) used to keep a check, and
// so `scenarios validate` and POST /eventsim/v1/run, busy forever.
func TestCheckIsBounded(t *testing.T) {
	const (
		endless  = "name: r\napi: [lxd]\nsteps:\n  - repeat: 9223372036854775807\n    steps:\n      - wait: 1s\n"
		nested   = "name: r\napi: [lxd]\nsteps:\n  - wait: 1s\n  - repeat: 1000000\n    steps:\n      - repeat: 1000000\n        steps:\n          - wait: 1s\n"
		eventful = "name: r\napi: [lxd]\nsteps:\n  - repeat: 1000000000\n    steps:\n      - emit:\n          lxd: {type: logging, metadata: {message: hi, level: info, context: {}}}\n"
	)
	tests := []struct {
		name string
		src  string
		lim  Limits
		want []string // in the error
	}{
		{"2^63-1 waits", endless, Limits{}, []string{"r.yaml:4:5: steps[0]: 1,000,000 steps in a row made no event", "repeat, which runs 9223372036854775807 times"}},
		{"1e6 x 1e6 waits", nested, Limits{}, []string{"r.yaml:5:5: steps[1]: 1,000,000 steps in a row made no event", "runs 1000000 times, at run 1"}},
		{"a billion events, step bound", eventful, Limits{Steps: 50_000}, []string{"r.yaml:4:5: steps[0]: checking stopped after 50,000 steps and events, the bound of a check", "repeat forever"}},
		{"a billion events, time bound", eventful, Limits{Steps: 1 << 62, Time: time.Millisecond}, []string{"r.yaml:4:5: steps[0]: checking stopped after 1ms, the time bound of this check"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseContext(t.Context(), "r.yaml", []byte(tt.src), tt.lim)
			if err == nil {
				t.Fatal("checked without error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestCheckHonoursItsContext: a check stops when its context ends (SIGTERM
// for validate, a cancelled request for the control API).
func TestCheckHonoursItsContext(t *testing.T) {
	src := []byte("name: r\napi: [lxd]\nsteps:\n  - repeat: 1000000000\n    steps:\n      - emit:\n          lxd: {type: logging, metadata: {message: hi, level: info, context: {}}}\n")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := ParseContext(ctx, "r.yaml", src, Limits{Steps: 1 << 62}); !errors.Is(err, ErrCheckStopped) || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled before: %v, want ErrCheckStopped and context.Canceled", err)
	}
	ctx, cancel = context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	_, err := ParseContext(ctx, "r.yaml", src, Limits{Steps: 1 << 62})
	if !errors.Is(err, ErrCheckStopped) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled during: %v, want ErrCheckStopped and context.DeadlineExceeded", err)
	}
	if !strings.Contains(err.Error(), "r.yaml:4:5") {
		t.Errorf("error %q does not say where the check was", err)
	}
}

// TestPlayingStepsWithoutEventsStops: a scenario that passes its check (an
// endless repeat plays once there) but makes no event when played gives an
// error from Next, rather than keeping the caller in Next forever.
func TestPlayingStepsWithoutEventsStops(t *testing.T) {
	s, err := Parse("quiet.yaml", []byte("name: quiet\napi: [lxd]\nsteps:\n  - repeat: forever\n    steps:\n      - wait: 1s\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, loop := range []bool{false, true} {
		e, err := New(s, Options{Loop: loop})
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.Next()
		if err == nil || errors.Is(err, io.EOF) || !strings.Contains(err.Error(), "quiet.yaml:4:5: steps[0]: 1,000,000 steps in a row made no event (in this repeat, which runs forever)") {
			t.Errorf("loop %v: Next gave %v, want the idle bound's error", loop, err)
		}
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 10_000_000: "10,000,000", 123456789: "123,456,789"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
