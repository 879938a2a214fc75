package iampolicy

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/keygate/keygate/test/synth"
)

// The placeholders of deploy/iam/*.json and what the tests put in them.
var placeholders = strings.NewReplacer(
	"ACCOUNT_ID", account, "REGION", region, "GITHUB_REPOSITORY", "example-org/keygate", "ENVIRONMENT", "dev")

const (
	account = "123456789012"
	region  = "eu-west-1"
)

var policyDir = filepath.Join(synth.ModuleDir, "deploy", "iam")

// load reads a policy file with its placeholders filled in.
func load(t *testing.T, name string) Document {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(policyDir, name))
	if err != nil {
		t.Fatal(err)
	}
	d, err := Parse(name, []byte(placeholders.Replace(string(data))))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// executionPolicyFiles are the managed policies of the bootstrap execution
// role, split in two because one managed policy holds at most 6,144
// characters (IAM quotas); cdk bootstrap takes both.
var executionPolicyFiles = []string{"cloudformation-execution-apis.json", "cloudformation-execution-roles-and-monitoring.json"}

// loadExecutionPolicy is the execution role's policies as one document:
// what IAM evaluates when CloudFormation acts with that role.
func loadExecutionPolicy(t *testing.T) Document {
	t.Helper()
	var merged Document
	for _, name := range executionPolicyFiles {
		d := load(t, name)
		merged.Version = d.Version
		merged.Statement = append(merged.Statement, d.Statement...)
	}
	return merged
}

// IAM refuses a managed policy over 6,144 characters, whitespace not
// counted ("IAM and AWS STS quotas": managed policy size), so
// `aws iam create-policy` would fail on the README's first-deploy step.
// Filled in with the longest values the placeholders take.
func TestEveryManagedPolicyFitsIAMsSizeLimit(t *testing.T) {
	longest := strings.NewReplacer("ACCOUNT_ID", account, "REGION", "ap-southeast-2", "GITHUB_REPOSITORY",
		strings.Repeat("o", 39)+"/"+strings.Repeat("r", 100), "ENVIRONMENT", strings.Repeat("e", 31))
	files, _ := filepath.Glob(filepath.Join(policyDir, "*.json"))
	for _, file := range files {
		if strings.HasSuffix(file, "-trust.json") {
			continue // a trust policy is part of the role, limited separately
		}
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, []byte(longest.Replace(string(data)))); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if n := compact.Len(); n > 6144 {
			t.Errorf("%s: %d characters without whitespace; IAM allows 6,144 per managed policy: split it", filepath.Base(file), n)
		}
	}
}

func TestEveryPolicyParsesAndGrantsNoWildcardAction(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(policyDir, "*.json"))
	if len(files) < 5 {
		t.Fatalf("want the diff and deploy roles' trust and permission policies and the execution policy in %s, found %v", policyDir, files)
	}
	for _, file := range files {
		name := filepath.Base(file)
		d := load(t, name)
		if d.Version != "2012-10-17" || len(d.Statement) == 0 {
			t.Errorf("%s: Version %q with %d statements; want 2012-10-17 (the version policy variables need) and statements", name, d.Version, len(d.Statement))
		}
		trust := strings.HasSuffix(name, "-trust.json")
		for i, s := range d.Statement {
			if s.Effect != "Allow" && s.Effect != "Deny" {
				t.Errorf("%s statement %d: Effect %q", name, i, s.Effect)
			}
			if len(s.NotAction) > 0 {
				t.Errorf("%s statement %d: NotAction grants everything else", name, i)
			}
			if len(s.Action) == 0 {
				t.Errorf("%s statement %d: no Action", name, i)
			}
			for _, a := range s.Action {
				if strings.Contains(a, "*") || !strings.Contains(a, ":") {
					t.Errorf("%s statement %d (%s): action %q; name each action", name, i, s.Sid, a)
				}
			}
			if trust {
				continue
			}
			if len(s.Resource) == 0 {
				t.Errorf("%s statement %d (%s): no Resource", name, i, s.Sid)
			}
			for _, r := range s.Resource {
				// A Deny may reach wider than keygate; an Allow of "*" only
				// for actions that have no resource-level permissions.
				if s.Effect == "Deny" || (r == "*" && everyAction(s.Action, noResourceLevel)) {
					continue
				}
				if r == "*" || strings.HasSuffix(r, ":*:*") {
					t.Errorf("%s statement %d (%s): resource %q; scope it to keygate's own", name, i, s.Sid, r)
				}
			}
		}
	}
}

