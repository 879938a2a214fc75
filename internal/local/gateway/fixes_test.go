package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/apimodel"
	"github.com/keygate/keygate/internal/apistore"
	"github.com/keygate/keygate/internal/local/tokenauth"
)

const jsonLogFormat = `{"requestId":"$context.requestId","ua":"$context.identity.userAgent","path":"$context.path","authorizerError":"$context.authorizer.error","errorMessage":$context.error.messageString,"status":"$context.status","len":"$context.responseLength","type":"$context.error.responseType","authStatus":"$context.authorizer.integrationStatus","authRequestId":"$context.authorizer.requestId","authLatency":"$context.authorizer.integrationLatency","ext":"$context.extendedRequestId"}`

func lastLine(t *testing.T, f *fixture) map[string]any {
	t.Helper()
	line := (*f.logs)[len(*f.logs)-1]
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatalf("access log line is not JSON: %s: %v", line, err)
	}
	return m
}

// Hostile values — a quote in the user agent, the path, or an emulator's
// error — leave the JSON line valid.
func TestAccessLogLinesStayJSONWithHostileValues(t *testing.T) {
	api := model(nil)
	api.Stage.AccessLogFormat = jsonLogFormat
	f := newFixture(t, api)
	f.gw.routes[api.Root.Children[0].Methods["GET"]].auth, _ = tokenauth.New(api.Authorizers["Auth"], func(context.Context, []byte) ([]byte, error) {
		return nil, errors.New(`Post "http://127.0.0.1:1/x": dial tcp 127.0.0.1:1: connect: connection refused`)
	}, nil)
	req := httptest.NewRequest("GET", `http://local/t/health%22x%5C`, nil)
	req.Header.Set("Authorization", "Bearer "+keyValue)
	req.Header.Set("User-Agent", "evil\"agent\\\n")
	f.gw.ServeHTTP(httptest.NewRecorder(), req)
	m := lastLine(t, f)
	if m["ua"] != "evil\"agent\\\n" || m["path"] != `/t/health"x\` {
		t.Errorf("values not kept: %v", m)
	}
	// The route does not exist (the path has a quote), so ask again on the
	// real one for the authorizer failure.
	req = httptest.NewRequest("GET", "http://local/t/health", nil)
	req.Header.Set("Authorization", "Bearer "+keyValue)
	rec := httptest.NewRecorder()
	f.gw.ServeHTTP(rec, req)
	m = lastLine(t, f)
	if rec.Code != 500 || m["authorizerError"] != tokenauth.ErrorInvocation || m["authStatus"] != "-" || m["status"] != "500" {
		t.Errorf("failed invocation: %d %v", rec.Code, m)
	}
}

// $context.authorizer.integrationStatus and .requestId are access log
// variables, not authorizer context keys.
func TestAuthorizerIntegrationStatusAndRequestID(t *testing.T) {
	api := model(nil)
	api.Stage.AccessLogFormat = jsonLogFormat
	f := newFixture(t, api)
	f.get("/t/health", "Authorization", "Bearer "+keyValue)
	invoked := lastLine(t, f)
	if invoked["authStatus"] != "200" || len(invoked["authRequestId"].(string)) != 36 || invoked["authRequestId"] == invoked["requestId"] || invoked["authLatency"] == "-" {
		t.Errorf("invoked: %v", invoked)
	}
	f.get("/t/health", "Authorization", "Bearer "+keyValue)
	cached := lastLine(t, f)
	if cached["authStatus"] != "-" || cached["authRequestId"] != "-" {
		t.Errorf("cached: %v", cached)
	}
}

func TestExtendedRequestIDIsIndependentOfRequestID(t *testing.T) {
	f := newFixture(t, model(nil))
	rec := f.get("/t/open")
	id, ext := rec.Header().Get("x-amzn-RequestId"), rec.Header().Get("x-amz-apigw-id")
	if len(ext) != 16 || !strings.HasSuffix(ext, "=") || strings.HasPrefix(ext, id[:8]) {
		t.Errorf("requestId %s, extendedRequestId %s", id, ext)
	}
}

func TestHeadLogsTheLengthSent(t *testing.T) {
	api := model(nil)
	api.Stage.AccessLogFormat = jsonLogFormat
	api.Root.Children[1].Methods["HEAD"] = &apimodel.Method{HTTPMethod: "HEAD", Resource: api.Root.Children[1], AuthorizationType: "NONE",
		Integration: api.Root.Children[1].Methods["GET"].Integration}
	f := newFixture(t, api)
	srv := httptest.NewServer(f.gw)
	defer srv.Close()
	resp, err := http.Head(srv.URL + "/t/open")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if m := lastLine(t, f); resp.StatusCode != 200 || m["len"] != "0" {
		t.Errorf("HEAD: %d %v", resp.StatusCode, m)
	}
}

// A payload over 10 MB is refused with API Gateway's own 413, whatever the
// template's gateway responses, before the authorizer runs.
func TestPayloadOver10MBIs413(t *testing.T) {
	api := model(map[string]*apimodel.GatewayResponse{
		"DEFAULT_4XX":       {Type: "DEFAULT_4XX", ResponseTemplates: map[string]string{"application/json": `{"custom":true}`}},
		"REQUEST_TOO_LARGE": {Type: "REQUEST_TOO_LARGE", StatusCode: "400"},
	})
	api.Stage.AccessLogFormat = jsonLogFormat
	f := newFixture(t, api)
	srv := httptest.NewServer(f.gw)
	defer srv.Close()
	for name, body := range map[string]io.Reader{
		"Content-Length": strings.NewReader(strings.Repeat("a", MaxPayload+1)),
		"chunked":        io.MultiReader(strings.NewReader(strings.Repeat("a", MaxPayload)), strings.NewReader("b")),
	} {
		req, _ := http.NewRequest("POST", srv.URL+"/t/health", body)
		req.Header.Set("Authorization", "Bearer "+keyValue)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 413 || string(got) != "HTTP content length exceeded 10485760 bytes." {
			t.Errorf("%s: %d %s", name, resp.StatusCode, got)
		}
		if m := lastLine(t, f); m["status"] != "413" || m["type"] != "REQUEST_TOO_LARGE" {
			t.Errorf("%s: %v", name, m)
		}
	}
	if f.calls.Load() != 0 {
		t.Errorf("the authorizer ran %d times for refused payloads", f.calls.Load())
	}
	// Exactly 10 MB passes (to the route's own answer: POST is undefined).
	req, _ := http.NewRequest("POST", srv.URL+"/t/health", strings.NewReader(strings.Repeat("a", MaxPayload)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == 413 {
		t.Errorf("a 10 MB payload was refused")
	}
}

func TestLambdaMappingsMatchingNoRouteAreRefused(t *testing.T) {
	api := model(nil)
	open := api.Root.Children[1].Methods["GET"]
	open.Integration = apimodel.Integration{Type: "AWS_PROXY", FunctionARN: "arn:aws:lambda:us-east-1:000000000000:function:f"}
	for mapping, wantErr := range map[string]bool{"GET /open": false, "/open": false, "POST /open": true, "GET /opne": true} {
		_, err := New(Options{API: api, Store: apistore.New(), LambdaURLs: map[string]string{mapping: "http://127.0.0.1:1"},
			Authorizers: map[string]tokenauth.Invoker{"Auth": func(context.Context, []byte) ([]byte, error) { return nil, nil }}})
		if wantErr != (err != nil) || err != nil && (!strings.Contains(err.Error(), `-lambda "`+mapping+`"`) || !strings.Contains(err.Error(), "GET /open")) {
			t.Errorf("-lambda %q: %v", mapping, err)
		}
	}
}

// A request whose client is gone before the backend answers is logged as
// what it was — no response — not as a 504 nobody received.
func TestAbandonedRequestIsNotLoggedAs504(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { close(entered); <-release }))
	defer backend.Close()
	defer close(release)
	api := model(nil)
	api.Stage.AccessLogFormat = jsonLogFormat
	api.Root.Children[1].Methods["GET"].Integration = apimodel.Integration{Type: "HTTP_PROXY", URI: backend.URL + "/x"}
	f := newFixture(t, api)
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequest("GET", "http://local/t/open", nil).WithContext(ctx)
	go func() { <-entered; cancel() }()
	rec := httptest.NewRecorder()
	f.gw.ServeHTTP(rec, req)
	if m := lastLine(t, f); m["status"] != "-" || m["type"] != "-" {
		t.Errorf("abandoned request logged as %v", m)
	}
}

// The mock response of a keygate route with several CORS origins: the static
// headers of its integration response, and the override prefix (as
// stacks.CORSOriginOverride writes it) before the body.
func TestMockCORSOriginOverride(t *testing.T) {
	const prefix = `#set($origin = $input.params().header.get("Origin"))#if($origin == "")#set($origin = $input.params().header.get("origin"))#{end}` +
		`#if($origin == "https://a.example.com" || $origin == "https://b.example.com")#set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)#{end}`
	api := model(nil)
	open := api.Root.Children[1].Methods["GET"]
	open.Integration.Responses[0].ResponseTemplates["application/json"] = prefix + `{"id":"$context.requestId"}`
	open.Integration.Responses[0].ResponseParameters = map[string]string{
		"method.response.header.Access-Control-Allow-Origin": "'https://a.example.com'",
		"method.response.header.Vary":                        "'Origin'",
	}
	f := newFixture(t, api)
	for origin, want := range map[string]string{"https://b.example.com": "https://b.example.com", "https://a.example.com": "https://a.example.com", "https://evil.example.com": "https://a.example.com", "": "https://a.example.com"} {
		rec := f.get("/t/open", "Origin", origin)
		var body map[string]string
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body["id"] != rec.Header().Get("x-amzn-RequestId") {
			t.Errorf("Origin %q: body %s", origin, rec.Body)
		}
		if got := rec.Header().Get("Access-Control-Allow-Origin"); got != want || rec.Header().Get("Vary") != "Origin" {
			t.Errorf("Origin %q: Access-Control-Allow-Origin %q, Vary %q; want %q", origin, got, rec.Header().Get("Vary"), want)
		}
	}
}

