package scenarios

import (
	"time"

	"github.com/eventsim/eventsim/events"
)

type linodeWorld struct{ e *Engine }

func newLinodeWorld(e *Engine) *linodeWorld { return &linodeWorld{e: e} }
func (w *linodeWorld) reset()               {}

func (w *linodeWorld) run(t *track, st *Step, inMix bool) (time.Time, error) { return t.now, nil }
func (w *linodeWorld) checkArgs(st *Step) error                              { return nil }

type linodeProc struct{ ev events.LinodeEvent }

func (p *linodeProc) record(at time.Time) *Record { return &Record{API: "linode", Linode: &p.ev} }
func (p *linodeProc) advance() (time.Time, bool)  { return time.Time{}, false }
