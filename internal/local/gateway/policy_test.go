package gateway

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/apimodel"
	"github.com/keygate/keygate/internal/apistore"
	"github.com/keygate/keygate/internal/local/tokenauth"
	"github.com/keygate/keygate/internal/sourceip"
)

// withPolicy is the test model with the policy keygate writes for rules
// (CORS preflights allowed) and a mock OPTIONS /health without authorizer.
func withPolicy(t testing.TB, rules *sourceip.Rules) *apimodel.API {
	t.Helper()
	api := model(map[string]*apimodel.GatewayResponse{
		"ACCESS_DENIED": {Type: "ACCESS_DENIED", StatusCode: "403",
			ResponseTemplates: map[string]string{"application/json": `{"message": $context.error.messageString, "type": "$context.error.responseType"}`}},
	})
	health := api.Root.Children[0]
	health.Methods["OPTIONS"] = &apimodel.Method{HTTPMethod: "OPTIONS", Resource: health, AuthorizationType: "NONE",
		Integration: apimodel.Integration{Type: "MOCK", RequestTemplates: map[string]string{"application/json": `{"statusCode": 204}`},
			Responses: []apimodel.IntegrationResponse{{StatusCode: "204"}}}}
	if rules != nil {
		data, _ := json.Marshal(rules.Policy(true))
		json.Unmarshal(data, &api.Policy)
	}
	return api
}

func from(f *fixture, method, path, remote string, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "http://local"+path, nil)
	req.RemoteAddr = remote
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	f.gw.ServeHTTP(rec, req)
	return rec
}

func TestResourcePolicyAppliesToTheClientAddress(t *testing.T) {
	rules := sourceip.Rules{
		Allow: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8::/32")},
		Deny:  []netip.Prefix{netip.MustParsePrefix("203.0.113.64/26")},
	}
	token := []string{"Authorization", "Bearer " + keyValue}
	const denied = `User: anonymous is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-1:********0000:abcdefghij/t/`
	for _, tc := range []struct {
		name, method, path, remote string
		headers                    []string
		status                     int
		message                    string // "" for a 2xx
		invoked                    bool
	}{
		{"allowed IPv4 with a key", "GET", "/t/health", "203.0.113.7:4000", token, 200, "", true},
		{"allowed IPv6 with a key", "GET", "/t/health", "[2001:db8::5]:4000", token, 200, "", true},
		{"allowed, without a key: the authorizer's 401", "GET", "/t/health", "203.0.113.7:4000", nil, 401, "Unauthorized", false},
		{"outside the allow list, before the authorizer", "GET", "/t/health", "198.51.100.1:4000", token, 403, denied + "GET/health with an explicit deny", false},
		{"outside, without a key: 403, not 401", "GET", "/t/health", "198.51.100.1:4000", nil, 403, denied + "GET/health with an explicit deny", false},
		{"IPv6 outside", "GET", "/t/health", "[2001:db9::1]:4000", token, 403, denied + "GET/health with an explicit deny", false},
		{"deny beats allow", "GET", "/t/health", "203.0.113.70:4000", token, 403, denied + "GET/health with an explicit deny", false},
		{"X-Forwarded-For is not trusted", "GET", "/t/health", "198.51.100.1:4000", append([]string{"X-Forwarded-For", "203.0.113.7"}, token...), 403, denied + "GET/health with an explicit deny", false},
		{"preflight (no authorizer) from an allowed address", "OPTIONS", "/t/health", "203.0.113.7:4000", nil, 204, "", false},
		{"preflight from a denied address", "OPTIONS", "/t/health", "203.0.113.70:4000", nil, 403, denied + "OPTIONS/health with an explicit deny", false},
		{"a GET without authorizer needs an Allow", "GET", "/t/open", "203.0.113.7:4000", nil, 403, denied + "GET/open", false},
		{"an undefined route stays 403 MISSING_AUTHENTICATION_TOKEN", "GET", "/t/nope", "198.51.100.1:4000", token, 403, "Missing Authentication Token", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, withPolicy(t, &rules))
			rec := from(f, tc.method, tc.path, tc.remote, tc.headers...)
			if rec.Code != tc.status {
				t.Fatalf("%d %s, want %d", rec.Code, rec.Body, tc.status)
			}
			var body map[string]any
			json.Unmarshal(rec.Body.Bytes(), &body)
			if tc.message != "" && body["message"] != tc.message {
				t.Errorf("message %q, want %q", body["message"], tc.message)
			}
			if strings.HasPrefix(tc.message, "User: anonymous") {
				if body["type"] != "ACCESS_DENIED" || rec.Header().Get("x-amzn-ErrorType") != "AccessDeniedException" {
					t.Errorf("type %v, x-amzn-ErrorType %q", body["type"], rec.Header().Get("x-amzn-ErrorType"))
				}
				if line := (*f.logs)[len(*f.logs)-1]; !strings.Contains(line, `"status":"403","type":"ACCESS_DENIED"`) {
					t.Errorf("access log %s", line)
				}
			}
			if got := f.calls.Load() > 0; got != tc.invoked {
				t.Errorf("authorizer invoked: %v, want %v", got, tc.invoked)
			}
		})
	}
}

