package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/eventsim/eventsim/schemas"
)

// maxProblems is how many problems one record's line names.
const maxProblems = 6

// hintSamples is how many invalid records are kept to test against the
// other --kind when nothing validates.
const hintSamples = 8

// reporter writes validate's findings: one line per invalid record, with
// every missing required field and the other problems of its fields; a run
// of records with the same problem collapsed to its first line and a count.
type reporter struct {
	w *bufio.Writer

	// The run of identical problems being collapsed.
	runName        string
	runMsg         string
	runFrom, runTo int // lines of the records held back
	runHeld        int // records held back

	samples [][]byte // the first invalid records, for the --kind hint
}

func newReporter(out io.Writer) *reporter { return &reporter{w: bufio.NewWriter(out)} }

// invalid reports one invalid record of the file or stream name.
func (r *reporter) invalid(name string, rec *record) {
	if len(r.samples) < hintSamples && rec.doc != nil {
		r.samples = append(r.samples, append([]byte(nil), rec.doc...))
	}
	msg := problemText(rec.err, "")
	if name == r.runName && msg == r.runMsg {
		if r.runHeld == 0 {
			r.runFrom = rec.line
		}
		r.runHeld++
		r.runTo = rec.line
		return
	}
	r.endRun()
	r.runName, r.runMsg = name, msg
	if rec.inArray {
		msg = problemText(rec.err, "["+strconv.Itoa(rec.index)+"]")
	}
	fmt.Fprintf(r.w, "%s:%d: %s\n", name, rec.line, msg)
}

// endRun writes the count of records held back as like the last one shown.
func (r *reporter) endRun() {
	if r.runHeld > 0 {
		lines := strconv.Itoa(r.runFrom)
		if r.runTo != r.runFrom {
			lines += "-" + strconv.Itoa(r.runTo)
		}
		fmt.Fprintf(r.w, "%s:%s: … and %s more like it\n", r.runName, lines, thousands(r.runHeld))
	}
	r.runName, r.runMsg, r.runHeld = "", "", 0
}

// flush ends the current run and writes everything out.
func (r *reporter) flush() error {
	r.endRun()
	return r.w.Flush()
}

// problemText words what is wrong with a record: its most specific problem,
// every missing required field, and the first problem of each other field
// (at most maxProblems of those). at is the record's place in a JSON array
// ("[3]"), written before each field; "" for NDJSON.
func problemText(err error, at string) string {
	var se *schemas.Error
	if !errors.As(err, &se) || len(se.Problems) == 0 {
		return err.Error()
	}
	field := func(f string) string {
		switch {
		case at == "":
			return f
		case f == "(root)":
			return at
		}
		return at + "." + f
	}
	first := se.Problems[0]
	var parts []string
	if first.Type != "required" {
		parts = append(parts, field(first.Field)+": "+first.Description)
	}
	fields := map[string]bool{first.Field: true}
	var missing []string           // fields with missing properties, in order
	props := map[string][]string{} // field: its missing properties
	more := 0
	for i, p := range se.Problems {
		if p.Type == "required" {
			if _, ok := props[p.Field]; !ok {
				missing = append(missing, p.Field)
			}
			props[p.Field] = append(props[p.Field], strings.TrimSuffix(p.Description, " is required"))
			continue
		}
		if i == 0 || weakProblem(p.Type) || fields[p.Field] {
			continue
		}
		fields[p.Field] = true
		if len(parts) >= maxProblems {
			more++
			continue
		}
		parts = append(parts, field(p.Field)+": "+p.Description)
	}
	for _, f := range missing {
		ps := props[f]
		if len(ps) == 1 {
			parts = append(parts, field(f)+": "+ps[0]+" is required")
		} else {
			parts = append(parts, field(f)+": "+strings.Join(ps[:len(ps)-1], ", ")+" and "+ps[len(ps)-1]+" are required")
		}
	}
	text := strings.Join(parts, "; ")
	if more > 0 {
		text += fmt.Sprintf("; and problems with %d more fields", more)
	}
	return text
}

// weakProblem tells problems that only say a sub-rule failed, which is
// already named on its own.
func weakProblem(typ string) bool {
	switch typ {
	case "condition_then", "condition_else", "number_any_of", "number_one_of", "number_all_of":
		return true
	}
	return false
}

// kindHint says, when no record was valid, whether the records are of the
// other kind: the usual mistake is --kind lxd on Linode events.
func kindHint(kind string, samples [][]byte) string {
	other, otherSchema := "linode", schemas.LinodeEvent
	what, otherWhat := "LXD events", "Linode events"
	if kind == "linode" {
		other, otherSchema = "lxd", schemas.LXDEvent
		what, otherWhat = "Linode events", "LXD events"
	}
	valid := 0
	for _, doc := range samples {
		if schemas.Validate(otherSchema, doc) == nil {
			valid++
		}
	}
	if valid == len(samples) && valid > 0 {
		return fmt.Sprintf("hint: no record is valid as %s, but the records checked are valid %s: use --kind %s", what, otherWhat, other)
	}
	return fmt.Sprintf("hint: no record is valid as %s, and the first records are not valid %s (--kind %s) either", what, otherWhat, other)
}

// thousands writes n with commas: 999,999.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
