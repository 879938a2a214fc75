package test

import (
	"encoding/csv"
	"fmt"
	"github.com/keygate/keygate/test/synth"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/stacks"
)

// TestRulePacksHaveNoUnacknowledgedFindings reads the cdk-nag reports the
// synthesis wrote: both packs ran on every stack (nested key stacks
// included), nothing is non-compliant, and every acknowledgment has a reason.
func TestRulePacksHaveNoUnacknowledgedFindings(t *testing.T) {
	a := shipped(t)
	reports, _ := filepath.Glob(filepath.Join(a.Dir, "*-NagReport.csv"))
	for _, env := range a.Config.Environments {
		for _, pack := range []string{"AwsSolutions", "Serverless"} {
			name := fmt.Sprintf("%s--%s-NagReport.csv", pack, env.StackName())
			if !slices.Contains(reports, filepath.Join(a.Dir, name)) {
				t.Errorf("no %s report for %s", pack, env.StackName())
			}
		}
	}
	if want := len(a.Config.Environments) * 2 * (1 + 2); len(reports) < want {
		t.Errorf("%d reports, want at least %d (two packs for each stack and nested stack)", len(reports), want)
	}
	suppressed := 0
	for _, report := range reports {
		f, err := os.Open(report)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", report, err)
		}
		for _, row := range rows[1:] { // Rule ID, Resource ID, Compliance, Exception Reason, Rule Level, Rule Info
			switch row[2] {
			case "Non-Compliant":
				t.Errorf("%s: %s on %s (%s) is not acknowledged", filepath.Base(report), row[0], row[1], row[4])
			case "Suppressed":
				suppressed++
				if len(strings.TrimSpace(row[3])) < 20 {
					t.Errorf("%s: acknowledgment of %s on %s has no real reason: %q", filepath.Base(report), row[0], row[1], row[3])
				}
			}
		}
	}
	if suppressed == 0 {
		t.Error("no acknowledged findings at all: the reports were not read or the packs did not run")
	}
}

func TestAuthorizerRoleWritesOnlyItsOwnLogs(t *testing.T) {
	eachEnvironment(t, func(t *testing.T, env config.Environment, tpl *synth.Template) {
		functionID, function := tpl.AuthorizerFunction(t)
		roleID := synth.Ref(function.Properties["Role"])
		role := tpl.Resources[roleID]
		if role.Type != "AWS::IAM::Role" {
			t.Fatalf("function %s has role %q", functionID, roleID)
		}
		if managed := role.Properties["ManagedPolicyArns"]; managed != nil {
			t.Errorf("authorizer role uses managed policies %s", synth.ToJSON(managed))
		}
		logGroupID := synth.Ref(synth.Prop(function.Properties, "LoggingConfig.LogGroup"))
		statements, _ := synth.Prop(role.Properties, "Policies.0.PolicyDocument.Statement").([]any)
		if len(statements) != 1 || synth.ToJSON(synth.Prop(statements[0], "Action")) != `["logs:CreateLogStream","logs:PutLogEvents"]` ||
			!slices.Contains(synth.RefsIn(synth.Prop(statements[0], "Resource")), logGroupID) {
			t.Errorf("inline policy = %s, want log writes to %s only", synth.ToJSON(statements), logGroupID)
		}
	})
}

func TestMethodsValidateRequests(t *testing.T) {
	eachEnvironment(t, func(t *testing.T, env config.Environment, tpl *synth.Template) {
		validatorID, validator := tpl.Only(t, "AWS::ApiGateway::RequestValidator")
		if validator.Properties["ValidateRequestParameters"] != true {
			t.Errorf("validator = %s", synth.ToJSON(validator.Properties))
		}
		for _, id := range tpl.OfType("AWS::ApiGateway::Method") {
			p := tpl.Resources[id].Properties
			if p["HttpMethod"] == "OPTIONS" {
				continue
			}
			if synth.Ref(p["RequestValidatorId"]) != validatorID {
				t.Errorf("method %s does not use request validator %s", id, validatorID)
			}
		}
	})
}

