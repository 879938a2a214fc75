package config

import (
	"encoding/json"
	"fmt"
	"testing"
)

// The usage plan quota (300 by default) is adjustable, but the sum across
// an account and region could not be raised: an account whose quota was
// raised was refused. quotas.usagePlansPerAccountRegion sets it.
func TestRaisedUsagePlanQuotaIsNotRefusedAtTheDefault(t *testing.T) {
	plans := func(prefix string, n int) []any {
		out := []any{map[string]any{"name": "standard", "throttle": map[string]any{"rateLimit": 10, "burstLimit": 20}}}
		for i := 1; i < n; i++ {
			out = append(out, map[string]any{"name": fmt.Sprintf("%s%03d", prefix, i), "throttle": map[string]any{"rateLimit": 10, "burstLimit": 20}})
		}
		return out
	}
	build := func(quotas map[string]any, perEnv map[string]any) []byte {
		var root map[string]any
		if err := json.Unmarshal([]byte(validJSON), &root); err != nil {
			t.Fatal(err)
		}
		defaults := root["defaults"].(map[string]any)
		defaults["apiKeys"] = []any{map[string]any{"name": "partner-a", "plan": "standard"}}
		if quotas != nil {
			defaults["quotas"] = quotas
		}
		envs := map[string]any{}
		for i := range 4 {
			name := fmt.Sprintf("e%d", i)
			e := map[string]any{"stageName": name, "account": "123456789012", "region": "eu-west-1", "manageCloudWatchRole": i == 0, "usagePlans": plans("p", 80)}
			if q, ok := perEnv[name]; ok {
				e["quotas"] = map[string]any{"usagePlansPerAccountRegion": q}
			}
			envs[name] = e
		}
		root["environments"] = envs
		data, _ := json.Marshal(root)
		return data
	}

	// 4 × 80 = 320 plans: above the default...
	_, err := ParseJSON(build(nil, nil))
	assertErrors(t, err, "environments.e0.usagePlans: the environments in account/region 123456789012/eu-west-1 hold 320 usage plans together")
	// ...within a raised quota, set once in defaults.
	if _, err := ParseJSON(build(map[string]any{"usagePlansPerAccountRegion": 500}, nil)); err != nil {
		t.Errorf("raised quota of 500: %v", err)
	}
	// A raised quota is still a limit.
	_, err = ParseJSON(build(map[string]any{"usagePlansPerAccountRegion": 310}, nil))
	assertErrors(t, err, "environments.e0.usagePlans: the environments in account/region 123456789012/eu-west-1 hold 320 usage plans together (e0 80, e1 80, e2 80, e3 80); the account's quota is 310")
	// Environments of one account and region must agree: it is the account's.
	_, err = ParseJSON(build(nil, map[string]any{"e2": 500}))
	assertErrors(t, err, "environments.e2.quotas.usagePlansPerAccountRegion: is 500 here and 300 in e0")
	// Nonsense is refused, naming the field.
	_, err = ParseJSON(build(map[string]any{"usagePlansPerAccountRegion": 0}, nil))
	assertErrors(t, err, "environments.e0.quotas.usagePlansPerAccountRegion: 0 is not a usage plan quota")
}
