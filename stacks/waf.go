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
var managedRuleGroups = []string{"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"}

// newWebACL puts a regional WAFv2 web ACL in front of the stage: a rate limit
// per source IP first, then the managed rule groups, metrics on for each.
func newWebACL(scope constructs.Construct, env config.Environment, stage awsapigateway.Stage) awswafv2.CfnWebACL {
	scope = constructs.NewConstruct(scope, jsii.String("Waf"))
	metricPrefix := "keygate-" + env.Name
	visibility := func(name string) *awswafv2.CfnWebACL_VisibilityConfigProperty {
		return &awswafv2.CfnWebACL_VisibilityConfigProperty{
			CloudWatchMetricsEnabled: jsii.Bool(true),
			MetricName:               jsii.String(metricPrefix + "-" + name),
			SampledRequestsEnabled:   jsii.Bool(true),
		}
	}
	rules := []any{&awswafv2.CfnWebACL_RuleProperty{
		Name:     jsii.String("RateLimitPerSourceIp"),
		Priority: jsii.Number(0),
		Action:   &awswafv2.CfnWebACL_RuleActionProperty{Block: map[string]any{}},
		Statement: &awswafv2.CfnWebACL_StatementProperty{
			RateBasedStatement: &awswafv2.CfnWebACL_RateBasedStatementProperty{
				AggregateKeyType: jsii.String("IP"),
				Limit:            jsii.Number(env.WAF.RateLimitPerIP),
			},
		},
		VisibilityConfig: visibility("rate-limit-per-ip"),
	}}
	for i, group := range managedRuleGroups {
		rules = append(rules, &awswafv2.CfnWebACL_RuleProperty{
			Name:           jsii.String(group),
			Priority:       jsii.Number(i + 1),
			OverrideAction: &awswafv2.CfnWebACL_OverrideActionProperty{None: map[string]any{}},
			Statement: &awswafv2.CfnWebACL_StatementProperty{
				ManagedRuleGroupStatement: &awswafv2.CfnWebACL_ManagedRuleGroupStatementProperty{
					VendorName: jsii.String("AWS"),
					Name:       jsii.String(group),
				},
			},
			VisibilityConfig: visibility(group),
		})
	}
	acl := awswafv2.NewCfnWebACL(scope, jsii.String("WebAcl"), &awswafv2.CfnWebACLProps{
		Name:             jsii.String(metricPrefix),
		Description:      jsii.String("keygate " + env.Name + ": rate limit per IP and AWS managed rules"),
		Scope:            jsii.String("REGIONAL"),
		DefaultAction:    &awswafv2.CfnWebACL_DefaultActionProperty{Allow: map[string]any{}},
		VisibilityConfig: visibility("web-acl"),
		Rules:            &rules,
	})
	association := awswafv2.NewCfnWebACLAssociation(scope, jsii.String("StageAssociation"), &awswafv2.CfnWebACLAssociationProps{
		ResourceArn: stage.StageArn(),
		WebAclArn:   acl.AttrArn(),
	})
	// The stage must exist before WAF can attach to it.
	association.Node().AddDependency(stage)
	return acl
}
