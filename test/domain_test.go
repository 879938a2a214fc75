package test

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/guard"
	"github.com/keygate/keygate/stacks"
	"github.com/keygate/keygate/test/synth"
)

// Two environments with a custom domain, one each way, and source IP
// rules, on top of the shipped defaults: "partner" brings its own
// certificate and maps base path v1 (DNS elsewhere), "zoned" has keygate
// create the certificate and the alias record in a hosted zone.
const (
	partnerCertificate = "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
	zoneID             = "Z0123456789ABCDEFGHIJ"
)

func domainEnvironments() map[string]any {
	return map[string]any{
		"partner": map[string]any{
			"stageName": "v1", "production": true, "account": "123456789012", "region": "eu-west-1",
			// An explicit account and region need an owner of the API
			// Gateway CloudWatch role; here it is set outside keygate.
			"cloudWatchRoleManagedOutside": true,
			"logging":                      map[string]any{"level": "ERROR", "retentionDays": 365},
			"cors":                         map[string]any{"allowedOrigins": []any{"https://app.example.com"}},
			"domain":                       map[string]any{"name": "api.example.com", "certificateArn": partnerCertificate, "basePath": "v1"},
			"sourceIps": map[string]any{
				"allow": []any{"203.0.113.0/24", "2001:db8::/32"},
				"deny":  []any{"203.0.113.64/26"},
			},
			"tags": map[string]any{"app": "keygate", "environment": "partner"},
		},
		"zoned": map[string]any{
			"stageName": "zoned", "region": "us-east-1",
			"logging":   map[string]any{"retentionDays": 30},
			"domain":    map[string]any{"name": "api.zoned.example.com", "hostedZoneId": zoneID, "hostedZoneName": "example.com."},
			"sourceIps": map[string]any{"deny": []any{"198.51.100.0/24"}},
			"tags":      map[string]any{"app": "keygate", "environment": "zoned"},
		},
	}
}

// domainContext is the shipped cdk.json context (feature flags, defaults)
// with the given environments instead of the shipped ones.
func domainContext(t *testing.T, envs map[string]any) map[string]any {
	context := synth.CDKJSONContext(t)
	context["keygate"].(map[string]any)["environments"] = envs
	return context
}

var (
	domainOnce     sync.Once
	domainAssembly *synth.Assembly
)

// domains is the app of domainEnvironments, synthesized once, with the
// rule packs.
func domains(t *testing.T) *synth.Assembly {
	t.Helper()
	domainOnce.Do(func() {
		domainAssembly = synth.Synthesize(t, filepath.Join(outDir, "domains"), domainContext(t, domainEnvironments()), synth.Checks{RulePacks: true})
	})
	if domainAssembly == nil {
		t.Fatal("synthesizing the domain app failed in an earlier test")
	}
	return domainAssembly
}