// noResourceLevel are actions IAM authorizes only on Resource "*" (Service
// Authorization Reference: AWS X-Ray has no resource types for
// PutTraceSegments and PutTelemetryRecords, AWS Certificate Manager none for
// RequestCertificate, which keygate's policy narrows with the
// acm:ValidationMethod condition instead).
var noResourceLevel = []string{"xray:PutTraceSegments", "xray:PutTelemetryRecords", "acm:RequestCertificate"}

func everyAction(actions, in []string) bool {
	for _, a := range actions {
		if !slices.Contains(in, a) {
			return false
		}
	}
	return true
}

// Both roles are assumed through GitHub's OIDC provider, by this
// repository's workflows running in one GitHub environment, and nothing
// else: an exact subject, no StringLike.
func TestTrustPoliciesNameTheRepositoryAndTheEnvironment(t *testing.T) {
	for name, subject := range map[string]string{
		"diff-role-trust.json":   "repo:example-org/keygate:environment:dev-diff",
		"deploy-role-trust.json": "repo:example-org/keygate:environment:dev",
	} {
		d := load(t, name)
		if len(d.Statement) != 1 {
			t.Fatalf("%s: want one statement, got %d", name, len(d.Statement))
		}
		s := d.Statement[0]
		if s.Principal["Federated"] != "arn:aws:iam::"+account+":oidc-provider/token.actions.githubusercontent.com" ||
			!slices.Equal(s.Action, []string{"sts:AssumeRoleWithWebIdentity"}) {
			t.Errorf("%s: principal %v, action %v", name, s.Principal, s.Action)
		}
		if !slices.Equal(slices.Sorted(maps.Keys(s.Condition)), []string{"StringEquals"}) {
			t.Errorf("%s: conditions %v; want StringEquals only (no wildcard subjects)", name, s.Condition)
		}
		eq := s.Condition["StringEquals"]
		if !slices.Equal(eq["token.actions.githubusercontent.com:aud"], []string{"sts.amazonaws.com"}) ||
			!slices.Equal(eq["token.actions.githubusercontent.com:sub"], []string{subject}) {
			t.Errorf("%s: StringEquals %v; want aud sts.amazonaws.com and sub %s", name, eq, subject)
		}
	}
}

// The diff role reads this environment's stacks and nothing else: no lookup
// role (ReadOnlyAccess, which includes apigateway:GET and with it every key
// value), no other environment.
func TestDiffRoleOnlyReadsItsEnvironmentsStacks(t *testing.T) {
	d := load(t, "diff-role-policy.json")
	stack := "arn:aws:cloudformation:" + region + ":" + account + ":stack/keygate-dev/0a1b"
	nested := "arn:aws:cloudformation:" + region + ":" + account + ":stack/keygate-dev-ApiKeys06NestedStackApiKeys06NestedStackResource-1X2Y/0a1b"
	for _, a := range []string{"cloudformation:DescribeStacks", "cloudformation:GetTemplate", "cloudformation:ListStackResources"} {
		for _, r := range []string{stack, nested} {
			if !d.Allows(a, r) {
				t.Errorf("the diff role may not %s on %s, which the guard needs", a, r)
			}
		}
	}
	denied := map[string]string{
		"cloudformation:GetTemplate":     "arn:aws:cloudformation:" + region + ":" + account + ":stack/keygate-prod/0a1b",
		"sts:AssumeRole":                 "arn:aws:iam::" + account + ":role/cdk-hnb659fds-lookup-role-" + account + "-" + region,
		"apigateway:GET":                 "arn:aws:apigateway:" + region + "::/apikeys/abc123",
		"cloudformation:CreateChangeSet": stack,
	}
	for a, r := range denied {
		if d.Allows(a, r) {
			t.Errorf("the diff role may %s on %s", a, r)
		}
	}
}

