package test

import (
	"encoding/json"
	"fmt"
	"github.com/keygate/keygate/test/synth"
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
func eachEnvironment(t *testing.T, test func(t *testing.T, env config.Environment, tpl *synth.Template)) {
	a := shipped(t)
	if len(a.Config.Environments) != 3 {
		t.Fatalf("want dev, staging and prod, got %d environments", len(a.Config.Environments))
	}
	for _, env := range a.Config.Environments {
		t.Run(env.Name, func(t *testing.T) {
			tpl, ok := a.Templates[env.StackName()]
			if !ok {
				t.Fatalf("no template for %s", env.StackName())
			}
			test(t, env, tpl)
		})
	}
}

func TestRestAPITakesTheKeyFromTheAuthorizer(t *testing.T) {
	eachEnvironment(t, func(t *testing.T, env config.Environment, tpl *synth.Template) {
		_, api := tpl.Only(t, "AWS::ApiGateway::RestApi")
		if got := api.Properties["ApiKeySourceType"]; got != "AUTHORIZER" {
			t.Errorf("ApiKeySourceType = %v, want AUTHORIZER", got)
		}
		if got := api.Properties["Name"]; got != env.StackName() {
			t.Errorf("Name = %v, want %s", got, env.StackName())
		}
		if got := synth.ToJSON(synth.Prop(api.Properties, "EndpointConfiguration.Types")); got != `["REGIONAL"]` {
			t.Errorf("endpoint types = %s", got)
		}
	})
}

func TestAuthorizerInvokesTheBundledFunction(t *testing.T) {
	eachEnvironment(t, func(t *testing.T, env config.Environment, tpl *synth.Template) {
		apiID, _ := tpl.Only(t, "AWS::ApiGateway::RestApi")
		authorizerID, authorizer := tpl.Only(t, "AWS::ApiGateway::Authorizer")
		functionID, function := tpl.AuthorizerFunction(t)

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
		if synth.Ref(p["RestApiId"]) != apiID {
			t.Errorf("authorizer belongs to %v, want %s", p["RestApiId"], apiID)
		}
		if !slices.Contains(synth.RefsIn(p["AuthorizerUri"]), functionID) {
			t.Errorf("AuthorizerUri %s does not invoke %s", synth.ToJSON(p["AuthorizerUri"]), functionID)
		}

		f := function.Properties
		for key, want := range map[string]any{"Runtime": "provided.al2023", "Handler": "bootstrap", "MemorySize": 256.0, "Timeout": 5.0} {
			if f[key] != want {
				t.Errorf("function %s = %v, want %v", key, f[key], want)
			}
		}
		if synth.ToJSON(f["Architectures"]) != `["arm64"]` || synth.Prop(f, "TracingConfig.Mode") != "Active" {
			t.Errorf("architectures %s, tracing %v", synth.ToJSON(f["Architectures"]), synth.Prop(f, "TracingConfig.Mode"))
		}
		if key, _ := synth.Prop(f, "Code.S3Key").(string); !assetKeyPattern.MatchString(key) {
			t.Errorf("code S3Key = %q, want a zipped asset named by its hash", key)
		}
		logGroupID := synth.Ref(synth.Prop(f, "LoggingConfig.LogGroup"))
		logGroup, ok := tpl.Resources[logGroupID]
		if !ok || logGroup.Type != "AWS::Logs::LogGroup" {
			t.Fatalf("function logs to %q, which is not a log group of this stack", logGroupID)
		}
		if logGroup.Properties["RetentionInDays"] != float64(env.Logging.RetentionDays) {
			t.Errorf("function log retention = %v, want %d", logGroup.Properties["RetentionInDays"], env.Logging.RetentionDays)
		}

		// The invoke permission: this function, API Gateway, and only this API.
		var permissions []synth.Resource
		for _, id := range tpl.OfType("AWS::Lambda::Permission") {
			if r := tpl.Resources[id]; synth.Ref(r.Properties["FunctionName"]) == functionID {
				permissions = append(permissions, r)
			}
		}
		if len(permissions) != 1 {
			t.Fatalf("want one permission on the authorizer function, got %d", len(permissions))
		}
		perm := permissions[0].Properties
		sourceRefs := synth.RefsIn(perm["SourceArn"])
		if perm["Principal"] != "apigateway.amazonaws.com" || perm["Action"] != "lambda:InvokeFunction" ||
			!slices.Contains(sourceRefs, apiID) || !slices.Contains(sourceRefs, authorizerID) {
			t.Errorf("permission = %s, want invoke by apigateway scoped to %s and %s", synth.ToJSON(perm), apiID, authorizerID)
		}
	})
}

func TestEveryMethodUsesTheAuthorizerAndRequiresAKey(t *testing.T) {
	eachEnvironment(t, func(t *testing.T, env config.Environment, tpl *synth.Template) {
		authorizerID, _ := tpl.Only(t, "AWS::ApiGateway::Authorizer")
		var methods []string
		for _, id := range tpl.OfType("AWS::ApiGateway::Method") {
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
			if p["AuthorizationType"] != "CUSTOM" || synth.Ref(p["AuthorizerId"]) != authorizerID || p["ApiKeyRequired"] != true {
				t.Errorf("method %s: AuthorizationType %v, AuthorizerId %v, ApiKeyRequired %v", id, p["AuthorizationType"], p["AuthorizerId"], p["ApiKeyRequired"])
			}
		}
	})
}

func TestStageLogsTracesAndThrottles(t *testing.T) {
	eachEnvironment(t, func(t *testing.T, env config.Environment, tpl *synth.Template) {
		apiID, _ := tpl.Only(t, "AWS::ApiGateway::RestApi")
		stageID, stage := tpl.Only(t, "AWS::ApiGateway::Stage")
		p := stage.Properties
		if p["StageName"] != env.StageName || p["TracingEnabled"] != true || synth.Ref(p["RestApiId"]) != apiID {
			t.Errorf("stage name %v, tracing %v, api %v", p["StageName"], p["TracingEnabled"], p["RestApiId"])
		}

		// Access log: to this stack's access log group, as JSON with the fields operators need.
		destination := synth.RefsIn(synth.Prop(p, "AccessLogSetting.DestinationArn"))
		if len(destination) != 1 || tpl.Resources[destination[0]].Type != "AWS::Logs::LogGroup" {
			t.Fatalf("stage writes access logs to %s, not to a log group of this stack", synth.ToJSON(synth.Prop(p, "AccessLogSetting.DestinationArn")))
		}
		accessLogID := destination[0]
		accessLog := tpl.Resources[accessLogID]
		checkLogGroup(t, "access log", accessLog, env.Logging)
		format, _ := synth.Prop(p, "AccessLogSetting.Format").(string)
		var fields map[string]string
		if err := json.Unmarshal([]byte(format), &fields); err != nil {
			t.Fatalf("access log format is not JSON: %v\n%s", err, format)
		}
		values := map[string]bool{}
		for _, v := range fields {
			values[v] = true
		}
		for _, v := range []string{"requestId", "extendedRequestId", "requestTime", "httpMethod", "resourcePath", "status",
			"responseLatency", "integrationLatency", "identity.sourceIp", "identity.apiKeyId", "authorizer.principalId",
			"authorizer.error", "error.responseType", "xrayTraceId", "tlsVersion", "cipherSuite"} {
			if !values["$context."+v] {
				t.Errorf("access log lacks $context.%s", v)
			}
		}
		if values["$context.identity.apiKey"] {
			t.Error("access log must not contain $context.identity.apiKey: that is the key's value")
		}
		// The error message can quote the Authorization header
		// (serverless/serverless#3205).
		if strings.Contains(format, "$context.error.message") {
			t.Error("access log must not contain the error message: it can quote the Authorization header, key included")
		}

		// Method settings for every synth.Resource and method.
		settings, _ := p["MethodSettings"].([]any)
		if len(settings) != 1 {
			t.Fatalf("MethodSettings = %s, want one entry for */*", synth.ToJSON(settings))
		}
		want := map[string]any{
			"HttpMethod": "*", "ResourcePath": "/*", "LoggingLevel": string(env.Logging.Level),
			"DataTraceEnabled": env.Logging.DataTrace, "MetricsEnabled": env.Logging.MetricsEnabled(),
			"ThrottlingRateLimit": env.Throttle.RateLimit, "ThrottlingBurstLimit": float64(env.Throttle.BurstLimit),
		}
		for key, value := range want {
			if got := synth.Prop(settings[0], key); got != value {
				t.Errorf("MethodSettings %s = %v, want %v", key, got, value)
			}
		}
		if env.Production && synth.Prop(settings[0], "DataTraceEnabled") != false {
			t.Error("data trace must be off in production")
		}

		// The execution log group is the stack's, with retention, and exists before the stage.
		var executionLogID string
		for _, id := range tpl.OfType("AWS::Logs::LogGroup") {
			name := synth.ToJSON(tpl.Resources[id].Properties["LogGroupName"])
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
		if !slices.Contains(stage.DependsOnIDs(), executionLogID) {
			t.Errorf("stage %s DependsOn %v, want %s", stageID, stage.DependsOnIDs(), executionLogID)
		}

		// Outputs name both log groups.
		if synth.Ref(tpl.Outputs["AccessLogGroupName"].Value) != accessLogID || synth.Ref(tpl.Outputs["ExecutionLogGroupName"].Value) != executionLogID {
			t.Errorf("log group outputs = %v, %v", tpl.Outputs["AccessLogGroupName"].Value, tpl.Outputs["ExecutionLogGroupName"].Value)
		}
		if url := synth.ToJSON(tpl.Outputs["ApiUrl"].Value); !strings.Contains(url, apiID) || !strings.Contains(url, stageID) {
			t.Errorf("ApiUrl = %s", url)
		}
	})
}

func checkLogGroup(t *testing.T, what string, r synth.Resource, logging config.Logging) {
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
	eachEnvironment(t, func(t *testing.T, env config.Environment, tpl *synth.Template) {
		accounts := tpl.OfType("AWS::ApiGateway::Account")
		if env.ManageCloudWatchRole != (len(accounts) == 1) {
			t.Errorf("manageCloudWatchRole %v, but %d AWS::ApiGateway::Account", env.ManageCloudWatchRole, len(accounts))
		}
		if len(accounts) == 1 {
			role := synth.Ref(tpl.Resources[accounts[0]].Properties["CloudWatchRoleArn"])
			if tpl.Resources[role].Type != "AWS::IAM::Role" || tpl.Resources[role].DeletionPolicy != "Retain" {
				t.Errorf("CloudWatch role %q: %+v", role, tpl.Resources[role])
			}
		}
	})
}

func TestUsagePlansAreBoundToTheStage(t *testing.T) {
	eachEnvironment(t, func(t *testing.T, env config.Environment, tpl *synth.Template) {
		apiID, _ := tpl.Only(t, "AWS::ApiGateway::RestApi")
		stageID, _ := tpl.Only(t, "AWS::ApiGateway::Stage")
		if got := len(tpl.OfType("AWS::ApiGateway::UsagePlan")); got != len(env.UsagePlans) {
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
			if synth.Ref(synth.Prop(p, "ApiStages.0.ApiId")) != apiID || synth.Ref(synth.Prop(p, "ApiStages.0.Stage")) != stageID {
				t.Errorf("plan %s bound to %s", plan.Name, synth.ToJSON(p["ApiStages"]))
			}
			if !slices.Contains(r.DependsOnIDs(), stageID) {
				t.Errorf("plan %s DependsOn %v: it must wait for stage %s", plan.Name, r.DependsOnIDs(), stageID)
			}
			if synth.Prop(p, "Throttle.RateLimit") != plan.Throttle.RateLimit || synth.Prop(p, "Throttle.BurstLimit") != float64(plan.Throttle.BurstLimit) {
				t.Errorf("plan %s throttle = %s", plan.Name, synth.ToJSON(p["Throttle"]))
			}
			if plan.Quota != nil && (synth.Prop(p, "Quota.Limit") != float64(plan.Quota.Limit) || synth.Prop(p, "Quota.Period") != string(plan.Quota.Period)) {
				t.Errorf("plan %s quota = %s", plan.Name, synth.ToJSON(p["Quota"]))
			}
			if !synth.HasOutputFor(tpl, id) {
				t.Errorf("no output gives the id of plan %s", plan.Name)
			}
		}
	})
}

func TestAPIKeysAreAttachedToTheirPlans(t *testing.T) {
	eachEnvironment(t, func(t *testing.T, env config.Environment, tpl *synth.Template) {
		if len(env.APIKeys) == 0 {
			t.Fatal("the shipped config should show at least one key per environment")
		}
		synth.CheckKeys(t, env, tpl)
	})
}

var assetKeyPattern = regexp.MustCompile(`^[0-9a-f]{64}\.zip$`)

func TestAuthorizerIsBuiltOncePerSynth(t *testing.T) {
	a := shipped(t)
	if got := a.Gateways.Authorizer.Builds; got != 1 {
		t.Errorf("the authorizer was built %d times for %d stacks, want once", got, len(a.Gateways.Stacks))
	}
	// …and all three stacks deploy the same asset.
	keys := map[string]bool{}
	for name, tpl := range a.Templates {
		_, function := tpl.AuthorizerFunction(t)
		key, _ := synth.Prop(function.Properties, "Code.S3Key").(string)
		keys[key] = true
		if len(keys) != 1 {
			t.Errorf("%s deploys asset %s, another stack a different one", name, key)
		}
	}
}

func TestTagsOnEveryTaggableResource(t *testing.T) {
	eachEnvironment(t, func(t *testing.T, env config.Environment, tpl *synth.Template) {
		for _, typ := range []string{"AWS::ApiGateway::RestApi", "AWS::Lambda::Function", "AWS::Logs::LogGroup", "AWS::ApiGateway::UsagePlan", "AWS::ApiGateway::Stage"} {
			for _, id := range tpl.OfType(typ) {
				tags := synth.ToJSON(tpl.Resources[id].Properties["Tags"])
				for key, value := range env.Tags {
					if !strings.Contains(tags, fmt.Sprintf(`{"Key":%q,"Value":%q}`, key, value)) {
						t.Errorf("%s %s lacks tag %s=%s: %s", typ, id, key, value, tags)
					}
				}
			}
		}
	})
}
