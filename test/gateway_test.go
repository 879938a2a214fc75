package test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/bearer"
	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/stacks"
)

// eachEnvironment runs a test for every environment of the shipped cdk.json
// with its config and template.
func eachEnvironment(t *testing.T, test func(t *testing.T, env config.Environment, tpl *template)) {
	a := shipped(t)
	if len(a.cfg.Environments) != 3 {
		t.Fatalf("want dev, staging and prod, got %d environments", len(a.cfg.Environments))
	}
	for _, env := range a.cfg.Environments {
		t.Run(env.Name, func(t *testing.T) {
			tpl, ok := a.templates[env.StackName()]
			if !ok {
				t.Fatalf("no template for %s", env.StackName())
			}
			test(t, env, tpl)
		})
	}
}

func TestRestAPITakesTheKeyFromTheAuthorizer(t *testing.T) {
	eachEnvironment(t, func(t *testing.T, env config.Environment, tpl *template) {
		_, api := tpl.only(t, "AWS::ApiGateway::RestApi")
		if got := api.Properties["ApiKeySourceType"]; got != "AUTHORIZER" {
			t.Errorf("ApiKeySourceType = %v, want AUTHORIZER", got)
		}
		if got := api.Properties["Name"]; got != env.StackName() {
			t.Errorf("Name = %v, want %s", got, env.StackName())
		}
		if got := toJSON(prop(api.Properties, "EndpointConfiguration.Types")); got != `["REGIONAL"]` {
			t.Errorf("endpoint types = %s", got)
		}
	})
}

func TestAuthorizerInvokesTheBundledFunction(t *testing.T) {
	eachEnvironment(t, func(t *testing.T, env config.Environment, tpl *template) {
		apiID, _ := tpl.only(t, "AWS::ApiGateway::RestApi")
		authorizerID, authorizer := tpl.only(t, "AWS::ApiGateway::Authorizer")
		functionID, function := tpl.only(t, "AWS::Lambda::Function")

		p := authorizer.Properties
		if p["Type"] != "TOKEN" || p["IdentitySource"] != "method.request.header.Authorization" {
			t.Errorf("authorizer type/source = %v / %v", p["Type"], p["IdentitySource"])
		}
		if p["IdentityValidationExpression"] != bearer.ValidationExpression {
			t.Errorf("IdentityValidationExpression = %v, want the authorizer's own pattern %q", p["IdentityValidationExpression"], bearer.ValidationExpression)
		}
		if p["AuthorizerResultTtlInSeconds"] != float64(env.CacheTTLSeconds()) {
			t.Errorf("AuthorizerResultTtlInSeconds = %v, want %d", p["AuthorizerResultTtlInSeconds"], env.CacheTTLSeconds())
		}
		if ref(p["RestApiId"]) != apiID {
			t.Errorf("authorizer belongs to %v, want %s", p["RestApiId"], apiID)
		}
		if !slices.Contains(refsIn(p["AuthorizerUri"]), functionID) {
			t.Errorf("AuthorizerUri %s does not invoke %s", toJSON(p["AuthorizerUri"]), functionID)
		}

		f := function.Properties
		for key, want := range map[string]any{"Runtime": "provided.al2023", "Handler": "bootstrap", "MemorySize": 256.0, "Timeout": 5.0} {
			if f[key] != want {
				t.Errorf("function %s = %v, want %v", key, f[key], want)
			}
		}
		if toJSON(f["Architectures"]) != `["arm64"]` || prop(f, "TracingConfig.Mode") != "Active" {
			t.Errorf("architectures %s, tracing %v", toJSON(f["Architectures"]), prop(f, "TracingConfig.Mode"))
		}
		if key, _ := prop(f, "Code.S3Key").(string); !assetKeyPattern.MatchString(key) {
			t.Errorf("code S3Key = %q, want a zipped asset named by its hash", key)
		}
		logGroupID := ref(prop(f, "LoggingConfig.LogGroup"))
		logGroup, ok := tpl.Resources[logGroupID]
		if !ok || logGroup.Type != "AWS::Logs::LogGroup" {
			t.Fatalf("function logs to %q, which is not a log group of this stack", logGroupID)
		}
		if logGroup.Properties["RetentionInDays"] != float64(env.Logging.RetentionDays) {
			t.Errorf("function log retention = %v, want %d", logGroup.Properties["RetentionInDays"], env.Logging.RetentionDays)
		}

		// The invoke permission: this function, API Gateway, and only this API.
		var permissions []resource
		for _, id := range tpl.ofType("AWS::Lambda::Permission") {
			if r := tpl.Resources[id]; ref(r.Properties["FunctionName"]) == functionID {
				permissions = append(permissions, r)
			}
		}
		if len(permissions) != 1 {
			t.Fatalf("want one permission on the authorizer function, got %d", len(permissions))
		}
		perm := permissions[0].Properties
		sourceRefs := refsIn(perm["SourceArn"])
		if perm["Principal"] != "apigateway.amazonaws.com" || perm["Action"] != "lambda:InvokeFunction" ||
			!slices.Contains(sourceRefs, apiID) || !slices.Contains(sourceRefs, authorizerID) {
			t.Errorf("permission = %s, want invoke by apigateway scoped to %s and %s", toJSON(perm), apiID, authorizerID)
		}
	})
}