func TestDeployRoleUsesTheBootstrapRolesAndReadsOnlyWhatTheWorkflowNeeds(t *testing.T) {
	d := load(t, "deploy-role-policy.json")
	for _, role := range []string{"deploy-role", "file-publishing-role"} {
		arn := "arn:aws:iam::" + account + ":role/cdk-hnb659fds-" + role + "-" + account + "-" + region
		if !d.Allows("sts:AssumeRole", arn) {
			t.Errorf("the deploy role may not assume %s", arn)
		}
	}
	if !d.Allows("apigateway:GET", "arn:aws:apigateway:"+region+"::/account") {
		t.Error("the deploy role may not read the account's API Gateway settings (the logging role check)")
	}
	if !d.Allows("cloudformation:GetTemplate", "arn:aws:cloudformation:"+region+":"+account+":stack/keygate-dev/0a1b") {
		t.Error("the deploy role may not read the deployed template (the guard)")
	}
	for a, r := range map[string]string{
		"apigateway:GET": "arn:aws:apigateway:" + region + "::/apikeys/abc123",
		"sts:AssumeRole": "arn:aws:iam::" + account + ":role/cdk-hnb659fds-cfn-exec-role-" + account + "-" + region,
		"iam:PassRole":   "arn:aws:iam::" + account + ":role/cdk-hnb659fds-cfn-exec-role-" + account + "-" + region,
	} {
		if d.Allows(a, r) {
			t.Errorf("the deploy role may %s on %s", a, r)
		}
	}
}

