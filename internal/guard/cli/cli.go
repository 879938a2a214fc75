// Package cli is the guard's command line, run as `keygate guard` (and by
// the thin cmd/guard the workflows build): it compares two synthesized
// CloudFormation templates of a keygate stack and reports every change that would delete or replace a
// resource clients depend on; see package internal/guard for what is
// guarded and why. `make diff` and the pull request and deploy workflows run
// it.
//
//	guard [-json [-object]] BASE.template.json HEAD.template.json
//	guard [-json [-object]] BASE_CDK_OUT HEAD_CDK_OUT STACK
//	guard [-json [-object]] -allow APPROVALS.json BASE_CDK_OUT HEAD_CDK_OUT STACK
//	guard [-json] -summary BASE_CDK_OUT HEAD_CDK_OUT STACK
//
// Exit status: 0 nothing guarded changes, 1 guarded changes found, 2 usage,
// read or parse error, 3 a change AWS would refuse (see guard.Refuse).
package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/keygate/keygate/internal/guard"
)

// Exit statuses; the workflows tell 1 (a guarded change, which a label can
// allow) from 2 (a broken run, which nothing should allow).
const (
	exitClean   = 0
	exitGuarded = 1
	exitError   = 2
	// exitRefused: CloudFormation or API Gateway would fail the deploy
	// (above 2,500 resource operations, a key in two plans, a named key
	// replaced under its name). No approval may allow it.
	exitRefused = 3
)

const usage = `usage: guard [-json [-object]] BASE.template.json HEAD.template.json
       guard [-json [-object]] BASE_CDK_OUT HEAD_CDK_OUT STACK
       guard [-json [-object]] -allow APPROVALS.json BASE_CDK_OUT HEAD_CDK_OUT STACK
       guard [-json] -summary BASE_CDK_OUT HEAD_CDK_OUT STACK

Compares two synthesized CloudFormation templates of one stack, BASE (deployed,
or the merge base) and HEAD (about to be deployed), and reports every change that
deletes or replaces a resource clients depend on: API keys, usage plans, usage
plan keys, the REST API, stages, nested stacks (which hold the keys), and log
groups (data loss). A logical ID that disappears, one that reappears under a new
name, a type change, and a change to a property CloudFormation can only apply
by replacement all count. So does one update: an existing REST API whose default
execute-api endpoint is switched off (SWITCH-OFF), as its clients get 403 from then on.

With two cdk.out directories and a stack name, it compares STACK.template.json
and every nested stack template it names (through aws:asset:path), pairing
nested stacks by logical ID. A template that is just {} stands for a stack that
is not deployed yet.

  -json     print the findings as a JSON list (action, cause, type, logicalId,
            stack, properties, retained, reason) instead of one line each;
            the operation count goes to stderr as text
  -object   with -json, print one object instead of the list:
            {"findings": [...], "operations": {"create", "update", "delete",
            "total", "max"}, "rootTemplateOnly": true when two template
            files were compared}
  -allow    an approvals file (deploy/approved-changes.json): a finding that an
            approval names exactly (stack, nestedStack, logicalId, type, action)
            is printed as APPROVED and does not count; approvals of STACK
            that match nothing are printed as stale (remove them). With
            -json, stdout lists only the findings still guarded
  -summary  instead of the guarded changes, list every resource added,
            modified, removed or replaced, nested stacks included, after a
            count of each (make diff prints it); exit status 0 or 2. With
            -json: {"stack", "added", "modified", "removed", "replaced",
            "changes": [{"kind", "type", "logicalId", "stack"}]}

It also counts the resources one deploy would create, update and delete
(nested stacks and their AWS::CloudFormation::Stack resources included; a
replacement is a create and a delete; with two template files, the root
template only, and the count says so), and reports as REFUSE what AWS would
fail mid-deploy, whatever the approvals: more than 2,500 resource operations
(CloudFormation's quota per operation across a nested-stack hierarchy), a key
attached to a new plan while its old attachment exists (a key move or plan
rename), a named key or log group replaced under the same name (a changed
secretName), a new key or log group taking the value or name of one that goes
(a renamed imported key). Each REFUSE line says how to make the change instead.

Exit status: 0 nothing guarded changes, 1 guarded changes found,
2 usage, read or parse error, 3 a change AWS would refuse (no approval helps).
`

