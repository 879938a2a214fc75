package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// validJSON is a complete, valid configuration; tests break one thing at a time.
const validJSON = `{
  "defaults": {
    "throttle": {"rateLimit": 100, "burstLimit": 200},
    "logging": {"level": "INFO", "retentionDays": 30, "removalPolicy": "retain"},
    "usagePlans": [
      {"name": "standard", "throttle": {"rateLimit": 10, "burstLimit": 20}, "quota": {"limit": 1000, "period": "DAY"}},
      {"name": "internal", "throttle": {"rateLimit": 50, "burstLimit": 100}}
    ],
    "apiKeys": [
      {"name": "partner-a", "plan": "standard"},
      {"name": "billing", "plan": "internal", "enabled": false, "secretName": "keygate/billing"}
    ],
    "routes": [
      {"path": "/health", "methods": ["GET"], "integration": {"type": "mock", "body": "{}"}},
      {"path": "/orders/{id}", "methods": ["GET", "DELETE"], "integration": {"type": "http", "url": "https://orders.example.com/orders/{id}", "timeoutMillis": 5000}}
    ]
  },
  "environments": {
    "dev": {"stageName": "dev", "account": "111111111111", "region": "eu-west-1", "manageCloudWatchRole": true, "logging": {"dataTrace": true}},
    "prod": {"stageName": "prod", "production": true, "account": "123456789012", "region": "eu-west-1",
             "manageCloudWatchRole": true, "authorizerCacheTtlSeconds": 0, "tags": {"team": "platform"},
             "routes": [
               {"path": "/health", "methods": ["GET"], "integration": {"type": "mock", "body": "{}"}},
               {"path": "/orders/{id}", "methods": ["GET", "DELETE"], "integration": {"type": "http", "url": "https://orders.example.com/orders/{id}", "timeoutMillis": 5000}},
               {"path": "/pay/{proxy+}", "methods": ["ANY"], "integration": {"type": "lambda", "functionArn": "arn:aws:lambda:eu-west-1:123456789012:function:pay"}}
             ]}
  }
}`

func mustParse(t *testing.T, text string) Config {
	t.Helper()
	cfg, err := ParseJSON([]byte(text))
	if err != nil {
		t.Fatalf("ParseJSON: %v", err)
	}
	return cfg
}

// withChange returns validJSON with the value at a dotted path replaced
// (a nil value deletes the key).
func withChange(t *testing.T, path string, value any) string {
	t.Helper()
	var root any
	if err := json.Unmarshal([]byte(validJSON), &root); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(path, ".")
	node := root
	for _, p := range parts[:len(parts)-1] {
		switch n := node.(type) {
		case map[string]any:
			node = n[p]
		case []any:
			var i int
			fmt.Sscan(p, &i)
			node = n[i]
		}
	}
	last := parts[len(parts)-1]
	switch n := node.(type) {
	case map[string]any:
		if value == nil {
			delete(n, last)
		} else {
			n[last] = value
		}
	case []any:
		var i int
		fmt.Sscan(last, &i)
		n[i] = value
	}
	out, _ := json.Marshal(root)
	return string(out)
}