// needs is what CloudFormation, acting with the execution role, calls to
// create, update and delete each resource type keygate synthesizes: the
// resource types' handler permissions ("handlers" of the CloudFormation
// registry schema, `aws cloudformation describe-type --type RESOURCE
// --type-name <type>`) and the API Gateway, IAM, Lambda, Logs, CloudWatch,
// SNS and WAFv2 actions of the Service Authorization Reference, with a
// resource ARN of the shape keygate's resources get (CloudFormation names
// them <stack>-<logical id>-<suffix>).
var needs = map[string][]grant{
	"AWS::ApiGateway::RestApi": {
		{"apigateway:POST", apigw("/restapis")}, {"apigateway:GET", apigw("/restapis/a1b2c3")},
		{"apigateway:PATCH", apigw("/restapis/a1b2c3")}, {"apigateway:PUT", apigw("/restapis/a1b2c3")},
		{"apigateway:DELETE", apigw("/restapis/a1b2c3")}, {"apigateway:PUT", apigw("/tags/arn%3Aaws%3Aapigateway")},
		// The resource policy keygate always writes ("To update an API
		// Gateway resource policy, you'll need the
		// apigateway:UpdateRestApiPolicy permission", API Gateway developer
		// guide; serverless/serverless#13075 for the create).
		{"apigateway:UpdateRestApiPolicy", apigw("/restapis/a1b2c3")},
	},
	"AWS::ApiGateway::DomainName": {
		{"apigateway:POST", apigw("/domainnames")}, {"apigateway:GET", apigw("/domainnames/api.example.com")},
		{"apigateway:PATCH", apigw("/domainnames/api.example.com")}, {"apigateway:DELETE", apigw("/domainnames/api.example.com")},
	},
	"AWS::ApiGateway::BasePathMapping": {
		{"apigateway:POST", apigw("/domainnames/api.example.com/basepathmappings")},
		{"apigateway:GET", apigw("/domainnames/api.example.com/basepathmappings/v1")},
		{"apigateway:PATCH", apigw("/domainnames/api.example.com/basepathmappings/v1")},
		{"apigateway:DELETE", apigw("/domainnames/api.example.com/basepathmappings/v1")},
	},
	"AWS::CertificateManager::Certificate": {
		{"acm:RequestCertificate", "*"}, {"acm:DescribeCertificate", certificate}, {"acm:DeleteCertificate", certificate},
		{"acm:AddTagsToCertificate", certificate}, {"route53:ChangeResourceRecordSets", "arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ"},
		{"route53:GetChange", "arn:aws:route53:::change/C1"},
	},
	"AWS::Route53::RecordSet": {
		{"route53:ChangeResourceRecordSets", "arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ"},
		{"route53:ListResourceRecordSets", "arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ"},
		{"route53:GetChange", "arn:aws:route53:::change/C1"},
	},
	"AWS::ApiGateway::Resource":         apiChild("/resources/r1"),
	"AWS::ApiGateway::Method":           apiChild("/resources/r1/methods/GET"),
	"AWS::ApiGateway::Authorizer":       apiChild("/authorizers/z1"),
	"AWS::ApiGateway::GatewayResponse":  apiChild("/gatewayresponses/UNAUTHORIZED"),
	"AWS::ApiGateway::RequestValidator": apiChild("/requestvalidators/v1"),
	"AWS::ApiGateway::Deployment":       apiChild("/deployments/d1"),
	"AWS::ApiGateway::Stage":            apiChild("/stages/dev"),
	"AWS::ApiGateway::ApiKey": {
		{"apigateway:POST", apigw("/apikeys")}, {"apigateway:GET", apigw("/apikeys/k1")},
		{"apigateway:PATCH", apigw("/apikeys/k1")}, {"apigateway:DELETE", apigw("/apikeys/k1")},
	},
	"AWS::ApiGateway::UsagePlan": {
		{"apigateway:POST", apigw("/usageplans")}, {"apigateway:GET", apigw("/usageplans/p1")},
		{"apigateway:PATCH", apigw("/usageplans/p1")}, {"apigateway:DELETE", apigw("/usageplans/p1")},
	},
	"AWS::ApiGateway::UsagePlanKey": {
		{"apigateway:POST", apigw("/usageplans/p1/keys")}, {"apigateway:GET", apigw("/usageplans/p1/keys/k1")},
		{"apigateway:DELETE", apigw("/usageplans/p1/keys/k1")},
	},
	"AWS::ApiGateway::Account": {
		{"apigateway:GET", apigw("/account")}, {"apigateway:PATCH", apigw("/account")},
		{"iam:PassRole", role("CloudWatchRole")},
	},
	"AWS::CloudFormation::Stack": {
		{"cloudformation:CreateStack", nestedStack}, {"cloudformation:UpdateStack", nestedStack},
		{"cloudformation:DeleteStack", nestedStack}, {"cloudformation:DescribeStacks", nestedStack},
		{"s3:GetObject", assets("b337605b.json")},
	},
	"AWS::CloudWatch::Alarm": {
		{"cloudwatch:PutMetricAlarm", alarm}, {"cloudwatch:DescribeAlarms", alarm},
		{"cloudwatch:DeleteAlarms", alarm}, {"cloudwatch:TagResource", alarm},
	},
	"AWS::CloudWatch::Dashboard": {
		{"cloudwatch:PutDashboard", dashboard}, {"cloudwatch:GetDashboard", dashboard}, {"cloudwatch:DeleteDashboards", dashboard},
	},
	"AWS::IAM::Role": {
		{"iam:CreateRole", role("BearerAuthorizerRole")}, {"iam:GetRole", role("BearerAuthorizerRole")},
		{"iam:DeleteRole", role("BearerAuthorizerRole")}, {"iam:TagRole", role("BearerAuthorizerRole")},
		{"iam:UpdateAssumeRolePolicy", role("BearerAuthorizerRole")}, {"iam:AttachRolePolicy", role("CloudWatchRole")},
		{"iam:DetachRolePolicy", role("CloudWatchRole")}, {"iam:ListAttachedRolePolicies", role("CloudWatchRole")},
	},
	"AWS::IAM::Policy": {
		{"iam:PutRolePolicy", role("BearerAuthorizerRole")}, {"iam:GetRolePolicy", role("BearerAuthorizerRole")},
		{"iam:DeleteRolePolicy", role("BearerAuthorizerRole")},
	},
	"AWS::Lambda::Function": {
		{"lambda:CreateFunction", function}, {"lambda:GetFunction", function}, {"lambda:DeleteFunction", function},
		{"lambda:UpdateFunctionCode", function}, {"lambda:UpdateFunctionConfiguration", function},
		{"lambda:TagResource", function}, {"iam:PassRole", role("BearerAuthorizerRole")}, {"s3:GetObject", assets("707f0be2.zip")},
	},
	// CDK's LogRetention provider (the welcome log group's retention):
	// CloudFormation invokes it, and its role carries the basic execution
	// policy.
	"Custom::LogRetention": {
		{"lambda:InvokeFunction", function}, {"iam:AttachRolePolicy", role("LogRetentionServiceRole")},
	},
	"AWS::Lambda::Permission": {
		{"lambda:AddPermission", function}, {"lambda:RemovePermission", function}, {"lambda:GetPolicy", function},
		{"lambda:AddPermission", "arn:aws:lambda:" + region + ":" + account + ":function:payments"},
	},
	"AWS::Logs::LogGroup": {
		{"logs:CreateLogGroup", logGroup("keygate-dev-AccessLogGroup-9Z8Y")}, {"logs:DeleteLogGroup", logGroup("keygate-dev-AccessLogGroup-9Z8Y")},
		{"logs:PutRetentionPolicy", logGroup("keygate-dev-AccessLogGroup-9Z8Y")}, {"logs:DescribeLogGroups", logGroup("*")},
		{"logs:CreateLogGroup", logGroup("API-Gateway-Execution-Logs_a1b2c3/dev")},
		{"logs:PutRetentionPolicy", logGroup("API-Gateway-Execution-Logs_a1b2c3/dev")},
		{"logs:TagResource", logGroup("keygate-dev-BearerAuthorizerLogGroup-7X6W")},
	},
	"AWS::Logs::MetricFilter": {
		{"logs:PutMetricFilter", logGroup("keygate-dev-AccessLogGroup-9Z8Y")}, {"logs:DeleteMetricFilter", logGroup("keygate-dev-AccessLogGroup-9Z8Y")},
	},
	"AWS::SNS::Topic": {
		{"sns:CreateTopic", topic}, {"sns:DeleteTopic", topic}, {"sns:GetTopicAttributes", topic},
		{"sns:SetTopicAttributes", topic}, {"sns:TagResource", topic},
	},
	"AWS::SNS::Subscription": {{"sns:Subscribe", topic}, {"sns:Unsubscribe", topic + ":5f4e"}},
	"AWS::SNS::TopicPolicy":  {{"sns:SetTopicAttributes", topic}},
	"AWS::WAFv2::WebACL": {
		{"wafv2:CreateWebACL", webACL}, {"wafv2:GetWebACL", webACL}, {"wafv2:UpdateWebACL", webACL},
		{"wafv2:DeleteWebACL", webACL}, {"wafv2:TagResource", webACL},
		{"wafv2:CreateWebACL", "arn:aws:wafv2:" + region + ":" + account + ":regional/managedruleset/AWSManagedRulesCommonRuleSet/AWS"},
	},
	"AWS::WAFv2::WebACLAssociation": {
		{"wafv2:AssociateWebACL", webACL}, {"wafv2:DisassociateWebACL", webACL}, {"wafv2:GetWebACLForResource", webACL},
		{"wafv2:AssociateWebACL", apigw("/restapis/a1b2c3/stages/dev")}, {"apigateway:SetWebACL", apigw("/restapis/a1b2c3/stages/dev")},
	},
}