func TestGatewayResponsesAreJSONWithTheBearerChallenge(t *testing.T) {
	eachEnvironment(t, func(t *testing.T, env config.Environment, tpl *synth.Template) {
		apiID, _ := tpl.Only(t, "AWS::ApiGateway::RestApi")
		byType := map[string]synth.Resource{}
		for _, id := range tpl.OfType("AWS::ApiGateway::GatewayResponse") {
			r := tpl.Resources[id]
			byType[r.Properties["ResponseType"].(string)] = r
			if synth.Ref(r.Properties["RestApiId"]) != apiID {
				t.Errorf("gateway response %s belongs to %v", id, r.Properties["RestApiId"])
			}
			fixed := stacks.FixedGatewayResponseMessages()[r.Properties["ResponseType"].(string)]
			if synth.At(r.Properties, "ResponseTemplates", "application/json") != stacks.GatewayResponseBody(fixed) {
				t.Errorf("gateway response %s body = %v", id, synth.At(r.Properties, "ResponseTemplates", "application/json"))
			}
			origin := synth.At(r.Properties, "ResponseParameters", "gatewayresponse.header.Access-Control-Allow-Origin")
			if env.CORS.Enabled() != (origin != nil) {
				t.Errorf("%s: CORS configured %v, Access-Control-Allow-Origin %v", id, env.CORS.Enabled(), origin)
			}
			if env.CORS.Enabled() && len(env.CORS.AllowedOrigins) == 1 && origin != "'"+env.CORS.AllowedOrigins[0]+"'" {
				t.Errorf("%s: Access-Control-Allow-Origin = %v, want the configured origin", id, origin)
			}
		}
		for responseType, status := range map[string]any{
			"UNAUTHORIZED": "401", "ACCESS_DENIED": "403", "INVALID_API_KEY": "403",
			"THROTTLED": "429", "QUOTA_EXCEEDED": "429", "DEFAULT_4XX": nil, "DEFAULT_5XX": nil,
			"MISSING_AUTHENTICATION_TOKEN": nil, "INVALID_SIGNATURE": nil, "EXPIRED_TOKEN": nil,
		} {
			r, ok := byType[responseType]
			if !ok {
				t.Errorf("no gateway response for %s", responseType)
				continue
			}
			if r.Properties["StatusCode"] != status {
				t.Errorf("%s status = %v, want %v", responseType, r.Properties["StatusCode"], status)
			}
		}
		challenge := synth.At(byType["UNAUTHORIZED"].Properties, "ResponseParameters", "gatewayresponse.header.WWW-Authenticate")
		if want := fmt.Sprintf(`'Bearer realm="%s"'`, stacks.BearerRealm(env)); challenge != want {
			t.Errorf("WWW-Authenticate = %v, want %s", challenge, want)
		}
	})
}

func TestCORSPreflightOnlyWhereConfigured(t *testing.T) {
	eachEnvironment(t, func(t *testing.T, env config.Environment, tpl *synth.Template) {
		preflights := 0
		for _, id := range tpl.OfType("AWS::ApiGateway::Method") {
			p := tpl.Resources[id].Properties
			if p["HttpMethod"] != "OPTIONS" {
				continue
			}
			preflights++
			if p["AuthorizationType"] != "NONE" || p["ApiKeyRequired"] == true {
				t.Errorf("preflight %s needs credentials a browser never sends: %s", id, synth.ToJSON(p))
			}
			allowOrigin := synth.At(synth.Prop(p, "Integration.IntegrationResponses.0"), "ResponseParameters", "method.response.header.Access-Control-Allow-Origin")
			if allowOrigin != "'"+env.CORS.AllowedOrigins[0]+"'" {
				t.Errorf("preflight %s allows origin %v", id, allowOrigin)
			}
		}
		if env.CORS.Enabled() != (preflights > 0) {
			t.Errorf("CORS configured %v, %d preflight methods", env.CORS.Enabled(), preflights)
		}
	})
}

func TestWebACLGuardsTheStageWhereEnabled(t *testing.T) {
	eachEnvironment(t, func(t *testing.T, env config.Environment, tpl *synth.Template) {
		acls, associations := tpl.OfType("AWS::WAFv2::WebACL"), tpl.OfType("AWS::WAFv2::WebACLAssociation")
		if !env.WAFEnabled() {
			if len(acls)+len(associations) != 0 {
				t.Errorf("WAF is off, but the template has %v %v", acls, associations)
			}
			return
		}
		aclID, acl := tpl.Only(t, "AWS::WAFv2::WebACL")
		_, association := tpl.Only(t, "AWS::WAFv2::WebACLAssociation")
		stageID, _ := tpl.Only(t, "AWS::ApiGateway::Stage")
		if synth.Ref(association.Properties["WebACLArn"]) != aclID || !slices.Contains(synth.RefsIn(association.Properties["ResourceArn"]), stageID) {
			t.Errorf("association = %s, want %s on stage %s", synth.ToJSON(association.Properties), aclID, stageID)
		}
		if acl.Properties["Scope"] != "REGIONAL" || synth.Prop(acl.Properties, "VisibilityConfig.CloudWatchMetricsEnabled") != true {
			t.Errorf("web ACL = %s", synth.ToJSON(acl.Properties))
		}
		rules, _ := acl.Properties["Rules"].([]any)
		var names []string
		for _, rule := range rules {
			names = append(names, synth.Prop(rule, "Name").(string))
			if synth.Prop(rule, "VisibilityConfig.CloudWatchMetricsEnabled") != true {
				t.Errorf("rule %v has no metrics", synth.Prop(rule, "Name"))
			}
		}
		if want := "RateLimitPerSourceIp,AWSManagedRulesCommonRuleSet,AWSManagedRulesKnownBadInputsRuleSet"; strings.Join(names, ",") != want {
			t.Errorf("rules = %v, want %s", names, want)
		}
		rate := synth.Prop(rules[0], "Statement.RateBasedStatement")
		if synth.Prop(rate, "Limit") != float64(env.WAFRateLimit()) || synth.Prop(rate, "AggregateKeyType") != "IP" || synth.Prop(rules[0], "Action.Block") == nil {
			t.Errorf("rate rule = %s", synth.ToJSON(rules[0]))
		}
	})
}

