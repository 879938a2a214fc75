package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awswafv2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/keygate/keygate/internal/config"
)

// managedRuleGroups are the AWS managed rule groups every web ACL runs:
// the common rule set (OWASP-style request checks) and known bad inputs
// (Log4Shell-style payloads and the like).
var managedRuleGroups = []string{commonRuleSet, "AWSManagedRulesKnownBadInputsRuleSet"}

// wafMetricName is the CloudWatch metric name of a web ACL's rule (or of
// the web ACL itself); the dashboard reads WAF's metrics by these names.
func wafMetricName(env config.Environment, name string) string {
	return "keygate-" + env.Name + "-" + name
}

const (
	wafRateRuleMetric  = "rate-limit-per-ip"
	commonRuleSet      = "AWSManagedRulesCommonRuleSet"
	rateLimitedBodyKey = "rate-limited"
)

// countOnly overrides rules of a managed group to count instead of block:
// their matches still show in WAF's metrics and sampled requests.
func countOnly(ruleNames []string) *[]any {
	overrides := make([]any, 0, len(ruleNames))
	for _, name := range ruleNames {
		overrides = append(overrides, &awswafv2.CfnWebACL_RuleActionOverrideProperty{
			Name:        jsii.String(name),
			ActionToUse: &awswafv2.CfnWebACL_RuleActionProperty{Count: map[string]any{}},
		})
	}
	return &overrides
}

// newWebACL puts a regional WAFv2 web ACL in front of the stage: a rate limit
// per source IP first, then the managed rule groups, metrics on for each.
func newWebACL(scope constructs.Construct, env config.Environment, stage awsapigateway.Stage) awswafv2.CfnWebACL {
	scope = constructs.NewConstruct(scope, jsii.String("Waf"))
	visibility := func(name string) *awswafv2.CfnWebACL_VisibilityConfigProperty {
		return &awswafv2.CfnWebACL_VisibilityConfigProperty{
			CloudWatchMetricsEnabled: jsii.Bool(true),
			MetricName:               jsii.String(wafMetricName(env, name)),
			SampledRequestsEnabled:   jsii.Bool(true),
		}
	}
	rules := []any{&awswafv2.CfnWebACL_RuleProperty{
		Name:     jsii.String("RateLimitPerSourceIp"),
		Priority: jsii.Number(0),
		// A rate-based block is a 403 by default, which a client cannot
		// tell from a refused key; 429 says "slow down", as API Gateway's
		// own throttling does (AWS WAF developer guide, "Custom responses
		// for Block actions").
		Action: &awswafv2.CfnWebACL_RuleActionProperty{Block: &awswafv2.CfnWebACL_BlockActionProperty{
			CustomResponse: &awswafv2.CfnWebACL_CustomResponseProperty{
				ResponseCode:          jsii.Number(429),
				CustomResponseBodyKey: jsii.String(rateLimitedBodyKey),
				ResponseHeaders:       wafCORSHeaders(env.CORS),
			},
		}},
		Statement: &awswafv2.CfnWebACL_StatementProperty{
			RateBasedStatement: &awswafv2.CfnWebACL_RateBasedStatementProperty{
				AggregateKeyType:    jsii.String("IP"),
				Limit:               jsii.Number(env.WAFRateLimit()),
				EvaluationWindowSec: jsii.Number(env.WAF.EvaluationWindowSeconds),
			},
		},
		VisibilityConfig: visibility(wafRateRuleMetric),
	}}
	for i, group := range managedRuleGroups {
		statement := &awswafv2.CfnWebACL_ManagedRuleGroupStatementProperty{
			VendorName: jsii.String("AWS"),
			Name:       jsii.String(group),
		}
		if group == commonRuleSet && len(env.WAF.CountOnlyRules) > 0 {
			statement.RuleActionOverrides = countOnly(env.WAF.CountOnlyRules)
		}
		rules = append(rules, &awswafv2.CfnWebACL_RuleProperty{
			Name:             jsii.String(group),
			Priority:         jsii.Number(i + 1),
			OverrideAction:   &awswafv2.CfnWebACL_OverrideActionProperty{None: map[string]any{}},
			Statement:        &awswafv2.CfnWebACL_StatementProperty{ManagedRuleGroupStatement: statement},
			VisibilityConfig: visibility(group),
		})
	}
	acl := awswafv2.NewCfnWebACL(scope, jsii.String("WebAcl"), &awswafv2.CfnWebACLProps{
		Name:             jsii.String("keygate-" + env.Name),
		Description:      jsii.String("keygate " + env.Name + ": rate limit per IP and AWS managed rules"),
		Scope:            jsii.String("REGIONAL"),
		DefaultAction:    &awswafv2.CfnWebACL_DefaultActionProperty{Allow: map[string]any{}},
		VisibilityConfig: visibility("web-acl"),
		Rules:            &rules,
		CustomResponseBodies: map[string]any{rateLimitedBodyKey: &awswafv2.CfnWebACL_CustomResponseBodyProperty{
			ContentType: jsii.String("APPLICATION_JSON"),
			// The shape of keygate's gateway responses (responses.go).
			Content: jsii.String(`{"message":"Too Many Requests"}`),
		}},
	})
	association := awswafv2.NewCfnWebACLAssociation(scope, jsii.String("StageAssociation"), &awswafv2.CfnWebACLAssociationProps{
		ResourceArn: stage.StageArn(),
		WebAclArn:   acl.AttrArn(),
	})
	// The stage must exist before WAF can attach to it.
	association.Node().AddDependency(stage)
	return acl
}

// wafCORSHeaders let a browser on the allowed origin read WAF's 429, which
// never passes through API Gateway's gateway responses (and their CORS
// headers). A custom response may carry any header but content-type, under
// its own name: WAF prefixes x-amzn-waf- only to headers it inserts into
// forwarded requests (AWS WAF developer guide, "Custom responses for Block
// actions"; CloudFormation, AWS::WAFv2::WebACL CustomHTTPHeader). A response
// cannot choose among several origins, so only a single one (or "*") is sent.
func wafCORSHeaders(cors config.CORS) *[]any {
	if len(cors.AllowedOrigins) != 1 {
		return nil
	}
	return &[]any{&awswafv2.CfnWebACL_CustomHTTPHeaderProperty{
		Name:  jsii.String("Access-Control-Allow-Origin"),
		Value: jsii.String(cors.AllowedOrigins[0]),
	}}
}
