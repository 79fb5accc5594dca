// Package cli holds eventsim's commands. Each command parses its flags into
// an Options struct and hands it to a run function, so tests can check
// parsing and behaviour apart. Exit codes are decided in Main alone.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// ExitCode is what the process returns.
type ExitCode int

// Exit codes everywhere: 0 success, 1 a check or validation failed, 2 bad
// usage or configuration.
const (
	ExitOK     ExitCode = 0
	ExitFailed ExitCode = 1
	ExitUsage  ExitCode = 2
)

// UsageError is a mistake in how the command was called.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

func usageErr(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// ErrFailed says a check or validation failed; what failed was already reported.
var ErrFailed = errors.New("checks failed")

// IO are the streams a command uses.
type IO struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// Version, when set at build time with -ldflags "-X github.com/eventsim/eventsim/internal/cli.Version=v1.2.3",
// overrides the module version go build records; "dev" means unset.
var Version = "dev"

// Main runs eventsim with args and returns the exit code.
func Main(args []string, in io.Reader, out, errOut io.Writer) ExitCode {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	streams := &IO{In: in, Out: out, Err: errOut}
	root := NewRootCmd(streams)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ue *UsageError
	switch {
	case errors.Is(err, ErrFailed):
		return ExitFailed
	case errors.As(err, &ue):
		fmt.Fprintf(errOut, "eventsim: %v\n", err)
		return ExitUsage
	default:
		fmt.Fprintf(errOut, "eventsim: %v\n", err)
		return ExitUsage
	}
}

// NewRootCmd builds the command tree.
func NewRootCmd(streams *IO) *cobra.Command {
	root := &cobra.Command{
		Use:   "eventsim",
		Short: "Fake LXD and Linode event APIs, check real ones, generate datasets",
		Long: `eventsim plays scenarios (declarative YAML files) on a virtual clock to
serve LXD's /1.0/events and Linode's /v4/account/events to real clients,
checks real implementations against the same rules, and writes large,
reproducible datasets of events.`,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.Err)
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(
		NewCmdGenerate(streams, nil),
		NewCmdValidate(streams, nil),
		NewCmdScenarios(streams),
		NewCmdSchemas(streams),
		NewCmdVersion(streams),
	)
	for _, c := range extraCommands {
		root.AddCommand(c(streams))
	}
	registerCompletions(root)
	return root
}

// extraCommands lets other files of the package add commands (serve, conform).
var extraCommands []func(*IO) *cobra.Command

// noArgs refuses positional arguments with a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErr("%s takes no arguments, got %q", cmd.CommandPath(), args)
	}
	return nil
}