func TestParseValidConfig(t *testing.T) {
	cfg := mustParse(t, validJSON)
	if len(cfg.Environments) != 2 || cfg.Environments[0].Name != "dev" || cfg.Environments[1].Name != "prod" {
		t.Fatalf("environments = %+v, want dev and prod in that order", cfg.Environments)
	}
	prod, _ := cfg.Environment("prod")
	dev, _ := cfg.Environment("dev")

	// Defaults merge into each environment; the environment's own values win.
	if prod.StackName() != "keygate-prod" || prod.StageName != "prod" || !prod.Production {
		t.Errorf("prod = %+v", prod)
	}
	if prod.Logging.RetentionDays != 30 || prod.Logging.Level != LogLevelInfo || prod.Throttle.RateLimit != 100 {
		t.Errorf("prod did not inherit defaults: %+v", prod)
	}
	if !dev.Logging.DataTrace || dev.Logging.RetentionDays != 30 {
		t.Errorf("dev logging = %+v: want dataTrace from dev and retention from defaults", dev.Logging)
	}
	if prod.CacheTTLSeconds() != 0 || dev.CacheTTLSeconds() != DefaultAuthorizerCacheTTLSeconds {
		t.Errorf("cache TTLs = %d, %d; want 0 (explicit) and the default", prod.CacheTTLSeconds(), dev.CacheTTLSeconds())
	}
	if !dev.Logging.MetricsEnabled() {
		t.Error("metrics must default to on")
	}
	if len(prod.APIKeys) != 2 || !prod.APIKeys[0].IsEnabled() || prod.APIKeys[1].IsEnabled() || prod.APIKeys[1].SecretName != "keygate/billing" {
		t.Errorf("api keys = %+v", prod.APIKeys)
	}
	if q := prod.UsagePlans[0].Quota; q == nil || q.Limit != 1000 || q.Period != QuotaDay || prod.UsagePlans[1].Quota != nil {
		t.Errorf("usage plans = %+v", prod.UsagePlans)
	}
	// Optional settings get their defaults; WAF is on where production is.
	if !prod.WAFEnabled() || dev.WAFEnabled() || prod.WAFRateLimit() != prod.MinWAFRateLimit() || prod.WAF.EvaluationWindowSeconds != 300 || prod.Alarms.LatencyP99Millis != Defaults().Alarms.LatencyP99Millis {
		t.Errorf("defaults: prod WAF %v (%+v), dev WAF %v, alarms %+v", prod.WAFEnabled(), prod.WAF, dev.WAFEnabled(), prod.Alarms)
	}
	if prod.Tags["team"] != "platform" || dev.Tags != nil {
		t.Errorf("tags: prod %v, dev %v", prod.Tags, dev.Tags)
	}
	if prod.Routes[1].Integration.TimeoutMillis != 5000 || prod.Routes[2].Integration.Type != IntegrationLambda {
		t.Errorf("routes = %+v", prod.Routes)
	}
}