// run is the command without the process: arguments in, output written,
// exit status returned, so tests can call it.
// Run runs the guard with its arguments and returns the exit status.
func Run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("guard", flag.ContinueOnError)
	flags.SetOutput(io.Discard) // errors are printed below, with the usage
	asJSON := flags.Bool("json", false, "")
	asObject := flags.Bool("object", false, "")
	summarize := flags.Bool("summary", false, "")
	allowPath := flags.String("allow", "", "")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return exitClean
		}
		return usageError(stderr, err.Error())
	}
	if *asObject && !*asJSON {
		return usageError(stderr, "-object shapes the -json output: use it with -json")
	}
	if *summarize {
		if *asObject || *allowPath != "" {
			return usageError(stderr, "-summary takes only -json")
		}
		return summary(flags.Args(), *asJSON, stdout, stderr)
	}
	review, err := compare(flags.Args())
	findings := review.Findings
	var misuse usageMistake
	if errors.As(err, &misuse) {
		return usageError(stderr, string(misuse))
	}
	if err != nil {
		fmt.Fprintln(stderr, "guard:", err)
		return exitError
	}
	if *allowPath != "" {
		return decide(*allowPath, flags.Args(), review, output{*asJSON, *asObject}, stdout, stderr)
	}

	summary := "guard: no guarded changes"
	if len(findings) > 0 {
		summary = fmt.Sprintf("guard: %d guarded change(s)", len(findings))
	}
	if refused := countRefused(findings); refused > 0 {
		summary += fmt.Sprintf(", %d of them refused: AWS would fail this deploy, no approval can allow it", refused)
	}
	summary = "guard: one deploy: " + operationsLine(review) + "\n" + summary
	if *asJSON {
		if err := writeJSON(stdout, review, findings, *asObject); err != nil {
			fmt.Fprintln(stderr, "guard: writing the findings:", err)
			return exitError
		}
		fmt.Fprintln(stderr, summary) // stdout stays pure JSON
	} else {
		for _, f := range findings {
			fmt.Fprintln(stdout, f)
		}
		if _, err := fmt.Fprintln(stdout, summary); err != nil {
			fmt.Fprintln(stderr, "guard: writing the findings:", err)
			return exitError
		}
	}
	if review.Refused() {
		return exitRefused
	}
	if len(findings) > 0 {
		return exitGuarded
	}
	return exitClean
}

// output is how the findings are printed.
type output struct{ json, object bool }

// operationsLine is the operation count as printed, saying when it covers
// the root template only (two template files: what is inside the nested
// stacks is not read).
func operationsLine(r guard.Review) string {
	line := r.Operations.String()
	if r.RootTemplateOnly {
		line += " (root template only: nested stacks count as their AWS::CloudFormation::Stack resources, not what is inside them; compare cdk.out directories for the whole count)"
	}
	return line
}

// writeJSON prints findings as a JSON list, or with object as
// {"findings", "operations", "rootTemplateOnly"}. The list is what the
// workflows and scripts/post-diff-comment.sh read; the object is opt-in so
// that they keep working.
func writeJSON(stdout io.Writer, r guard.Review, findings []guard.Finding, object bool) error {
	if findings == nil {
		findings = []guard.Finding{} // [] rather than null for jq and friends
	}
	encoder := json.NewEncoder(stdout)
	encoder.SetIndent("", "  ")
	if !object {
		return encoder.Encode(findings)
	}
	r.Findings = findings
	return encoder.Encode(r)
}

// summary prints every resource change of a stack between two cdk.out
// directories: cdk diff --template shows the root template only.
func summary(args []string, asJSON bool, stdout, stderr io.Writer) int {
	if len(args) != 3 {
		return usageError(stderr, fmt.Sprintf("-summary wants two cdk.out directories and a stack, got %d arguments", len(args)))
	}
	s, err := guard.Summarize(args[0], args[1], args[2])
	if err != nil {
		fmt.Fprintln(stderr, "guard:", err)
		return exitError
	}
	if asJSON {
		changes := s.Changes
		if changes == nil {
			changes = []guard.Change{}
		}
		encoder := json.NewEncoder(stdout)
		encoder.SetIndent("", "  ")
		if err := encoder.Encode(map[string]any{
			"stack": args[2], "added": s.Count(guard.Added), "modified": s.Count(guard.Modified),
			"removed": s.Count(guard.Removed), "replaced": s.Count(guard.Replaced), "changes": changes,
		}); err != nil {
			fmt.Fprintln(stderr, "guard: writing the summary:", err)
			return exitError
		}
		return exitClean
	}
	fmt.Fprintf(stdout, "%s: %s (nested stacks included)\n", args[2], s)
	for _, c := range s.Changes {
		fmt.Fprintln(stdout, "  "+c.String())
	}
	return exitClean
}

// usageMistake is an error in how guard was called, answered with the usage.
type usageMistake string

func (m usageMistake) Error() string { return string(m) }

func usageError(stderr io.Writer, problem string) int {
	fmt.Fprintf(stderr, "guard: %s\n\n%s", problem, usage)
	return exitError
}

// compare picks the comparison the arguments ask for.
func compare(args []string) (guard.Review, error) {
	for _, arg := range args {
		// The flag package stops at the first argument; a flag after it
		// would otherwise be taken for a file or a stack name.
		if strings.HasPrefix(arg, "-") {
			return guard.Review{}, usageMistake(fmt.Sprintf("%s: flags go before the arguments", arg))
		}
	}
	switch len(args) {
	case 2:
		for _, path := range args {
			if info, err := os.Stat(path); err == nil && info.IsDir() {
				return guard.Review{}, usageMistake(fmt.Sprintf("%s is a directory: to compare cdk.out directories, name the stack too", path))
			}
		}
		return guard.ReviewTemplateFiles(args[0], args[1])
	case 3:
		return guard.ReviewAssemblies(args[0], args[1], args[2])
	default:
		return guard.Review{}, usageMistake(fmt.Sprintf("want 2 or 3 arguments, got %d", len(args)))
	}
}

func countRefused(findings []guard.Finding) int {
	n := 0
	for _, f := range findings {
		if f.Action == guard.Refuse {
			n++
		}
	}
	return n
}