func TestEveryMethodUsesTheAuthorizerAndRequiresAKey(t *testing.T) {
	eachEnvironment(t, func(t *testing.T, env config.Environment, tpl *template) {
		authorizerID, _ := tpl.only(t, "AWS::ApiGateway::Authorizer")
		var methods []string
		for _, id := range tpl.ofType("AWS::ApiGateway::Method") {
			// CORS preflights answer without credentials: see TestCORSPreflightOnlyWhereConfigured.
			if !(env.CORS.Enabled() && tpl.Resources[id].Properties["HttpMethod"] == "OPTIONS") {
				methods = append(methods, id)
			}
		}
		want := 0
		for _, r := range env.Routes {
			want += len(r.Methods)
		}
		if len(methods) != want {
			t.Errorf("got %d methods, want %d (one per configured route method)", len(methods), want)
		}
		for _, id := range methods {
			p := tpl.Resources[id].Properties
			if p["AuthorizationType"] != "CUSTOM" || ref(p["AuthorizerId"]) != authorizerID || p["ApiKeyRequired"] != true {
				t.Errorf("method %s: AuthorizationType %v, AuthorizerId %v, ApiKeyRequired %v", id, p["AuthorizationType"], p["AuthorizerId"], p["ApiKeyRequired"])
			}
		}
	})
}

