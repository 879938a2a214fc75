package guard

import (
	"strings"
	"testing"
)

const reviewed = "0123456789abcdef0123456789abcdef01234567"

func keyReplaced(stack, id string) Finding {
	return Finding{Action: Replace, Cause: CausePropertyChanged, Type: "AWS::ApiGateway::ApiKey", LogicalID: id, Stack: stack}
}

func TestAllowlistApprovesOnlyTheExactFinding(t *testing.T) {
	approval := Approval{Stack: "keygate-prod", NestedStack: "ApiKeys06", LogicalID: "ApiKeyAcme",
		Type: "AWS::ApiGateway::ApiKey", Action: Replace, Commit: reviewed, Reason: "rotation agreed with Acme"}
	list := Allowlist{Approvals: []Approval{approval}}
	exact := keyReplaced("ApiKeys06", "ApiKeyAcme")

	tests := []struct {
		name     string
		stack    string
		finding  Finding
		approved bool
	}{
		{"the finding it names", "keygate-prod", exact, true},
		{"the same change in another environment", "keygate-staging", exact, false},
		{"another key", "keygate-prod", keyReplaced("ApiKeys06", "ApiKeyOther"), false},
		{"the same key in another nested stack", "keygate-prod", keyReplaced("ApiKeys07", "ApiKeyAcme"), false},
		{"the same key in the root stack", "keygate-prod", keyReplaced("", "ApiKeyAcme"), false},
		{"a deletion where a replacement was approved", "keygate-prod", func() Finding { f := exact; f.Action = Delete; return f }(), false},
		{"another type under the same logical ID", "keygate-prod", func() Finding { f := exact; f.Type = "AWS::ApiGateway::UsagePlanKey"; return f }(), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := list.Apply(tc.stack, []Finding{tc.finding})
			if got := len(v.Approved) == 1; got != tc.approved {
				t.Fatalf("approved = %v, want %v (verdict %+v)", got, tc.approved, v)
			}
			if len(v.Approved)+len(v.Guarded) != 1 {
				t.Fatalf("the finding must be either approved or guarded: %+v", v)
			}
			// An approval of this stack that approved nothing is stale.
			wantStale := tc.stack == "keygate-prod" && !tc.approved
			if got := len(v.Stale) == 1; got != wantStale {
				t.Errorf("stale = %v, want %v", v.Stale, wantStale)
			}
		})
	}
}

func TestAllowlistKeepsUnapprovedFindingsOfAMixedDiff(t *testing.T) {
	list := Allowlist{Approvals: []Approval{{Stack: "keygate-dev", LogicalID: "ApiKeyA", Type: "AWS::ApiGateway::ApiKey",
		Action: Replace, Commit: reviewed, Reason: "r"}}}
	v := list.Apply("keygate-dev", []Finding{keyReplaced("", "ApiKeyA"), keyReplaced("", "ApiKeyB")})
	if len(v.Approved) != 1 || v.Approved[0].LogicalID != "ApiKeyA" || len(v.Guarded) != 1 || v.Guarded[0].LogicalID != "ApiKeyB" {
		t.Fatalf("verdict %+v", v)
	}
	if s := v.Approved[0].String(); !strings.HasPrefix(s, "APPROVED REPLACE AWS::ApiGateway::ApiKey ApiKeyA") || !strings.Contains(s, "reviewed at 0123456789ab: r") {
		t.Errorf("approved line %q", s)
	}
}

func TestParseAllowlistRefusesVagueApprovals(t *testing.T) {
	good := `{"approvals": [{"stack": "keygate-prod", "logicalId": "ApiKeyA", "type": "AWS::ApiGateway::ApiKey", "action": "REPLACE", "commit": "` + reviewed + `", "reason": "rotation"}]}`
	if list, err := ParseAllowlist([]byte(good)); err != nil || len(list.Approvals) != 1 {
		t.Fatalf("ParseAllowlist(good) = %+v, %v", list, err)
	}
	if list, err := ParseAllowlist([]byte(`{"approvals": []}`)); err != nil || len(list.Approvals) != 0 {
		t.Fatalf("an empty allowlist: %+v, %v", list, err)
	}
	tests := []struct{ name, old, new, want string }{
		{"short commit", reviewed, "0123456", "approvals[0].commit"},
		{"branch instead of commit", reviewed, "main", "approvals[0].commit"},
		{"no reason", `"rotation"`, `""`, "approvals[0].reason: required"},
		{"wildcard logical id", `"ApiKeyA"`, `""`, "approvals[0].logicalId: required"},
		{"unknown action", `"REPLACE"`, `"ANY"`, "approvals[0].action"},
		{"not a keygate stack", `"keygate-prod"`, `"*"`, "approvals[0].stack"},
		{"not a resource type", `"AWS::ApiGateway::ApiKey"`, `"*"`, "approvals[0].type"},
		{"unknown field", `"reason"`, `"label": "allow-replacement", "reason"`, "unknown field"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseAllowlist([]byte(strings.Replace(good, tc.old, tc.new, 1)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	entry := strings.TrimSuffix(strings.TrimPrefix(good, `{"approvals": [`), `]}`)
	if _, err := ParseAllowlist([]byte(`{"approvals": [` + entry + `, ` + entry + `]}`)); err == nil || !strings.Contains(err.Error(), "same change as approvals[0]") {
		t.Errorf("a duplicate approval: %v", err)
	}
}

func TestApprovalForRoundTripsThroughTheFile(t *testing.T) {
	f := keyReplaced("ApiKeys06", "ApiKeyAcme")
	a := ApprovalFor("keygate-prod", f, reviewed)
	if !a.Matches("keygate-prod", f) {
		t.Fatalf("%+v does not match the finding it was made from", a)
	}
	if a.Reason != "" {
		t.Errorf("the offered entry must leave the reason to the reviewer, got %q", a.Reason)
	}
}