func TestParseRejectsWithPathAndFix(t *testing.T) {
	tests := []struct {
		name  string
		path  string
		value any
		want  []string // every error line that must appear, "path: message prefix"
	}{
		{"unknown key with suggestion", "environments.prod.stagename", "x",
			[]string{`environments.prod.stagename: unknown key; did you mean "stageName"?`}},
		{"unknown top-level key", "envs", map[string]any{},
			[]string{`keygate.envs: unknown key; remove it (known keys: defaults, environments)`}},
		{"retention not accepted by CloudWatch", "environments.prod.logging", map[string]any{"retentionDays": 8},
			[]string{"environments.prod.logging.retentionDays: 8 is not a CloudWatch retention; use one of 1, 3, 5, 7, 14, 30,"}},
		{"wrong type", "environments.prod.throttle", map[string]any{"rateLimit": "fast"},
			[]string{`environments.prod.throttle.rateLimit: must be a number, not the string "fast"`}},
		{"fractional burst", "environments.prod.throttle", map[string]any{"burstLimit": 1.5},
			[]string{"environments.prod.throttle.burstLimit: must be a whole number, not 1.5"}},
		{"missing required key", "environments.prod.stageName", nil, nil},
		{"stage name charset", "environments.prod.stageName", "prod v2",
			[]string{`environments.prod.stageName: "prod v2" is not a valid stage name; use 1 to 128 letters, digits, '-' or '_'`}},
		{"account not 12 digits", "environments.prod.account", "12345",
			[]string{`environments.prod.account: "12345" is not an AWS account id`}},
		{"region", "environments.prod.region", "europe",
			[]string{`environments.prod.region: "europe" is not an AWS region`}},
		{"data trace in production", "environments.prod.logging", map[string]any{"dataTrace": true},
			[]string{"environments.prod.logging.dataTrace: must be false where production is true"}},
		{"log level", "environments.dev.logging", map[string]any{"level": "DEBUG"},
			[]string{`environments.dev.logging.level: "DEBUG" is not an execution logging level; use INFO, ERROR or OFF`}},
		{"removal policy", "environments.dev.logging", map[string]any{"removalPolicy": "snapshot"},
			[]string{`environments.dev.logging.removalPolicy: "snapshot" is not a removal policy`}},
		{"cache TTL", "environments.dev.authorizerCacheTtlSeconds", 3601,
			[]string{"environments.dev.authorizerCacheTtlSeconds: 3601 is out of range; use 0 (no caching) to 3600 seconds"}},
		{"burst below rate", "environments.dev.throttle", map[string]any{"rateLimit": 100, "burstLimit": 50},
			[]string{"environments.dev.throttle.burstLimit: must be >= rateLimit (100)"}},
		{"zero rate", "environments.dev.throttle", map[string]any{"rateLimit": 0, "burstLimit": 50},
			[]string{"environments.dev.throttle.rateLimit: 0 is out of range"}},
		{"origin with a path", "environments.dev.cors", map[string]any{"allowedOrigins": []any{"https://app.example.com/login"}},
			[]string{`environments.dev.cors.allowedOrigins[0]: "https://app.example.com/login" is not an origin; use scheme://host[:port] without a path`}},
		{"wildcard origin among others", "environments.dev.cors", map[string]any{"allowedOrigins": []any{"https://a.example.com", "*"}},
			[]string{`environments.dev.cors.allowedOrigins[1]: "*" allows every origin, so it must be the only entry`}},
		{"WAF rate limit", "environments.prod.waf", map[string]any{"rateLimitPerIp": 5},
			[]string{"environments.prod.waf.rateLimitPerIp: 5 is out of range; WAF rate-based rules take 10 to 2000000000"}},
		{"bad email", "environments.prod.alarms", map[string]any{"notifyEmails": []any{"Ops <ops@example.com>", "oncall"}},
			[]string{`environments.prod.alarms.notifyEmails[0]: "Ops <ops@example.com>" is not an email address`,
				`environments.prod.alarms.notifyEmails[1]: "oncall" is not an email address`}},
		{"bad thresholds", "environments.prod.alarms", map[string]any{"serverErrorRatePercent": 0, "clientErrorRatePercent": 120, "latencyP99Millis": 0, "authorizerErrors": 0, "authorizerLatencyP99Millis": 20000},
			[]string{"environments.prod.alarms.serverErrorRatePercent: 0 is out of range",
				"environments.prod.alarms.clientErrorRatePercent: 120 is out of range",
				"environments.prod.alarms.latencyP99Millis: 0 is out of range",
				"environments.prod.alarms.authorizerErrors: 0 is out of range",
				"environments.prod.alarms.authorizerLatencyP99Millis: 20000 is out of range"}},
		{"an owner without an account overlaps every account", "environments.prod.account", nil,
			[]string{`environments.prod.manageCloudWatchRole: environment "dev" (account/region 111111111111/eu-west-1) may already manage`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseJSON([]byte(withChange(t, tc.path, tc.value)))
			if tc.want == nil { // the required key was removed
				assertErrors(t, err, tc.path+": is required")
				return
			}
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("want no error, got %v", err)
				}
				return
			}
			assertErrors(t, err, tc.want...)
		})
	}
}

func assertErrors(t *testing.T, err error, want ...string) {
	t.Helper()
	errs, ok := err.(Errors)
	if !ok {
		t.Fatalf("want config.Errors, got %T: %v", err, err)
	}
	for _, w := range want {
		found := false
		for _, e := range errs {
			if strings.HasPrefix(e.Error(), w) {
				found = true
			}
		}
		if !found {
			t.Errorf("missing error %q in:\n%v", w, err)
		}
	}
}

