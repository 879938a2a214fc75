package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// keyIn is a template with two plans and key acme attached to plan.
func keyIn(plan string) string {
	return `{"Resources": {
		  "PlanA": {"Type": "AWS::ApiGateway::UsagePlan", "Properties": {"UsagePlanName": "keygate-dev-a"}},
		  "PlanB": {"Type": "AWS::ApiGateway::UsagePlan", "Properties": {"UsagePlanName": "keygate-dev-b"}},
		  "ApiKeyAcme": {"Type": "AWS::ApiGateway::ApiKey", "Properties": {"Name": "acme"}},
		  "UsagePlanKeyAcme": {"Type": "AWS::ApiGateway::UsagePlanKey", "Properties": {"KeyId": {"Ref": "ApiKeyAcme"}, "KeyType": "API_KEY", "UsagePlanId": {"Ref": "` + plan + `"}}}
		}}`
}

// A change AWS would refuse exits 3, which the workflows fail on whatever
// the approvals (1 is what deploy/approved-changes.json may turn into 0).
func TestRunExitsThreeOnAChangeAWSWouldRefuse(t *testing.T) {
	dir := t.TempDir()
	base := write(t, dir, "base.json", keyIn("PlanA"))
	moved := write(t, dir, "moved.json", keyIn("PlanB"))

	var stdout, stderr bytes.Buffer
	if code := Run([]string{base, moved}, &stdout, &stderr); code != exitRefused {
		t.Errorf("exit %d, want %d\n%s%s", code, exitRefused, stdout.String(), stderr.String())
	}
	for _, want := range []string{
		`REFUSE AWS::ApiGateway::UsagePlanKey UsagePlanKeyAcme: key "acme" would be attached to usage plan "keygate-dev-b" while still attached to "keygate-dev-a"`,
		"REPLACE AWS::ApiGateway::UsagePlanKey UsagePlanKeyAcme",
		"guard: one deploy: 1 to create, 0 to update, 1 to delete: 2 of CloudFormation's 2500 resource operations per deploy (root template only:",
		"guard: 2 guarded change(s), 1 of them refused: AWS would fail this deploy, no approval can allow it\n",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
		}
	}

	// -json: the refusal is in the list, the count on stderr.
	stdout.Reset()
	stderr.Reset()
	if code := Run([]string{"-json", base, moved}, &stdout, &stderr); code != exitRefused {
		t.Errorf("-json exit %d, want %d", code, exitRefused)
	}
	if !strings.Contains(stdout.String(), `"action": "REFUSE"`) || !strings.Contains(stdout.String(), `"cause": "key-in-two-plans"`) {
		t.Errorf("-json stdout:\n%s", stdout.String())
	}
	if !strings.Contains(stderr.String(), "guard: one deploy: 1 to create") {
		t.Errorf("-json stderr: %s", stderr.String())
	}
}

// With -allow, approving every guarded change of a key move still leaves the
// refusal: exit 3, since no approval can name a REFUSE.
func TestRunAllowCannotApproveARefusal(t *testing.T) {
	dir := t.TempDir()
	baseOut, headOut := filepath.Join(dir, "base"), filepath.Join(dir, "head")
	for _, d := range []string{baseOut, headOut} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(t, baseOut, "keygate-dev.template.json", keyIn("PlanA"))
	write(t, headOut, "keygate-dev.template.json", keyIn("PlanB"))
	approvals := write(t, dir, "approved.json", `{"approvals": [{"stack": "keygate-dev", "logicalId": "UsagePlanKeyAcme", "type": "AWS::ApiGateway::UsagePlanKey", "action": "REPLACE", "commit": "0123456789abcdef0123456789abcdef01234567", "reason": "moving acme"}]}`)

	var stdout, stderr bytes.Buffer
	if code := Run([]string{"-allow", approvals, baseOut, headOut, "keygate-dev"}, &stdout, &stderr); code != exitRefused {
		t.Errorf("exit %d, want %d\n%s%s", code, exitRefused, stdout.String(), stderr.String())
	}
	for _, want := range []string{"APPROVED REPLACE AWS::ApiGateway::UsagePlanKey UsagePlanKeyAcme", "REFUSE AWS::ApiGateway::UsagePlanKey UsagePlanKeyAcme",
		"guard: one deploy: 1 to create", "guard: 1 guarded change(s), 1 approved in " + approvals + "; 1 refused: AWS would fail this deploy"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
		}
	}
	// And a REFUSE cannot even be written down as an approval.
	refuse := write(t, dir, "refuse.json", `{"approvals": [{"stack": "keygate-dev", "logicalId": "UsagePlanKeyAcme", "type": "AWS::ApiGateway::UsagePlanKey", "action": "REFUSE", "commit": "0123456789abcdef0123456789abcdef01234567", "reason": "try"}]}`)
	stdout.Reset()
	stderr.Reset()
	if code := Run([]string{"-allow", refuse, baseOut, headOut, "keygate-dev"}, &stdout, &stderr); code != exitError {
		t.Errorf("approving a REFUSE: exit %d, want %d (%s)", code, exitError, stderr.String())
	}
}