func TestStageLogsTracesAndThrottles(t *testing.T) {
	eachEnvironment(t, func(t *testing.T, env config.Environment, tpl *template) {
		apiID, _ := tpl.only(t, "AWS::ApiGateway::RestApi")
		stageID, stage := tpl.only(t, "AWS::ApiGateway::Stage")
		p := stage.Properties
		if p["StageName"] != env.StageName || p["TracingEnabled"] != true || ref(p["RestApiId"]) != apiID {
			t.Errorf("stage name %v, tracing %v, api %v", p["StageName"], p["TracingEnabled"], p["RestApiId"])
		}

		// Access log: to this stack's access log group, as JSON with the fields operators need.
		destination := refsIn(prop(p, "AccessLogSetting.DestinationArn"))
		if len(destination) != 1 || tpl.Resources[destination[0]].Type != "AWS::Logs::LogGroup" {
			t.Fatalf("stage writes access logs to %s, not to a log group of this stack", toJSON(prop(p, "AccessLogSetting.DestinationArn")))
		}
		accessLogID := destination[0]
		accessLog := tpl.Resources[accessLogID]
		checkLogGroup(t, "access log", accessLog, env.Logging)
		format, _ := prop(p, "AccessLogSetting.Format").(string)
		var fields map[string]string
		if err := json.Unmarshal([]byte(format), &fields); err != nil {
			t.Fatalf("access log format is not JSON: %v\n%s", err, format)
		}
		values := map[string]bool{}
		for _, v := range fields {
			values[v] = true
		}
		for _, v := range []string{"requestId", "extendedRequestId", "requestTime", "httpMethod", "path", "resourcePath", "status",
			"responseLatency", "integrationLatency", "identity.sourceIp", "identity.apiKeyId", "authorizer.principalId",
			"authorizer.error", "error.responseType", "xrayTraceId"} {
			if !values["$context."+v] {
				t.Errorf("access log lacks $context.%s", v)
			}
		}
		if values["$context.identity.apiKey"] {
			t.Error("access log must not contain $context.identity.apiKey: that is the key's value")
		}

		// Method settings for every resource and method.
		settings, _ := p["MethodSettings"].([]any)
		if len(settings) != 1 {
			t.Fatalf("MethodSettings = %s, want one entry for */*", toJSON(settings))
		}
		want := map[string]any{
			"HttpMethod": "*", "ResourcePath": "/*", "LoggingLevel": string(env.Logging.Level),
			"DataTraceEnabled": env.Logging.DataTrace, "MetricsEnabled": env.Logging.MetricsEnabled(),
			"ThrottlingRateLimit": env.Throttle.RateLimit, "ThrottlingBurstLimit": float64(env.Throttle.BurstLimit),
		}
		for key, value := range want {
			if got := prop(settings[0], key); got != value {
				t.Errorf("MethodSettings %s = %v, want %v", key, got, value)
			}
		}
		if env.Production && prop(settings[0], "DataTraceEnabled") != false {
			t.Error("data trace must be off in production")
		}

		// The execution log group is the stack's, with retention, and exists before the stage.
		var executionLogID string
		for _, id := range tpl.ofType("AWS::Logs::LogGroup") {
			name := toJSON(tpl.Resources[id].Properties["LogGroupName"])
			if strings.Contains(name, "API-Gateway-Execution-Logs_") {
				executionLogID = id
				wantName := fmt.Sprintf(`{"Fn::Join":["",["API-Gateway-Execution-Logs_",{"Ref":"%s"},"/%s"]]}`, apiID, env.StageName)
				if name != wantName {
					t.Errorf("execution log group name = %s, want %s", name, wantName)
				}
				checkLogGroup(t, "execution log", tpl.Resources[id], env.Logging)
			}
		}
		if executionLogID == "" {
			t.Fatal("no execution log group: API Gateway would create one with no retention")
		}
		if !slices.Contains(stage.dependsOn(), executionLogID) {
			t.Errorf("stage %s DependsOn %v, want %s", stageID, stage.dependsOn(), executionLogID)
		}

		// Outputs name both log groups.
		if ref(tpl.Outputs["AccessLogGroupName"].Value) != accessLogID || ref(tpl.Outputs["ExecutionLogGroupName"].Value) != executionLogID {
			t.Errorf("log group outputs = %v, %v", tpl.Outputs["AccessLogGroupName"].Value, tpl.Outputs["ExecutionLogGroupName"].Value)
		}
		if url := toJSON(tpl.Outputs["ApiUrl"].Value); !strings.Contains(url, apiID) || !strings.Contains(url, stageID) {
			t.Errorf("ApiUrl = %s", url)
		}
	})
}

func checkLogGroup(t *testing.T, what string, r resource, logging config.Logging) {
	t.Helper()
	if r.Properties["RetentionInDays"] != float64(logging.RetentionDays) {
		t.Errorf("%s retention = %v, want %d", what, r.Properties["RetentionInDays"], logging.RetentionDays)
	}
	want := "Retain"
	if logging.RemovalPolicy == config.RemovalDestroy {
		want = "Delete"
	}
	if r.DeletionPolicy != want {
		t.Errorf("%s DeletionPolicy = %q, want %q", what, r.DeletionPolicy, want)
	}
}

func TestCloudWatchRoleOnlyWhereConfigured(t *testing.T) {
	eachEnvironment(t, func(t *testing.T, env config.Environment, tpl *template) {
		accounts := tpl.ofType("AWS::ApiGateway::Account")
		if env.ManageCloudWatchRole != (len(accounts) == 1) {
			t.Errorf("manageCloudWatchRole %v, but %d AWS::ApiGateway::Account", env.ManageCloudWatchRole, len(accounts))
		}
		if len(accounts) == 1 {
			role := ref(tpl.Resources[accounts[0]].Properties["CloudWatchRoleArn"])
			if tpl.Resources[role].Type != "AWS::IAM::Role" || tpl.Resources[role].DeletionPolicy != "Retain" {
				t.Errorf("CloudWatch role %q: %+v", role, tpl.Resources[role])
			}
		}
	})
}

