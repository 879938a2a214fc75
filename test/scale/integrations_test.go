package scale

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/keygate/keygate/test/synth"
)

func TestRoutesReachRealBackends(t *testing.T) {
	for _, stack := range []string{"keygate-integrations", "keygate-pinned"} {
		t.Run(stack, func(t *testing.T) { checkRoutesReachRealBackends(t, scaled(t).Templates[stack]) })
	}
}

func checkRoutesReachRealBackends(t *testing.T, tpl *synth.Template) {
	apiID, _ := tpl.Only(t, "AWS::ApiGateway::RestApi")
	stageID, _ := tpl.Only(t, "AWS::ApiGateway::Stage")
	methods := map[string]synth.Resource{}
	for _, id := range tpl.OfType("AWS::ApiGateway::Method") {
		r := tpl.Resources[id]
		methods[r.Properties["HttpMethod"].(string)+" "+pathOf(tpl, synth.Ref(r.Properties["ResourceId"]))] = r
	}

	for _, key := range []string{"GET /orders/{id}", "DELETE /orders/{id}"} {
		m, ok := methods[key]
		if !ok {
			t.Fatalf("no method %s among %v", key, slices.Sorted(maps.Keys(methods)))
		}
		in := m.Properties["Integration"]
		method := strings.Fields(key)[0]
		if synth.Prop(in, "Type") != "HTTP_PROXY" || synth.Prop(in, "IntegrationHttpMethod") != method ||
			synth.Prop(in, "Uri") != "https://orders.internal.example.com/v1/orders/{id}" || synth.Prop(in, "TimeoutInMillis") != 5000.0 {
			t.Errorf("%s integration = %s", key, synth.ToJSON(in))
		}
		if synth.At(in, "RequestParameters", "integration.request.path.id") != "method.request.path.id" ||
			synth.At(m.Properties, "RequestParameters", "method.request.path.id") != true {
			t.Errorf("%s does not pass {id} through: %s", key, synth.ToJSON(m.Properties))
		}
		if m.Properties["AuthorizationType"] != "CUSTOM" || m.Properties["ApiKeyRequired"] != true {
			t.Errorf("%s is not behind the authorizer and a key", key)
		}
	}

	payments, ok := methods["ANY /payments/{proxy+}"]
	if !ok {
		t.Fatalf("no ANY /payments/{proxy+} among %v", slices.Sorted(maps.Keys(methods)))
	}
	uri := synth.ToJSON(synth.Prop(payments.Properties, "Integration.Uri"))
	if synth.Prop(payments.Properties, "Integration.Type") != "AWS_PROXY" || !strings.Contains(uri, "arn:aws:lambda:eu-west-1:123456789012:function:payments") {
		t.Errorf("payments integration = %s", synth.ToJSON(payments.Properties["Integration"]))
	}
	granted := 0
	for _, id := range tpl.OfType("AWS::Lambda::Permission") {
		p := tpl.Resources[id].Properties
		if p["FunctionName"] != "arn:aws:lambda:eu-west-1:123456789012:function:payments" {
			continue
		}
		granted++
		source := synth.ToJSON(p["SourceArn"])
		refs := synth.RefsIn(p["SourceArn"])
		if p["Principal"] != "apigateway.amazonaws.com" || !slices.Contains(refs, apiID) || !slices.Contains(refs, stageID) || !strings.Contains(source, "/*/payments/*") {
			t.Errorf("permission for payments = %s, want invoke by this API's stage on /payments/*", synth.ToJSON(p))
		}
	}
	// Exactly one: every extra copy grows the function's resource policy
	// toward Lambda's 20 KB limit.
	if granted != 1 {
		t.Errorf("API Gateway has %d permissions to invoke the payments function, want 1", granted)
	}
}

// pathOf rebuilds a resource's path from its PathPart chain.
func pathOf(tpl *synth.Template, id string) string {
	r, ok := tpl.Resources[id]
	if !ok || r.Type != "AWS::ApiGateway::Resource" {
		return ""
	}
	return pathOf(tpl, synth.Ref(r.Properties["ParentId"])) + "/" + r.Properties["PathPart"].(string)
}

// WAF answers before API Gateway, so its 429 carries none of the gateway
// responses' CORS headers: it brings its own for the single allowed origin.
func TestWAFRateLimitAnswerIsReadableByTheAllowedOrigin(t *testing.T) {
	tpl := scaled(t).Templates["keygate-pinned"]
	_, acl := tpl.Only(t, "AWS::WAFv2::WebACL")
	rate := acl.Properties["Rules"].([]any)[0]
	headers := synth.ToJSON(synth.Prop(rate, "Action.Block.CustomResponse.ResponseHeaders"))
	if want := `[{"Name":"Access-Control-Allow-Origin","Value":"https://app.example.com"}]`; headers != want {
		t.Errorf("WAF's 429 headers %s, want %s", headers, want)
	}
}