func TestParseReportsEveryErrorAtOnce(t *testing.T) {
	text := `{"environments": {
	  "dev": {"stageName": "d e v", "throttle": {"rateLimit": 10, "burstLimit": 5}, "logging": {"level": "INFO", "retentionDays": 8, "removalPolicy": "retain"},
	          "usagePlans": [{"name": "p", "throttle": {"rateLimit": 1, "burstLimit": 1}}],
	          "apiKeys": [{"name": "k", "plan": "nope"}, {"name": "k", "plan": "p"}],
	          "routes": [{"path": "health", "methods": ["get"], "integration": {"type": "soap"}}]},
	  "prod": {"stageName": "prod", "production": true, "throttle": {"rateLimit": 10, "burstLimit": 10},
	           "logging": {"level": "INFO", "dataTrace": true, "retentionDays": 7, "removalPolicy": "retain"},
	           "usagePlans": [{"name": "p", "throttle": {"rateLimit": 1, "burstLimit": 1}}], "routes": [], "colour": "blue"}
	}}`
	_, err := ParseJSON([]byte(text))
	assertErrors(t, err,
		"environments.dev.stageName:",
		"environments.dev.throttle.burstLimit: must be >= rateLimit",
		"environments.dev.logging.retentionDays: 8 is not a CloudWatch retention",
		`environments.dev.apiKeys[0].plan: "nope" is not a plan of this environment; use one of the names in usagePlans (p)`,
		`environments.dev.apiKeys[1].name: "k" is already apiKeys[0]`,
		`environments.dev.routes[0].path: "health" must start with '/'`,
		`environments.dev.routes[0].methods[0]: "get" is not a method`,
		`environments.dev.routes[0].integration.type: "soap" is not an integration type`,
		`environments.prod.colour: unknown key`,
	)
	// prod's shape error stops its semantic checks (no cascade of
	// follow-on errors), but dev's problems are all there.
	if n := len(err.(Errors)); n != 9 {
		t.Errorf("got %d errors, want 9:\n%v", n, err)
	}
	if !strings.HasPrefix(err.Error(), "invalid keygate configuration (9 problems):") {
		t.Errorf("summary line: %q", strings.SplitN(err.Error(), "\n", 2)[0])
	}
}

