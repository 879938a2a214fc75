package apimodel

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A minimal assembly in keygate's shape: the API, stage, authorizer, a plan
// and, in a nested stack, a key attached to the plan through a parameter.
const manifestJSON = `{"version":"55.0.0","artifacts":{
 "keygate-x":{"type":"aws:cloudformation:stack","environment":"aws://123456789012/eu-west-1","properties":{"templateFile":"keygate-x.template.json"}},
 "keygate-x.assets":{"type":"cdk:asset-manifest","properties":{"file":"keygate-x.assets.json"}}}}`

const rootTemplate = `{"Resources":{
 "Api":{"Type":"AWS::ApiGateway::RestApi","Properties":{"Name":"keygate-x","ApiKeySourceType":"AUTHORIZER"}},
 "Stage":{"Type":"AWS::ApiGateway::Stage","Properties":{"StageName":"x","RestApiId":{"Ref":"Api"},
   "AccessLogSetting":{"Format":"{\"id\":\"$context.requestId\"}"},
   "MethodSettings":[{"ResourcePath":"/*","HttpMethod":"*","ThrottlingRateLimit":5,"ThrottlingBurstLimit":10},
                     {"ResourcePath":"/~1orders~1{id}","HttpMethod":"GET","ThrottlingRateLimit":1,"ThrottlingBurstLimit":1}]}},
 "Fn":{"Type":"AWS::Lambda::Function","Metadata":{"aws:asset:path":"asset.0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},"Properties":{}},
 "Auth":{"Type":"AWS::ApiGateway::Authorizer","Properties":{"Type":"TOKEN","Name":"bearer","IdentitySource":"method.request.header.Authorization",
   "IdentityValidationExpression":"^Bearer .+$","AuthorizerResultTtlInSeconds":42,
   "AuthorizerUri":{"Fn::Join":["",["arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/",{"Fn::GetAtt":["Fn","Arn"]},"/invocations"]]}}},
 "Orders":{"Type":"AWS::ApiGateway::Resource","Properties":{"ParentId":{"Fn::GetAtt":["Api","RootResourceId"]},"PathPart":"orders","RestApiId":{"Ref":"Api"}}},
 "OrderId":{"Type":"AWS::ApiGateway::Resource","Properties":{"ParentId":{"Ref":"Orders"},"PathPart":"{id}","RestApiId":{"Ref":"Api"}}},
 "GetOrder":{"Type":"AWS::ApiGateway::Method","Properties":{"HttpMethod":"GET","ResourceId":{"Ref":"OrderId"},"RestApiId":{"Ref":"Api"},
   "AuthorizationType":"CUSTOM","AuthorizerId":{"Ref":"Auth"},"ApiKeyRequired":true,
   "RequestParameters":{"method.request.path.id":true},
   "Integration":{"Type":"HTTP_PROXY","IntegrationHttpMethod":"GET","Uri":"https://backend.example.com/orders/{id}","TimeoutInMillis":5000,
     "RequestParameters":{"integration.request.path.id":"method.request.path.id"}}}},
 "Remote":{"Type":"AWS::ApiGateway::Method","Properties":{"HttpMethod":"POST","ResourceId":{"Ref":"Orders"},"RestApiId":{"Ref":"Api"},"AuthorizationType":"NONE",
   "Integration":{"Type":"AWS_PROXY","IntegrationHttpMethod":"POST","Uri":{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},":apigateway:",{"Ref":"AWS::Region"},":lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:orders/invocations"]]}}}},
 "Unauthorized":{"Type":"AWS::ApiGateway::GatewayResponse","Properties":{"ResponseType":"UNAUTHORIZED","StatusCode":"401",
   "ResponseParameters":{"gatewayresponse.header.WWW-Authenticate":"'Bearer'"},"ResponseTemplates":{"application/json":"{}"}}},
 "Plan":{"Type":"AWS::ApiGateway::UsagePlan","Properties":{"UsagePlanName":"keygate-x-gold","ApiStages":[{"ApiId":{"Ref":"Api"},"Stage":{"Ref":"Stage"},
   "Throttle":{"/orders/{id}/GET":{"RateLimit":2,"BurstLimit":3}}}],
   "Throttle":{"RateLimit":10,"BurstLimit":20},"Quota":{"Limit":1000,"Period":"WEEK"},"Tags":[{"Key":"team","Value":"a"}]}},
 "Keys":{"Type":"AWS::CloudFormation::Stack","Metadata":{"aws:asset:path":"keys.nested.template.json"},
   "Properties":{"Parameters":{"PlanIdGold":{"Ref":"Plan"}}}}}}`

