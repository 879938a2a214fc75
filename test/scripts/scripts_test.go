// Package scripts runs the workflows' shell scripts against fake aws, gh
// and git state, so that what they refuse is tested without AWS or GitHub.
package scripts

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/gobuild"
)

// moduleDir is the repository root.
var moduleDir = func() string {
	dir, err := gobuild.FindModuleRoot(".")
	if err != nil {
		panic(err)
	}
	return dir
}()

const account = "111111111111"

// fakeAWS answers the calls deployed-templates.sh, check-logging-role.sh
// and deployed-commit.sh make from environment variables: FAKE_STACK_ID
// (empty: the stack does not exist), FAKE_CW_ROLE (get-account's
// cloudwatchRoleArn), FAKE_DEPLOYED (the SSM parameter's value; empty: no
// such parameter), FAKE_SSM_LOG (where put-parameter writes its arguments).
const fakeAWS = `#!/usr/bin/env bash
case "$1 $2" in
  "sts get-caller-identity") echo "$FAKE_ACCOUNT" ;;
  "cloudformation describe-stacks")
    if [ -n "${FAKE_STACK_ID:-}" ]; then echo "$FAKE_STACK_ID"
    else echo "An error occurred (ValidationError) when calling the DescribeStacks operation: Stack with id $4 does not exist" >&2; exit 254; fi ;;
  "cloudformation get-template") echo '{"Resources": {"Keys": {"Type": "AWS::CloudFormation::Stack", "Metadata": {"aws:asset:path": "'"${FAKE_NESTED_FILE:-keys.nested.template.json}"'"}}}}' ;;
  "cloudformation list-stack-resources") printf 'Keys\tarn:aws:cloudformation:eu-west-1:111111111111:stack/keygate-dev-Keys-X/1\n' ;;
  "apigateway get-account") echo "${FAKE_CW_ROLE:-None}" ;;
  "ssm get-parameter")
    if [ -n "${FAKE_DEPLOYED:-}" ]; then echo "$FAKE_DEPLOYED"
    else echo "An error occurred (ParameterNotFound) when calling the GetParameter operation: " >&2; exit 254; fi ;;
  "ssm put-parameter") echo "$*" >> "$FAKE_SSM_LOG" ;;
  *) echo "fake aws: unexpected call $*" >&2; exit 99 ;;
esac
`

// fakeGH answers check-approvals.sh's question, which merged pull request
// a commit belongs to (FAKE_MERGE_COMMIT: its merge commit, the answer of
// the --jq filter), and pr-approvals.sh's: the approvals file at the head
// (FAKE_APPROVALS; empty: 404) and the pull request's commits (FAKE_PR_COMMITS).
const fakeGH = `#!/usr/bin/env bash
case "$*" in
  *"/contents/deploy/approved-changes.json?ref="*)
    if [ -n "${FAKE_APPROVALS:-}" ]; then cat "$FAKE_APPROVALS"
    else echo "gh: ${FAKE_CONTENTS_ERROR:-Not Found} (HTTP 404)" >&2; exit 1; fi ;;
  *"/pulls/"*"/commits"*) printf '%s\n' ${FAKE_PR_COMMITS:-} ;;
  *"/commits/"*"/pulls"*) echo "${FAKE_MERGE_COMMIT:-}" ;;
  *) echo "fake gh: unexpected call $*" >&2; exit 99 ;;
esac
`

// buildGuard builds cmd/guard into dir and returns the binary's path.
func buildGuard(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "guard")
	if out, err := exec.Command("go", "build", "-o", bin, filepath.Join(moduleDir, "cmd", "guard")).CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/guard: %v\n%s", err, out)
	}
	return bin
}

type result struct {
	code   int
	output string
}

func run(t *testing.T, env []string, script string, args ...string) result {
	t.Helper()
	return runIn(t, "", env, script, args...)
}