func TestParseCrossReferences(t *testing.T) {
	tests := []struct {
		name   string
		change func(env map[string]any)
		want   string
	}{
		{"duplicate plan", func(env map[string]any) {
			p := map[string]any{"name": "p", "throttle": map[string]any{"rateLimit": 1, "burstLimit": 1}}
			env["usagePlans"] = []any{p, p}
			env["apiKeys"] = []any{}
		}, `environments.dev.usagePlans[1].name: "p" is already the name of usagePlans[0]`},
		{"bad quota period", func(env map[string]any) {
			env["usagePlans"] = []any{map[string]any{"name": "p", "throttle": map[string]any{"rateLimit": 1, "burstLimit": 1}, "quota": map[string]any{"limit": 5, "period": "YEAR"}}}
			env["apiKeys"] = []any{}
		}, `environments.dev.usagePlans[0].quota.period: "YEAR" is not a quota period; use DAY, WEEK or MONTH`},
		{"shared secret", func(env map[string]any) {
			env["apiKeys"] = []any{
				map[string]any{"name": "a", "plan": "standard", "secretName": "s"},
				map[string]any{"name": "b", "plan": "standard", "secretName": "s"},
			}
		}, "environments.dev.apiKeys[1].secretName: is also the secret of apiKeys[0]"},
		{"secret name with a space", func(env map[string]any) {
			env["apiKeys"] = []any{map[string]any{"name": "a", "plan": "standard", "secretName": "not a name"}}
		}, "environments.dev.apiKeys[0].secretName: is not a Secrets Manager secret name"},
		{"url parameter not in path", func(env map[string]any) {
			env["routes"] = []any{map[string]any{"path": "/a", "methods": []any{"GET"}, "integration": map[string]any{"type": "http", "url": "https://x.example.com/{id}"}}}
		}, "environments.dev.routes[0].integration.url: uses {id}, which is not a parameter of the route's path"},
		{"relative url", func(env map[string]any) {
			env["routes"] = []any{map[string]any{"path": "/a", "methods": []any{"GET"}, "integration": map[string]any{"type": "http", "url": "/orders"}}}
		}, `environments.dev.routes[0].integration.url: "/orders" is not an absolute http(s) URL`},
		{"bad function arn", func(env map[string]any) {
			env["routes"] = []any{map[string]any{"path": "/a", "methods": []any{"GET"}, "integration": map[string]any{"type": "lambda", "functionArn": "pay"}}}
		}, `environments.dev.routes[0].integration.functionArn: "pay" is not a Lambda function ARN`},
		{"mock with a url", func(env map[string]any) {
			env["routes"] = []any{map[string]any{"path": "/a", "methods": []any{"GET"}, "integration": map[string]any{"type": "mock", "url": "https://x.example.com"}}}
		}, "environments.dev.routes[0].integration.url: does not apply to a mock integration; remove it"},
		{"duplicate method", func(env map[string]any) {
			r := map[string]any{"path": "/a", "methods": []any{"GET"}, "integration": map[string]any{"type": "mock"}}
			env["routes"] = []any{r, r}
		}, "environments.dev.routes[1].methods[0]: GET /a is already defined at environments.dev.routes[0].methods[0]"},
		{"greedy parameter not last", func(env map[string]any) {
			env["routes"] = []any{map[string]any{"path": "/{proxy+}/x", "methods": []any{"GET"}, "integration": map[string]any{"type": "mock"}}}
		}, "environments.dev.routes[0].path: greedy parameter {proxy+} must be the last segment"},
		{"timeout out of range", func(env map[string]any) {
			env["routes"] = []any{map[string]any{"path": "/a", "methods": []any{"GET"}, "integration": map[string]any{"type": "http", "url": "https://x.example.com", "timeoutMillis": 30000}}}
		}, "environments.dev.routes[0].integration.timeoutMillis: 30000 is out of range; use 50 to 29000 milliseconds"},
		{"own OPTIONS route beside CORS", func(env map[string]any) {
			env["cors"] = map[string]any{"allowedOrigins": []any{"*"}}
			env["routes"] = []any{map[string]any{"path": "/a", "methods": []any{"GET", "OPTIONS"}, "integration": map[string]any{"type": "mock"}}}
		}, "environments.dev.routes[0].methods[1]: OPTIONS is the CORS preflight keygate adds"},
		{"reserved tag", func(env map[string]any) {
			env["tags"] = map[string]any{"aws:team": "x"}
		}, `environments.dev.tags.aws:team: tag keys starting with "aws:" are reserved by AWS`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var root map[string]any
			json.Unmarshal([]byte(validJSON), &root)
			defaults := root["defaults"].(map[string]any)
			dev := root["environments"].(map[string]any)["dev"].(map[string]any)
			for k, v := range defaults {
				if _, set := dev[k]; !set {
					dev[k] = v
				}
			}
			tc.change(dev)
			text, _ := json.Marshal(root)
			_, err := ParseJSON(text)
			assertErrors(t, err, tc.want)
		})
	}
}

func TestCloudWatchRoleOwnedOncePerAccountAndRegion(t *testing.T) {
	// prod without an account could land in dev's.
	text := withChange(t, "environments.prod", map[string]any{"stageName": "prod", "manageCloudWatchRole": true})
	_, err := ParseJSON([]byte(text))
	assertErrors(t, err, `environments.prod.manageCloudWatchRole: environment "dev" (account/region 111111111111/eu-west-1) may already manage`)

	// An account without a region overlaps the same account in any region.
	text = withChange(t, "environments.dev", map[string]any{"stageName": "dev", "manageCloudWatchRole": true, "account": "123456789012"})
	_, err = ParseJSON([]byte(text))
	assertErrors(t, err, `environments.prod.manageCloudWatchRole: environment "dev" (account/region 123456789012/(unset)) may already manage`)

	// Different accounts: fine.
	text = withChange(t, "environments.dev", map[string]any{"stageName": "dev", "manageCloudWatchRole": true, "account": "111111111111"})
	mustParse(t, text)
}

