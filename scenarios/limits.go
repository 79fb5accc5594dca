package scenarios

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Limits bound the check that Parse, Load and Check run on a scenario: the
// check plays the scenario once through, as the engine would, so a scenario
// of a billion steps would take as long to check as to play.
type Limits struct {
	// Steps bounds the work of the check: steps run plus events made.
	// 0 means DefaultCheckSteps.
	Steps int64
	// Time bounds how long the check may run, on the wall clock; 0 means
	// no bound (the context still stops it).
	Time time.Duration
}

// DefaultCheckSteps is the work a check does at most unless told: two
// million steps and events, which a check runs through in a few seconds
// (about 400,000 verbs).
const DefaultCheckSteps = 2_000_000

// maxIdleSteps bounds the steps run in a row without making an event, when
// playing as when checking: a scenario past it (a long repeat of waits, a
// mix with nothing to act on) would keep a player busy without ever giving
// it an event, so it stops with an error that says where. A variable only
// so that the fuzz test can play many scenarios a second.
var maxIdleSteps int64 = 1_000_000

// checkEvery is how many steps a check runs between two looks at the clock
// and the context.
const checkEvery = 1 << 12

// ErrCheckStopped is wrapped by the error of a check stopped by its context.
var ErrCheckStopped = errors.New("check stopped")

// checkLimit is what a running check counts against its Limits.
type checkLimit struct {
	ctx      context.Context
	steps    int64 // bound on work
	work     int64
	deadline time.Time // zero: none
	bound    time.Duration
}

// step counts one step of the check and stops it past a bound.
func (l *checkLimit) step(e *Engine, t *track) error {
	if l.work++; l.work > l.steps {
		pos, what := e.where(t)
		return &Error{Pos: pos, Msg: fmt.Sprintf("checking stopped after %s steps and events, the bound of a check (%s): a check plays the scenario once through; "+
			"for a longer run, repeat forever and bound the run instead (generate --count or --duration)", thousands(l.steps), what)}
	}
	if l.work%checkEvery != 0 {
		return nil
	}
	if err := l.ctx.Err(); err != nil {
		pos, _ := e.where(t)
		return fmt.Errorf("%w at %s after %s steps and events: %w", ErrCheckStopped, pos, thousands(l.work), context.Cause(l.ctx))
	}
	if !l.deadline.IsZero() && time.Now().After(l.deadline) {
		pos, what := e.where(t)
		return &Error{Pos: pos, Msg: fmt.Sprintf("checking stopped after %s, the time bound of this check, at %s steps and events (%s)", l.bound, thousands(l.work), what)}
	}
	return nil
}

// idleError says where a scenario ran maxIdleSteps steps without an event.
func (e *Engine) idleError(t *track) error {
	pos, what := e.where(t)
	return &Error{Pos: pos, Msg: fmt.Sprintf("%s steps in a row made no event (%s): a scenario must make events as it goes, or a player waits on it forever", thousands(maxIdleSteps), what)}
}

// where names the place a track is at for an error about bounds: the
// outermost repeat that is still going (a bound is hit because of how many
// times it runs), else the mix or the step it is at.
func (e *Engine) where(t *track) (Pos, string) {
	if t == nil {
		return Pos{File: e.s.File}, "in the scenario"
	}
	for _, f := range t.stack {
		if st := f.step; st != nil && st.Count != 1 {
			if st.Count == 0 {
				return st.Pos, "in this repeat, which runs forever"
			}
			return st.Pos, fmt.Sprintf("in this repeat, which runs %d times, at run %d", st.Count, f.done+1)
		}
	}
	if f := t.top(); f != nil {
		if f.mix != nil {
			return f.mix.step.Pos, "in this mix"
		}
		if f.i > 0 && f.i <= len(f.steps) {
			return f.steps[f.i-1].Pos, "at this step"
		}
		if len(f.steps) > 0 {
			return f.steps[0].Pos, "at this step"
		}
	}
	return Pos{File: e.s.File}, "in the scenario"
}

// Check plays a parsed scenario once, as the engine would, to catch mistakes
// only the order of steps shows (a verb on an object that does not exist by
// then), within lim. Mixes and endless repeats play once and nothing is
// encoded. Past a bound the error says which bound and where; when ctx ends
// the error wraps ErrCheckStopped and ctx's cause.
func Check(ctx context.Context, s *Scenario, lim Limits) error {
	e, err := New(s, Options{check: true})
	if err != nil {
		return err
	}
	l := &checkLimit{ctx: ctx, steps: lim.Steps, bound: lim.Time}
	if l.steps <= 0 {
		l.steps = DefaultCheckSteps
	}
	if lim.Time > 0 {
		l.deadline = time.Now().Add(lim.Time)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w before it began: %w", ErrCheckStopped, context.Cause(ctx))
	}
	e.limit = l
	for {
		if _, err := e.Next(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		// Events count as work too: a step can make many.
		if err := l.step(e, e.tracksTop()); err != nil {
			return err
		}
	}
}

// tracksTop returns a track to name in errors about the check's bounds: the
// first still running, or nil.
func (e *Engine) tracksTop() *track {
	if len(e.tracks) > 0 {
		return e.tracks[0]
	}
	return nil
}

// thousands writes n with commas: 10,000,000.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	out := make([]byte, 0, len(s)+len(s)/3)
	for i, c := range []byte(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, c)
	}
	return string(out)
}