// runIn runs a script of scripts/ in dir with the fakes first on PATH.
func runIn(t *testing.T, dir string, env []string, script string, args ...string) result {
	t.Helper()
	for _, tool := range []string{"bash", "jq", "git"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	bin := t.TempDir()
	for name, body := range map[string]string{"aws": fakeAWS, "gh": fakeGH} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(filepath.Join(moduleDir, "scripts", script), args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + bin + ":" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "AWS_REGION=eu-west-1", "FAKE_ACCOUNT=" + account}, env...)
	out, err := cmd.CombinedOutput()
	code := 0
	if exit, ok := err.(*exec.ExitError); ok {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, string(out)}
}

func TestDeployedTemplatesTrustsNotDeployedOnlyInTheRightPlace(t *testing.T) {
	existing := "FAKE_STACK_ID=arn:aws:cloudformation:eu-west-1:" + account + ":stack/keygate-dev/abc"
	pinned := "STACK_ENVIRONMENT=aws://" + account + "/eu-west-1"
	tests := []struct {
		name  string
		env   []string
		code  int
		want  string
		empty bool // wrote {} as the deployed template
	}{
		{"a missing stack fails a deploy", []string{"EXPECTED_ACCOUNT=" + account, pinned}, 1, "run the deploy workflow by hand", false},
		{"a missing stack is empty for a pull request", []string{"EXPECTED_ACCOUNT=" + account, pinned, "MISSING=empty"}, 0, "not deployed in 111111111111/eu-west-1 yet", true},
		{"credentials of another account", []string{"EXPECTED_ACCOUNT=222222222222", pinned, "MISSING=empty"}, 1, "credentials are for account 111111111111, but keygate-dev lives in 222222222222", false},
		{"another region", []string{"EXPECTED_ACCOUNT=" + account, pinned, "EXPECTED_REGION=us-east-1", "MISSING=empty"}, 1, "the AWS region is 'eu-west-1', but keygate-dev lives in 'us-east-1'", false},
		{"a config pinned elsewhere", []string{"EXPECTED_ACCOUNT=" + account, "STACK_ENVIRONMENT=aws://" + account + "/us-east-1", "MISSING=empty"}, 1, "the config pins keygate-dev to 111111111111/us-east-1", false},
		// Unpinned, the only check would be the GitHub environment's
		// variables agreeing with the credentials they produced.
		{"a config that pins no account or region", []string{"EXPECTED_ACCOUNT=" + account, existing, "STACK_ENVIRONMENT=aws://unknown-account/unknown-region", "MISSING=empty"}, 1, `does not pin keygate-dev to an account and region`, false},
		{"a config that pins the account only", []string{"EXPECTED_ACCOUNT=" + account, existing, "STACK_ENVIRONMENT=aws://" + account + "/unknown-region"}, 1, `Set "account": "111111111111" and "region": "eu-west-1"`, false},
		{"no stack environment at all", []string{"EXPECTED_ACCOUNT=" + account, existing}, 1, "does not pin keygate-dev", false},
		{"a stack whose ARN names another region", []string{"EXPECTED_ACCOUNT=" + account, pinned, "FAKE_STACK_ID=arn:aws:cloudformation:us-east-1:" + account + ":stack/keygate-dev/abc"}, 1, "not in 111111111111/eu-west-1", false},
		{"a nested template file name that leaves the directory", []string{"EXPECTED_ACCOUNT=" + account, pinned, existing, "FAKE_NESTED_FILE=../../etc/x"}, 1, "names the template file", false},
		{"a deployed stack in the right place", []string{"EXPECTED_ACCOUNT=" + account, existing, pinned}, 0, "", false},
		{"no expected account", []string{existing, pinned}, 1, "set EXPECTED_ACCOUNT", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			r := run(t, tc.env, "deployed-templates.sh", "keygate-dev", out)
			if r.code != tc.code || !strings.Contains(r.output, tc.want) {
				t.Fatalf("exit %d, output:\n%s\nwant exit %d and %q", r.code, r.output, tc.code, tc.want)
			}
			data, err := os.ReadFile(filepath.Join(out, "keygate-dev.template.json"))
			if got := err == nil && strings.TrimSpace(string(data)) == "{}"; got != tc.empty {
				t.Errorf("empty template written = %v, want %v", got, tc.empty)
			}
			if tc.code == 0 && !tc.empty {
				if _, err := os.Stat(filepath.Join(out, "keys.nested.template.json")); err != nil {
					t.Errorf("the nested template was not fetched: %v", err)
				}
			}
		})
	}
}

