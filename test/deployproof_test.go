package test

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/test/synth"
)

// generatedVariables are the $context variables whose values API Gateway or
// keygate produce in a fixed form a client cannot put a '"' or '\' into: ids,
// times, numbers, enums, the method and resource path of a matched route, the
// source address, the authorizer's hex fingerprint and its fixed error
// messages. Every other variable is treated as client-controlled.
var generatedVariables = map[string]string{
	"$context.requestId":                     "c0ffee00-1111-2222-3333-444455556666",
	"$context.extendedRequestId":             "AbCdEfGhIjKlMnO=",
	"$context.requestTime":                   "25/Nov/2026:22:17:02 +0000",
	"$context.httpMethod":                    "GET",
	"$context.resourcePath":                  "/echo/{proxy+}",
	"$context.protocol":                      "HTTP/1.1",
	"$context.tlsVersion":                    "TLSv1.3",
	"$context.cipherSuite":                   "TLS_AES_128_GCM_SHA256",
	"$context.status":                        "403",
	"$context.responseLength":                "58",
	"$context.responseLatency":               "12",
	"$context.integrationLatency":            "-",
	"$context.integration.status":            "-",
	"$context.identity.sourceIp":             "203.0.113.7",
	"$context.identity.apiKeyId":             "-",
	"$context.authorizer.principalId":        "kf-0123456789abcdef01234567",
	"$context.authorizer.error":              "Unauthorized",
	"$context.authorizer.integrationLatency": "3",
	"$context.error.responseType":            "INVALID_API_KEY",
	"$context.xrayTraceId":                   "1-5f84c7a9-0123456789abcdef01234567",
}

