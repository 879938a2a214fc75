package cli

import (
	"fmt"
	"io"

	"github.com/keygate/keygate/internal/guard"
)

// decide prints the findings of one stack against an approvals file: the
// approved ones, the ones still guarded, and the approvals of this stack
// that match nothing. Only findings still guarded make the exit status 1,
// and a Refuse finding, which no approval names, 3.
func decide(allowPath string, args []string, review guard.Review, out output, stdout, stderr io.Writer) int {
	asJSON := out.json
	findings := review.Findings
	if len(args) != 3 {
		// Approvals name a root stack; two bare templates have none.
		return usageError(stderr, "-allow needs two cdk.out directories and the STACK the approvals name")
	}
	stack := args[2]
	list, err := guard.ReadAllowlist(allowPath)
	if err != nil {
		fmt.Fprintln(stderr, "guard: approvals:", err)
		return exitError
	}
	v := list.Apply(stack, findings)

	// Approved and stale lines go to stdout in text mode and to stderr with
	// -json, which keeps stdout a JSON list of what still needs approval.
	notes := stdout
	if asJSON {
		notes = stderr
	}
	for _, a := range v.Approved {
		fmt.Fprintln(notes, a)
	}
	for _, a := range v.Stale {
		fmt.Fprintf(notes, "STALE approval of %s %s %s (reviewed at %.12s) matches no change: what it approved is deployed or gone; remove it from %s before it approves a later change that looks the same\n",
			a.Action, a.Type, a.LogicalID, a.Commit, allowPath)
	}
	summary := fmt.Sprintf("guard: %d guarded change(s), %d approved in %s", len(v.Guarded), len(v.Approved), allowPath)
	refused := countRefused(v.Guarded)
	if refused > 0 {
		summary += fmt.Sprintf("; %d refused: AWS would fail this deploy, no approval can allow it", refused)
	}
	summary = "guard: one deploy: " + operationsLine(review) + "\n" + summary
	if asJSON {
		if err := writeJSON(stdout, review, v.Guarded, out.object); err != nil {
			fmt.Fprintln(stderr, "guard: writing the findings:", err)
			return exitError
		}
		fmt.Fprintln(stderr, summary)
	} else {
		for _, f := range v.Guarded {
			fmt.Fprintln(stdout, f)
		}
		fmt.Fprintln(stdout, summary)
	}
	if refused > 0 {
		return exitRefused
	}
	if len(v.Guarded) > 0 {
		return exitGuarded
	}
	return exitClean
}
