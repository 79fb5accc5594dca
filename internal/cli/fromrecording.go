package cli

import (
	"bytes"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/eventsim/eventsim/scenarios"
)

func newCmdFromRecording(streams *IO) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "from-recording FILE",
		Short: "Turn a recording (eventsim record) into an editable scenario",
		Long: `Write a scenario (YAML) that plays what a recording holds: each event an
emit step after a wait of its gap since the one before, except where a run
of events is exactly what a verb makes (an instance start's operation
Pending, Running, Success and its lifecycle event, with its logging when
the recording has it), which becomes the verb, with its name, project,
requestor and took. The scenario is checked before it is written: it parses,
and playing it gives the recording's events in their order, field for field
but for ids and times.`,
		Example: `  eventsim scenarios from-recording lxd.recording -o lxd.yaml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErr("scenarios from-recording takes one recording file")
			}
			b, err := os.ReadFile(args[0])
			if err != nil {
				return &UsageError{Err: err}
			}
			if !scenarios.IsRecording(b) {
				return usageErr("%s is not a recording (its first line is not an eventsim record header)", args[0])
			}
			var out bytes.Buffer
			verbs, events, err := scenarios.WriteRecordingScenario(&out, args[0], b)
			if err != nil {
				return &UsageError{Err: err}
			}
			if output == "" || output == "-" {
				_, err = streams.Out.Write(out.Bytes())
				return err
			}
			if err := os.WriteFile(output, out.Bytes(), 0o644); err != nil {
				return fmt.Errorf("write %s: %w", output, err)
			}
			fmt.Fprintf(streams.Err, "wrote %s (%d verbs for %d of its events)\n", output, verbs, events)
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "file to write the scenario to (default: standard output)")
	return cmd
}
