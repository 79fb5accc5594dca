package dataset

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/eventsim/eventsim/scenarios"
)

// Part names shard Index (0-based) of a dataset split into Of shards.
// The zero value and Of 1 are the whole dataset.
type Part struct {
	Index, Of int
}

// Whole reports whether the part is the whole dataset.
func (p Part) Whole() bool { return p.Of <= 1 }

// String gives the part as I/N.
func (p Part) String() string { return fmt.Sprintf("%d/%d", p.Index, p.shards()) }

func (p Part) shards() int {
	if p.Of < 1 {
		return 1
	}
	return p.Of
}

// ParsePart reads "I/N", as --shard takes it.
func ParsePart(s string) (Part, error) {
	i, n, ok := strings.Cut(s, "/")
	if !ok {
		return Part{}, fmt.Errorf("invalid shard %q, must be I/N (0 <= I < N), such as 0/4", s)
	}
	pi, err1 := strconv.Atoi(i)
	pn, err2 := strconv.Atoi(n)
	if err1 != nil || err2 != nil {
		return Part{}, fmt.Errorf("invalid shard %q, must be I/N with whole numbers, such as 0/4", s)
	}
	p := Part{Index: pi, Of: pn}
	return p, p.check()
}

func (p Part) check() error {
	if p.Of < 1 || p.Of > scenarios.MaxShards {
		return fmt.Errorf("invalid shard count %d, must be 1 to %d", p.Of, scenarios.MaxShards)
	}
	if p.Index < 0 || p.Index >= p.Of {
		return fmt.Errorf("invalid shard %d/%d, the index must be 0 to %d", p.Index, p.Of, p.Of-1)
	}
	return nil
}

// split returns the share of total that part i of n gets: total/n, and one
// more for each of the first total%n parts, so the shares add up to total
// exactly, whatever the numbers.
func split(total int64, i, n int) int64 {
	q, r := total/int64(n), total%int64(n)
	if int64(i) < r {
		return q + 1
	}
	return q
}

// offset returns where part i of n starts when total is laid out in n
// consecutive parts: the sum of the shares of the parts before it.
func offset(total int64, i, n int) int64 {
	q, r := total/int64(n), total%int64(n)
	return q*int64(i) + min(int64(i), r)
}

// plan is what one shard plays: from when, and until how many events or
// what time.
type plan struct {
	start   time.Time     // the engine's start
	byCount bool          // count rules
	byTime  bool          // end rules
	count   int64         // events to write
	end     time.Duration // virtual time after start to stop at
}

// planFor splits a dataset's count or duration for a part.
//
// --count: every shard's world starts at the scenario's start and plays
// its share of the count, total/N or one more, so the shards overlap in
// virtual time. --duration: shard I plays the I-th of N consecutive windows
// of the duration (split to the nanosecond, shares adding up exactly), so
// shard I's events all come before shard I+1's.
func planFor(start time.Time, count int64, duration time.Duration, p Part) plan {
	n := p.shards()
	if count == 0 && duration == 0 {
		return plan{start: start} // the scenario once
	}
	if duration > 0 {
		from := offset(int64(duration), p.Index, n)
		return plan{start: start.Add(time.Duration(from)), byTime: true, end: time.Duration(split(int64(duration), p.Index, n))}
	}
	return plan{start: start, byCount: true, count: split(count, p.Index, n)}
}