func TestCustomDomainMapsThisStage(t *testing.T) {
	a := domains(t)
	for _, name := range []string{"partner", "zoned"} {
		t.Run(name, func(t *testing.T) {
			env, _ := a.Config.Environment(name)
			tpl := a.Templates[env.StackName()]
			apiID, _ := tpl.Only(t, "AWS::ApiGateway::RestApi")
			stageID, _ := tpl.Only(t, "AWS::ApiGateway::Stage")

			domainID, domain := tpl.Only(t, "AWS::ApiGateway::DomainName")
			if domainID != stacks.CustomDomainLogicalID {
				t.Errorf("domain logical ID %s, want the fixed %s", domainID, stacks.CustomDomainLogicalID)
			}
			p := domain.Properties
			if p["DomainName"] != env.Domain.Name || synth.ToJSON(p["EndpointConfiguration"]) != `{"Types":["REGIONAL"]}` || p["CertificateArn"] != nil {
				t.Errorf("domain = %s, want REGIONAL %s with a regional certificate", synth.ToJSON(p), env.Domain.Name)
			}
			if p["SecurityPolicy"] != "SecurityPolicy_TLS13_1_3_2025_09" || p["EndpointAccessMode"] != "STRICT" {
				t.Errorf("TLS: policy %v, access mode %v; want TLS 1.3 only in STRICT mode by default", p["SecurityPolicy"], p["EndpointAccessMode"])
			}

			mappingID, mapping := tpl.Only(t, "AWS::ApiGateway::BasePathMapping")
			m := mapping.Properties
			if mappingID != stacks.CustomDomainMappingLogicalID || synth.Ref(m["DomainName"]) != domainID ||
				synth.Ref(m["RestApiId"]) != apiID || synth.Ref(m["Stage"]) != stageID {
				t.Errorf("mapping %s = %s; want domain %s → API %s, stage %s (by reference)", mappingID, synth.ToJSON(m), domainID, apiID, stageID)
			}
			if env.Domain.BasePath == "" && m["BasePath"] != nil || env.Domain.BasePath != "" && m["BasePath"] != env.Domain.BasePath {
				t.Errorf("base path %v, want %q", m["BasePath"], env.Domain.BasePath)
			}

			api := tpl.Resources[apiID].Properties
			if api["DisableExecuteApiEndpoint"] != true {
				t.Errorf("DisableExecuteApiEndpoint = %v, want true where a domain is configured", api["DisableExecuteApiEndpoint"])
			}
			// What still applies on the custom domain: the WAF guards the
			// stage the domain maps to, and the gateway responses and CORS
			// are the API's own.
			if env.WAFEnabled() {
				_, association := tpl.Only(t, "AWS::WAFv2::WebACLAssociation")
				if !slices.Contains(synth.RefsIn(association.Properties["ResourceArn"]), stageID) {
					t.Errorf("the web ACL is not on the mapped stage: %s", synth.ToJSON(association.Properties))
				}
			}
			if len(tpl.OfType("AWS::ApiGateway::GatewayResponse")) == 0 {
				t.Error("no gateway responses")
			}

			outputs := tpl.Outputs
			if outputs["CustomDomainUrl"].Value != env.Domain.URL() {
				t.Errorf("CustomDomainUrl = %v, want %s", outputs["CustomDomainUrl"].Value, env.Domain.URL())
			}
			if synth.ToJSON(outputs["CustomDomainTarget"].Value) != fmt.Sprintf(`{"Fn::GetAtt":["%s","RegionalDomainName"]}`, domainID) ||
				synth.ToJSON(outputs["CustomDomainTargetHostedZoneId"].Value) != fmt.Sprintf(`{"Fn::GetAtt":["%s","RegionalHostedZoneId"]}`, domainID) {
				t.Errorf("target outputs = %s, %s", synth.ToJSON(outputs["CustomDomainTarget"]), synth.ToJSON(outputs["CustomDomainTargetHostedZoneId"]))
			}
			if !strings.Contains(outputs["ApiUrl"].Description, "switched off") {
				t.Errorf("ApiUrl description %q does not say the default endpoint is off", outputs["ApiUrl"].Description)
			}
			tags := synth.ToJSON(domain.Properties["Tags"])
			for key, value := range env.Tags {
				if !strings.Contains(tags, fmt.Sprintf(`{"Key":%q,"Value":%q}`, key, value)) {
					t.Errorf("domain lacks tag %s=%s: %s", key, value, tags)
				}
			}
		})
	}
}

