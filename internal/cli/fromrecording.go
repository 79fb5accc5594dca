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
emit step after a wait of its gap since the one before, except where an
event is exactly what a verb makes (the engine, playing that verb alone,
makes that very event), which becomes the verb. The scenario is checked:
it parses and plays.`,
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
			verbs, err := scenarios.WriteRecordingScenario(&out, args[0], b)
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
			fmt.Fprintf(streams.Err, "wrote %s (verbs for %d of its events)\n", output, verbs)
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "file to write the scenario to (default: standard output)")
	return cmd
}