func TestFromContextOverrides(t *testing.T) {
	var keygate any
	json.Unmarshal([]byte(validJSON), &keygate)
	context := map[string]any{
		"keygate": keygate,
		"keygate.environments.prod.logging.retentionDays": "90",
		"keygate.environments.dev.apiKeys":                `[{"name": "only", "plan": "standard"}]`,
		// Strings that look like JSON stay strings where the schema says so.
		"keygate.environments.dev.account":     "210987654321",
		"keygate.environments.prod.tags.audit": "true",
		"keygate.environments.dev.stageName":   "2024",
		"@aws-cdk/core:someFlag":               true,
	}
	cfg, err := FromContext(context)
	if err != nil {
		t.Fatal(err)
	}
	prod, _ := cfg.Environment("prod")
	dev, _ := cfg.Environment("dev")
	if prod.Logging.RetentionDays != 90 || dev.StageName != "2024" || len(dev.APIKeys) != 1 || dev.APIKeys[0].Name != "only" ||
		dev.Account != "210987654321" || prod.Tags["audit"] != "true" {
		t.Errorf("overrides not applied: prod retention %d, dev account %q, tags %v, dev stage %q, dev keys %+v",
			prod.Logging.RetentionDays, dev.Account, prod.Tags, dev.StageName, dev.APIKeys)
	}
	// The override must not leak into the caller's context value.
	if keygate.(map[string]any)["environments"].(map[string]any)["dev"].(map[string]any)["stageName"] != "dev" {
		t.Error("FromContext modified the context it was given")
	}

	// A whole config passed as a JSON string with -c keygate=….
	if _, err := FromContext(map[string]any{"keygate": validJSON}); err != nil {
		t.Errorf("JSON string config: %v", err)
	}
	_, err = FromContext(map[string]any{})
	assertErrors(t, err, "keygate: is missing from the CDK context")
	_, err = FromContext(map[string]any{"keygate": keygate, "keygate.defaults.routes.7.path": "/x"})
	assertErrors(t, err, `keygate.defaults.routes.7.path: "7" is not an index of a list of 2; use 0 to 1`)
}

func TestShippedCDKJSONIsValid(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "cdk.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cdkJSON struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(data, &cdkJSON); err != nil {
		t.Fatal(err)
	}
	cfg, err := FromContext(cdkJSON.Context)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, env := range cfg.Environments {
		names = append(names, env.Name)
	}
	if strings.Join(names, ",") != "dev,prod,staging" {
		t.Errorf("environments = %v, want dev, prod, staging", names)
	}
	if prod, _ := cfg.Environment("prod"); !prod.Production || prod.Logging.DataTrace {
		t.Errorf("shipped prod must be production without data trace: %+v", prod)
	}
}

func TestKeyShardIsAFunctionOfTheNameAlone(t *testing.T) {
	seen := map[int]int{}
	for i := range 10000 {
		shard := KeyShard(fmt.Sprintf("client-%05d", i))
		if shard < 0 || shard >= KeyShardCount {
			t.Fatalf("shard %d out of range", shard)
		}
		seen[shard]++
	}
	// Pinned values: if these change, every deployed key would move to
	// another nested stack and get a new value.
	for name, want := range map[string]int{"partner-a": 2, "example-partner": 88, "example-internal": 6} {
		if got := KeyShard(name); got != want {
			t.Errorf("KeyShard(%q) = %d, want %d: the shard function changed", name, got, want)
		}
	}
	for shard, n := range seen {
		if n > MaxKeysPerShard {
			t.Errorf("shard %d holds %d of 10,000 keys, more than %d", shard, n, MaxKeysPerShard)
		}
	}
}

func TestTooManyKeysInOneShard(t *testing.T) {
	// Find 201 names that land in shard 0.
	var keys []any
	for i := 0; len(keys) <= MaxKeysPerShard; i++ {
		name := fmt.Sprintf("k%d", i)
		if KeyShard(name) == 0 {
			keys = append(keys, map[string]any{"name": name, "plan": "standard"})
		}
	}
	_, err := ParseJSON([]byte(withChange(t, "environments.dev.apiKeys", keys)))
	assertErrors(t, err, "environments.dev.apiKeys: 201 keys fall into key stack 0 (at most 200 fit a CloudFormation template)")
}

