package guard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Approval lets one exact guarded change through: the finding it names
// (root stack, nested stack, logical ID, type and action) and nothing else.
// It replaces the pull request label that used to allow every guarded change
// of every later deploy of that commit: an approval is checked in, reviewed
// like code, names the commit the change was reviewed at, and a finding it
// does not name exactly stays guarded.
type Approval struct {
	// Stack is the root stack, e.g. keygate-prod.
	Stack string `json:"stack"`
	// NestedStack is the finding's Stack: "" for the root stack, else the
	// logical ID (path) of the nested stack that holds the resource.
	NestedStack string `json:"nestedStack,omitempty"`
	LogicalID   string `json:"logicalId"`
	Type        string `json:"type"`
	Action      Action `json:"action"`
	// Commit is the full SHA of the commit whose diff showed the finding
	// and was reviewed. Matches does not look at it: the deploy workflow
	// decides before the guard runs which approvals are still usable
	// (scripts/check-approvals.sh: the commit reached main after the
	// environment's last deploy, so each approval is used once per
	// environment), and the pull request report applies only those at the
	// pull request's own commits (scripts/pr-approvals.sh).
	Commit string `json:"commit"`
	// Reason is why the change is intended, for whoever reads the file later.
	Reason string `json:"reason"`
}

// Allowlist is the approvals file, deploy/approved-changes.json.
type Allowlist struct {
	Approvals []Approval `json:"approvals"`
}

var fullSHA = regexp.MustCompile(`^[0-9a-f]{40}$`)

// ReadAllowlist reads and checks an approvals file. Every problem is
// reported at once, each with the index of its entry and the fix. A file
// that does not exist is an error: a deploy that names an allowlist must
// not run without it.
func ReadAllowlist(path string) (Allowlist, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Allowlist{}, err
	}
	list, err := ParseAllowlist(data)
	if err != nil {
		return Allowlist{}, fmt.Errorf("%s: %w", path, err)
	}
	return list, nil
}

// ParseAllowlist parses and checks the JSON of an approvals file.
func ParseAllowlist(data []byte) (Allowlist, error) {
	var list Allowlist
	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(&list); err != nil {
		return Allowlist{}, fmt.Errorf(`not an approvals file ({"approvals": [{"stack", "nestedStack", "logicalId", "type", "action", "commit", "reason"}, …]}): %w`, err)
	}
	var problems []string
	seen := map[Approval]int{}
	for i, a := range list.Approvals {
		at := fmt.Sprintf("approvals[%d]", i)
		if !strings.HasPrefix(a.Stack, "keygate-") {
			problems = append(problems, fmt.Sprintf("%s.stack: %q is not a keygate stack name (keygate-<environment>)", at, a.Stack))
		}
		if a.LogicalID == "" {
			problems = append(problems, at+".logicalId: required; copy it from the guard's finding")
		}
		if !strings.HasPrefix(a.Type, "AWS::") {
			problems = append(problems, fmt.Sprintf("%s.type: %q is not a CloudFormation resource type; copy it from the guard's finding", at, a.Type))
		}
		if a.Action != Delete && a.Action != Replace && a.Action != SwitchOff {
			problems = append(problems, fmt.Sprintf("%s.action: %q; want %s, %s or %s", at, a.Action, Delete, Replace, SwitchOff))
		}
		if !fullSHA.MatchString(a.Commit) {
			problems = append(problems, fmt.Sprintf("%s.commit: %q; want the full 40-hex SHA of the commit the change was reviewed at", at, a.Commit))
		}
		if strings.TrimSpace(a.Reason) == "" {
			problems = append(problems, at+".reason: required; say why the change is intended")
		}
		key := a
		key.Reason, key.Commit = "", ""
		if j, dup := seen[key]; dup {
			problems = append(problems, fmt.Sprintf("%s: approves the same change as approvals[%d]; keep one", at, j))
		}
		seen[key] = i
	}
	if len(problems) > 0 {
		return Allowlist{}, errors.New(strings.Join(problems, "\n  "))
	}
	return list, nil
}

// Matches reports whether the approval names exactly this finding of stack.
func (a Approval) Matches(stack string, f Finding) bool {
	return a.Stack == stack && a.NestedStack == f.Stack && a.LogicalID == f.LogicalID &&
		a.Type == f.Type && a.Action == f.Action
}

// Approved is a finding and the approval that lets it through.
type Approved struct {
	Finding
	By Approval
}

// String is the finding's line, marked approved with the commit and reason.
func (a Approved) String() string {
	return fmt.Sprintf("APPROVED %s (reviewed at %.12s: %s)", a.Finding, a.By.Commit, a.By.Reason)
}

// Verdict splits the findings of one root stack into those an approval lets
// through and those still guarded, and lists this stack's approvals that
// match nothing: the change they approved is deployed (or was never made),
// and they should be removed before they can approve a future change that
// happens to look the same.
type Verdict struct {
	Approved []Approved
	Guarded  []Finding
	Stale    []Approval
}

// Apply decides the findings of stack against the allowlist.
func (l Allowlist) Apply(stack string, findings []Finding) Verdict {
	var v Verdict
	used := make([]bool, len(l.Approvals))
	for _, f := range findings {
		approved := false
		for i, a := range l.Approvals {
			if a.Matches(stack, f) {
				v.Approved = append(v.Approved, Approved{Finding: f, By: a})
				used[i], approved = true, true
				break
			}
		}
		if !approved {
			v.Guarded = append(v.Guarded, f)
		}
	}
	for i, a := range l.Approvals {
		if a.Stack == stack && !used[i] {
			v.Stale = append(v.Stale, a)
		}
	}
	return v
}

// ApprovalFor is the allowlist entry that would approve f in stack at
// commit, with the reason left empty: what the pull request comment offers
// to paste. An entry pasted without a reason is refused, so someone has to
// write down why.
func ApprovalFor(stack string, f Finding, commit string) Approval {
	return Approval{Stack: stack, NestedStack: f.Stack, LogicalID: f.LogicalID, Type: f.Type,
		Action: f.Action, Commit: commit}
}
