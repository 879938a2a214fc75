package guard

import (
	"slices"
	"strings"
	"testing"
)

// Renaming an imported key (same secret) creates the new ApiKey with the
// old one's value before the old one goes, and the old one is retained:
// API Gateway answers 409 "API Key already exists"
// (serverless/serverless#6458). The guard refuses it, whatever the
// approvals, with the way out.
func TestGuardRefusesRenamedImportedKeyThatWouldFailWithKeyAlreadyExists(t *testing.T) {
	const secret = "{{resolve:secretsmanager:keygate/acme:SecretString:::}}"
	base := twoPlans(map[string]string{"Acme": "Standard"})
	base.stacks["ApiKeys01"] = keyStack{keys: map[string]string{"Acme": "Standard"}, secrets: map[string]string{"Acme": secret}}
	for _, tc := range []struct {
		name string
		head keygateApp
	}{
		{"renamed in its shard", keygateApp{plans: []string{"Standard", "Internal"}, stacks: map[string]keyStack{
			"ApiKeys01": {keys: map[string]string{"AcmeCorp": "Standard"}, secrets: map[string]string{"AcmeCorp": secret}}}}},
		{"renamed into another shard", keygateApp{plans: []string{"Standard", "Internal"}, stacks: map[string]keyStack{
			"ApiKeys01": {keys: map[string]string{}}, "ApiKeys02": {keys: map[string]string{"Zeta": "Standard"}, secrets: map[string]string{"Zeta": secret}}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := reviewApps(t, base, tc.head)
			var reused []Finding
			for _, f := range refusalsOf(r) {
				if f.Cause == CauseReusedIdentity {
					reused = append(reused, f)
				}
			}
			if len(reused) != 1 || reused[0].Type != "AWS::ApiGateway::ApiKey" {
				t.Fatalf("refusals %v, want one reused-identity of the new key", refusalsOf(r))
			}
			for _, want := range []string{"409 \"API Key already exists\"", "serverless/serverless#6458", "add a new key under the new name with a new secret", `then retire "Acme"`, "keygate/acme"} {
				if !strings.Contains(reused[0].Reason, want) {
					t.Errorf("reason lacks %q:\n%s", want, reused[0].Reason)
				}
			}
		})
	}

	// The way out passes: a new key with a new secret, the old one kept.
	head := twoPlans(map[string]string{"Acme": "Standard", "AcmeCorp": "Standard"})
	head.stacks["ApiKeys01"] = keyStack{keys: head.stacks["ApiKeys01"].keys, secrets: map[string]string{
		"Acme": secret, "AcmeCorp": "{{resolve:secretsmanager:keygate/acme-corp:SecretString:::}}"}}
	if refused := refusalsOf(reviewApps(t, base, head)); len(refused) != 0 {
		t.Errorf("new key with a new secret refused: %v", refused)
	}
	// Generated keys (no Value) share nothing.
	if refused := refusalsOf(reviewApps(t, twoPlans(map[string]string{"Acme": "Standard"}), twoPlans(map[string]string{"AcmeCorp": "Standard"}))); len(refused) != 0 {
		t.Errorf("renamed generated key refused: %v", refused)
	}
}

// A log group renamed in the template keeping its literal LogGroupName is
// created before the old one is deleted: ResourceAlreadyExistsException.
func TestGuardRefusesRenamedLogGroupThatWouldFailWithAlreadyExists(t *testing.T) {
	base := `{"Resources": {"Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/keygate/dev"}}}}`
	head := `{"Resources": {"AccessLogs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/keygate/dev"}}}}`
	findings, err := CompareTemplates([]byte(base), []byte(head))
	if err != nil {
		t.Fatal(err)
	}
	if got := summaries(findings); !slices.Contains(got, "REFUSE reused-identity AccessLogs") {
		t.Errorf("findings %v, want AccessLogs refused", got)
	}
	renamed := `{"Resources": {"AccessLogs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/keygate/dev-access"}}}}`
	findings, err = CompareTemplates([]byte(base), []byte(renamed))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		if f.Action == Refuse {
			t.Errorf("log group with a new name refused: %v", f)
		}
	}
}
