package config

import (
	"encoding/json"
	"strings"
	"testing"
)

// The shipped layout: dev owns the CloudWatch role with no account or
// region, prod is pinned. Following the old advice (set
// manageCloudWatchRole on prod) led to a second error, the two owners
// overlapping. Both messages now say what resolves it, and doing what they
// say parses.
func TestCloudWatchRoleAdviceDoesNotLeadToASecondError(t *testing.T) {
	config := func(change func(envs map[string]any)) []byte {
		var root map[string]any
		if err := json.Unmarshal([]byte(validJSON), &root); err != nil {
			t.Fatal(err)
		}
		envs := root["environments"].(map[string]any)
		dev := envs["dev"].(map[string]any)
		delete(dev, "account")
		delete(dev, "region")
		change(envs)
		data, _ := json.Marshal(root)
		return data
	}
	env := func(envs map[string]any, name string) map[string]any { return envs[name].(map[string]any) }

	// prod pinned without the role: the advice names dev's pinning.
	_, err := ParseJSON(config(func(envs map[string]any) { env(envs, "prod")["manageCloudWatchRole"] = false }))
	assertErrors(t, err, "environments.prod.manageCloudWatchRole: no environment of account/region 123456789012/eu-west-1 manages")
	for _, want := range []string{"if dev deploys to 123456789012/eu-west-1, set its account and region to 123456789012/eu-west-1",
		"if not, set its account and region to where it does deploy", "or set cloudWatchRoleManagedOutside to true"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("advice lacks %q:\n%v", want, err)
		}
	}

	// prod manages it too while dev is unpinned: the conflict says to pin dev.
	_, err = ParseJSON(config(func(envs map[string]any) {}))
	assertErrors(t, err, `environments.prod.manageCloudWatchRole: environment "dev" (account/region (unset)/(unset)) may already manage`)
	if !strings.Contains(err.Error(), "set dev's account and region to where it deploys") {
		t.Errorf("conflict does not say to pin dev:\n%v", err)
	}

	// Either way out parses: dev pinned elsewhere with both owning, or prod
	// declaring the role managed outside.
	mustParse(t, string(config(func(envs map[string]any) {
		env(envs, "dev")["account"], env(envs, "dev")["region"] = "111111111111", "eu-west-1"
	})))
	mustParse(t, string(config(func(envs map[string]any) {
		env(envs, "prod")["manageCloudWatchRole"] = false
		env(envs, "prod")["cloudWatchRoleManagedOutside"] = true
		// (dev may share prod's account, so prod imports no secret of dev's.)
		env(envs, "prod")["apiKeys"] = []any{map[string]any{"name": "partner-a", "plan": "standard"}}
	})))
}