func TestCustomDomainCertificateAndAlias(t *testing.T) {
	a := domains(t)

	partner := a.Templates["keygate-partner"]
	_, domain := partner.Only(t, "AWS::ApiGateway::DomainName")
	if domain.Properties["RegionalCertificateArn"] != partnerCertificate {
		t.Errorf("partner certificate = %v, want the configured %s", domain.Properties["RegionalCertificateArn"], partnerCertificate)
	}
	if ids := partner.OfType("AWS::CertificateManager::Certificate"); len(ids) != 0 {
		t.Errorf("partner names its certificate, yet the stack creates %v", ids)
	}
	if ids := partner.OfType("AWS::Route53::RecordSet"); len(ids) != 0 {
		t.Errorf("partner has no hosted zone, yet the stack creates records %v", ids)
	}

	zoned := a.Templates["keygate-zoned"]
	domainID, domain := zoned.Only(t, "AWS::ApiGateway::DomainName")
	certificateID, certificate := zoned.Only(t, "AWS::CertificateManager::Certificate")
	if certificateID != stacks.CustomDomainCertificateLogicalID || synth.Ref(domain.Properties["RegionalCertificateArn"]) != certificateID {
		t.Errorf("domain certificate %s, want a Ref to the created %s", synth.ToJSON(domain.Properties["RegionalCertificateArn"]), certificateID)
	}
	c := certificate.Properties
	if c["DomainName"] != "api.zoned.example.com" || c["ValidationMethod"] != "DNS" ||
		synth.ToJSON(c["DomainValidationOptions"]) != `[{"DomainName":"api.zoned.example.com","HostedZoneId":"`+zoneID+`"}]` {
		t.Errorf("certificate = %s, want api.zoned.example.com validated through DNS in %s", synth.ToJSON(c), zoneID)
	}
	recordID, record := zoned.Only(t, "AWS::Route53::RecordSet")
	r := record.Properties
	if recordID != stacks.CustomDomainAliasLogicalID || r["HostedZoneId"] != zoneID || r["Name"] != "api.zoned.example.com" || r["Type"] != "A" {
		t.Errorf("record %s = %s", recordID, synth.ToJSON(r))
	}
	if synth.ToJSON(r["AliasTarget"]) != fmt.Sprintf(`{"DNSName":{"Fn::GetAtt":["%[1]s","RegionalDomainName"]},"EvaluateTargetHealth":false,"HostedZoneId":{"Fn::GetAtt":["%[1]s","RegionalHostedZoneId"]}}`, domainID) {
		t.Errorf("alias target = %s, want the regional domain name and hosted zone of %s", synth.ToJSON(r["AliasTarget"]), domainID)
	}
	_, mapping := zoned.Only(t, "AWS::ApiGateway::BasePathMapping")
	if mapping.Properties["BasePath"] != nil {
		t.Errorf("zoned maps the root, got base path %v", mapping.Properties["BasePath"])
	}
}

// statement finds a resource policy statement by Sid.
func statement(t *testing.T, policy any, sid string) map[string]any {
	t.Helper()
	statements, _ := synth.Prop(policy, "Statement").([]any)
	for _, s := range statements {
		if m, _ := s.(map[string]any); m["Sid"] == sid {
			return m
		}
	}
	t.Fatalf("no statement %s in %s", sid, synth.ToJSON(policy))
	return nil
}

func TestResourcePolicyOnlyTakesAwayFromTheAuthorizer(t *testing.T) {
	a := domains(t)
	partner := a.Templates["keygate-partner"]
	_, api := partner.Only(t, "AWS::ApiGateway::RestApi")
	policy := api.Properties["Policy"]
	statements, _ := synth.Prop(policy, "Statement").([]any)
	if len(statements) != 3 {
		t.Errorf("partner policy = %s, want the allow-list deny, the deny-list deny and the preflight allow", synth.ToJSON(policy))
	}
	outside := statement(t, policy, "DenyOutsideAllowedSourceIps")
	if outside["Effect"] != "Deny" || outside["Action"] != "execute-api:Invoke" || outside["Resource"] != "execute-api:/*" ||
		synth.ToJSON(outside["Condition"]) != `{"NotIpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:db8::/32"]}}` {
		t.Errorf("allow list statement = %s", synth.ToJSON(outside))
	}
	denied := statement(t, policy, "DenyDeniedSourceIps")
	if denied["Effect"] != "Deny" || denied["Resource"] != "execute-api:/*" ||
		synth.ToJSON(denied["Condition"]) != `{"IpAddress":{"aws:SourceIp":["203.0.113.64/26"]}}` {
		t.Errorf("deny list statement = %s", synth.ToJSON(denied))
	}
	preflight := statement(t, policy, "AllowCorsPreflight")
	if preflight["Effect"] != "Allow" || preflight["Resource"] != "execute-api:/*/OPTIONS/*" || preflight["Condition"] != nil {
		t.Errorf("preflight statement = %s, want an Allow of OPTIONS only", synth.ToJSON(preflight))
	}
	for _, s := range statements {
		m := s.(map[string]any)
		if p := synth.ToJSON(m["Principal"]); p != `"*"` && p != `{"AWS":"*"}` {
			t.Errorf("statement %v has principal %s, want anyone", m["Sid"], p)
		}
		// Anything the policy allows beyond the preflights would let a
		// request the authorizer does not cover through (table A).
		if m["Effect"] == "Allow" && m["Resource"] != "execute-api:/*/OPTIONS/*" {
			t.Errorf("statement %v allows %v: the resource policy must grant nothing on authorized methods", m["Sid"], m["Resource"])
		}
	}

	// Without CORS there are no preflights: nothing is allowed at all.
	zoned := a.Templates["keygate-zoned"]
	_, api = zoned.Only(t, "AWS::ApiGateway::RestApi")
	statements, _ = synth.Prop(api.Properties["Policy"], "Statement").([]any)
	if len(statements) != 1 || synth.Prop(statements[0], "Effect") != "Deny" ||
		synth.ToJSON(synth.Prop(statements[0], "Condition")) != `{"IpAddress":{"aws:SourceIp":["198.51.100.0/24"]}}` {
		t.Errorf("zoned policy = %s, want one Deny of 198.51.100.0/24", synth.ToJSON(api.Properties["Policy"]))
	}
}

