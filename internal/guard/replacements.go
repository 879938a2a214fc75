package guard

import "strings"

// countedReplacements are the top-level properties whose change replaces a
// resource, for the types keygate synthesizes that the guard does not guard
// (those are in [rules]). The guard uses them only to count operations: a
// replacement is a create and a delete. They are the properties marked
// "Update requires: Replacement" in the CloudFormation resource reference,
// as the CDK CLI's resource database records them
// (node_modules/aws-cdk/db.json.gz, causesReplacement "yes"), which
// TestCountedReplacementsMatchTheCDKDatabase checks whenever it is
// installed.
var countedReplacements = map[string][]string{
	"AWS::ApiGateway::Account":          nil,
	"AWS::ApiGateway::Authorizer":       {"RestApiId"},
	"AWS::ApiGateway::Deployment":       {"DeploymentCanarySettings", "RestApiId"},
	"AWS::ApiGateway::GatewayResponse":  {"ResponseType", "RestApiId"},
	"AWS::ApiGateway::Method":           {"HttpMethod", "ResourceId", "RestApiId"},
	"AWS::ApiGateway::RequestValidator": {"Name", "RestApiId"},
	"AWS::ApiGateway::Resource":         {"ParentId", "PathPart", "RestApiId"},
	"AWS::CloudWatch::Alarm":            {"AlarmName"},
	"AWS::CloudWatch::Dashboard":        {"DashboardName"},
	"AWS::IAM::Policy":                  nil,
	"AWS::IAM::Role":                    {"Path", "RoleName"},
	"AWS::Lambda::Function":             {"FunctionName", "PackageType", "TenancyConfig"},
	"AWS::Lambda::Permission":           {"Action", "EventSourceToken", "FunctionName", "FunctionUrlAuthType", "InvokedViaFunctionUrl", "Principal", "PrincipalOrgID", "SourceAccount", "SourceArn"},
	"AWS::Logs::MetricFilter":           {"FilterName", "LogGroupName"},
	"AWS::SNS::Subscription":            {"Endpoint", "Protocol", "TopicArn"},
	"AWS::SNS::Topic":                   {"FifoTopic", "TopicName"},
	"AWS::SNS::TopicPolicy":             nil,
	"AWS::WAFv2::WebACL":                {"Name", "Scope"},
	"AWS::WAFv2::WebACLAssociation":     {"ResourceArn", "WebACLArn"},
}

// replacementProperties are the properties whose change replaces a
// resource of type typ, guarded or not. Custom resources (Custom::…)
// update in place: their provider decides what a change means.
func replacementProperties(typ string) []string {
	if rule, guarded := rules[typ]; guarded {
		return rule.replacementProperties
	}
	return countedReplacements[typ]
}

// KnowsReplacementsOf reports whether the guard knows which properties
// replace a resource of type typ, so that it counts its replacements as a
// create and a delete rather than an update. Every type keygate
// synthesizes must be known: a test checks the shipped templates.
func KnowsReplacementsOf(typ string) bool {
	_, guarded := rules[typ]
	_, counted := countedReplacements[typ]
	return guarded || counted || strings.HasPrefix(typ, "Custom::")
}
