// Command checkartifact checks a pull request's diff artifact before the
// privileged diff job uses it (see package internal/prartifact) and prints
// its pr.json fields for the workflow:
//
//	checkartifact DIR
//
// On success it prints "number=N", "head_sha=…", "base_sha=…" and
// "stacks=keygate-a keygate-b …" lines (for $GITHUB_OUTPUT) and exits 0;
// otherwise it lists every problem and exits 1.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/keygate/keygate/internal/prartifact"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("checkartifact", flag.ContinueOnError)
	flags.SetOutput(stderr)
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if flags.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: checkartifact DIR")
		return 2
	}
	a, err := prartifact.Check(flags.Arg(0), prartifact.DefaultLimits)
	if err != nil {
		fmt.Fprintln(stderr, "checkartifact:", err)
		return 1
	}
	fmt.Fprintf(stdout, "number=%d\nhead_sha=%s\nbase_sha=%s\nstacks=%s\n", a.PR.Number, a.PR.HeadSHA, a.PR.BaseSHA, strings.Join(a.Stacks, " "))
	return 0
}
