package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// NewCmdVersion builds `eventsim version`.
func NewCmdVersion(streams *IO) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print eventsim's version, the commit it was built from and the Go version",
		Long: `Print eventsim's version: the module version (set by -ldflags, or by go
build from the git tag or commit), the VCS revision it was built from with
"(modified)" when the work tree had uncommitted changes, and the Go version.
A binary built outside a git checkout (or with -buildvcs=false) has no
revision to print, and says so.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			bi, _ := debug.ReadBuildInfo()
			_, err := fmt.Fprint(streams.Out, versionText(Version, bi))
			return err
		},
	}
}

// versionText says what a binary is: its version, where it was built from,
// and with which Go. bi may be nil (a binary without build information).
func versionText(ldVersion string, bi *debug.BuildInfo) string {
	version := ldVersion
	goVersion := runtime.Version()
	settings := map[string]string{}
	if bi != nil {
		if version == "dev" && bi.Main.Version != "" {
			version = bi.Main.Version // "(devel)" under go run and go test
		}
		if bi.GoVersion != "" {
			goVersion = bi.GoVersion
		}
		for _, s := range bi.Settings {
			settings[s.Key] = s.Value
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "eventsim %s (%s, %s/%s)\n", version, goVersion, runtime.GOOS, runtime.GOARCH)
	rev := settings["vcs.revision"]
	if rev == "" {
		b.WriteString("revision unknown (built outside a git checkout, or with -buildvcs=false)\n")
		return b.String()
	}
	fmt.Fprintf(&b, "revision %s", rev)
	if settings["vcs.modified"] == "true" {
		b.WriteString(" (modified)")
	}
	if t := settings["vcs.time"]; t != "" {
		fmt.Fprintf(&b, ", committed %s", t)
	}
	b.WriteString("\n")
	return b.String()
}
