// Command checkartifact checks a pull request's diff artifact before the
// privileged diff job uses it (see package internal/prartifact) and prints
// its pr.json fields for the workflow:
//
//	checkartifact -stacks keygate-dev,keygate-staging,keygate-prod DIR
//
// On success it prints "number=N", "head_sha=…" and "base_sha=…" lines (for
// $GITHUB_OUTPUT) and exits 0; otherwise it lists every problem and exits 1.
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
	stacks := flags.String("stacks", "", "comma-separated root stacks the artifact must hold, and no others")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if flags.NArg() != 1 || *stacks == "" {
		fmt.Fprintln(stderr, "usage: checkartifact -stacks STACK[,STACK…] DIR")
		return 2
	}
	pr, err := prartifact.Check(flags.Arg(0), strings.Split(*stacks, ","), prartifact.DefaultLimits)
	if err != nil {
		fmt.Fprintln(stderr, "checkartifact:", err)
		return 1
	}
	fmt.Fprintf(stdout, "number=%d\nhead_sha=%s\nbase_sha=%s\n", pr.Number, pr.HeadSHA, pr.BaseSHA)
	return 0
}