func TestUsagePlansAreBoundToTheStage(t *testing.T) {
	eachEnvironment(t, func(t *testing.T, env config.Environment, tpl *template) {
		apiID, _ := tpl.only(t, "AWS::ApiGateway::RestApi")
		stageID, _ := tpl.only(t, "AWS::ApiGateway::Stage")
		if got := len(tpl.ofType("AWS::ApiGateway::UsagePlan")); got != len(env.UsagePlans) {
			t.Errorf("got %d usage plans, want %d", got, len(env.UsagePlans))
		}
		for _, plan := range env.UsagePlans {
			id := stacks.UsagePlanLogicalID(plan.Name)
			r, ok := tpl.Resources[id]
			if !ok || r.Type != "AWS::ApiGateway::UsagePlan" {
				t.Errorf("no usage plan %s for %q", id, plan.Name)
				continue
			}
			p := r.Properties
			if ref(prop(p, "ApiStages.0.ApiId")) != apiID || ref(prop(p, "ApiStages.0.Stage")) != stageID {
				t.Errorf("plan %s bound to %s", plan.Name, toJSON(p["ApiStages"]))
			}
			if !slices.Contains(r.dependsOn(), stageID) {
				t.Errorf("plan %s DependsOn %v: it must wait for stage %s", plan.Name, r.dependsOn(), stageID)
			}
			if prop(p, "Throttle.RateLimit") != plan.Throttle.RateLimit || prop(p, "Throttle.BurstLimit") != float64(plan.Throttle.BurstLimit) {
				t.Errorf("plan %s throttle = %s", plan.Name, toJSON(p["Throttle"]))
			}
			if plan.Quota != nil && (prop(p, "Quota.Limit") != float64(plan.Quota.Limit) || prop(p, "Quota.Period") != string(plan.Quota.Period)) {
				t.Errorf("plan %s quota = %s", plan.Name, toJSON(p["Quota"]))
			}
			if !outputs(tpl, id) {
				t.Errorf("no output gives the id of plan %s", plan.Name)
			}
		}
	})
}

func TestAPIKeysAreAttachedToTheirPlans(t *testing.T) {
	eachEnvironment(t, func(t *testing.T, env config.Environment, tpl *template) {
		if len(env.APIKeys) == 0 {
			t.Fatal("the shipped config should show at least one key per environment")
		}
		checkKeys(t, env, tpl)
	})
}