func TestWithoutAPolicyEveryAddressPasses(t *testing.T) {
	f := newFixture(t, withPolicy(t, nil))
	for _, remote := range []string{"198.51.100.1:1", "[2001:db9::1]:1", "pipe"} {
		if rec := from(f, "GET", "/t/health", remote, "Authorization", "Bearer "+keyValue); rec.Code != 200 {
			t.Errorf("%s: %d %s", remote, rec.Code, rec.Body)
		}
		if rec := from(f, "GET", "/t/open", remote); rec.Code != 200 {
			t.Errorf("%s, no authorizer: %d %s", remote, rec.Code, rec.Body)
		}
		if rec := from(f, "OPTIONS", "/t/health", remote); rec.Code != 204 {
			t.Errorf("%s, preflight: %d %s", remote, rec.Code, rec.Body)
		}
	}
}

// Table A: an authorizer policy that neither allows nor denies the method,
// with a resource policy that allows it, is an Allow; without one it is an
// implicit deny. An authorizer Deny stays a deny.
func TestAuthorizerAndResourcePolicyCombineByTableA(t *testing.T) {
	neither := `{"principalId":"p","usageIdentifierKey":"` + keyValue + `","policyDocument":{"Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:000000000000:abcdefghij/other/*"}]}}`
	deny := `{"principalId":"p","usageIdentifierKey":"` + keyValue + `","policyDocument":{"Statement":[{"Effect":"Deny","Action":"execute-api:Invoke","Resource":"*"}]}}`
	anySource := sourceip.Rules{}
	for _, tc := range []struct {
		name   string
		rules  *sourceip.Rules
		answer string
		status int
	}{
		{"neither + AllowAnySourceIp = Allow", &anySource, neither, 200},
		{"neither + no policy = implicit deny", nil, neither, 403},
		{"neither + a policy that only denies = implicit deny", &sourceip.Rules{Deny: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}}, neither, 403},
		{"Deny + AllowAnySourceIp = Deny", &anySource, deny, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, withPolicy(t, tc.rules))
			f.respond.Store(tc.answer)
			rec := from(f, "GET", "/t/health", "192.0.2.1:1", "Authorization", "Bearer "+keyValue)
			if rec.Code != tc.status {
				t.Errorf("%d %s, want %d", rec.Code, rec.Body, tc.status)
			}
			if tc.status == 403 && !strings.Contains(rec.Body.String(), "User is not authorized to access this resource") {
				t.Errorf("the authorizer's message, not the resource policy's: %s", rec.Body)
			}
		})
	}
}

func TestResourcePolicyDenialWithoutGatewayResponses(t *testing.T) {
	api := withPolicy(t, &sourceip.Rules{Deny: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}})
	api.GatewayResponses = nil
	f := newFixture(t, api)
	rec := from(f, "GET", "/t/health", "192.0.2.1:1", "Authorization", "Bearer "+keyValue)
	want := `{"Message":"User: anonymous is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-1:********0000:abcdefghij/t/GET/health with an explicit deny"}`
	if rec.Code != 403 || rec.Body.String() != want {
		t.Errorf("%d %s\nwant 403 %s", rec.Code, rec.Body, want)
	}
}

func TestNewRefusesAPolicyItCannotEvaluate(t *testing.T) {
	api := model(nil)
	api.Policy = map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*",
		"Condition": map[string]any{"StringNotEquals": map[string]any{"aws:SourceVpce": "vpce-1"}}}}}
	_, err := New(Options{API: api, Store: apistore.New(), Authorizers: map[string]tokenauth.Invoker{"Auth": func(context.Context, []byte) ([]byte, error) { return nil, nil }}})
	if err == nil || !strings.Contains(err.Error(), "cannot be served locally") || !strings.Contains(err.Error(), "resource policy: Statement[0]: Condition operator StringNotEquals is not emulated locally") {
		t.Errorf("err = %v", err)
	}
}

// BenchmarkCachedAuthorizerToMockWithSourceIPRules is the hot path with an
// allow list and a deny list: the resource policy's Deny statements are
// evaluated against the client address before the cached authorizer
// result.
func BenchmarkCachedAuthorizerToMockWithSourceIPRules(b *testing.B) {
	benchmarkWithPolicy(b, &sourceip.Rules{
		Allow: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/32")},
		Deny:  []netip.Prefix{netip.MustParsePrefix("192.0.2.128/25")},
	})
}

// BenchmarkCachedAuthorizerToMockWithAllowAnySourceIp is the hot path with
// the policy keygate writes without rules, a single Allow.
func BenchmarkCachedAuthorizerToMockWithAllowAnySourceIp(b *testing.B) {
	benchmarkWithPolicy(b, &sourceip.Rules{})
}

// benchmarkWithPolicy is benchmarkServe (requests from httptest's
// 192.0.2.1) with the resource policy of rules.
func benchmarkWithPolicy(b *testing.B, rules *sourceip.Rules) {
	benchmarkServe(b, withPolicy(b, rules))
}