// A greedy path parameter never takes the backend URL out of the
// integration's path prefix: "." and ".." segments, encoded or not, are
// refused before anything is forwarded.
func TestProxyPathCannotEscapeTheIntegrationPrefix(t *testing.T) {
	var forwarded []string
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		forwarded = append(forwarded, r.URL.RawPath+r.URL.Path)
	}))
	defer backend.Close()
	api := model(nil)
	root := api.Root
	echo := &apimodel.Resource{PathPart: "echo", Path: "/echo", Parent: root, Methods: map[string]*apimodel.Method{}}
	proxy := &apimodel.Resource{PathPart: "{proxy+}", Path: "/echo/{proxy+}", Parent: echo, Methods: map[string]*apimodel.Method{}}
	echo.Children = []*apimodel.Resource{proxy}
	root.Children = append(root.Children, echo)
	proxy.Methods["ANY"] = &apimodel.Method{HTTPMethod: "ANY", Resource: proxy, AuthorizationType: "NONE",
		RequestParameters: map[string]bool{"method.request.path.proxy": true},
		Integration: apimodel.Integration{Type: "HTTP_PROXY", URI: backend.URL + "/api/{proxy}",
			RequestParameters: map[string]string{"integration.request.path.proxy": "method.request.path.proxy"}}}
	f := newFixture(t, api)
	srv := httptest.NewServer(f.gw)
	defer srv.Close()
	for _, path := range []string{"/t/echo/%2e%2e/admin", "/t/echo/a/%2E%2E/%2e%2e/admin", "/t/echo/./x", "/t/echo/a/.."} {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.URL.RawPath = path // keep the dots as sent
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(body), "Invalid request path") {
			t.Errorf("%s: %d %s", path, resp.StatusCode, body)
		}
	}
	if len(forwarded) != 0 {
		t.Errorf("forwarded %v", forwarded)
	}
	if resp, err := http.Get(srv.URL + "/t/echo/a..b/.hidden"); err != nil || resp.StatusCode != 200 {
		t.Errorf("dots inside a segment are ordinary: %v %v", resp.StatusCode, err)
	}
}

