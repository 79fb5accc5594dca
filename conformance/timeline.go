package conformance

import (
	"sort"
	"time"
)

// Timeline is what the HTML report draws: each operation's states over
// time and each lifecycle event on its project's row. It is bounded: past
// maxTimelineOps operations and maxTimelineMarks marks, the rest are only
// counted.
type Timeline struct {
	Start      time.Time      `json:"start"`
	End        time.Time      `json:"end"`
	Operations []TimelineOp   `json:"operations,omitempty"`
	Marks      []TimelineMark `json:"marks,omitempty"`
	// Dropped counts the operations and marks left out.
	Dropped int `json:"dropped,omitempty"`
}

// TimelineOp is one operation and the states it was seen in.
type TimelineOp struct {
	ID          string          `json:"id"`
	Description string          `json:"description"`
	Project     string          `json:"project,omitempty"`
	States      []TimelineState `json:"states"`
}

// TimelineState is one operation event: its status from At on.
type TimelineState struct {
	Status string    `json:"status"`
	Code   int       `json:"code"`
	At     time.Time `json:"at"`
}

// TimelineMark is one lifecycle event.
type TimelineMark struct {
	Project string    `json:"project"`
	Action  string    `json:"action"`
	At      time.Time `json:"at"`
}

const (
	maxTimelineOps   = 2000
	maxTimelineMarks = 5000
)

type timelineBuilder struct {
	tl  Timeline
	ops map[string]int // id -> index in tl.Operations
}

func (b *timelineBuilder) see(at time.Time) {
	if at.IsZero() {
		return
	}
	if b.tl.Start.IsZero() || at.Before(b.tl.Start) {
		b.tl.Start = at
	}
	if at.After(b.tl.End) {
		b.tl.End = at
	}
}

func (b *timelineBuilder) op(id, desc, project, status string, code int, at time.Time) {
	if id == "" || at.IsZero() {
		return
	}
	b.see(at)
	if b.ops == nil {
		b.ops = map[string]int{}
	}
	i, ok := b.ops[id]
	if !ok {
		if len(b.tl.Operations) >= maxTimelineOps {
			b.tl.Dropped++
			return
		}
		i = len(b.tl.Operations)
		b.ops[id] = i
		b.tl.Operations = append(b.tl.Operations, TimelineOp{ID: id, Description: desc, Project: project})
	}
	b.tl.Operations[i].States = append(b.tl.Operations[i].States, TimelineState{Status: status, Code: code, At: at})
}

func (b *timelineBuilder) mark(project, action string, at time.Time) {
	if at.IsZero() {
		return
	}
	b.see(at)
	if len(b.tl.Marks) >= maxTimelineMarks {
		b.tl.Dropped++
		return
	}
	if project == "" {
		project = "default"
	}
	b.tl.Marks = append(b.tl.Marks, TimelineMark{Project: project, Action: action, At: at})
}

// timeline returns the timeline, each operation's states in time order, or
// nil when nothing was drawn.
func (b *timelineBuilder) timeline() *Timeline {
	if len(b.tl.Operations) == 0 && len(b.tl.Marks) == 0 {
		return nil
	}
	for i := range b.tl.Operations {
		st := b.tl.Operations[i].States
		sort.SliceStable(st, func(x, y int) bool { return st[x].At.Before(st[y].At) })
	}
	t := b.tl
	return &t
}
