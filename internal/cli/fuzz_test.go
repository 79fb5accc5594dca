package cli

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/eventsim/eventsim/internal/lxdcapture"
)

// FuzzValidate feeds arbitrary bytes to `eventsim validate` as standard
// input, for both kinds. It must not panic, must end in success or ErrFailed (the
// input is read, so never a usage error), must report one problem line per invalid
// record, and must say how many records it checked.
func FuzzValidate(f *testing.F) {
	lines := bytes.Split(lxdcapture.NDJSON, []byte("\n"))
	for _, l := range lines[:8] {
		f.Add(l)
	}
	f.Add(bytes.Join(lines[:20], []byte("\n")))
	f.Add([]byte("[" + string(lines[0]) + ",\n" + string(lines[1]) + "]"))
	for _, s := range []string{"", "[", "[]", "[1,", "{}", "null", "\n\n{\"type\":1}\n", "[{\"id\":1}]", "{\"id\":1,\"action\":\"linode_boot\"}", "\xff\xfe", "[\"a\" \"b\"]", "{\"type\":\"logging\",\"timestamp\":\"2026-01-01T00:00:00Z\",\"metadata\":{\"message\":\"m\",\"level\":\"debug\",\"context\":{}}}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, kind := range []string{"lxd", "linode"} {
			// validateRun rather than Main: Main installs signal handlers,
			// which the fuzzing engine's own handling does not mix with.
			var out, errOut bytes.Buffer
			err := validateRun(&ValidateOptions{IO: &IO{In: bytes.NewReader(in), Out: &out, Err: &errOut}, Kind: kind, Files: []string{"-"}})
			code := ExitOK
			if errors.Is(err, ErrFailed) {
				code = ExitFailed
			} else if err != nil {
				t.Fatalf("%s: %v for input %q", kind, err, in)
			}
			var total, bad int
			summary := errOut.String()
			if i := strings.LastIndex(strings.TrimSuffix(summary, "\n"), "\n"); i >= 0 {
				summary = summary[i+1:]
			}
			if _, err := fmt.Sscanf(summary, "%d records checked, %d invalid", &total, &bad); err != nil {
				t.Fatalf("%s: no summary in %q", kind, errOut.String())
			}
			// One line per invalid record, but a run of records with the
			// same problem is one line and one "… and N more like it".
			problems := 0
			for _, l := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
				if !strings.HasPrefix(l, "<stdin>:") {
					continue
				}
				problems++
				if _, more, ok := strings.Cut(l, ": … and "); ok {
					n, err := strconv.Atoi(strings.ReplaceAll(strings.TrimSuffix(more, " more like it"), ",", ""))
					if err != nil {
						t.Fatalf("%s: bad run line %q", kind, l)
					}
					problems += n - 1
				}
			}
			if problems != bad || bad > total || (code == ExitFailed) != (bad > 0) {
				t.Fatalf("%s: exit %d, %d checked, %d invalid, %d problem lines:\n%s", kind, code, total, bad, problems, out.String())
			}
		}
	})
}
