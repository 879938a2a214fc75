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
	for _, tool := range []string{"bash", "jq", "iconv"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	bin, report := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "gh"), []byte(fakeCommentGH), 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"status":       "3\n",
		"guard.txt":    "REFUSE AWS::ApiGateway::UsagePlanKey UsagePlanKeyAcme: key \"acme\" would be attached …\n",
		"summary.txt":  "keygate-dev: 0 added, 1 modified, 0 removed, 1 replaced\n",
		"diff.txt":     "",
		"guarded.json": `[{"action": "REFUSE", "cause": "key-in-two-plans", "type": "AWS::ApiGateway::UsagePlanKey", "logicalId": "UsagePlanKeyAcme", "stack": "ApiKeys01", "reason": "…"}, {"action": "REPLACE", "cause": "property-changed", "type": "AWS::ApiGateway::UsagePlanKey", "logicalId": "UsagePlanKeyAcme", "stack": "ApiKeys01", "reason": "…"}]`,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(report, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	log, body := filepath.Join(report, "gh.log"), filepath.Join(report, "posted.md")
	cmd := exec.Command(filepath.Join(moduleDir, "scripts", "post-diff-comment.sh"))
	cmd.Env = []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
		"GH_TOKEN=x", "GITHUB_REPOSITORY=o/r", "PR=7", "HEAD_SHA=0123456789abcdef0123456789abcdef01234567",
		"ENVIRONMENT=dev", "REPORT_DIR=" + report, "RUN_URL=https://example.com/run",
		"FAKE_LOG=" + log, "FAKE_BODY=" + body}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("post-diff-comment.sh: %v\n%s", err, out)
	}
	calls, _ := os.ReadFile(log)
	posted, _ := os.ReadFile(body)
	if !strings.Contains(string(calls), "state=failure") || !strings.Contains(string(calls), "description=a change AWS would refuse") {
		t.Errorf("commit status not a failure naming the refusal:\n%s", calls)
	}
	if !strings.Contains(string(posted), "**Guard:** a change AWS would refuse") {
		t.Errorf("comment verdict:\n%s", posted)
	}
	if strings.Contains(string(posted), `"action": "REFUSE"`) || !strings.Contains(string(posted), `"action": "REPLACE"`) {
		t.Errorf("the approvals offered must leave REFUSE out and keep REPLACE:\n%s", posted)
	}
}
