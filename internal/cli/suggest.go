package cli

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/eventsim/eventsim/internal/editdist"
)

// flagSynonyms maps words people reach for to the words eventsim's flag
// names use instead: --port to --lxd-addr and --linode-addr, --url to
// --target, --verbose to --log-level.
var flagSynonyms = map[string][]string{
	"port": {"addr", "target"}, "host": {"addr", "target"}, "address": {"addr", "target"},
	"listen": {"addr", "socket"}, "bind": {"addr", "socket"}, "url": {"target", "addr"},
	"endpoint": {"target", "addr"}, "server": {"target", "addr"}, "remote": {"target"},
	"unix": {"socket"}, "sock": {"socket"},
	"auth": {"token", "cert"}, "password": {"token"}, "bearer": {"token"},
	"out": {"output"}, "file": {"output", "scenario"}, "fmt": {"format", "report"},
	"verbose": {"log-level"}, "debug": {"log-level"}, "quiet": {"log-level"}, "log": {"log-level", "log-format"},
	"rate": {"speed", "rate-limit"}, "fast": {"speed"}, "n": {"count"}, "num": {"count"}, "number": {"count"},
	"limit": {"count", "rate-limit"}, "time": {"duration"}, "timeout": {"duration"}, "for": {"duration"},
	"type": {"kind"}, "schema": {"kind"}, "version": {"flavor"}, "flavour": {"flavor"},
	"repeat": {"loop"}, "tls": {"lxd-tls", "insecure"}, "skip-verify": {"insecure"}, "k": {"insecure"},
	"key-file": {"key"}, "cert-file": {"cert"}, "random": {"seed"},
}

// suggestFlags names the flags of c (its own and inherited, not hidden)
// that a user who typed name most likely meant, best first.
func suggestFlags(c *cobra.Command, name string) []string {
	name = strings.ToLower(strings.TrimLeft(name, "-"))
	words := strings.FieldsFunc(name, func(r rune) bool { return r == '-' || r == '_' || r == '.' })
	type cand struct {
		name  string
		score int // lower is better
	}
	var cands []cand
	seen := map[string]bool{}
	consider := func(f *pflag.Flag) {
		if f.Hidden || seen[f.Name] || f.Name == "help" {
			return
		}
		seen[f.Name] = true
		best := -1
		if d := editdist.Levenshtein(name, f.Name); d <= typoBudget(name) {
			best = d
		}
		if len(name) >= 3 && (strings.Contains(f.Name, name) || strings.Contains(name, f.Name)) {
			best = keepBest(best, 3)
		}
		for _, w := range append(words, name) {
			for _, syn := range flagSynonyms[w] {
				if f.Name == syn || strings.HasSuffix(f.Name, "-"+syn) || strings.HasPrefix(f.Name, syn+"-") {
					best = keepBest(best, 4)
				}
			}
		}
		if best >= 0 {
			cands = append(cands, cand{f.Name, best})
		}
	}
	c.Flags().VisitAll(consider)
	c.InheritedFlags().VisitAll(consider)
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].score != cands[j].score {
			return cands[i].score < cands[j].score
		}
		return cands[i].name < cands[j].name
	})
	out := make([]string, 0, 3)
	for _, c := range cands {
		if len(out) == 3 {
			break
		}
		out = append(out, "--"+c.name)
	}
	return out
}

// typoBudget is how many edits a flag name may be off by and still be
// suggested: short names have few letters to spare.
func typoBudget(name string) int {
	switch {
	case len(name) <= 4:
		return 1
	case len(name) <= 10:
		return 2
	}
	return 3
}

func keepBest(cur, s int) int {
	if cur < 0 || s < cur {
		return s
	}
	return cur
}

// flagError turns pflag's complaint about an unknown flag into a usage
// error that names the nearest flags, and points at --help.
func flagError(c *cobra.Command, err error) error {
	msg := err.Error()
	hint := ""
	if name, ok := strings.CutPrefix(msg, "unknown flag: "); ok {
		if s := suggestFlags(c, name); len(s) > 0 {
			hint = fmt.Sprintf("\ndid you mean %s?", orList(s))
		}
	}
	return &UsageError{Err: fmt.Errorf("%w%s\nrun '%s --help' for usage", err, hint, c.CommandPath())}
}

// orList writes "a", "a or b", "a, b or c".
func orList(s []string) string {
	if len(s) == 1 {
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}