// TestRemovingTheDomainOrTheRulesResetsTheAPI: CloudFormation does not reset
// a RestApi property that leaves the template (aws/aws-cdk#21840,
// aws-cloudformation/cloudformation-coverage-roadmap#1894), so an
// environment without domain or rules must still say what it wants: the
// default endpoint on, and a policy that replaces any earlier rules.
func TestRemovingTheDomainOrTheRulesResetsTheAPI(t *testing.T) {
	eachEnvironment(t, func(t *testing.T, env config.Environment, tpl *synth.Template) {
		_, api := tpl.Only(t, "AWS::ApiGateway::RestApi")
		p := api.Properties
		if p["DisableExecuteApiEndpoint"] != false {
			t.Errorf("DisableExecuteApiEndpoint = %v; without a domain it must be an explicit false, or removing a domain leaves the endpoint off", p["DisableExecuteApiEndpoint"])
		}
		statements, _ := synth.Prop(p["Policy"], "Statement").([]any)
		if len(statements) != 1 || synth.ToJSON(statements[0]) != `{"Action":"execute-api:Invoke","Effect":"Allow","Principal":"*","Resource":"execute-api:/*","Sid":"AllowAnySourceIp"}` {
			t.Errorf("Policy = %s; without sourceIps it must be the single Allow of every method, or removing rules leaves them in force", synth.ToJSON(p["Policy"]))
		}
		if p["SecurityPolicy"] != nil || p["EndpointAccessMode"] != nil {
			t.Errorf("RestApi = %s: without a domain keygate sets no TLS policy", synth.ToJSON(p))
		}
		for _, typ := range []string{"AWS::ApiGateway::DomainName", "AWS::ApiGateway::BasePathMapping", "AWS::CertificateManager::Certificate", "AWS::Route53::RecordSet"} {
			if ids := tpl.OfType(typ); len(ids) > 0 {
				t.Errorf("%s without a domain: %v", typ, ids)
			}
		}
	})
}

// TestClientsOfTheDomainGetItsTLSPolicy: API Gateway negotiates TLS on a
// custom domain with the API's security policy, not the domain's
// (apigateway-custom-domain-tls-version.html), so the API must carry the
// domain's; left alone it is the REGIONAL default, TLS_1_0.
func TestClientsOfTheDomainGetItsTLSPolicy(t *testing.T) {
	a := domains(t)
	for _, name := range []string{"partner", "zoned"} {
		env, _ := a.Config.Environment(name)
		tpl := a.Templates[env.StackName()]
		_, api := tpl.Only(t, "AWS::ApiGateway::RestApi")
		_, domain := tpl.Only(t, "AWS::ApiGateway::DomainName")
		if api.Properties["SecurityPolicy"] == nil || api.Properties["SecurityPolicy"] != domain.Properties["SecurityPolicy"] {
			t.Errorf("%s: API security policy %v, domain %v; want the domain's on the API", name, api.Properties["SecurityPolicy"], domain.Properties["SecurityPolicy"])
		}
		// An enhanced policy needs an access mode on the API as well;
		// BASIC there, the domain keeps STRICT (stacks.APITLSPolicy).
		if api.Properties["EndpointAccessMode"] != "BASIC" || domain.Properties["EndpointAccessMode"] != "STRICT" {
			t.Errorf("%s: access mode API %v, domain %v; want BASIC on the API, STRICT on the domain", name, api.Properties["EndpointAccessMode"], domain.Properties["EndpointAccessMode"])
		}
	}

	for _, tc := range []struct{ policy, mode, wantPolicy, wantMode string }{
		{"", "", config.DefaultSecurityPolicy, "BASIC"},
		{"SecurityPolicy_TLS13_1_2_PFS_PQ_2025_09", "BASIC", "SecurityPolicy_TLS13_1_2_PFS_PQ_2025_09", "BASIC"},
		{"SecurityPolicy_TLS13_1_3_FIPS_2025_09", "STRICT", "SecurityPolicy_TLS13_1_3_FIPS_2025_09", "BASIC"},
		// A legacy policy takes no access mode, on the API as on the domain.
		{"TLS_1_2", "", "TLS_1_2", ""},
	} {
		policy, mode := stacks.APITLSPolicy(config.Domain{SecurityPolicy: tc.policy, EndpointAccessMode: tc.mode})
		if policy != tc.wantPolicy || mode != tc.wantMode {
			t.Errorf("domain %q/%q: API gets %q/%q, want %q/%q", tc.policy, tc.mode, policy, mode, tc.wantPolicy, tc.wantMode)
		}
	}
}