type grant struct{ action, resource string }

var (
	nestedStack = "arn:aws:cloudformation:" + region + ":" + account + ":stack/keygate-dev-ApiKeys06NestedStackApiKeys06NestedStackResource-1X2Y/0a1b"
	alarm       = "arn:aws:cloudwatch:" + region + ":" + account + ":alarm:keygate-dev-ServerErrorRate"
	dashboard   = "arn:aws:cloudwatch::" + account + ":dashboard/keygate-dev-" + region
	function    = "arn:aws:lambda:" + region + ":" + account + ":function:keygate-dev-BearerAuthorizerFunction-3C4D"
	topic       = "arn:aws:sns:" + region + ":" + account + ":keygate-dev-MonitoringAlarmTopic-2B3C"
	webACL      = "arn:aws:wafv2:" + region + ":" + account + ":regional/webacl/keygate-dev/0a1b"
	certificate = "arn:aws:acm:" + region + ":" + account + ":certificate/0a1b2c3d-1111-2222-3333-444455556666"
)

func apigw(path string) string { return "arn:aws:apigateway:" + region + "::" + path }
func role(logical string) string {
	return "arn:aws:iam::" + account + ":role/keygate-dev-" + logical + "-5E6F"
}
func assets(key string) string {
	return "arn:aws:s3:::cdk-hnb659fds-assets-" + account + "-" + region + "/" + key
}
func logGroup(name string) string {
	return "arn:aws:logs:" + region + ":" + account + ":log-group:" + name
}
func apiChild(path string) []grant {
	var out []grant
	for _, verb := range []string{"POST", "GET", "PATCH", "PUT", "DELETE"} {
		out = append(out, grant{"apigateway:" + verb, apigw("/restapis/a1b2c3" + path)})
	}
	return out
}

