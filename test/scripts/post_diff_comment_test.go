package scripts

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeCommentGH records post-diff-comment.sh's gh calls in $FAKE_LOG and the
// comment body it posts in $FAKE_BODY; no comment exists yet.
const fakeCommentGH = `#!/usr/bin/env bash
echo "$*" >> "$FAKE_LOG"
for arg in "$@"; do
  case "$arg" in body=@*) cp "${arg#body=@}" "$FAKE_BODY" ;; esac
done
`

// A guard exit status of 3 (a change AWS would refuse) fails the commit
// status with its own verdict, and the approvals the comment offers leave
// the REFUSE findings out: no approval can name one.
func TestPostDiffCommentReportsARefusal(t *testing.T) {
	posted, calls := postComment(t, map[string]string{
		"status":       "3\n",
		"guard.txt":    "REFUSE AWS::ApiGateway::UsagePlanKey UsagePlanKeyAcme: key \"acme\" would be attached …\n",
		"summary.txt":  "keygate-dev: 0 added, 1 modified, 0 removed, 1 replaced\n",
		"diff.txt":     "",
		"guarded.json": `[{"action": "REFUSE", "cause": "key-in-two-plans", "type": "AWS::ApiGateway::UsagePlanKey", "logicalId": "UsagePlanKeyAcme", "stack": "ApiKeys01", "reason": "…"}, {"action": "REPLACE", "cause": "property-changed", "type": "AWS::ApiGateway::UsagePlanKey", "logicalId": "UsagePlanKeyAcme", "stack": "ApiKeys01", "reason": "…"}]`,
	})
	if !strings.Contains(calls, "state=failure") || !strings.Contains(calls, "description=a change AWS would refuse") {
		t.Errorf("commit status not a failure naming the refusal:\n%s", calls)
	}
	if !strings.Contains(posted, "**Guard:** a change AWS would refuse") {
		t.Errorf("comment verdict:\n%s", posted)
	}
	if strings.Contains(posted, `"action": "REFUSE"`) || !strings.Contains(posted, `"action": "REPLACE"`) {
		t.Errorf("the approvals offered must leave REFUSE out and keep REPLACE:\n%s", posted)
	}
}

// postComment runs post-diff-comment.sh on a report directory holding files
// and returns the comment body it posted and its gh calls.
func postComment(t *testing.T, files map[string]string) (body, calls string) {
	t.Helper()
	for _, tool := range []string{"bash", "jq", "iconv"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	bin, report := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "gh"), []byte(fakeCommentGH), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(report, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	log, posted := filepath.Join(report, "gh.log"), filepath.Join(report, "posted.md")
	cmd := exec.Command(filepath.Join(moduleDir, "scripts", "post-diff-comment.sh"))
	cmd.Env = []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
		"GH_TOKEN=x", "GITHUB_REPOSITORY=o/r", "PR=7", "HEAD_SHA=0123456789abcdef0123456789abcdef01234567",
		"ENVIRONMENT=dev", "REPORT_DIR=" + report, "RUN_URL=https://example.com/run",
		"FAKE_LOG=" + log, "FAKE_BODY=" + posted}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("post-diff-comment.sh: %v\n%s", err, out)
	}
	b, _ := os.ReadFile(posted)
	c, _ := os.ReadFile(log)
	return string(b), string(c)
}

// Text from the pull request's templates cannot close the code block it is
// quoted in: each block's fence is longer than any backtick run inside.
func TestPostDiffCommentFencesOutlastTheTextInside(t *testing.T) {
	escape := "``````\n**Guard:** no guarded change. [approve](https://evil.example)\n``````"
	body, _ := postComment(t, map[string]string{
		"status":       "1\n",
		"guard.txt":    "DELETE AWS::ApiGateway::ApiKey X\n" + escape + "\n",
		"summary.txt":  "ok\n",
		"diff.txt":     "````\n",
		"guarded.json": `[{"action": "DELETE", "type": "AWS::ApiGateway::ApiKey", "logicalId": "X", "stack": ""}]`,
	})
	// Walk the body as CommonMark does with backtick fences: a block opens
	// at a fence line and closes only at a line of at least as many
	// backticks and nothing else.
	open := 0
	for _, line := range strings.Split(body, "\n") {
		run := len(line) - len(strings.TrimLeft(line, "`"))
		switch {
		case open == 0 && run >= 3:
			open = run
		case open > 0 && run >= open && strings.TrimSpace(line) == strings.Repeat("`", run):
			open = 0
		case open == 0 && strings.Contains(line, "evil.example"):
			t.Fatalf("text of the templates escaped its code block:\n%s", body)
		}
	}
	if open != 0 {
		t.Errorf("a code block is left open:\n%s", body)
	}
	if !strings.Contains(body, "evil.example") {
		t.Errorf("the guard's output is missing from the comment:\n%s", body)
	}
}

// The comment says it is advisory, counts the approved findings, and lists
// the approvals it did not apply.
func TestPostDiffCommentCountsApprovalsAndSaysItIsAdvisory(t *testing.T) {
	body, calls := postComment(t, map[string]string{
		"status":        "0\n",
		"guard.txt":     "APPROVED DELETE AWS::ApiGateway::ApiKey A (reviewed at 0123456789ab: r)\nAPPROVED DELETE AWS::ApiGateway::UsagePlanKey B (reviewed at 0123456789ab: r)\nguard: 0 guarded change(s), 2 approved\n",
		"summary.txt":   "",
		"diff.txt":      "",
		"guarded.json":  "[]",
		"approvals.txt": "approvals[2] (keygate-dev DELETE C) names commit abc, not a commit of this pull request: not applied here\n",
	})
	for _, want := range []string{"no guarded change left, 2 approved", "Advisory", "the guard the deploy runs", "Approvals not applied in this report", "approvals[2] (keygate-dev DELETE C)"} {
		if !strings.Contains(body, want) {
			t.Errorf("comment lacks %q:\n%s", want, body)
		}
	}
	if !strings.Contains(calls, "state=success") || !strings.Contains(calls, "2 approved") {
		t.Errorf("commit status:\n%s", calls)
	}
}

// Approvals that let some findings through are counted in the verdict even
// when others are still guarded.
func TestPostDiffCommentCountsApprovalsBesideGuardedChanges(t *testing.T) {
	body, calls := postComment(t, map[string]string{
		"status":       "1\n",
		"guard.txt":    "APPROVED DELETE AWS::ApiGateway::ApiKey A (reviewed at 0123456789ab: r)\nDELETE AWS::ApiGateway::ApiKey B\n",
		"summary.txt":  "",
		"diff.txt":     "",
		"guarded.json": `[{"action": "DELETE", "type": "AWS::ApiGateway::ApiKey", "logicalId": "B", "stack": ""}]`,
	})
	if !strings.Contains(body, "the deploy would stop here (1 approved)") || !strings.Contains(calls, "state=failure") {
		t.Errorf("verdict:\n%s\ncalls:\n%s", body, calls)
	}
}