// hostileValues are what a client can make a variable it controls hold.
var hostileValues = []string{`"`, `\`, `a","status":"200`, "\u0000", `}{`, "-"}

var contextVariable = regexp.MustCompile(`\$context\.[A-Za-z0-9_.]+`)

// API Gateway substitutes access-log variables as they are, unescaped
// (AWS-LIMITS.md; API Gateway developer guide, "Variables for access
// logging"): a client-controlled value inside quotes breaks the JSON line and
// the throttle metric filter skips it. The format is rendered here the way
// API Gateway renders it, with hostile values in every variable a client
// controls, and each line must parse as JSON with every field.
func TestAccessLogLinesStayJSONWhateverTheClientSends(t *testing.T) {
	eachEnvironment(t, func(t *testing.T, env config.Environment, tpl *synth.Template) {
		_, stage := tpl.Only(t, "AWS::ApiGateway::Stage")
		format, _ := synth.Prop(stage.Properties, "AccessLogSetting.Format").(string)
		variables := contextVariable.FindAllString(format, -1)
		if len(variables) == 0 {
			t.Fatalf("no $context variables in %q", format)
		}
		for _, hostile := range hostileValues {
			line := contextVariable.ReplaceAllStringFunc(format, func(variable string) string {
				if value, ok := generatedVariables[variable]; ok {
					return value
				}
				return hostile
			})
			var fields map[string]any
			if err := json.Unmarshal([]byte(line), &fields); err != nil {
				t.Errorf("with %q from the client the line is not JSON (%v):\n%s", hostile, err, line)
				continue
			}
			if len(fields) != len(variables) {
				t.Errorf("with %q from the client the line has %d fields, the format %d:\n%s", hostile, len(fields), len(variables), line)
			}
		}
	})
}

// A topic policy replaces SNS's default one; with only the TLS Deny,
// CloudWatch may not publish and alarm emails never arrive
// (aws-solutions/automated-security-response-on-aws#43).
func TestAlarmTopicLetsThisEnvironmentsAlarmsPublish(t *testing.T) {
	eachEnvironment(t, func(t *testing.T, env config.Environment, tpl *synth.Template) {
		topics := tpl.OfType("AWS::SNS::Topic")
		if len(env.Alarms.NotifyEmails) == 0 {
			if len(topics) != 0 {
				t.Errorf("topics %v without notifyEmails", topics)
			}
			return
		}
		topicID := topics[0]
		_, policy := tpl.Only(t, "AWS::SNS::TopicPolicy")
		if refs := synth.RefsIn(policy.Properties["Topics"]); !slices.Equal(refs, []string{topicID}) {
			t.Fatalf("topic policy applies to %v, want %s", refs, topicID)
		}
		var allow, tlsDeny bool
		for _, statement := range synth.Prop(policy.Properties, "PolicyDocument.Statement").([]any) {
			s := statement.(map[string]any)
			switch {
			case s["Effect"] == "Deny" && synth.At(s, "Condition", "Bool", "aws:SecureTransport") == "false":
				tlsDeny = true
			case s["Effect"] == "Allow" && synth.At(s, "Principal", "Service") == "cloudwatch.amazonaws.com":
				allow = s["Action"] == "sns:Publish" && synth.Ref(s["Resource"]) == topicID &&
					synth.Ref(synth.At(s, "Condition", "StringEquals", "aws:SourceAccount")) == "AWS::AccountId" &&
					strings.HasSuffix(synth.ToJSON(synth.At(s, "Condition", "ArnLike", "aws:SourceArn")), `":alarm:keygate-`+env.Name+`-*"]]}`)
			}
		}
		if !allow || !tlsDeny {
			t.Errorf("topic policy: CloudWatch may publish (scoped to this environment's alarms) %v, TLS enforced %v\n%s", allow, tlsDeny, synth.ToJSON(policy.Properties))
		}
		// Every alarm's name matches the allowed pattern.
		for _, id := range tpl.OfType("AWS::CloudWatch::Alarm") {
			if name, _ := tpl.Resources[id].Properties["AlarmName"].(string); !strings.HasPrefix(name, "keygate-"+env.Name+"-") {
				t.Errorf("alarm %s is named %q, outside the topic policy's pattern", id, name)
			}
		}
	})
}

// Dashboards are global per account: one environment deployed to two
// regions must not collide.
func TestDashboardNamesDoNotCollideAcrossRegions(t *testing.T) {
	eachEnvironment(t, func(t *testing.T, env config.Environment, tpl *synth.Template) {
		_, dashboard := tpl.Only(t, "AWS::CloudWatch::Dashboard")
		name := synth.ToJSON(dashboard.Properties["DashboardName"])
		if !strings.Contains(name, `"keygate-`+env.Name+`"`) || !strings.Contains(name, `{"Ref":"AWS::Region"}`) {
			t.Errorf("dashboard name %s does not hold the environment and the region", name)
		}
	})
}

// WAF must not block a client its plan allows, and its rate block must be a
// 429 a client can tell from a refused key; the managed rules that block
// ordinary API traffic count only.
func TestWAFRateRuleAnswers429AndLetsPlansThrough(t *testing.T) {
	eachEnvironment(t, func(t *testing.T, env config.Environment, tpl *synth.Template) {
		if !env.WAFEnabled() {
			return
		}
		_, acl := tpl.Only(t, "AWS::WAFv2::WebACL")
		rules := acl.Properties["Rules"].([]any)
		rate := rules[0]
		limit := synth.Prop(rate, "Statement.RateBasedStatement.Limit").(float64)
		window := synth.Prop(rate, "Statement.RateBasedStatement.EvaluationWindowSec").(float64)
		for _, plan := range env.UsagePlans {
			if most := float64(plan.Throttle.BurstLimit) + plan.Throttle.RateLimit*window; limit < most {
				t.Errorf("WAF allows %v requests per %v s, plan %s allows a key %v", limit, window, plan.Name, most)
			}
		}
		if code := synth.Prop(rate, "Action.Block.CustomResponse.ResponseCode"); code != float64(429) {
			t.Errorf("rate rule answers %v, want 429", code)
		}
		bodyKey := synth.Prop(rate, "Action.Block.CustomResponse.CustomResponseBodyKey").(string)
		var body map[string]any
		if err := json.Unmarshal([]byte(synth.At(acl.Properties, "CustomResponseBodies", bodyKey, "Content").(string)), &body); err != nil || body["message"] == nil {
			t.Errorf("rate-limited body %v is not keygate's error shape", synth.At(acl.Properties, "CustomResponseBodies", bodyKey))
		}
		headers := synth.ToJSON(synth.Prop(rate, "Action.Block.CustomResponse.ResponseHeaders"))
		if len(env.CORS.AllowedOrigins) == 1 {
			if want := `[{"Name":"Access-Control-Allow-Origin","Value":"` + env.CORS.AllowedOrigins[0] + `"}]`; headers != want {
				t.Errorf("WAF's 429 headers %s, want %s: a browser could not read it", headers, want)
			}
		} else if headers != "null" {
			t.Errorf("WAF's 429 headers %s without a single CORS origin", headers)
		}
		var counted []string
		for _, o := range synth.Prop(rules[1], "Statement.ManagedRuleGroupStatement.RuleActionOverrides").([]any) {
			if synth.Prop(o, "ActionToUse.Count") != nil {
				counted = append(counted, synth.Prop(o, "Name").(string))
			}
		}
		if !slices.Equal(counted, env.WAF.CountOnlyRules) || !slices.Contains(counted, "SizeRestrictions_BODY") {
			t.Errorf("count-only rules %v, want %v", counted, env.WAF.CountOnlyRules)
		}
	})
}

// API Gateway creates /aws/apigateway/welcome with no retention when the
// account's CloudWatch role is set; the environment that owns the role bounds
// it, through LogRetention because the group may already exist.
func TestWelcomeLogGroupGetsRetentionWhereTheRoleIsOwned(t *testing.T) {
	eachEnvironment(t, func(t *testing.T, env config.Environment, tpl *synth.Template) {
		var found []synth.Resource
		for _, id := range tpl.OfType("Custom::LogRetention") {
			if r := tpl.Resources[id]; r.Properties["LogGroupName"] == "/aws/apigateway/welcome" {
				found = append(found, r)
			}
		}
		if !env.ManageCloudWatchRole {
			if len(found) != 0 {
				t.Error("an environment that does not own the CloudWatch role manages the welcome log group")
			}
			return
		}
		if len(found) != 1 || found[0].Properties["RetentionInDays"] != float64(env.Logging.RetentionDays) || found[0].Properties["RemovalPolicy"] != "retain" {
			t.Errorf("welcome log group retention: %s", synth.ToJSON(found))
		}
		if len(tpl.OfType("AWS::Logs::LogGroup")) > 0 {
			for _, id := range tpl.OfType("AWS::Logs::LogGroup") {
				if tpl.Resources[id].Properties["LogGroupName"] == "/aws/apigateway/welcome" {
					t.Error("the welcome log group is created as AWS::Logs::LogGroup: that fails where it already exists")
				}
			}
		}
	})
}

// UpdateUsagePlan is limited to one request every 20 s per account, and a
// stage change updates every plan bound to it: plans wait for each other.
func TestUsagePlansAreUpdatedOneAtATime(t *testing.T) {
	eachEnvironment(t, func(t *testing.T, env config.Environment, tpl *synth.Template) {
		graph := synth.NewGraph(tpl)
		if ok, a, b := graph.TotallyOrdered(graph.ResourcesOfType("AWS::ApiGateway::UsagePlan"), graph.Ancestors()); !ok {
			t.Errorf("usage plans %s and %s may be created or updated at the same time", a, b)
		}
	})
}

// A request with an Authorization header to an undefined path or method gets
// a message that quotes the whole header ("'<key>' not a valid key=value
// pair (missing equal-sign) in Authorization header: 'Bearer <key>'",
// serverless/serverless#3205): the gateway responses that can carry it say
// something fixed, and no log holds the message.
func TestUndefinedRoutesNeverEchoTheAuthorizationHeader(t *testing.T) {
	eachEnvironment(t, func(t *testing.T, env config.Environment, tpl *synth.Template) {
		bodies := map[string]string{}
		for _, id := range tpl.OfType("AWS::ApiGateway::GatewayResponse") {
			r := tpl.Resources[id]
			body, _ := synth.At(r.Properties, "ResponseTemplates", "application/json").(string)
			bodies[r.Properties["ResponseType"].(string)] = body
		}
		for _, typ := range []string{"MISSING_AUTHENTICATION_TOKEN", "INVALID_SIGNATURE", "EXPIRED_TOKEN"} {
			body, ok := bodies[typ]
			if !ok || strings.Contains(body, "$context.error.message") {
				t.Errorf("%s answers %q: API Gateway's message would echo the Authorization header", typ, body)
			}
			var parsed map[string]any
			if err := json.Unmarshal([]byte(strings.ReplaceAll(body, "$context.requestId", "r")), &parsed); err != nil || parsed["message"] == "" {
				t.Errorf("%s body %q is not keygate's JSON shape", typ, body)
			}
		}
		_, stage := tpl.Only(t, "AWS::ApiGateway::Stage")
		if format, _ := synth.Prop(stage.Properties, "AccessLogSetting.Format").(string); strings.Contains(format, "$context.error.message") {
			t.Errorf("the access log holds the error message: %s", format)
		}
	})
}