// The backend gets the client's Accept-Encoding, or none: not the gzip Go's
// transport would add, and a gzip answer reaches the client as sent.
func TestAcceptEncodingIsPassedThroughExactly(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Got-Accept-Encoding", r.Header.Get("Accept-Encoding"))
		if r.Header.Get("Accept-Encoding") == "gzip" {
			w.Header().Set("Content-Encoding", "gzip")
			w.Write([]byte("\x1f\x8bnot really gzip"))
			return
		}
		w.Write([]byte("plain"))
	}))
	defer backend.Close()
	api := model(nil)
	api.Root.Children[1].Methods["GET"].Integration = apimodel.Integration{Type: "HTTP_PROXY", URI: backend.URL + "/x"}
	f := newFixture(t, api)
	rec := f.get("/t/open")
	if got := rec.Header().Get("X-Got-Accept-Encoding"); got != "" || rec.Body.String() != "plain" {
		t.Errorf("without Accept-Encoding the backend got %q: %s", got, rec.Body)
	}
	rec = f.get("/t/open", "Accept-Encoding", "gzip")
	if rec.Header().Get("X-Got-Accept-Encoding") != "gzip" || rec.Header().Get("Content-Encoding") != "gzip" || rec.Body.String() != "\x1f\x8bnot really gzip" {
		t.Errorf("with gzip: %v %q", rec.Header(), rec.Body)
	}
}