// checkKeys proves every configured key is in its shard's nested stack,
// retained, attached to the usage plan of its configured plan (through the
// nested stack's parameter) and has its id as an output.
func checkKeys(t *testing.T, env config.Environment, tpl *template) {
	t.Helper()
	shardStacks := map[string]string{} // construct id prefix → logical id of nested stack
	for id := range tpl.nested {
		shardStacks[id] = id
	}
	keyCount := 0
	for stackID, nested := range tpl.nested {
		keyCount += len(nested.ofType("AWS::ApiGateway::ApiKey"))
		if n := len(nested.Resources); n > 500 {
			t.Errorf("nested stack %s has %d resources, CloudFormation allows 500", stackID, n)
		}
		if n := len(nested.Outputs); n > 200 {
			t.Errorf("nested stack %s has %d outputs, CloudFormation allows 200", stackID, n)
		}
	}
	if keyCount != len(env.APIKeys) {
		t.Errorf("%d API keys in nested stacks, want %d", keyCount, len(env.APIKeys))
	}
	for _, key := range env.APIKeys {
		keyID := stacks.APIKeyLogicalID(key.Name)
		wantStack := stacks.KeyStackID(config.KeyShard(key.Name))
		var nestedID string
		var nested *template
		for id, n := range tpl.nested {
			if _, ok := n.Resources[keyID]; ok {
				nestedID, nested = id, n
			}
		}
		if nested == nil {
			t.Errorf("key %q (%s) is in no nested stack", key.Name, keyID)
			continue
		}
		if !strings.HasPrefix(nestedID, wantStack+"NestedStack") {
			t.Errorf("key %q is in %s, want shard stack %s", key.Name, nestedID, wantStack)
		}
		apiKey := nested.Resources[keyID]
		if apiKey.DeletionPolicy != "Retain" || apiKey.UpdateReplacePolicy != "Retain" {
			t.Errorf("key %q: DeletionPolicy %q, UpdateReplacePolicy %q; want Retain for both", key.Name, apiKey.DeletionPolicy, apiKey.UpdateReplacePolicy)
		}
		if apiKey.Properties["Name"] != key.Name || apiKey.Properties["Enabled"] != key.IsEnabled() {
			t.Errorf("key %q: %s", key.Name, toJSON(apiKey.Properties))
		}
		value, hasValue := apiKey.Properties["Value"]
		switch {
		case key.SecretName == "" && hasValue:
			t.Errorf("key %q has a Value in the template", key.Name)
		case key.SecretName != "" && value != "{{resolve:secretsmanager:"+key.SecretName+":SecretString:::}}":
			t.Errorf("key %q: Value must be a dynamic reference to its secret, got %v", key.Name, value)
		}

		attachment, ok := nested.Resources[stacks.UsagePlanKeyLogicalID(key.Name)]
		if !ok || attachment.Type != "AWS::ApiGateway::UsagePlanKey" {
			t.Errorf("key %q has no usage plan key beside it", key.Name)
			continue
		}
		if ref(attachment.Properties["KeyId"]) != keyID || attachment.Properties["KeyType"] != "API_KEY" {
			t.Errorf("usage plan key of %q: %s", key.Name, toJSON(attachment.Properties))
		}
		// UsagePlanId is a parameter of the nested stack; the parent passes
		// the plan's id into it.
		param := ref(attachment.Properties["UsagePlanId"])
		passed := prop(tpl.Resources[nestedID].Properties, "Parameters."+param)
		if ref(passed) != stacks.UsagePlanLogicalID(key.Plan) {
			t.Errorf("key %q is attached to %s, want plan %s (%s)", key.Name, toJSON(passed), key.Plan, stacks.UsagePlanLogicalID(key.Plan))
		}
		if !outputs(nested, keyID) {
			t.Errorf("no output gives the id of key %q", key.Name)
		}
	}
}

func TestTagsOnEveryTaggableResource(t *testing.T) {
	eachEnvironment(t, func(t *testing.T, env config.Environment, tpl *template) {
		for _, typ := range []string{"AWS::ApiGateway::RestApi", "AWS::Lambda::Function", "AWS::Logs::LogGroup", "AWS::ApiGateway::UsagePlan", "AWS::ApiGateway::Stage"} {
			for _, id := range tpl.ofType(typ) {
				tags := toJSON(tpl.Resources[id].Properties["Tags"])
				for key, value := range env.Tags {
					if !strings.Contains(tags, fmt.Sprintf(`{"Key":%q,"Value":%q}`, key, value)) {
						t.Errorf("%s %s lacks tag %s=%s: %s", typ, id, key, value, tags)
					}
				}
			}
		}
	})
}

var assetKeyPattern = regexp.MustCompile(`^[0-9a-f]{64}\.zip$`)

func TestAuthorizerIsBuiltOncePerSynth(t *testing.T) {
	a := shipped(t)
	if got := a.gateways.Authorizer.Builds; got != 1 {
		t.Errorf("the authorizer was built %d times for %d stacks, want once", got, len(a.gateways.Stacks))
	}
	// …and all three stacks deploy the same asset.
	keys := map[string]bool{}
	for name, tpl := range a.templates {
		_, function := tpl.only(t, "AWS::Lambda::Function")
		key, _ := prop(function.Properties, "Code.S3Key").(string)
		keys[key] = true
		if len(keys) != 1 {
			t.Errorf("%s deploys asset %s, another stack a different one", name, key)
		}
	}
}

// outputs reports whether one of the template's outputs references id.
func outputs(tpl *template, id string) bool {
	for _, o := range tpl.Outputs {
		if ref(o.Value) == id {
			return true
		}
	}
	return false
}