func TestAlarmsWatchTheStageAndTheAuthorizer(t *testing.T) {
	eachEnvironment(t, func(t *testing.T, env config.Environment, tpl *synth.Template) {
		functionID, _ := tpl.AuthorizerFunction(t)
		alarms := map[string]synth.Resource{}
		for _, id := range tpl.OfType("AWS::CloudWatch::Alarm") {
			r := tpl.Resources[id]
			name, _ := r.Properties["AlarmName"].(string)
			alarms[strings.TrimPrefix(name, "keygate-"+env.Name+"-")] = r
		}
		want := map[string]float64{
			"ServerErrorRate":      env.Alarms.ServerErrorRatePercent,
			"ClientErrorRate":      env.Alarms.ClientErrorRatePercent,
			"LatencyP99":           float64(env.Alarms.LatencyP99Millis),
			"AuthorizerErrors":     float64(env.Alarms.AuthorizerErrors),
			"AuthorizerThrottles":  float64(env.Alarms.AuthorizerThrottles),
			"AuthorizerLatencyP99": float64(env.Alarms.AuthorizerLatencyP99Millis),
		}
		if len(alarms) != len(want) {
			t.Errorf("alarms = %v", slices.Sorted(maps.Keys(alarms)))
		}
		for name, threshold := range want {
			a, ok := alarms[name]
			if !ok {
				t.Errorf("no alarm %s", name)
				continue
			}
			if a.Properties["Threshold"] != threshold || a.Properties["TreatMissingData"] != "notBreaching" {
				t.Errorf("alarm %s: threshold %v (want %v), missing data %v", name, a.Properties["Threshold"], threshold, a.Properties["TreatMissingData"])
			}
			body := synth.ToJSON(a.Properties)
			if strings.HasPrefix(name, "Authorizer") {
				if !slices.Contains(synth.RefsIn(a.Properties["Dimensions"]), functionID) {
					t.Errorf("alarm %s does not watch %s: %s", name, functionID, body)
				}
			} else if !strings.Contains(body, `"Stage"`) || !strings.Contains(body, env.StageName) {
				t.Errorf("alarm %s does not watch stage %s: %s", name, env.StageName, body)
			}
			actions := synth.RefsIn(a.Properties["AlarmActions"])
			if len(env.Alarms.NotifyEmails) > 0 && (len(actions) != 1 || tpl.Resources[actions[0]].Type != "AWS::SNS::Topic") {
				t.Errorf("alarm %s notifies %v, want the alarm topic", name, actions)
			}
		}

		topics := tpl.OfType("AWS::SNS::Topic")
		if len(env.Alarms.NotifyEmails) == 0 {
			if len(topics) != 0 {
				t.Errorf("no emails configured, but topics %v", topics)
			}
		} else {
			topicID, _ := tpl.Only(t, "AWS::SNS::Topic")
			var emails []string
			for _, id := range tpl.OfType("AWS::SNS::Subscription") {
				p := tpl.Resources[id].Properties
				if synth.Ref(p["TopicArn"]) == topicID && p["Protocol"] == "email" {
					emails = append(emails, p["Endpoint"].(string))
				}
			}
			if synth.ToJSON(emails) != synth.ToJSON(env.Alarms.NotifyEmails) {
				t.Errorf("subscriptions %v, want %v", emails, env.Alarms.NotifyEmails)
			}
		}
	})
}

func TestDashboardAndThrottleMetric(t *testing.T) {
	eachEnvironment(t, func(t *testing.T, env config.Environment, tpl *synth.Template) {
		dashboardID, dashboard := tpl.Only(t, "AWS::CloudWatch::Dashboard")
		body := synth.ToJSON(dashboard.Properties["DashboardBody"])
		for _, title := range []string{"Requests", "Errors by class", "Latency", "Authorizer invocations vs. cache", "Throttled requests (429)", "Authorizer health"} {
			if !strings.Contains(body, title) {
				t.Errorf("dashboard lacks the %q widget", title)
			}
		}
		if url := synth.ToJSON(tpl.Outputs["DashboardUrl"].Value); !strings.Contains(url, "#dashboards:name=") || !strings.Contains(url, dashboardID) {
			t.Errorf("DashboardUrl = %s", url)
		}
		_, filter := tpl.Only(t, "AWS::Logs::MetricFilter")
		accessLogID := synth.Ref(tpl.Outputs["AccessLogGroupName"].Value)
		if synth.Ref(filter.Properties["LogGroupName"]) != accessLogID || filter.Properties["FilterPattern"] != `{ $.status = "429" }` ||
			synth.Prop(filter.Properties, "MetricTransformations.0.MetricNamespace") != stacks.ThrottledRequestsNamespace(env) {
			t.Errorf("throttle metric filter = %s", synth.ToJSON(filter.Properties))
		}
	})
}
