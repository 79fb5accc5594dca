package cli

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func TestUnknownFlagsSuggestTheNearest(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--port", "8443"}, "did you mean --linode-addr or --lxd-addr?"},
		{[]string{"serve", "--socket", "/tmp/x"}, "did you mean --lxd-socket?"},
		{[]string{"serve", "--verbose"}, "did you mean --log-level?"},
		{[]string{"serve", "--sped", "2"}, "did you mean --seed or --speed?"},
		{[]string{"generate", "--scenaro", "demo"}, "did you mean --scenario?"},
		{[]string{"generate", "--out", "f"}, "did you mean --output or --output-dir?"},
		{[]string{"validate", "--knd", "lxd"}, "did you mean --kind?"},
		{[]string{"conform", "lxd", "--url", "unix:///x"}, "did you mean --target?"},
		{[]string{"conform", "lxd", "--port", "8443"}, "did you mean --report or --target?"},
		{[]string{"conform", "linode", "--tokn", "T"}, "did you mean --token?"},
		{[]string{"scenarios", "validate", "--strict"}, "run 'eventsim scenarios validate --help' for usage"},
	} {
		_, errOut, code := run(t, "", tt.args...)
		if code != ExitUsage || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", tt.args, code, errOut, tt.want)
		}
	}
	// Nothing near: no guess.
	if _, errOut, _ := run(t, "", "serve", "--zzzzzz"); strings.Contains(errOut, "did you mean") {
		t.Errorf("serve --zzzzzz guessed: %q", errOut)
	}
}

// TestEveryFlagIsSuggestedWhenMistyped drops a letter from every flag of
// every command and expects that flag among the suggestions.
func TestEveryFlagIsSuggestedWhenMistyped(t *testing.T) {
	root := NewRootCmd(&IO{In: strings.NewReader(""), Out: &strings.Builder{}, Err: &strings.Builder{}})
	var walk func(c *cobra.Command)
	n := 0
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if f.Hidden || f.Name == "help" || len(f.Name) < 4 {
				return
			}
			typo := f.Name[:len(f.Name)/2] + f.Name[len(f.Name)/2+1:]
			n++
			if got := suggestFlags(c, typo); !contains(got, "--"+f.Name) {
				t.Errorf("%s --%s: suggested %v, want --%s among them", c.CommandPath(), typo, got, f.Name)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	if n < 40 {
		t.Errorf("only %d flags checked; the walk missed commands", n)
	}
}

// TestFlagValuesComplete: shell completion (cobra's __complete, which the
// scripts of `eventsim completion` call) offers the values fixed-set flags
// take, on every command that has them.
func TestFlagValuesComplete(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"serve", "--scenario", ""}, []string{"demo", "lxd-steady", "linode-provisioning"}},
		{[]string{"generate", "--scenario", "lxd-"}, []string{"lxd-steady", "lxd-projects"}},
		{[]string{"serve", "--flavor", ""}, []string{"lxd-5.0", "lxd-6", "incus"}},
		{[]string{"serve", "--log-level", ""}, []string{"debug", "info", "warn", "error"}},
		{[]string{"serve", "--log-format", ""}, []string{"text", "json"}},
		{[]string{"validate", "--kind", ""}, []string{"lxd", "linode"}},
		{[]string{"generate", "--format", ""}, []string{"ndjson", "json", "yaml"}},
		{[]string{"conform", "lxd", "--report", ""}, []string{"text", "json", "junit"}},
		{[]string{"conform", "lxd", "--flavor", ""}, []string{"incus"}},
	} {
		out, _, code := run(t, "", append([]string{"__complete"}, tt.args...)...)
		for _, w := range tt.want {
			if code != ExitOK || !contains(lines(out), w) {
				t.Errorf("complete %v: exit %d, got %q, want %q among them", tt.args, code, out, w)
			}
		}
	}
}