// WAF's rate-based rule blocks per source IP with a 403 that clients cannot
// tell from a bad key. Its limit must let a client use its whole plan.
func TestWAFDoesNotBlockClientsWithinTheirPlan(t *testing.T) {
	env := Environment{
		WAF: WAF{EvaluationWindowSeconds: 300},
		UsagePlans: []UsagePlan{
			{Name: "small", Throttle: Throttle{RateLimit: 2, BurstLimit: 5}},
			{Name: "large", Throttle: Throttle{RateLimit: 50, BurstLimit: 100}},
		},
	}
	// 100 at once, then 50/s for 300 s.
	if got, want := env.MinWAFRateLimit(), 100+50*300; got != want {
		t.Errorf("MinWAFRateLimit = %d, want %d", got, want)
	}
	if got := env.WAFRateLimit(); got != env.MinWAFRateLimit() {
		t.Errorf("derived WAFRateLimit = %d, want the plans' floor %d", got, env.MinWAFRateLimit())
	}
	env.WAF.EvaluationWindowSeconds = 60
	if got, want := env.MinWAFRateLimit(), 100+50*60; got != want {
		t.Errorf("MinWAFRateLimit over 60 s = %d, want %d", got, want)
	}

	errs := validateWAF("environments.prod.waf", Environment{
		WAF:        WAF{RateLimitPerIP: 2000, EvaluationWindowSeconds: 300},
		UsagePlans: env.UsagePlans,
	})
	want := "environments.prod.waf.rateLimitPerIp: 2000 would block a single key within its plan: the most generous plan allows 15100 requests (burst plus rate) per 300-second window; raise it to at least 15100"
	if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), want) {
		t.Errorf("errors = %v, want one starting %q", errs, want)
	}
	errs = validateWAF("w", Environment{WAF: WAF{EvaluationWindowSeconds: 30, CountOnlyRules: []string{"SizeRestrictions_Body", "NoUserAgent_HEADER", "NoUserAgent_HEADER"}}})
	var got []string
	for _, e := range errs {
		got = append(got, e.Path)
	}
	if strings.Join(got, " ") != "w.evaluationWindowSeconds w.countOnlyRules[0] w.countOnlyRules[2]" {
		t.Errorf("errors = %v", errs)
	}
}

// A first deploy creates every resource of the hierarchy in one operation:
// CloudFormation allows 2,500, and 60 dynamic references per template.
func TestTooManyKeysForOneCloudFormationOperationFailsConfig(t *testing.T) {
	if got := MaxCloudFormationKeys*resourcesPerKey + KeyShardCount + CloudFormationMaxResourcesPerTemplate; got > CloudFormationMaxResourcesPerOperation {
		t.Fatalf("the cap allows %d resources in a first deploy", got)
	}
	env := Environment{}
	for i := range MaxCloudFormationKeys + 1 {
		env.APIKeys = append(env.APIKeys, APIKey{Name: fmt.Sprintf("k%d", i), Plan: "p"})
	}
	errs := validateCloudFormationLimits("environments.dev", env)
	if len(errs) != 1 || errs[0].Path != "environments.dev.apiKeys" || !strings.Contains(errs[0].Msg, "keygate keys") {
		t.Errorf("errors = %v", errs)
	}
	env.APIKeys = env.APIKeys[:MaxCloudFormationKeys]
	if errs := validateCloudFormationLimits("environments.dev", env); len(errs) != 0 {
		t.Errorf("at the cap: %v", errs)
	}
}

func TestTooManyImportedKeysInOneKeyStackFailsConfig(t *testing.T) {
	env := Environment{}
	// Names that all fall into the same key stack.
	for i := 0; len(env.APIKeys) <= CloudFormationMaxDynamicReferences; i++ {
		name := fmt.Sprintf("imported-%d", i)
		if KeyShard(name) == 7 {
			env.APIKeys = append(env.APIKeys, APIKey{Name: name, Plan: "p", SecretName: "s/" + name})
		}
	}
	errs := validateCloudFormationLimits("environments.dev", env)
	if len(errs) != 1 || !strings.Contains(errs[0].Msg, "key stack 7, whose template may hold at most 60 dynamic references") {
		t.Fatalf("errors = %v", errs)
	}
	// The same keys without secrets are fine.
	for i := range env.APIKeys {
		env.APIKeys[i].SecretName = ""
	}
	if errs := validateCloudFormationLimits("environments.dev", env); len(errs) != 0 {
		t.Errorf("without secrets: %v", errs)
	}
}