var (
	everythingOnce sync.Once
	everything     *synth.Assembly
)

// synthesized is the shipped config plus an environment that uses every
// optional feature: WAF, alarm emails, a key imported from Secrets Manager,
// a Lambda integration, and a custom domain with a created certificate, an
// alias record and source IP rules, so every resource type keygate can deploy
// is in one of its templates.
func synthesized(t *testing.T) *synth.Assembly {
	t.Helper()
	everythingOnce.Do(func() {
		context := synth.CDKJSONContext(t)
		keygate := context["keygate"].(map[string]any)
		envs := keygate["environments"].(map[string]any)
		full := maps.Clone(envs["prod"].(map[string]any))
		full["manageCloudWatchRole"] = false
		delete(full, "account")
		delete(full, "region")
		full["stageName"] = "everything"
		full["region"] = region
		full["domain"] = map[string]any{"name": "api.everything.example.com", "hostedZoneId": "Z0123456789ABCDEFGHIJ", "hostedZoneName": "example.com."}
		full["sourceIps"] = map[string]any{"allow": []any{"203.0.113.0/24"}}
		full["waf"] = map[string]any{"enabled": true}
		full["alarms"] = map[string]any{"notifyEmails": []any{"oncall@example.com"}}
		defaults := keygate["defaults"].(map[string]any)
		plan := defaults["usagePlans"].([]any)[0].(map[string]any)["name"]
		full["apiKeys"] = []any{map[string]any{"name": "imported-partner", "plan": plan, "secretName": "keygate/imported-partner"}}
		full["routes"] = []any{map[string]any{"path": "/payments/{proxy+}", "methods": []any{"ANY"},
			"integration": map[string]any{"type": "lambda", "functionArn": "arn:aws:lambda:" + region + ":" + account + ":function:payments"}}}
		envs["everything"] = full
		everything = synth.Synthesize(t, t.TempDir(), context, synth.Checks{})
	})
	if everything == nil {
		t.Fatal("synthesizing failed in an earlier test")
	}
	return everything
}

var dynamicSecret = regexp.MustCompile(`\{\{resolve:secretsmanager:([^:}]+)`)

