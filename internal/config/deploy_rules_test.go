package config

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// devEnv returns validJSON with the defaults merged into dev, changed by
// change, as a config text.
func devChanged(t *testing.T, change func(root, dev map[string]any)) string {
	t.Helper()
	var root map[string]any
	if err := json.Unmarshal([]byte(validJSON), &root); err != nil {
		t.Fatal(err)
	}
	defaults := root["defaults"].(map[string]any)
	dev := root["environments"].(map[string]any)["dev"].(map[string]any)
	for k, v := range defaults {
		if _, set := dev[k]; !set {
			dev[k] = v
		}
	}
	change(root, dev)
	text, _ := json.Marshal(root)
	return string(text)
}

// Point 12: the stage's */* throttle limits each method, a plan each key
// across all methods, so a plan above the stage's per-method rate is a valid
// configuration (it was refused when the stage limit was read as a limit on
// the whole stage).
func TestPlanThrottleAboveStagePerMethodLimitIsAccepted(t *testing.T) {
	text := devChanged(t, func(_, dev map[string]any) {
		dev["throttle"] = map[string]any{"rateLimit": 10, "burstLimit": 20}
		dev["usagePlans"] = []any{map[string]any{"name": "big", "throttle": map[string]any{"rateLimit": 50, "burstLimit": 100}}}
		dev["apiKeys"] = []any{map[string]any{"name": "k", "plan": "big"}}
	})
	cfg := mustParse(t, text)
	dev, _ := cfg.Environment("dev")
	if dev.UsagePlans[0].Throttle.RateLimit != 50 || dev.Throttle.RateLimit != 10 {
		t.Errorf("throttles not kept as configured: stage %v, plan %v", dev.Throttle, dev.UsagePlans[0].Throttle)
	}
}

// Point 5: a JSON secret's field is read through the dynamic reference's
// json-key segment, which may not contain ':'.
func TestSecretJSONKeyNeedsSecretNameAndAColonFreeField(t *testing.T) {
	tests := []struct {
		name string
		key  map[string]any
		want string
	}{
		{"without secretName", map[string]any{"name": "a", "plan": "standard", "secretJsonKey": "apiKey"},
			"environments.dev.apiKeys[0].secretJsonKey: only applies with secretName"},
		{"with a colon", map[string]any{"name": "a", "plan": "standard", "secretName": "s", "secretJsonKey": "a:b"},
			`environments.dev.apiKeys[0].secretJsonKey: "a:b" cannot stand in a CloudFormation dynamic reference`},
		{"with a brace", map[string]any{"name": "a", "plan": "standard", "secretName": "s", "secretJsonKey": "a}}"},
			`environments.dev.apiKeys[0].secretJsonKey: "a}}" cannot stand`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseJSON([]byte(devChanged(t, func(_, dev map[string]any) { dev["apiKeys"] = []any{tc.key} })))
			assertErrors(t, err, tc.want)
		})
	}

	// Two fields of one secret are two values: accepted, and kept.
	cfg := mustParse(t, devChanged(t, func(_, dev map[string]any) {
		dev["apiKeys"] = []any{
			map[string]any{"name": "a", "plan": "standard", "secretName": "keygate/keys", "secretJsonKey": "a"},
			map[string]any{"name": "b", "plan": "standard", "secretName": "keygate/keys", "secretJsonKey": "b"},
		}
	}))
	dev, _ := cfg.Environment("dev")
	if dev.APIKeys[1].SecretJSONKey != "b" {
		t.Errorf("secretJsonKey = %q, want b", dev.APIKeys[1].SecretJSONKey)
	}
	// The same field twice is the same value twice.
	_, err := ParseJSON([]byte(devChanged(t, func(_, dev map[string]any) {
		dev["apiKeys"] = []any{
			map[string]any{"name": "a", "plan": "standard", "secretName": "keygate/keys", "secretJsonKey": "a"},
			map[string]any{"name": "b", "plan": "standard", "secretName": "keygate/keys", "secretJsonKey": "a"},
		}
	})))
	assertErrors(t, err, "environments.dev.apiKeys[1].secretName: is also the secret of apiKeys[0]")
}

// Point 4: a detached key is step 1 of a move; it keeps its plan field.
func TestDetachedKeyIsParsed(t *testing.T) {
	cfg := mustParse(t, devChanged(t, func(_, dev map[string]any) {
		dev["apiKeys"] = []any{map[string]any{"name": "a", "plan": "standard", "detached": true}}
	}))
	dev, _ := cfg.Environment("dev")
	if !dev.APIKeys[0].Detached || dev.APIKeys[0].Plan != "standard" {
		t.Errorf("key = %+v, want detached with plan standard", dev.APIKeys[0])
	}
}