// TestAddingADomainWaitsForItBeforeTouchingTheAPI: the RestApi update that
// switches the default endpoint off must not run before the domain, its
// certificate (issued after DNS validation) and its alias record exist, nor
// when one of them fails and the stack rolls back.
func TestAddingADomainWaitsForItBeforeTouchingTheAPI(t *testing.T) {
	a := domains(t)
	for _, tc := range []struct {
		stack string
		waits []string
	}{
		{"keygate-partner", []string{stacks.CustomDomainLogicalID}},
		{"keygate-zoned", []string{stacks.CustomDomainLogicalID, stacks.CustomDomainCertificateLogicalID, stacks.CustomDomainAliasLogicalID}},
	} {
		tpl := a.Templates[tc.stack]
		apiID, api := tpl.Only(t, "AWS::ApiGateway::RestApi")
		dependsOn := api.DependsOnIDs()
		graph := synth.NewGraph(tpl)
		ancestors := graph.Ancestors()
		node := func(id string) int {
			for i, n := range graph.Nodes {
				if n.Name == id {
					return i
				}
			}
			t.Fatalf("%s: no node %s", tc.stack, id)
			return -1
		}
		for _, id := range tc.waits {
			if !slices.Contains(dependsOn, id) {
				t.Errorf("%s: the RestApi does not depend on %s (DependsOn %v)", tc.stack, id, dependsOn)
			}
			// No cycle: what the API waits for never waits for the API.
			if ancestors[node(id)].Bit(node(apiID)) == 1 {
				t.Errorf("%s: %s waits for the RestApi, which waits for it: a cycle", tc.stack, id)
			}
		}
	}
}

// TestCertificateInUseIsNotDeletedWithItsDomain: ACM refuses to delete a
// certificate API Gateway still holds, which it does for a while after the
// domain is deleted (aws/aws-cdk#36265); the created certificate is
// retained when it leaves the stack instead of failing the deploy.
func TestCertificateInUseIsNotDeletedWithItsDomain(t *testing.T) {
	_, certificate := domains(t).Templates["keygate-zoned"].Only(t, "AWS::CertificateManager::Certificate")
	if certificate.DeletionPolicy != "Retain" || certificate.UpdateReplacePolicy != "Retain" {
		t.Errorf("certificate DeletionPolicy %q, UpdateReplacePolicy %q; want Retain for both, even when the creating deploy rolls back", certificate.DeletionPolicy, certificate.UpdateReplacePolicy)
	}
}

func TestDomainEnvironmentsPassTheRulePacks(t *testing.T) {
	a := domains(t)
	for _, env := range a.Config.Environments {
		for _, pack := range []string{"AwsSolutions", "Serverless"} {
			report := filepath.Join(a.Dir, fmt.Sprintf("%s--%s-NagReport.csv", pack, env.StackName()))
			f, err := os.Open(report)
			if err != nil {
				t.Fatalf("%s: %v", pack, err)
			}
			rows, err := csv.NewReader(f).ReadAll()
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			checked := map[string]bool{}
			for _, row := range rows[1:] { // Rule ID, Resource ID, Compliance, Exception Reason, …
				checked[row[1]] = true
				if row[2] == "Non-Compliant" {
					t.Errorf("%s: %s on %s is not acknowledged", filepath.Base(report), row[0], row[1])
				}
			}
			// No rule of either pack applies to a domain, mapping,
			// certificate or record (the reports list only resources a
			// rule applies to); the API and its stage are there.
			if !checked[env.StackName()+"/Api/DeploymentStage."+env.StageName+"/Resource"] {
				t.Errorf("%s did not check the stage (resources checked: %d)", filepath.Base(report), len(checked))
			}
		}
	}
}

