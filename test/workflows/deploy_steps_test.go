package workflows

import (
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func readWorkflow(t *testing.T, name string) Workflow {
	t.Helper()
	data, err := os.ReadFile("../../.github/workflows/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var w Workflow
	if err := yaml.Unmarshal(data, &w); err != nil {
		t.Fatal(err)
	}
	return w
}

// stepIndex is the index of the first step of job whose run text contains
// marker, or -1.
func stepIndex(job Job, marker string) int {
	for i, s := range job.Steps {
		if strings.Contains(s.Run, marker) {
			return i
		}
	}
	return -1
}

// The deploy reads what is deployed (refusing an older commit), keeps only
// the approvals not yet spent, runs the guard with exactly those, deploys,
// and records the deployed commit only after the deploy: in that order.
func TestDeployChecksOrderAndSpendsApprovals(t *testing.T) {
	job := readWorkflow(t, "deploy-environment.yml").Jobs["deploy"]
	order := []string{
		"scripts/deployed-templates.sh",
		"scripts/deployed-commit.sh read",
		"scripts/check-approvals.sh",
		"scripts/check-boundary.sh",
		`guard" -allow "$RUNNER_TEMP/approvals.json"`,
		"cdk deploy",
		"scripts/deployed-commit.sh record",
	}
	last := -1
	for _, marker := range order {
		i := stepIndex(job, marker)
		if i < 0 {
			t.Fatalf("deploy-environment.yml has no step running %q", marker)
		}
		if i <= last {
			t.Errorf("%q runs at step %d, before the step %d that must precede it (want %s)", marker, i+1, last+1, strings.Join(order, " → "))
		}
		last = i
	}
	if i := stepIndex(job, "-allow deploy/approved-changes.json"); i >= 0 {
		t.Errorf("step %d gives the guard the whole approvals file, spent approvals included", i+1)
	}
}

// The report's approvals come from the pull request's head through the API,
// never from the artifact the pull request uploaded.
func TestReportReadsApprovalsFromThePullRequestNotTheArtifact(t *testing.T) {
	job := readWorkflow(t, "pr-diff-report.yml").Jobs["diff"]
	read, guard := stepIndex(job, "scripts/pr-approvals.sh"), stepIndex(job, `guard" -allow "$approvals"`)
	if read < 0 || guard < 0 || read > guard {
		t.Fatalf("want scripts/pr-approvals.sh (step %d) before the guard (step %d)", read+1, guard+1)
	}
	for i, s := range job.Steps {
		if strings.Contains(s.Run, "$ARTIFACT/approved-changes.json") {
			t.Errorf("step %d reads the approvals from the artifact", i+1)
		}
	}
	for _, s := range readWorkflow(t, "pr-diff.yml").Jobs["synth"].Steps {
		if strings.Contains(s.Run, "approved-changes.json") {
			t.Errorf("pr-diff.yml still uploads the approvals file: %q", stepName(s))
		}
	}
}

// Every step of the privileged report job that prints text from the
// artifact does so with workflow commands stopped.
func TestReportStopsWorkflowCommandsAroundArtifactText(t *testing.T) {
	job := readWorkflow(t, "pr-diff-report.yml").Jobs["diff"]
	for _, marker := range []string{`outputs=$("$TOOLS/checkartifact"`, "scripts/pr-approvals.sh", `cat "$REPORT_DIR/guard.txt"`} {
		i := stepIndex(job, marker)
		if i < 0 {
			t.Fatalf("no step runs %q", marker)
		}
		run := job.Steps[i].Run
		stop, at, resume := strings.Index(run, "::stop-commands::$token"), strings.Index(run, marker), strings.Index(run, `"::$token::"`)
		if stop < 0 || resume < 0 || !(stop < at && at < resume) {
			t.Errorf("step %d (%s) prints %s outside ::stop-commands::", i+1, stepName(job.Steps[i]), marker)
		}
	}
}

// The report finds its stack among the artifact's by exact name: grep -w
// treats '-' as a word boundary, so keygate-dev was "found" in
// "keygate-dev-eu".
func TestReportMatchesItsStackExactly(t *testing.T) {
	job := readWorkflow(t, "pr-diff-report.yml").Jobs["diff"]
	i := stepIndex(job, `"$TOOLS/guard" -allow`)
	if i < 0 {
		t.Fatal("no guard step")
	}
	run := job.Steps[i].Run
	if strings.Contains(run, "grep -qw") || strings.Contains(run, "grep -w") {
		t.Errorf("the guard step matches the stack name with grep -w")
	}
	if !strings.Contains(run, `[[ " $STACKS " != *" $STACK "* ]]`) {
		t.Errorf("the guard step does not match $STACK exactly among $STACKS")
	}
}
