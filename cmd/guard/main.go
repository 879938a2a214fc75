// Command guard compares two synthesized templates of a keygate stack and
// reports every change that would delete or replace a resource clients
// depend on (see package guard). Exit status: 0 no guarded change, 1 guarded
// changes found, 2 the inputs could not be read.
//
//	guard [-json] BASE.template.json HEAD.template.json
//	guard [-json] BASE_CDK_OUT HEAD_CDK_OUT STACK   (nested stacks included)
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/keygate/keygate/internal/guard"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

const usage = `usage:
  guard [-json] BASE.template.json HEAD.template.json
  guard [-json] BASE_CDK_OUT HEAD_CDK_OUT STACK

Reports every change from BASE to HEAD that deletes or replaces an API key,
usage plan, usage plan key, REST API, stage, log group or nested stack.
Exit status: 0 none, 1 guarded changes, 2 bad input.
`

func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("guard", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Usage = func() { fmt.Fprint(stderr, usage) }
	asJSON := flags.Bool("json", false, "print the findings as a JSON list")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	findings, err := compare(flags.Args())
	if err != nil {
		fmt.Fprintln(stderr, "guard:", err)
		return 2
	}
	if *asJSON {
		if findings == nil {
			findings = []guard.Finding{}
		}
		encoder := json.NewEncoder(stdout)
		encoder.SetIndent("", "  ")
		encoder.Encode(findings)
	} else {
		for _, f := range findings {
			fmt.Fprintln(stdout, f)
		}
		if len(findings) == 0 {
			fmt.Fprintln(stdout, "guard: no guarded changes")
		} else {
			fmt.Fprintf(stdout, "guard: %d guarded change(s)\n", len(findings))
		}
	}
	if len(findings) > 0 {
		return 1
	}
	return 0
}

func compare(args []string) ([]guard.Finding, error) {
	switch len(args) {
	case 2:
		base, err := os.ReadFile(args[0])
		if err != nil {
			return nil, err
		}
		head, err := os.ReadFile(args[1])
		if err != nil {
			return nil, err
		}
		return guard.CompareTemplates(base, head)
	case 3:
		return guard.CompareAssemblies(args[0], args[1], args[2])
	default:
		return nil, fmt.Errorf("want two templates, or two cdk.out directories and a stack name\n%s", usage)
	}
}