// CloudFormation cannot create an invoke permission for a function in
// another region or account (aws/aws-cdk#11826): refused before synth.
func TestLambdaRouteInAnotherRegionOrAccountFailsConfig(t *testing.T) {
	route := func(arn string) Route {
		return Route{Path: "/p", Methods: []string{"ANY"}, Integration: Integration{Type: IntegrationLambda, FunctionARN: arn}}
	}
	env := Environment{Account: "123456789012", Region: "eu-west-1", Routes: []Route{
		route("arn:aws:lambda:eu-west-1:123456789012:function:same"),
		route("arn:aws:lambda:us-east-1:123456789012:function:elsewhere"),
		route("arn:aws:lambda:eu-west-1:999999999999:function:foreign"),
	}}
	errs := validateLambdaRoutesReachable("environments.prod", env)
	if len(errs) != 2 || errs[0].Path != "environments.prod.routes[1].integration.functionArn" || !strings.Contains(errs[0].Msg, "region us-east-1") ||
		errs[1].Path != "environments.prod.routes[2].integration.functionArn" || !strings.Contains(errs[1].Msg, "account 999999999999") {
		t.Errorf("errors = %v", errs)
	}
	// An environment-agnostic stack cannot be checked: nothing refused.
	env.Account, env.Region = "", ""
	if errs := validateLambdaRoutesReachable("environments.prod", env); len(errs) != 0 {
		t.Errorf("agnostic: %v", errs)
	}
}

// API key values are unique per account and region: one secret imported by
// two environments that may share one fails the second deploy with 409.
func TestOneImportedKeyInTwoEnvironmentsOfOneAccountFailsConfig(t *testing.T) {
	key := APIKey{Name: "billing", Plan: "p", SecretName: "keygate/billing"}
	envs := []Environment{
		{Name: "dev", APIKeys: []APIKey{key}},
		{Name: "prod", APIKeys: []APIKey{{Name: "x", Plan: "p"}, key}},
	}
	errs := validateImportedKeysAcrossEnvironments(envs)
	if len(errs) != 1 || errs[0].Path != "environments.prod.apiKeys[1].secretName" || !strings.Contains(errs[0].Msg, `environment "dev" imports the same secret`) {
		t.Fatalf("errors = %v", errs)
	}
	// Another field of the same JSON secret is another value.
	envs[1].APIKeys[1].SecretJSONKey = "prod"
	if errs := validateImportedKeysAcrossEnvironments(envs); len(errs) != 0 {
		t.Errorf("different fields: %v", errs)
	}
	// Different accounts: different secrets, whatever their names.
	envs[1].APIKeys[1].SecretJSONKey = ""
	envs[0].Account, envs[1].Account = "111111111111", "222222222222"
	if errs := validateImportedKeysAcrossEnvironments(envs); len(errs) != 0 {
		t.Errorf("different accounts: %v", errs)
	}
}

// An origin is written into static mapping values ('…'), VTL and a WAF
// response header: a quote or a $ in it would break the deployed template.
func TestCORSOriginsThatWouldBreakTemplatesFailConfig(t *testing.T) {
	for _, origin := range []string{"https://a'b.example.com", `https://a"b.example.com`, "https://a$b.example.com", "https://" + strings.Repeat("a", 250) + ".com", "https://app.example.com/", "ftp://app.example.com"} {
		if errs := validateCORS("c", CORS{AllowedOrigins: []string{origin}}); len(errs) != 1 {
			t.Errorf("%q: errors %v, want one", origin, errs)
		}
	}
	for _, origin := range []string{"https://app.example.com", "http://localhost:3000", "https://10.0.0.1:8443", "*"} {
		if errs := validateCORS("c", CORS{AllowedOrigins: []string{origin}}); len(errs) != 0 {
			t.Errorf("%q: %v", origin, errs)
		}
	}
}
