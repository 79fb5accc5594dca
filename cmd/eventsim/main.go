// Command eventsim fakes LXD's and Linode's event APIs for tests, checks real
// implementations against them, and generates sample datasets.
package main

import (
	"os"

	"github.com/eventsim/eventsim/internal/cli"
)

func main() { os.Exit(int(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))) }
