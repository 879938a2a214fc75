package main

import (
	"bytes"
	"strings"
	"testing"
)

// A change AWS would refuse exits 3, which the workflows fail on whatever
// the labels (1 is what the allow-replacement label may allow).
func TestRunExitsThreeOnAChangeAWSWouldRefuse(t *testing.T) {
	dir := t.TempDir()
	keyIn := func(plan string) string {
		return `{"Resources": {
		  "PlanA": {"Type": "AWS::ApiGateway::UsagePlan", "Properties": {"UsagePlanName": "keygate-dev-a"}},
		  "PlanB": {"Type": "AWS::ApiGateway::UsagePlan", "Properties": {"UsagePlanName": "keygate-dev-b"}},
		  "ApiKeyAcme": {"Type": "AWS::ApiGateway::ApiKey", "Properties": {"Name": "acme"}},
		  "UsagePlanKeyAcme": {"Type": "AWS::ApiGateway::UsagePlanKey", "Properties": {"KeyId": {"Ref": "ApiKeyAcme"}, "KeyType": "API_KEY", "UsagePlanId": {"Ref": "` + plan + `"}}}
		}}`
	}
	base := write(t, dir, "base.json", keyIn("PlanA"))
	moved := write(t, dir, "moved.json", keyIn("PlanB"))

	var stdout, stderr bytes.Buffer
	if code := run([]string{base, moved}, &stdout, &stderr); code != exitRefused {
		t.Errorf("exit %d, want %d\n%s%s", code, exitRefused, stdout.String(), stderr.String())
	}
	for _, want := range []string{
		`REFUSE AWS::ApiGateway::UsagePlanKey UsagePlanKeyAcme: key "acme" would be attached to usage plan "keygate-dev-b" while still attached to "keygate-dev-a"`,
		"REPLACE AWS::ApiGateway::UsagePlanKey UsagePlanKeyAcme",
		"guard: one deploy: 1 to create, 0 to update, 1 to delete: 2 of CloudFormation's 2500 resource operations per deploy\n",
		"guard: 2 guarded change(s), 1 of them refused: AWS would fail this deploy, no label can allow it\n",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
		}
	}

	// -json: the refusal is in the list, the count on stderr.
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"-json", base, moved}, &stdout, &stderr); code != exitRefused {
		t.Errorf("-json exit %d, want %d", code, exitRefused)
	}
	if !strings.Contains(stdout.String(), `"action": "REFUSE"`) || !strings.Contains(stdout.String(), `"cause": "key-in-two-plans"`) {
		t.Errorf("-json stdout:\n%s", stdout.String())
	}
	if !strings.Contains(stderr.String(), "guard: one deploy: 1 to create") {
		t.Errorf("-json stderr: %s", stderr.String())
	}
}
