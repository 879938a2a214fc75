// Command keygate is keygate's tool box, one subcommand per job:
//
//	keygate local [-env dev] [-addr 127.0.0.1:8787] [-keys FILE] [-assembly cdk.out]
//	keygate guard [-json] [-allow FILE] BASE HEAD [STACK]
//
// Run `keygate help` for the list.
package main

import (
	"fmt"
	"io"
	"os"

	guardcli "github.com/keygate/keygate/internal/guard/cli"
)

// command is one subcommand: run gets the arguments after its name and
// returns the exit status.
type command struct {
	name, summary string
	run           func(args []string, stdout, stderr io.Writer) int
}

// commands is the subcommand table.
var commands = []command{
	{"local", "serve an environment's synthesized API on this machine with API Gateway's semantics", runLocal},
	{"guard", "compare two syntheses of a stack and refuse what would replace or delete what clients depend on", guardcli.Run},
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "keygate: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: keygate <command> [flags]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun keygate <command> -h for a command's flags.")
}
