package gateway

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/apimodel"
	"github.com/keygate/keygate/internal/apistore"
	"github.com/keygate/keygate/internal/bearer"
	"github.com/keygate/keygate/internal/local/tokenauth"
)

const keyValue = "abcdefghijklmnopqrstuvwxyz0123456789ABCD"

// model is a small API: GET /health (mock, authorizer, key), GET /open
// (mock, no auth), with the given gateway responses.
func model(responses map[string]*apimodel.GatewayResponse) *apimodel.API {
	auth := &apimodel.Authorizer{LogicalID: "Auth", Name: "bearer", Type: "TOKEN", IdentityHeader: "Authorization", ValidationExpression: bearer.ValidationExpression, TTL: time.Minute}
	root := &apimodel.Resource{Path: "/", Methods: map[string]*apimodel.Method{}}
	mock := func(body string) apimodel.Integration {
		return apimodel.Integration{Type: "MOCK", RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`}, PassthroughBehavior: "NEVER",
			Responses: []apimodel.IntegrationResponse{{StatusCode: "200", ResponseTemplates: map[string]string{"application/json": body}}}}
	}
	health := &apimodel.Resource{PathPart: "health", Path: "/health", Parent: root, Methods: map[string]*apimodel.Method{}}
	health.Methods["GET"] = &apimodel.Method{HTTPMethod: "GET", Resource: health, AuthorizationType: "CUSTOM", Authorizer: auth, APIKeyRequired: true,
		Integration: mock(`{"ok":true,"id":"$context.requestId"}`)}
	open := &apimodel.Resource{PathPart: "open", Path: "/open", Parent: root, Methods: map[string]*apimodel.Method{}}
	open.Methods["GET"] = &apimodel.Method{HTTPMethod: "GET", Resource: open, AuthorizationType: "NONE", Integration: mock(`open`)}
	root.Children = []*apimodel.Resource{health, open}
	return &apimodel.API{
		Stack: "keygate-t", ID: "abcdefghij", Region: "us-east-1", Account: "000000000000", APIKeySource: "AUTHORIZER",
		Stage:            apimodel.Stage{Name: "t", AccessLogFormat: `{"id":"$context.requestId","status":"$context.status","type":"$context.error.responseType","fp":"$context.authorizer.keyFingerprint"}`},
		Root:             root,
		Authorizers:      map[string]*apimodel.Authorizer{"Auth": auth},
		GatewayResponses: responses,
	}
}

type fixture struct {
	gw      *Gateway
	store   *apistore.Store
	key     apistore.Key
	calls   *atomic.Int64
	logs    *[]string
	respond *atomic.Value // the authorizer's answer
}

func newFixture(t testing.TB, api *apimodel.API) *fixture {
	t.Helper()
	store := apistore.New()
	plan, _ := store.CreatePlan(apistore.Plan{Name: "p", APIStages: []apistore.APIStage{{APIID: api.ID, Stage: api.Stage.Name}}})
	key, _ := store.CreateKey(apistore.Key{Name: "k", Value: keyValue, Enabled: true})
	store.AttachKey(plan.ID, key.ID)
	f := &fixture{store: store, key: key, calls: &atomic.Int64{}, logs: &[]string{}, respond: &atomic.Value{}}
	f.respond.Store(`{"principalId":"p1","usageIdentifierKey":"` + keyValue + `","context":{"keyFingerprint":"kf-1"},"policyDocument":{"Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:000000000000:abcdefghij/t/*/*"}]}}`)
	invoke := func(_ context.Context, payload []byte) ([]byte, error) {
		f.calls.Add(1)
		return []byte(f.respond.Load().(string)), nil
	}
	gw, err := New(Options{API: api, Store: store, Authorizers: map[string]tokenauth.Invoker{"Auth": invoke},
		AccessLog: func(line []byte) { *f.logs = append(*f.logs, string(line)) }})
	if err != nil {
		t.Fatal(err)
	}
	f.gw = gw
	return f
}

func (f *fixture) get(path string, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", "http://local"+path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	f.gw.ServeHTTP(rec, req)
	return rec
}

func TestGatewayResponsesFallBackToTheDefaults(t *testing.T) {
	f := newFixture(t, model(map[string]*apimodel.GatewayResponse{
		"DEFAULT_4XX": {Type: "DEFAULT_4XX", ResponseParameters: map[string]string{"gatewayresponse.header.X-Default": "'4xx'"},
			ResponseTemplates: map[string]string{"application/json": `{"error":$context.error.messageString,"type":"$context.error.responseType"}`}},
	}))
	rec := f.get("/t/health")
	if rec.Code != 401 || rec.Header().Get("X-Default") != "4xx" || rec.Body.String() != `{"error":"Unauthorized","type":"UNAUTHORIZED"}` {
		t.Errorf("401 through DEFAULT_4XX: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	rec = f.get("/t/nope")
	if rec.Code != 403 || rec.Body.String() != `{"error":"Missing Authentication Token","type":"MISSING_AUTHENTICATION_TOKEN"}` {
		t.Errorf("403: %d %s", rec.Code, rec.Body)
	}
	// Without any gateway response, API Gateway's own body.
	bare := newFixture(t, model(nil))
	if rec := bare.get("/t/health"); rec.Code != 401 || rec.Body.String() != `{"message":"Unauthorized"}` {
		t.Errorf("built-in 401: %d %s", rec.Code, rec.Body)
	}
}

func TestDefault4XXStatusCodeAppliesToTypesWithoutTheirOwn(t *testing.T) {
	f := newFixture(t, model(map[string]*apimodel.GatewayResponse{
		"DEFAULT_4XX":  {Type: "DEFAULT_4XX", StatusCode: "400"},
		"UNAUTHORIZED": {Type: "UNAUTHORIZED", StatusCode: "401"},
	}))
	if rec := f.get("/t/nope"); rec.Code != 400 {
		t.Errorf("MISSING_AUTHENTICATION_TOKEN with DEFAULT_4XX at 400: %d", rec.Code)
	}
	if rec := f.get("/t/health"); rec.Code != 401 {
		t.Errorf("UNAUTHORIZED with its own 401: %d", rec.Code)
	}
}

func TestAuthorizerOutcomes(t *testing.T) {
	f := newFixture(t, model(nil))
	rec := f.get("/t/health", "Authorization", "Bearer "+keyValue)
	var body map[string]any
	json.Unmarshal(rec.Body.Bytes(), &body)
	if rec.Code != 200 || body["id"] != rec.Header().Get("x-amzn-RequestId") {
		t.Fatalf("allowed: %d %s", rec.Code, rec.Body)
	}
	if !strings.Contains((*f.logs)[len(*f.logs)-1], `"fp":"kf-1"`) {
		t.Errorf("the access log lacks the authorizer context: %s", (*f.logs)[len(*f.logs)-1])
	}
	for _, tc := range []struct {
		answer string
		status int
		body   string
	}{
		{`{"principalId":"p","policyDocument":{"Statement":[{"Effect":"Deny","Action":"execute-api:Invoke","Resource":"*"}]}}`, 403, `{"message":"User is not authorized to access this resource with an explicit deny"}`},
		{`{"errorMessage":"boom","errorType":"errorString"}`, 500, `{"message":null}`},
		{`{"errorMessage":"Unauthorized","errorType":"errorString"}`, 401, `{"message":"Unauthorized"}`},
		{`{"principalId":"p","usageIdentifierKey":"nope-nope-nope-nope-nope","policyDocument":{"Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}}`, 403, `{"message":"Forbidden"}`},
	} {
		f.respond.Store(tc.answer)
		// A fresh token each time: results are cached per token.
		token := "Bearer " + apistore.RandomValue(30)
		if rec := f.get("/t/health", "Authorization", token); rec.Code != tc.status || rec.Body.String() != tc.body {
			t.Errorf("answer %s: %d %s, want %d %s", tc.answer, rec.Code, rec.Body, tc.status, tc.body)
		}
	}
	if rec := f.get("/t/open"); rec.Code != 200 || rec.Body.String() != "open" {
		t.Errorf("a NONE method: %d %s", rec.Code, rec.Body)
	}
}

func TestAPIKeyFromHeaderSource(t *testing.T) {
	api := model(nil)
	api.APIKeySource = "HEADER"
	f := newFixture(t, api)
	if rec := f.get("/t/health", "Authorization", "Bearer "+keyValue); rec.Code != 403 {
		t.Errorf("without x-api-key: %d", rec.Code)
	}
	if rec := f.get("/t/health", "Authorization", "Bearer "+keyValue, "x-api-key", keyValue); rec.Code != 200 {
		t.Errorf("with x-api-key: %d %s", rec.Code, rec.Body)
	}
}

func TestHTTPIntegrationTimeout(t *testing.T) {
	release := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer backend.Close()
	defer close(release)
	api := model(nil)
	open := api.Root.Children[1]
	open.Methods["GET"].Integration = apimodel.Integration{Type: "HTTP_PROXY", URI: backend.URL + "/x", Timeout: 50 * time.Millisecond}
	f := newFixture(t, api)
	rec := f.get("/t/open")
	if rec.Code != 504 || rec.Body.String() != `{"message":"Endpoint request timed out"}` {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
	io.Discard.Write(nil)
}

func TestNewRefusesWhatItCannotServeAsAPIGatewayWould(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*apimodel.API)
		want   string
	}{
		{"a VTL directive in a mock", func(a *apimodel.API) {
			a.Root.Children[1].Methods["GET"].Integration.Responses[0].ResponseTemplates["application/json"] = `#if($x)a#end`
		}, `GET /open: MOCK response template: the Velocity directive "#if" is not supported`},
		{"$input in a gateway response", func(a *apimodel.API) {
			a.GatewayResponses = map[string]*apimodel.GatewayResponse{"DEFAULT_4XX": {Type: "DEFAULT_4XX", ResponseTemplates: map[string]string{"application/json": `$input.body`}}}
		}, "gateway response DEFAULT_4XX: the reference $input.body is not supported"},
		{"the key value in the access log", func(a *apimodel.API) {
			a.Stage.AccessLogFormat = `{"key":"$context.identity.apiKey"}`
		}, "$context.identity.apiKey is the API key's value"},
		{"another mock request template", func(a *apimodel.API) {
			a.Root.Children[1].Methods["GET"].Integration.RequestTemplates["application/json"] = `#set($x = 1){"statusCode": 200}`
		}, `GET /open: MOCK request template`},
		{"an IAM method", func(a *apimodel.API) { a.Root.Children[1].Methods["GET"].AuthorizationType = "AWS_IAM" }, "AuthorizationType AWS_IAM is not emulated"},
		{"an AWS integration", func(a *apimodel.API) { a.Root.Children[1].Methods["GET"].Integration.Type = "AWS" }, "integration type AWS is not emulated"},
		{"a header mapping from the integration", func(a *apimodel.API) {
			a.Root.Children[1].Methods["GET"].Integration.Responses[0].ResponseParameters = map[string]string{"method.response.header.X": "integration.response.header.Y"}
		}, `header X: the mapping "integration.response.header.Y" is not emulated`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := model(nil)
			tc.change(api)
			_, err := New(Options{API: api, Store: apistore.New(), Authorizers: map[string]tokenauth.Invoker{"Auth": func(context.Context, []byte) ([]byte, error) { return nil, nil }}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// BenchmarkCachedAuthorizerToMock is the hot path in process: a cached
// authorizer result, the key's plan, a mock answer and an access log line.
func BenchmarkCachedAuthorizerToMock(b *testing.B) {
	benchmarkServe(b, model(nil))
}

// benchmarkServe sends GET /health with a key to api's gateway in
// parallel, after one request that caches the authorizer's answer.
func benchmarkServe(b *testing.B, api *apimodel.API) {
	f := newFixture(b, api)
	f.gw.logLine = func([]byte) {}
	req := httptest.NewRequest("GET", "http://local/t/health", nil)
	req.Header.Set("Authorization", "Bearer "+keyValue)
	f.gw.ServeHTTP(httptest.NewRecorder(), req)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec := discardWriter{h: http.Header{}}
			f.gw.ServeHTTP(&rec, req)
			if rec.status != 200 {
				b.Fatal(rec.status)
			}
		}
	})
}

type discardWriter struct {
	h      http.Header
	status int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(s int)           { d.status = s }

func TestNonProxyHTTPSelectsTheIntegrationResponse(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			w.WriteHeader(404)
		}
		w.Write([]byte("backend body"))
	}))
	defer backend.Close()
	api := model(nil)
	open := api.Root.Children[1].Methods["GET"]
	open.Integration = apimodel.Integration{Type: "HTTP", URI: backend.URL + "/ok", HTTPMethod: "GET", Responses: []apimodel.IntegrationResponse{
		{StatusCode: "200"},
		{StatusCode: "410", SelectionPattern: "4\\d\\d", ResponseParameters: map[string]string{"method.response.header.X-Gone": "'yes'"}},
	}}
	f := newFixture(t, api)
	if rec := f.get("/t/open"); rec.Code != 200 || rec.Body.String() != "backend body" {
		t.Errorf("default response: %d %s", rec.Code, rec.Body)
	}
	open.Integration.URI = backend.URL + "/missing"
	f = newFixture(t, api)
	if rec := f.get("/t/open"); rec.Code != 410 || rec.Header().Get("X-Gone") != "yes" {
		t.Errorf("404 through the 4\\d\\d response: %d %v", rec.Code, rec.Header())
	}
	open.Integration.Responses = open.Integration.Responses[1:]
	open.Integration.URI = backend.URL + "/ok"
	f = newFixture(t, api)
	if rec := f.get("/t/open"); rec.Code != 500 || rec.Body.String() != `{"message":"Internal server error"}` {
		t.Errorf("no matching response: %d %s", rec.Code, rec.Body)
	}
}
