package cli

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/eventsim/eventsim/scenarios"
	"github.com/eventsim/eventsim/schemas"
)

// NewCmdScenarios builds `eventsim scenarios list|show|validate|verbs|from-recording`.
func NewCmdScenarios(streams *IO) *cobra.Command {
	cmd := &cobra.Command{Use: "scenarios", Short: "List, show and check scenarios"}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the built-in scenarios",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			list, err := scenarios.List()
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(streams.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tAPI\tDESCRIPTION")
			for _, s := range list {
				d := s.Description
				if i := strings.Index(d, ". "); i > 0 {
					d = d[:i+1]
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Name, strings.Join(s.APIs, ","), d)
			}
			return tw.Flush()
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "show NAME",
		Short: "Print a built-in scenario's YAML",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErr("scenarios show takes one scenario name")
			}
			b, err := scenarios.Source(args[0])
			if err != nil {
				return &UsageError{Err: err}
			}
			_, err = streams.Out.Write(b)
			return err
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "validate FILE...",
		Short: "Check scenario files (or built-in names); exit 1 if any is wrong",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErr("scenarios validate needs at least one file")
			}
			bad := 0
			for _, a := range args {
				s, err := scenarios.LoadContext(cmd.Context(), a, scenarios.Limits{})
				if errors.Is(err, scenarios.ErrNotFound) {
					return &UsageError{Err: err}
				}
				if errors.Is(err, scenarios.ErrCheckStopped) {
					return fmt.Errorf("scenarios validate %s: %w", a, err)
				}
				if err != nil {
					bad++
					fmt.Fprintln(streams.Out, err)
					continue
				}
				fmt.Fprintf(streams.Out, "%s: ok (%s, %s)\n", a, s.Name, strings.Join(s.APIs, ", "))
			}
			if bad > 0 {
				return ErrFailed
			}
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "verbs",
		Short: "List the verbs scenario steps may use, with their arguments",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, api := range []string{"lxd", "linode"} {
				fmt.Fprintf(streams.Out, "%s:\n", api)
				for _, v := range scenarios.Verbs(api) {
					fmt.Fprintf(streams.Out, "  %s\n", v)
				}
			}
			return nil
		},
	})
	cmd.AddCommand(newCmdFromRecording(streams))
	return cmd
}

// NewCmdSchemas builds `eventsim schemas list|show`.
func NewCmdSchemas(streams *IO) *cobra.Command {
	cmd := &cobra.Command{Use: "schemas", Short: "List and print the JSON Schemas"}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the schemas",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, n := range schemas.Names() {
				fmt.Fprintln(streams.Out, n)
			}
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "show NAME",
		Short: "Print a schema",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErr("schemas show takes one schema name")
			}
			b, err := schemas.Source(args[0])
			if err != nil {
				return &UsageError{Err: err}
			}
			_, err = streams.Out.Write(b)
			return err
		},
	})
	return cmd
}
