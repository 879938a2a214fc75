// Command guard is `keygate guard` under its own name, for the workflows and
// scripts that build it alone (go build ./cmd/guard): see internal/guard/cli.
package main

import (
	"os"

	"github.com/keygate/keygate/internal/guard/cli"
)

func main() { os.Exit(cli.Run(os.Args[1:], os.Stdout, os.Stderr)) }