// TestExecutionPolicyCoversEveryResourceTypeKeygateDeploys: a resource type
// new to the templates fails here until its actions are in
// deploy/iam/cloudformation-execution-*.json and in needs.
func TestExecutionPolicyCoversEveryResourceTypeKeygateDeploys(t *testing.T) {
	policy := loadExecutionPolicy(t)
	a := synthesized(t)
	types := map[string]bool{}
	var secrets []string
	var walk func(tpl *synth.Template)
	walk = func(tpl *synth.Template) {
		for _, r := range tpl.Resources {
			types[r.Type] = true
			for _, m := range dynamicSecret.FindAllStringSubmatch(synth.ToJSON(r.Properties), -1) {
				secrets = append(secrets, m[1])
			}
		}
		for _, n := range tpl.Nested {
			walk(n)
		}
	}
	for _, tpl := range a.Templates {
		walk(tpl)
	}
	for _, typ := range []string{"AWS::WAFv2::WebACL", "AWS::SNS::Subscription", "AWS::ApiGateway::Account"} {
		if !types[typ] {
			t.Errorf("no %s in the synthesized templates: the test config no longer exercises it", typ)
		}
	}
	for _, typ := range slices.Sorted(maps.Keys(types)) {
		grants, ok := needs[typ]
		if !ok {
			t.Errorf("%s is in the templates, but neither the execution policy nor this test knows it: add the actions CloudFormation needs for it to deploy/iam/cloudformation-execution-*.json and to needs", typ)
			continue
		}
		for _, g := range grants {
			if !policy.Allows(g.action, g.resource) {
				t.Errorf("%s: the execution policy does not allow %s on %s", typ, g.action, g.resource)
			}
		}
	}
	if len(secrets) == 0 {
		t.Error("no dynamic reference to Secrets Manager in the templates: the imported key is not exercised")
	}
	for _, name := range secrets {
		arn := "arn:aws:secretsmanager:" + region + ":" + account + ":secret:" + name + "-AbCdEf"
		if !policy.Allows("secretsmanager:GetSecretValue", arn) {
			t.Errorf("CloudFormation resolves {{resolve:secretsmanager:%s}} with the execution role, which may not read %s", name, arn)
		}
	}
}

// What the execution role must not do, although CloudFormation could ask.
func TestExecutionPolicyStaysInsideKeygate(t *testing.T) {
	policy := loadExecutionPolicy(t)
	for _, g := range []grant{
		{"iam:CreateRole", "arn:aws:iam::" + account + ":role/admin"},
		{"iam:PassRole", "arn:aws:iam::" + account + ":role/cdk-hnb659fds-cfn-exec-role-" + account + "-" + region},
		{"iam:CreateUser", "arn:aws:iam::" + account + ":user/keygate-dev"},
		{"iam:CreatePolicy", "arn:aws:iam::" + account + ":policy/keygate-dev"},
		{"lambda:CreateFunction", "arn:aws:lambda:" + region + ":" + account + ":function:payments"},
		{"lambda:UpdateFunctionCode", "arn:aws:lambda:" + region + ":" + account + ":function:payments"},
		{"secretsmanager:GetSecretValue", "arn:aws:secretsmanager:" + region + ":" + account + ":secret:prod/database-AbCdEf"},
		{"s3:PutObject", assets("x.zip")},
		{"cloudformation:DeleteStack", "arn:aws:cloudformation:" + region + ":" + account + ":stack/other-app/0a1b"},
		{"sns:Publish", topic},
		{"logs:DeleteLogGroup", logGroup("/aws/lambda/other-app")},
		{"ec2:RunInstances", "arn:aws:ec2:" + region + ":" + account + ":instance/*"},
	} {
		if policy.Allows(g.action, g.resource) {
			t.Errorf("the execution policy allows %s on %s", g.action, g.resource)
		}
	}
}

func TestMatchIsIAMsWildcardMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, value string
		want           bool
	}{
		{"arn:aws:iam::1:role/keygate-*", "arn:aws:iam::1:role/keygate-dev-X", true},
		{"arn:aws:iam::1:role/keygate-*", "arn:aws:iam::1:role/admin", false},
		{"arn:aws:apigateway:r::/restapis/*", "arn:aws:apigateway:r::/restapis/a/stages/dev", true},
		{"arn:aws:apigateway:r::/restapis", "arn:aws:apigateway:r::/restapis/a", false},
		{"a?c", "abc", true},
		{"a[b]c", "a[b]c", true},
	} {
		if got := Match(c.pattern, c.value); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.pattern, c.value, got, c.want)
		}
	}
}