// Point 10: a stage with logging fails to create where the account+region
// has no API Gateway CloudWatch role ("CloudWatch Logs role ARN must be set
// in account settings to enable logging", Miserlou/Zappa#1946).
func TestEnvironmentWithoutCloudWatchRoleOwnerInItsAccountIsRefused(t *testing.T) {
	// prod's account/region (123456789012/eu-west-1) has no owner when
	// prod stops managing the role.
	text := withChange(t, "environments.prod.manageCloudWatchRole", false)
	_, err := ParseJSON([]byte(text))
	assertErrors(t, err, "environments.prod.manageCloudWatchRole: no environment of account/region 123456789012/eu-west-1 manages the API Gateway CloudWatch role")
	if !strings.Contains(err.Error(), "set manageCloudWatchRole to true in exactly one environment of 123456789012/eu-west-1, or set cloudWatchRoleManagedOutside") {
		t.Errorf("the fix is missing from:\n%v", err)
	}

	// Another environment of the same account and region owning it is enough.
	// (staging imports no key: prod's imported one would clash in the shared
	// account, TestOneImportedKeyInTwoEnvironmentsOfOneAccountFailsConfig.)
	text = withChange(t, "environments.staging", map[string]any{"stageName": "staging", "account": "123456789012", "region": "eu-west-1", "manageCloudWatchRole": true,
		"apiKeys": []any{map[string]any{"name": "partner-a", "plan": "standard"}}})
	var root map[string]any
	json.Unmarshal([]byte(text), &root)
	root["environments"].(map[string]any)["prod"].(map[string]any)["manageCloudWatchRole"] = false
	both, _ := json.Marshal(root)
	mustParse(t, string(both))

	// A role set outside keygate, declared as such, is accepted...
	root["environments"].(map[string]any)["staging"].(map[string]any)["manageCloudWatchRole"] = false
	root["environments"].(map[string]any)["staging"].(map[string]any)["cloudWatchRoleManagedOutside"] = true
	outside, _ := json.Marshal(root)
	mustParse(t, string(outside))

	// ...but not together with managing it here.
	text = withChange(t, "environments.prod.cloudWatchRoleManagedOutside", true)
	_, err = ParseJSON([]byte(text))
	assertErrors(t, err, "environments.prod.cloudWatchRoleManagedOutside: cannot be true where manageCloudWatchRole is true")

	// An environment-agnostic owner cannot be known to cover an explicit
	// account+region; the message says so.
	text = withChange(t, "environments.prod.manageCloudWatchRole", false)
	json.Unmarshal([]byte(text), &root)
	delete(root["environments"].(map[string]any)["dev"].(map[string]any), "account")
	agnostic, _ := json.Marshal(root)
	_, err = ParseJSON(agnostic)
	assertErrors(t, err, "environments.prod.manageCloudWatchRole: no environment of account/region 123456789012/eu-west-1 manages the API Gateway CloudWatch role (dev manages one but has no explicit account and region")
}

// Point 11: 10,000 API keys and 300 usage plans per account and region are
// shared by every environment there.
func TestAccountWideKeyAndPlanQuotasAreSummedAcrossEnvironments(t *testing.T) {
	keys := func(prefix string, n int) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = map[string]any{"name": fmt.Sprintf("%s-%05d", prefix, i), "plan": "standard"}
		}
		return out
	}
	plans := func(n int) []any {
		out := []any{map[string]any{"name": "standard", "throttle": map[string]any{"rateLimit": 10, "burstLimit": 20}}}
		for i := 1; i < n; i++ {
			out = append(out, map[string]any{"name": fmt.Sprintf("p%03d", i), "throttle": map[string]any{"rateLimit": 10, "burstLimit": 20}})
		}
		return out
	}
	env := func(name string, manage bool, nKeys, nPlans int) map[string]any {
		return map[string]any{"stageName": name, "account": "123456789012", "region": "eu-west-1", "manageCloudWatchRole": manage,
			"apiKeys": keys(name, nKeys), "usagePlans": plans(nPlans)}
	}
	build := func(envs map[string]any) []byte {
		var root map[string]any
		json.Unmarshal([]byte(validJSON), &root)
		root["environments"] = envs
		text, _ := json.Marshal(root)
		return text
	}

	// 11 environments of 950 keys and 28 plans each: each fits alone (and
	// under any per-environment cap), the account does not.
	envs := map[string]any{}
	for i := range 11 {
		name := fmt.Sprintf("e%02d", i)
		envs[name] = env(name, i == 0, 950, 28)
	}
	_, err := ParseJSON(build(envs))
	assertErrors(t, err,
		"environments.e00.apiKeys: the environments in account/region 123456789012/eu-west-1 hold 10450 API keys together (e00 950, e01 950,",
		"environments.e00.usagePlans: the environments in account/region 123456789012/eu-west-1 hold 308 usage plans together (e00 28, e01 28,",
	)
	if !strings.Contains(err.Error(), "API Gateway allows 10000 per account and region, not adjustable, and keys removed from the config are retained and still count") {
		t.Errorf("the quota and its reason are missing from:\n%v", err)
	}

	// The same environments spread over two regions fit.
	for i := 6; i < 11; i++ {
		e := envs[fmt.Sprintf("e%02d", i)].(map[string]any)
		e["region"] = "eu-central-1"
		e["manageCloudWatchRole"] = i == 6
	}
	if _, err := ParseJSON(build(envs)); err != nil {
		t.Errorf("environments in two regions: %v", err)
	}
}
