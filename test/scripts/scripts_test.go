// Package scripts runs the workflows' shell scripts against fake aws, gh
// and git state, so that what they refuse is tested without AWS or GitHub.
package scripts

import (
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

// fakeAWS answers the calls deployed-templates.sh and check-logging-role.sh
// make from environment variables: FAKE_STACK_ID (empty: the stack does not
// exist), FAKE_CW_ROLE (get-account's cloudwatchRoleArn).
const fakeAWS = `#!/usr/bin/env bash
case "$1 $2" in
  "sts get-caller-identity") echo "$FAKE_ACCOUNT" ;;
  "cloudformation describe-stacks")
    if [ -n "${FAKE_STACK_ID:-}" ]; then echo "$FAKE_STACK_ID"
    else echo "An error occurred (ValidationError) when calling the DescribeStacks operation: Stack with id $4 does not exist" >&2; exit 254; fi ;;
  "cloudformation get-template") echo '{"Resources": {"Keys": {"Type": "AWS::CloudFormation::Stack", "Metadata": {"aws:asset:path": "'"${FAKE_NESTED_FILE:-keys.nested.template.json}"'"}}}}' ;;
  "cloudformation list-stack-resources") printf 'Keys\tarn:aws:cloudformation:eu-west-1:111111111111:stack/keygate-dev-Keys-X/1\n' ;;
  "apigateway get-account") echo "${FAKE_CW_ROLE:-None}" ;;
  *) echo "fake aws: unexpected call $*" >&2; exit 99 ;;
esac
`

// fakeGH answers check-approvals.sh's question, which pull requests a
// commit belongs to: FAKE_MERGED is the count of merged ones.
const fakeGH = `#!/usr/bin/env bash
echo "${FAKE_MERGED:-0}"
`

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
	tests := []struct {
		name  string
		env   []string
		code  int
		want  string
		empty bool // wrote {} as the deployed template
	}{
		{"a missing stack fails a deploy", []string{"EXPECTED_ACCOUNT=" + account}, 1, "run the deploy workflow by hand", false},
		{"a missing stack is empty for a pull request", []string{"EXPECTED_ACCOUNT=" + account, "MISSING=empty"}, 0, "not deployed in 111111111111/eu-west-1 yet", true},
		{"credentials of another account", []string{"EXPECTED_ACCOUNT=222222222222", "MISSING=empty"}, 1, "credentials are for account 111111111111, but keygate-dev lives in 222222222222", false},
		{"another region", []string{"EXPECTED_ACCOUNT=" + account, "EXPECTED_REGION=us-east-1", "MISSING=empty"}, 1, "the AWS region is 'eu-west-1', but keygate-dev lives in 'us-east-1'", false},
		{"a config pinned elsewhere", []string{"EXPECTED_ACCOUNT=" + account, "STACK_ENVIRONMENT=aws://" + account + "/us-east-1", "MISSING=empty"}, 1, "the config pins keygate-dev to 111111111111/us-east-1", false},
		{"a stack whose ARN names another region", []string{"EXPECTED_ACCOUNT=" + account, "FAKE_STACK_ID=arn:aws:cloudformation:us-east-1:" + account + ":stack/keygate-dev/abc"}, 1, "not in 111111111111/eu-west-1", false},
		{"a nested template file name that leaves the directory", []string{"EXPECTED_ACCOUNT=" + account, existing, "FAKE_NESTED_FILE=../../etc/x"}, 1, "names the template file", false},
		{"a deployed stack in the right place", []string{"EXPECTED_ACCOUNT=" + account, existing, "STACK_ENVIRONMENT=aws://unknown-account/unknown-region"}, 0, "", false},
		{"no expected account", []string{existing}, 1, "set EXPECTED_ACCOUNT", false},
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

func TestCheckApprovalsWantsAReviewedCommit(t *testing.T) {
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
	git("init", "-q")
	git("commit", "-q", "--allow-empty", "-m", "reviewed")
	reviewed := git("rev-parse", "HEAD")
	git("commit", "-q", "--allow-empty", "-m", "deployed")
	deployed := git("rev-parse", "HEAD")
	elsewhere := strings.Repeat("ab", 20)

	approvals := filepath.Join(repo, "approved-changes.json")
	writeApproval := func(commit string) {
		body := `{"approvals": [{"stack": "keygate-dev", "logicalId": "ApiKeyA", "type": "AWS::ApiGateway::ApiKey", "action": "DELETE", "commit": "` + commit + `", "reason": "r"},
			{"stack": "keygate-prod", "logicalId": "ApiKeyA", "type": "AWS::ApiGateway::ApiKey", "action": "DELETE", "commit": "` + elsewhere + `", "reason": "other stack, not checked here"}]}`
		if err := os.WriteFile(approvals, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base := []string{"GITHUB_SHA=" + deployed, "GITHUB_REPOSITORY=example/keygate", "GH_TOKEN=x"}
	tests := []struct {
		name, commit string
		env          []string
		code         int
		want         string
	}{
		{"a commit in the deployed history", reviewed, nil, 0, "in the history of " + deployed},
		{"a commit of a merged pull request (squash merge)", elsewhere, []string{"FAKE_MERGED=1"}, 0, "a commit of a pull request merged into main"},
		{"a commit nobody merged", elsewhere, []string{"FAKE_MERGED=0"}, 1, "neither in the history of"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			writeApproval(tc.commit)
			r := runIn(t, repo, append(base, tc.env...), "check-approvals.sh", "keygate-dev", approvals)
			if r.code != tc.code || !strings.Contains(r.output, tc.want) {
				t.Errorf("exit %d, output:\n%s\nwant exit %d and %q", r.code, r.output, tc.code, tc.want)
			}
		})
	}
}