// TestDomainSurvivesUnrelatedChanges synthesizes the next version of both
// environments, with changes that must not touch the live domain (IP rules,
// TLS policy, throttling, the default endpoint switched back on), and holds
// the guard to it: nothing is replaced or deleted. And a changed policy or
// endpoint setting gets a new deployment, without which API Gateway would
// not apply it.
func TestDomainSurvivesUnrelatedChanges(t *testing.T) {
	base := domains(t)
	envs := domainEnvironments()
	partner := envs["partner"].(map[string]any)
	partner["sourceIps"].(map[string]any)["deny"] = []any{"203.0.113.64/26", "203.0.113.128/25"}
	partner["domain"].(map[string]any)["securityPolicy"] = "SecurityPolicy_TLS13_1_2_PFS_PQ_2025_09"
	partner["throttle"] = map[string]any{"rateLimit": 200, "burstLimit": 400}
	zoned := envs["zoned"].(map[string]any)
	zoned["domain"].(map[string]any)["disableExecuteApiEndpoint"] = false
	head := synth.Synthesize(t, filepath.Join(outDir, "domains-next"), domainContext(t, envs), synth.Checks{})

	for _, stack := range []string{"keygate-partner", "keygate-zoned"} {
		t.Run(stack, func(t *testing.T) {
			baseJSON, err := os.ReadFile(filepath.Join(base.Dir, stack+".template.json"))
			if err != nil {
				t.Fatal(err)
			}
			headJSON, err := os.ReadFile(filepath.Join(head.Dir, stack+".template.json"))
			if err != nil {
				t.Fatal(err)
			}
			findings, err := guard.CompareTemplates(baseJSON, headJSON)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range findings {
				t.Errorf("guard: %s", f)
			}

			before, after := base.Templates[stack], head.Templates[stack]
			beforeID, _ := before.Only(t, "AWS::ApiGateway::Deployment")
			afterID, _ := after.Only(t, "AWS::ApiGateway::Deployment")
			if beforeID == afterID {
				t.Errorf("deployment %s is the same: API Gateway would not apply the new resource policy or endpoint setting", beforeID)
			}
			_, stage := after.Only(t, "AWS::ApiGateway::Stage")
			if synth.Ref(stage.Properties["DeploymentId"]) != afterID {
				t.Errorf("the stage deploys %v, not the new deployment %s", stage.Properties["DeploymentId"], afterID)
			}
			for _, id := range []string{stacks.CustomDomainLogicalID, stacks.CustomDomainMappingLogicalID} {
				if _, ok := after.Resources[id]; !ok {
					t.Errorf("%s is gone", id)
				}
			}
		})
	}
	_, domain := head.Templates["keygate-partner"].Only(t, "AWS::ApiGateway::DomainName")
	if domain.Properties["SecurityPolicy"] != "SecurityPolicy_TLS13_1_2_PFS_PQ_2025_09" || domain.Properties["EndpointAccessMode"] != "STRICT" {
		t.Errorf("changed policy: %s", synth.ToJSON(domain.Properties))
	}
	// The API follows the domain's policy; it takes effect with the new
	// deployment checked above ("Redeploy your API for the changes to take
	// effect": apigateway-security-policies-update.html).
	_, partnerAPI := head.Templates["keygate-partner"].Only(t, "AWS::ApiGateway::RestApi")
	if partnerAPI.Properties["SecurityPolicy"] != "SecurityPolicy_TLS13_1_2_PFS_PQ_2025_09" {
		t.Errorf("the API keeps %v after the domain's policy changed", partnerAPI.Properties["SecurityPolicy"])
	}
	_, api := head.Templates["keygate-zoned"].Only(t, "AWS::ApiGateway::RestApi")
	if api.Properties["DisableExecuteApiEndpoint"] != false {
		t.Errorf("zoned keeps its default endpoint: DisableExecuteApiEndpoint = %v, want an explicit false", api.Properties["DisableExecuteApiEndpoint"])
	}
}