const nestedTemplate = `{"Parameters":{"PlanIdGold":{"Type":"String"}},"Resources":{
 "KeyAlice":{"Type":"AWS::ApiGateway::ApiKey","Properties":{"Name":"alice","Enabled":true}},
 "KeyBob":{"Type":"AWS::ApiGateway::ApiKey","Properties":{"Name":"bob","Value":"{{resolve:secretsmanager:team/bob:SecretString:::}}"}},
 "AttachAlice":{"Type":"AWS::ApiGateway::UsagePlanKey","Properties":{"KeyId":{"Fn::GetAtt":["KeyAlice","APIKeyId"]},"KeyType":"API_KEY","UsagePlanId":{"Ref":"PlanIdGold"}}},
 "AttachBob":{"Type":"AWS::ApiGateway::UsagePlanKey","Properties":{"KeyId":{"Ref":"KeyBob"},"KeyType":"API_KEY","UsagePlanId":{"Ref":"PlanIdGold"}}}}}`

func writeAssembly(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadResolvesTheStack(t *testing.T) {
	dir := writeAssembly(t, map[string]string{"manifest.json": manifestJSON, "keygate-x.template.json": rootTemplate, "keys.nested.template.json": nestedTemplate})
	api, err := Load(dir, "keygate-x")
	if err != nil {
		t.Fatal(err)
	}
	if api.Region != "eu-west-1" || api.Account != "123456789012" || len(api.ID) != 10 || api.APIKeySource != "AUTHORIZER" {
		t.Errorf("api = %+v", api)
	}
	if api.Stage.Name != "x" || len(api.Stage.MethodSettings) != 2 || api.Stage.MethodSettings[1].ResourcePath != "/orders/{id}" || api.Stage.MethodSettings[1].Throttle.RateLimit != 1 {
		t.Errorf("stage = %+v", api.Stage)
	}
	auth := api.Authorizers["Auth"]
	if auth.TTL != 42*time.Second || auth.IdentityHeader != "Authorization" || auth.FunctionLogicalID != "Fn" || !strings.HasSuffix(auth.AssetDir, "asset.0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef") {
		t.Errorf("authorizer = %+v", auth)
	}
	methods := api.Methods()
	if len(methods) != 2 {
		t.Fatalf("%d methods", len(methods))
	}
	post, get := methods[0], methods[1]
	if get.Resource.Path != "/orders/{id}" || get.Authorizer != auth || !get.APIKeyRequired || get.Integration.URI != "https://backend.example.com/orders/{id}" || get.Integration.Timeout != 5*time.Second {
		t.Errorf("GET = %+v", get)
	}
	if post.Resource.Path != "/orders" || post.Integration.FunctionARN != "arn:aws:lambda:eu-west-1:123456789012:function:orders" {
		t.Errorf("POST = %+v / %+v", post, post.Integration)
	}
	if gr := api.GatewayResponses["UNAUTHORIZED"]; gr.StatusCode != "401" || gr.ResponseParameters["gatewayresponse.header.WWW-Authenticate"] != "'Bearer'" {
		t.Errorf("gateway response = %+v", gr)
	}
	plan := api.UsagePlans[0]
	if plan.Name != "keygate-x-gold" || plan.Quota.Period != "WEEK" || plan.Throttle.BurstLimit != 20 || plan.MethodThrottle["/orders/{id}/GET"].BurstLimit != 3 || plan.Tags["team"] != "a" {
		t.Errorf("plan = %+v", plan)
	}
	byName := map[string]*APIKey{}
	for _, k := range api.Keys {
		byName[k.Name] = k
	}
	if a := byName["alice"]; !a.Enabled || len(a.Plans) != 1 || a.Plans[0] != "Plan" || a.LogicalID != "Keys/KeyAlice" {
		t.Errorf("alice = %+v", a)
	}
	// Enabled defaults to false; the secret's name is kept, never a value.
	if b := byName["bob"]; b.Enabled || b.SecretName != "team/bob" || b.Value != "" || b.Plans[0] != "Plan" {
		t.Errorf("bob = %+v", b)
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load(t.TempDir(), "keygate-x"); err == nil || !strings.Contains(err.Error(), "run make synth") {
		t.Errorf("no assembly: %v", err)
	}
	dir := writeAssembly(t, map[string]string{"manifest.json": manifestJSON, "keygate-x.template.json": rootTemplate, "keys.nested.template.json": nestedTemplate})
	if _, err := Load(dir, "keygate-y"); err == nil || !strings.Contains(err.Error(), `no stack "keygate-y"`) || !strings.Contains(err.Error(), "keygate-x") {
		t.Errorf("unknown stack: %v", err)
	}
	broken := strings.Replace(nestedTemplate, `"UsagePlanId":{"Ref":"PlanIdGold"}}},
 "AttachBob"`, `"UsagePlanId":"someplan"}},
 "AttachBob"`, 1)
	dir = writeAssembly(t, map[string]string{"manifest.json": manifestJSON, "keygate-x.template.json": rootTemplate, "keys.nested.template.json": broken})
	if _, err := Load(dir, "keygate-x"); err == nil || !strings.Contains(err.Error(), "usage plan key AttachAlice: UsagePlanId does not resolve") {
		t.Errorf("unresolvable plan: %v", err)
	}
}