func TestCheckLoggingRole(t *testing.T) {
	assembly := t.TempDir()
	write := func(stack, types string) {
		if err := os.WriteFile(filepath.Join(assembly, stack+".template.json"), []byte(`{"Resources": {"X": {"Type": "`+types+`"}}}`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("keygate-owner", "AWS::ApiGateway::Account")
	write("keygate-other", "AWS::ApiGateway::RestApi")
	tests := []struct {
		name, stack string
		env         []string
		code        int
		want        string
	}{
		{"the owner needs no role set", "keygate-owner", nil, 0, "manages the API Gateway CloudWatch role"},
		{"another environment with no role set fails with the fix", "keygate-other", nil, 1, "set manageCloudWatchRole: true on exactly one environment"},
		{"another environment with a role set", "keygate-other", []string{"FAKE_CW_ROLE=arn:aws:iam::111111111111:role/keygate-dev-CloudWatchRole-X"}, 0, "logs with arn:aws:iam::111111111111:role/keygate-dev-CloudWatchRole-X"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, tc.env, "check-logging-role.sh", assembly, tc.stack)
			if r.code != tc.code || !strings.Contains(r.output, tc.want) {
				t.Errorf("exit %d, output:\n%s\nwant exit %d and %q", r.code, r.output, tc.code, tc.want)
			}
		})
	}
}

// history is a repository whose main line is
// reviewedOld → deployed → reviewedNew → head, with a squash-merged pull
// request's head on a side branch (not in main's history).
type history struct {
	dir                                              string
	reviewedOld, deployed, reviewedNew, head, prHead string
}

func newHistory(t *testing.T) history {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	repo := t.TempDir()
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-C", repo, "-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	commit := func(msg string) string {
		git("commit", "-q", "--allow-empty", "-m", msg)
		return git("rev-parse", "HEAD")
	}
	git("init", "-q", "-b", "main")
	h := history{dir: repo}
	h.reviewedOld = commit("reviewed before the deploy")
	h.deployed = commit("deployed")
	git("checkout", "-q", "-b", "feature")
	h.prHead = commit("pull request head, squash-merged below")
	git("checkout", "-q", "main")
	h.reviewedNew = commit("reviewed after the deploy (or the squash merge)")
	h.head = commit("head")
	return h
}

func TestCheckApprovalsSpendsEachApprovalOnce(t *testing.T) {
	h := newHistory(t)
	elsewhere := strings.Repeat("ab", 20)
	approvals := filepath.Join(h.dir, "approved-changes.json")
	writeApproval := func(commit string) {
		body := `{"approvals": [{"stack": "keygate-dev", "logicalId": "ApiKeyA", "type": "AWS::ApiGateway::ApiKey", "action": "DELETE", "commit": "` + commit + `", "reason": "r"},
			{"stack": "keygate-prod", "logicalId": "ApiKeyA", "type": "AWS::ApiGateway::ApiKey", "action": "DELETE", "commit": "` + elsewhere + `", "reason": "other stack, not checked here"}]}`
		if err := os.WriteFile(approvals, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base := []string{"GITHUB_SHA=" + h.head, "GITHUB_REPOSITORY=example/keygate", "GH_TOKEN=x"}
	tests := []struct {
		name, commit string
		env          []string
		code         int
		usable       bool // the approval is in OUT
		want         string
	}{
		{"first deploy: a commit in the history", h.reviewedOld, nil, 0, true, "usable once"},
		{"first deploy: warned that every approval counts", h.reviewedOld, nil, 0, true, "has no recorded deployed commit: every approval of keygate-dev"},
		{"a commit after the deployed one", h.reviewedNew, []string{"DEPLOYED_COMMIT=" + h.deployed}, 0, true, "after the deployed " + h.deployed},
		{"a commit before the deployed one is spent", h.reviewedOld, []string{"DEPLOYED_COMMIT=" + h.deployed}, 0, false, "is spent"},
		{"the deployed commit itself is spent", h.deployed, []string{"DEPLOYED_COMMIT=" + h.deployed}, 0, false, "remove it from"},
		{"a squash-merged pull request's head, merged after the deploy", h.prHead, []string{"DEPLOYED_COMMIT=" + h.deployed, "FAKE_MERGE_COMMIT=" + h.reviewedNew}, 0, true, "reached main at " + h.reviewedNew},
		{"a squash-merged pull request's head, merged before the deploy", h.prHead, []string{"DEPLOYED_COMMIT=" + h.deployed, "FAKE_MERGE_COMMIT=" + h.reviewedOld}, 0, false, "is spent"},
		{"a merged pull request whose merge commit is not deployed here", h.prHead, []string{"FAKE_MERGE_COMMIT=" + elsewhere}, 1, false, "neither in the history of"},
		{"a commit nobody merged", elsewhere, nil, 1, false, "neither in the history of"},
		{"not a commit SHA", "--all", nil, 1, false, "want the full 40-hex SHA"},
		{"a deployed commit that is no SHA", h.reviewedNew, []string{"DEPLOYED_COMMIT=HEAD~1"}, 1, false, "is not a commit SHA"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			writeApproval(tc.commit)
			out := filepath.Join(t.TempDir(), "usable.json")
			r := runIn(t, h.dir, append(append([]string{}, base...), tc.env...), "check-approvals.sh", "keygate-dev", approvals, out)
			if r.code != tc.code || !strings.Contains(r.output, tc.want) {
				t.Fatalf("exit %d, output:\n%s\nwant exit %d and %q", r.code, r.output, tc.code, tc.want)
			}
			if tc.code != 0 {
				if _, err := os.Stat(out); err == nil {
					t.Errorf("a refused check wrote %s", out)
				}
				return
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Approvals []struct{ Stack, Commit string } `json:"approvals"`
			}
			if err := json.Unmarshal(data, &got); err != nil {
				t.Fatalf("%s: %v\n%s", out, err, data)
			}
			usable := len(got.Approvals) == 1 && got.Approvals[0].Commit == tc.commit && got.Approvals[0].Stack == "keygate-dev"
			if usable != tc.usable || (!tc.usable && len(got.Approvals) != 0) {
				t.Errorf("usable approvals %s, want the approval usable = %v (and no other stack's)", data, tc.usable)
			}
		})
	}
}

func TestDeployedCommitRefusesAnOlderCommit(t *testing.T) {
	h := newHistory(t)
	tests := []struct {
		name string
		env  []string
		code int
		want string
	}{
		{"the deployed commit is in the history", []string{"GITHUB_SHA=" + h.head, "FAKE_DEPLOYED=" + h.deployed}, 0, h.deployed},
		{"a re-run of the deployed commit", []string{"GITHUB_SHA=" + h.deployed, "FAKE_DEPLOYED=" + h.deployed}, 0, h.deployed},
		{"an older commit over a newer one", []string{"GITHUB_SHA=" + h.reviewedOld, "FAKE_DEPLOYED=" + h.deployed}, 1, "refusing to deploy an older commit over a newer one"},
		{"a commit beside the deployed one", []string{"GITHUB_SHA=" + h.head, "FAKE_DEPLOYED=" + h.prHead}, 1, "(or not in the history of) " + h.head},
		{"a deployed commit unknown here", []string{"GITHUB_SHA=" + h.head, "FAKE_DEPLOYED=" + strings.Repeat("cd", 20)}, 1, "not in this repository's history"},
		{"a record that is no SHA", []string{"GITHUB_SHA=" + h.head, "FAKE_DEPLOYED=main"}, 1, "not a commit SHA"},
		{"no record", []string{"GITHUB_SHA=" + h.head}, 1, "with first-deploy set to dev"},
		{"no record on a first deploy", []string{"GITHUB_SHA=" + h.head, "FIRST_DEPLOY=true"}, 0, "a first deploy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runIn(t, h.dir, tc.env, "deployed-commit.sh", "read", "dev")
			if r.code != tc.code || !strings.Contains(r.output, tc.want) {
				t.Errorf("exit %d, output:\n%s\nwant exit %d and %q", r.code, r.output, tc.code, tc.want)
			}
		})
	}
	t.Run("record", func(t *testing.T) {
		log := filepath.Join(t.TempDir(), "ssm.log")
		r := runIn(t, h.dir, []string{"GITHUB_SHA=" + h.head, "FAKE_SSM_LOG=" + log}, "deployed-commit.sh", "record", "dev")
		calls, _ := os.ReadFile(log)
		if r.code != 0 || !strings.Contains(string(calls), "--name /keygate/dev/deployed-commit --type String --overwrite --value "+h.head) {
			t.Errorf("exit %d, output %s, put-parameter calls:\n%s", r.code, r.output, calls)
		}
	})
}

// The report's approvals come from the pull request's head (the contents
// API), and only those naming one of its commits apply.
func TestPRApprovalsKeepOnlyThePullRequestsCommits(t *testing.T) {
	dir := t.TempDir()
	own, other := strings.Repeat("1a", 20), strings.Repeat("2b", 20)
	file := filepath.Join(dir, "approved-changes.json")
	entry := func(id, commit string) string {
		return `{"stack": "keygate-dev", "logicalId": "` + id + `", "type": "AWS::ApiGateway::ApiKey", "action": "DELETE", "commit": "` + commit + `", "reason": "r"}`
	}
	if err := os.WriteFile(file, []byte(`{"approvals": [`+entry("Own", own)+`, `+entry("Other", other)+`]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"GH_TOKEN=x", "GITHUB_REPOSITORY=o/r", "PR=7", "HEAD_SHA=" + strings.Repeat("3c", 20), "FAKE_PR_COMMITS=" + strings.Repeat("4d", 20) + " " + own}

	out := filepath.Join(dir, "usable.json")
	r := run(t, append(env, "FAKE_APPROVALS="+file), "pr-approvals.sh", out)
	data, _ := os.ReadFile(out)
	if r.code != 0 || !strings.Contains(string(data), `"Own"`) || strings.Contains(string(data), `"Other"`) {
		t.Fatalf("exit %d, output:\n%s\nusable: %s\nwant only the approval at the pull request's commit", r.code, r.output, data)
	}
	if !strings.Contains(r.output, "approvals[1] (keygate-dev DELETE Other) names commit "+other+", not a commit of this pull request: not applied here") {
		t.Errorf("the approval left out is not reported:\n%s", r.output)
	}

	// A head commit GitHub does not know is an error, not "no approvals".
	r = run(t, append(env, "FAKE_CONTENTS_ERROR=No commit found for the ref "+strings.Repeat("3c", 20)), "pr-approvals.sh", filepath.Join(dir, "unknown.json"))
	if r.code != 1 || !strings.Contains(r.output, "knows no commit") {
		t.Errorf("an unknown head commit: exit %d, output:\n%s", r.code, r.output)
	}

	r = run(t, env, "pr-approvals.sh", out)
	data, _ = os.ReadFile(out)
	if r.code != 0 || strings.TrimSpace(string(data)) != `{"approvals": []}` {
		t.Errorf("no approvals file at the head: exit %d, %s, output:\n%s", r.code, data, r.output)
	}
}

// The report takes where a stack lives from the default branch's cdk.json,
// defaults merged under the environment.
func TestPinnedEnvironmentReadsTheConfig(t *testing.T) {
	cdkJSON := filepath.Join(t.TempDir(), "cdk.json")
	if err := os.WriteFile(cdkJSON, []byte(`{"context": {"keygate": {
		"defaults": {"account": "111111111111"},
		"environments": {"dev": {"region": "eu-west-1"}, "prod": {"account": "222222222222", "region": "us-east-1"}, "qa": {}}}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for env, want := range map[string]string{
		"dev":  "aws://111111111111/eu-west-1",
		"prod": "aws://222222222222/us-east-1",
		"qa":   "aws://111111111111/unknown-region",
	} {
		r := run(t, nil, "pinned-environment.sh", env, cdkJSON)
		if r.code != 0 || strings.TrimSpace(r.output) != want {
			t.Errorf("%s: exit %d, %q, want %q", env, r.code, r.output, want)
		}
	}
	if r := run(t, nil, "pinned-environment.sh", "staging", cdkJSON); r.code == 0 || !strings.Contains(r.output, "no environment staging") {
		t.Errorf("an environment the config lacks: exit %d, %q", r.code, r.output)
	}
}

// End to end, as the deploy job chains them: check-approvals.sh keeps the
// approvals not yet spent, and the guard lets a key deletion through with
// one of those, and only once: after a deploy past the approval, the same
// deletion (say, the key re-added and deleted again) is guarded again.
func TestAnApprovalLetsADeletionThroughOnce(t *testing.T) {
	h := newHistory(t)
	guardBin := buildGuard(t, t.TempDir())
	deployed, head := t.TempDir(), t.TempDir()
	key := `"ApiKeyAcme": {"Type": "AWS::ApiGateway::ApiKey", "Properties": {"Name": "acme", "Enabled": true}, "DeletionPolicy": "Retain"}`
	for dir, body := range map[string]string{deployed: `{"Resources": {` + key + `}}`, head: `{"Resources": {}}`} {
		if err := os.WriteFile(filepath.Join(dir, "keygate-dev.template.json"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	approvals := filepath.Join(h.dir, "approved-changes.json")
	if err := os.WriteFile(approvals, []byte(`{"approvals": [{"stack": "keygate-dev", "logicalId": "ApiKeyAcme", "type": "AWS::ApiGateway::ApiKey", "action": "DELETE", "commit": "`+h.reviewedNew+`", "reason": "acme offboarded"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	deploy := func(deployedCommit string) (int, string) {
		usable := filepath.Join(t.TempDir(), "usable.json")
		r := runIn(t, h.dir, []string{"GITHUB_SHA=" + h.head, "GITHUB_REPOSITORY=o/r", "GH_TOKEN=x", "DEPLOYED_COMMIT=" + deployedCommit}, "check-approvals.sh", "keygate-dev", approvals, usable)
		if r.code != 0 {
			t.Fatalf("check-approvals.sh: exit %d\n%s", r.code, r.output)
		}
		out, err := exec.Command(guardBin, "-allow", usable, deployed, head, "keygate-dev").CombinedOutput()
		code := 0
		if exit, ok := err.(*exec.ExitError); ok {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, string(out)
	}
	if code, out := deploy(h.deployed); code != 0 || !strings.Contains(out, "APPROVED DELETE AWS::ApiGateway::ApiKey ApiKeyAcme") {
		t.Errorf("the first deploy after the approval: guard exit %d\n%s\nwant the deletion approved", code, out)
	}
	if code, out := deploy(h.head); code != 1 || !strings.Contains(out, "DELETE AWS::ApiGateway::ApiKey ApiKeyAcme") || strings.Contains(out, "APPROVED") {
		t.Errorf("a deploy after the approval was spent: guard exit %d\n%s\nwant the deletion guarded", code, out)
	}
}
