package cli

import (
	"github.com/spf13/cobra"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/dataset"
	"github.com/eventsim/eventsim/scenarios"
)

// flagValues completes the values of flags that take a fixed set, on
// whichever command has them. --scenario also takes a file, so the shell's
// own file completion stays on for it.
var flagValues = map[string]func() ([]string, cobra.ShellCompDirective){
	"scenario": func() ([]string, cobra.ShellCompDirective) {
		list, _ := scenarios.List()
		names := make([]string, 0, len(list))
		for _, b := range list {
			names = append(names, b.Name)
		}
		return names, cobra.ShellCompDirectiveDefault
	},
	"flavor": func() ([]string, cobra.ShellCompDirective) {
		out := make([]string, 0, len(catalog.Flavors))
		for _, f := range catalog.Flavors {
			out = append(out, string(f))
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	},
	"kind":       fixed("lxd", "linode"),
	"api":        fixed("lxd", "linode"),
	"format":     fixed(dataset.Formats...),
	"compress":   fixed(dataset.Compressions...),
	"report":     fixed(ReportFormats...),
	"log-level":  fixed("debug", "info", "warn", "error"),
	"log-format": fixed("text", "json"),
}

func fixed(vals ...string) func() ([]string, cobra.ShellCompDirective) {
	return func() ([]string, cobra.ShellCompDirective) { return vals, cobra.ShellCompDirectiveNoFileComp }
}

// registerCompletions gives every command's fixed-set flags their values.
func registerCompletions(c *cobra.Command) {
	for name, values := range flagValues {
		if c.Flags().Lookup(name) != nil {
			_ = c.RegisterFlagCompletionFunc(name, func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
				return values()
			})
		}
	}
	for _, sub := range c.Commands() {
		registerCompletions(sub)
	}
}
