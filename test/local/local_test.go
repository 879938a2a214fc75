// Package local tests keygate local end to end: a config with several plans,
// a disabled key, an imported key, mock, HTTP and Lambda routes and CORS is
// synthesized, served by the local gateway on a free loopback port, and
// driven through a real HTTP client.
package local

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/apistore"
	"github.com/keygate/keygate/internal/local/server"
	"github.com/keygate/keygate/test/synth"
)

// fakeClock drives buckets, quotas and the authorizer cache: no test here
// waits for real time to pass.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const (
	originA = "https://a.example.com"
	originB = "https://b.example.com"
	// importedValue is the imported key's value, given in the KEYS file.
	importedValue = "importedKeyValue0123456789abcdefghij"
)

func testConfig(backendURL string) map[string]any {
	logging := map[string]any{"level": "INFO", "dataTrace": false, "retentionDays": 7, "removalPolicy": "destroy"}
	plan := func(name string, rate float64, burst int, quota map[string]any) map[string]any {
		p := map[string]any{"name": name, "throttle": map[string]any{"rateLimit": rate, "burstLimit": burst}}
		if quota != nil {
			p["quota"] = quota
		}
		return p
	}
	key := func(name, plan string, extra ...any) map[string]any {
		k := map[string]any{"name": name, "plan": plan}
		for i := 0; i+1 < len(extra); i += 2 {
			k[extra[i].(string)] = extra[i+1]
		}
		return k
	}
	health := map[string]any{"path": "/health", "methods": []any{"GET"}, "integration": map[string]any{"type": "mock", "statusCode": 200, "body": `{"status":"ok"}`}}
	return map[string]any{
		"environments": map[string]any{
			"e2e": map[string]any{
				"stageName":                 "v1",
				"throttle":                  map[string]any{"rateLimit": 1000, "burstLimit": 1000},
				"logging":                   logging,
				"authorizerCacheTtlSeconds": 60,
				"cors":                      map[string]any{"allowedOrigins": []any{originA, originB}},
				"usagePlans": []any{
					plan("standard", 100, 100, nil),
					plan("throttled", 1, 2, nil),
					plan("metered", 100, 100, map[string]any{"limit": 3, "period": "DAY"}),
				},
				"apiKeys": []any{
					key("alice", "standard"),
					key("switched-off", "standard", "enabled", false),
					key("slow", "throttled"),
					key("counted", "metered"),
					key("imported-key", "standard", "secretName", "keygate/e2e/imported"),
				},
				"routes": []any{
					health,
					map[string]any{"path": "/echo/{proxy+}", "methods": []any{"ANY"}, "integration": map[string]any{"type": "mock", "statusCode": 200, "body": `{"echo":true}`}},
					map[string]any{"path": "/orders/{id}", "methods": []any{"GET", "POST"}, "integration": map[string]any{"type": "http", "url": backendURL + "/backend/{id}"}},
					map[string]any{"path": "/remote", "methods": []any{"GET"}, "integration": map[string]any{"type": "lambda", "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:remote"}},
					map[string]any{"path": "/forwarded/{id}", "methods": []any{"GET"}, "integration": map[string]any{"type": "lambda", "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:forwarded"}},
				},
			},
			// Source IP rules and CORS (see sourceip_test.go).
			"guarded": guardedEnvironment(logging, health),
			// A stage throttle of 1 request/s, burst 2, per method.
			"tight": map[string]any{
				"stageName":  "tight",
				"throttle":   map[string]any{"rateLimit": 1, "burstLimit": 2},
				"logging":    logging,
				"usagePlans": []any{plan("p", 1, 1, nil)},
				"apiKeys":    []any{key("k1", "p"), key("k2", "p"), key("k3", "p")},
				"routes":     []any{health},
			},
		},
	}
}

type client struct {
	t    *testing.T
	base string
	// http sends the requests (http.DefaultClient when nil).
	http *http.Client
}

type response struct {
	status int
	header http.Header
	body   string
	json   map[string]any
}

func (c client) do(method, path string, body string, headers ...string) response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	httpClient := c.http
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, header: resp.Header, body: string(data)}
	json.Unmarshal(data, &r.json)
	return r
}

func bearer(key string) []string { return []string{"Authorization", "Bearer " + key} }

// expectError checks a gateway response: status, message and the JSON body
// shape of keygate's gateway responses, with the request id of the header.
func expectError(t *testing.T, what string, r response, status int, message, errorType string) {
	t.Helper()
	if r.status != status || r.json["message"] != message {
		t.Errorf("%s: %d %s, want %d with message %q", what, r.status, r.body, status, message)
	}
	if id := r.header.Get("x-amzn-RequestId"); id == "" || r.json["requestId"] != id {
		t.Errorf("%s: body requestId %v, header %q", what, r.json["requestId"], id)
	}
	if got := r.header.Get("x-amzn-ErrorType"); got != errorType {
		t.Errorf("%s: x-amzn-ErrorType %q, want %q", what, got, errorType)
	}
}

func TestLocalGateway(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Backend", "orders")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"method": r.Method, "uri": r.URL.RequestURI(), "body": string(body), "bearer": strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ")})
	}))
	defer backend.Close()
	lambdaStandIn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"lambda":"local","uri":%q}`, r.URL.RequestURI())
	}))
	defer lambdaStandIn.Close()

	dir := filepath.Join(t.TempDir(), "cdk.out")
	context := synth.CDKJSONContext(t)
	context["keygate"] = testConfig(backend.URL)
	synth.Synthesize(t, dir, context, synth.Checks{})

	clock := &fakeClock{t: time.Date(2026, 11, 25, 0, 0, 10, 0, time.UTC)}
	store := apistore.New(apistore.WithClock(clock.Now))
	options := server.Options{AssemblyDir: dir, Env: "e2e", Addr: "127.0.0.1:0", ModuleDir: synth.ModuleDir,
		Store: store, Now: clock.Now, EmulatorInstances: 1,
		LambdaURLs: map[string]string{"GET /forwarded/{id}": lambdaStandIn.URL + "/fn/{id}"}}

	t.Run("an imported key without a value is refused at start", func(t *testing.T) {
		_, err := server.Start(t.Context(), options)
		if err == nil || !strings.Contains(err.Error(), `API key "imported-key" is imported from the Secrets Manager secret "keygate/e2e/imported"`) || !strings.Contains(err.Error(), "KEYS") {
			t.Fatalf("err = %v", err)
		}
	})

	keysFile := filepath.Join(t.TempDir(), "keys.json")
	os.WriteFile(keysFile, []byte(`{"imported-key": "`+importedValue+`"}`), 0o600)
	options.KeysFile = keysFile
	srv, err := server.Start(t.Context(), options)
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			srv.Close()
		}
	}()
	if want := "/v1"; !strings.HasSuffix(srv.URL, want) {
		t.Fatalf("URL %s, want the v1 stage", srv.URL)
	}

	info, err := os.Stat(srv.KeysFile)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v, mode %v; want mode 0600", srv.KeysFile, err, info.Mode().Perm())
	}
	var keys map[string]string
	data, _ := os.ReadFile(srv.KeysFile)
	json.Unmarshal(data, &keys)
	for _, name := range []string{"alice", "switched-off", "slow", "counted"} {
		if len(keys[name]) != 40 {
			t.Fatalf("generated value of %s has length %d, want 40", name, len(keys[name]))
		}
	}
	if _, ok := keys["imported-key"]; ok {
		t.Error("the imported key's value, given in KEYS, was copied to the generated keys file")
	}
	keyID := map[string]string{}
	for _, k := range store.Keys() {
		keyID[k.Name] = k.ID
	}

	c := client{t: t, base: srv.URL}
	alice := keys["alice"]
	requests := 0 // requests to the stage, one access log line each
	do := func(method, path, body string, headers ...string) response {
		requests++
		return c.do(method, path, body, headers...)
	}
	var unauthorizedID, okID string

	t.Run("malformed Authorization headers are 401 without invoking the Lambda", func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			headers []string
		}{
			{"no header", nil},
			{"wrong scheme", []string{"Authorization", "Basic " + alice}},
			{"too short", bearer("short-token")},
			{"extra token", []string{"Authorization", "Bearer " + alice + " " + alice}},
		} {
			r := do("GET", "/health", "", append(tc.headers, "Origin", originB)...)
			expectError(t, tc.name, r, 401, "Unauthorized", "UnauthorizedException")
			if got := r.header.Get("WWW-Authenticate"); got != `Bearer realm="keygate-e2e"` {
				t.Errorf("%s: WWW-Authenticate %q", tc.name, got)
			}
			// With several origins the gateway responses echo the request's.
			if got := r.header.Get("Access-Control-Allow-Origin"); got != originB {
				t.Errorf("%s: Access-Control-Allow-Origin %q, want %q", tc.name, got, originB)
			}
			unauthorizedID = r.json["requestId"].(string)
		}
		if n := srv.AuthorizerInvocations(); n != 0 {
			t.Errorf("the authorizer Lambda ran %d times for malformed headers", n)
		}
	})

	t.Run("an unknown key is a 403 INVALID_API_KEY after the Lambda", func(t *testing.T) {
		r := do("GET", "/health", "", bearer(apistore.RandomValue(40))...)
		expectError(t, "unknown key", r, 403, "Forbidden", "ForbiddenException")
		if n := srv.AuthorizerInvocations(); n != 1 {
			t.Errorf("%d invocations, want 1", n)
		}
	})

	t.Run("a disabled key is a 403", func(t *testing.T) {
		r := do("GET", "/health", "", bearer(keys["switched-off"])...)
		expectError(t, "disabled key", r, 403, "Forbidden", "ForbiddenException")
	})

	t.Run("a valid key reaches the mock; the result is cached per token for the TTL", func(t *testing.T) {
		before := srv.AuthorizerInvocations()
		r := do("GET", "/health", "", bearer(alice)...)
		if r.status != 200 || r.body != `{"status":"ok"}` || r.header.Get("Content-Type") != "application/json" {
			t.Fatalf("valid key: %d %s", r.status, r.body)
		}
		okID = r.header.Get("x-amzn-RequestId")
		r = do("POST", "/echo/a/b", `{"x":1}`, append(bearer(alice), "Content-Type", "application/json")...)
		if r.status != 200 || r.body != `{"echo":true}` {
			t.Errorf("proxy+ mock: %d %s", r.status, r.body)
		}
		if n := srv.AuthorizerInvocations() - before; n != 1 {
			t.Errorf("%d invocations for two requests with one token, want 1 (cached)", n)
		}
		clock.Advance(61 * time.Second) // past the 60 s TTL
		do("GET", "/health", "", bearer(alice)...)
		if n := srv.AuthorizerInvocations() - before; n != 2 {
			t.Errorf("%d invocations after the TTL, want 2", n)
		}
		// The imported key works with the value from KEYS.
		if r := do("GET", "/health", "", bearer(importedValue)...); r.status != 200 {
			t.Errorf("imported key: %d %s", r.status, r.body)
		}
	})

	t.Run("an undefined resource or method is 403 before the authorizer", func(t *testing.T) {
		before := srv.AuthorizerInvocations()
		for _, tc := range [][2]string{{"GET", "/nope"}, {"DELETE", "/health"}, {"GET", "/echo"}, {"GET", "/"}} {
			r := do(tc[0], tc[1], "", bearer(apistore.RandomValue(40))...)
			expectError(t, tc[0]+" "+tc[1], r, 403, "Missing Authentication Token", "MissingAuthenticationTokenException")
		}
		if n := srv.AuthorizerInvocations() - before; n != 0 {
			t.Errorf("the authorizer ran %d times for undefined routes", n)
		}
	})

	t.Run("a mock refuses a body it has no template for", func(t *testing.T) {
		r := do("POST", "/echo/x", "hello", append(bearer(alice), "Content-Type", "text/plain")...)
		expectError(t, "text/plain", r, 415, "Unsupported Media Type", "UnsupportedMediaTypeException")
	})

	t.Run("HTTP proxy routes forward with path parameters, query and headers", func(t *testing.T) {
		r := do("POST", "/orders/42?expand=items", `{"n":1}`, append(bearer(alice), "Content-Type", "application/json")...)
		if r.status != 201 || r.header.Get("X-Backend") != "orders" {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if r.json["uri"] != "/backend/42?expand=items" || r.json["method"] != "POST" || r.json["body"] != `{"n":1}` || r.json["bearer"] != true {
			t.Errorf("the backend saw %s", r.body)
		}
	})

	t.Run("Lambda routes: remote ones answer 502, mapped ones are forwarded", func(t *testing.T) {
		r := do("GET", "/remote", "", bearer(alice)...)
		if r.status != 502 || !strings.Contains(fmt.Sprint(r.json["message"]), "arn:aws:lambda:us-east-1:123456789012:function:remote, which runs in AWS") {
			t.Errorf("remote: %d %s", r.status, r.body)
		}
		r = do("GET", "/forwarded/7", "", bearer(alice)...)
		if r.status != 200 || r.json["uri"] != "/fn/7" {
			t.Errorf("forwarded: %d %s", r.status, r.body)
		}
	})

	t.Run("the plan's token bucket throttles per key", func(t *testing.T) {
		slow := keys["slow"]
		for i := range 2 { // burst 2
			if r := do("GET", "/health", "", bearer(slow)...); r.status != 200 {
				t.Fatalf("request %d: %d %s", i+1, r.status, r.body)
			}
		}
		expectError(t, "third request", do("GET", "/health", "", bearer(slow)...), 429, "Too Many Requests", "TooManyRequestsException")
		// Another key of another plan is not affected.
		if r := do("GET", "/health", "", bearer(alice)...); r.status != 200 {
			t.Errorf("alice: %d", r.status)
		}
		clock.Advance(time.Second) // one token at 1 request/s
		if r := do("GET", "/health", "", bearer(slow)...); r.status != 200 {
			t.Errorf("after a second: %d %s", r.status, r.body)
		}
	})

	t.Run("the plan's daily quota", func(t *testing.T) {
		counted := keys["counted"]
		for i := range 3 {
			if r := do("GET", "/health", "", bearer(counted)...); r.status != 200 {
				t.Fatalf("request %d: %d %s", i+1, r.status, r.body)
			}
		}
		expectError(t, "fourth request", do("GET", "/health", "", bearer(counted)...), 429, "Limit Exceeded", "LimitExceededException")
		plans, _ := store.KeyPlans(keyID["counted"])
		usage, err := store.GetUsage(plans[0].ID, keyID["counted"], clock.Now(), clock.Now())
		if err != nil || usage.Items[keyID["counted"]][0] != [2]int64{3, 0} {
			t.Errorf("usage %v, %v; want 3 used, 0 remaining", usage.Items, err)
		}
		clock.Advance(24 * time.Hour)
		if r := do("GET", "/health", "", bearer(counted)...); r.status != 200 {
			t.Errorf("next day: %d %s", r.status, r.body)
		}
	})

	t.Run("CORS preflight as the OPTIONS methods define it", func(t *testing.T) {
		before := srv.AuthorizerInvocations()
		for origin, want := range map[string]string{originA: originA, originB: originB, "https://evil.example.com": originA} {
			r := do("OPTIONS", "/health", "", "Origin", origin, "Access-Control-Request-Method", "GET")
			if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != want {
				t.Errorf("Origin %s: %d, Access-Control-Allow-Origin %q, want 204 and %q", origin, r.status, r.header.Get("Access-Control-Allow-Origin"), want)
			}
			if got := r.header.Get("Access-Control-Allow-Headers"); got != "Authorization,Content-Type" {
				t.Errorf("Access-Control-Allow-Headers %q", got)
			}
			if !strings.Contains(r.header.Get("Access-Control-Allow-Methods"), "GET") || r.header.Get("Access-Control-Max-Age") != "3600" {
				t.Errorf("preflight headers %v", r.header)
			}
		}
		if n := srv.AuthorizerInvocations() - before; n != 0 {
			t.Errorf("preflight invoked the authorizer %d times", n)
		}
	})

	t.Run("a mock route's own answer carries CORS headers", func(t *testing.T) {
		for origin, want := range map[string]string{originA: originA, originB: originB, "https://evil.example.com": originA} {
			r := do("GET", "/health", "", append(bearer(alice), "Origin", origin)...)
			if r.status != 200 || r.body != `{"status":"ok"}` || r.header.Get("Access-Control-Allow-Origin") != want || r.header.Get("Vary") != "Origin" {
				t.Errorf("Origin %s: %d %s, Access-Control-Allow-Origin %q, Vary %q; want 200, the body, %q and Origin",
					origin, r.status, r.body, r.header.Get("Access-Control-Allow-Origin"), r.header.Get("Vary"), want)
			}
		}
	})

	t.Run("keys and plans are read from the shared store at request time", func(t *testing.T) {
		plans := store.Plans()
		var standard apistore.Plan
		for _, p := range plans {
			if p.Name == "keygate-e2e-standard" {
				standard = p
			}
		}
		created, err := store.CreateKey(apistore.Key{Name: "made-at-runtime", Enabled: true})
		if err != nil {
			t.Fatal(err)
		}
		if r := do("GET", "/health", "", bearer(created.Value)...); r.status != 403 {
			t.Errorf("a key in no plan: %d", r.status)
		}
		clock.Advance(time.Hour) // past the cached result of the refused key
		if err := store.AttachKey(standard.ID, created.ID); err != nil {
			t.Fatal(err)
		}
		if r := do("GET", "/health", "", bearer(created.Value)...); r.status != 200 {
			t.Errorf("once attached: %d %s", r.status, r.body)
		}
		if _, err := store.UpdateKey(created.ID, func(k *apistore.Key) error { k.Enabled = false; return nil }); err != nil {
			t.Fatal(err)
		}
		if r := do("GET", "/health", "", bearer(created.Value)...); r.status != 403 {
			t.Errorf("once disabled: %d", r.status)
		}
	})

	t.Run("a path outside the stage", func(t *testing.T) {
		r := client{t: t, base: strings.TrimSuffix(srv.URL, "/v1")}.do("GET", "/v2/health", "", bearer(alice)...)
		if r.status != 403 || r.json["message"] != "Forbidden" {
			t.Errorf("%d %s", r.status, r.body)
		}
	})

	if err := srv.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	closed = true

	t.Run("one JSON access log line per request, no key values in any log", func(t *testing.T) {
		data, err := os.ReadFile(srv.AccessLogFile)
		if err != nil {
			t.Fatal(err)
		}
		var lines []map[string]string
		scanner := bufio.NewScanner(bytes.NewReader(data))
		for scanner.Scan() {
			var line map[string]string
			if err := json.Unmarshal(scanner.Bytes(), &line); err != nil {
				t.Fatalf("access log line is not JSON: %v: %s", err, scanner.Text())
			}
			lines = append(lines, line)
		}
		if len(lines) != requests {
			t.Errorf("%d access log lines for %d requests", len(lines), requests)
		}
		byID := map[string]map[string]string{}
		for _, l := range lines {
			byID[l["requestId"]] = l
		}
		if l := byID[unauthorizedID]; l["status"] != "401" || l["errorResponseType"] != "UNAUTHORIZED" || l["apiKeyId"] != "-" || l["principalId"] != "-" || l["resourcePath"] != "/health" {
			t.Errorf("401 line: %v", l)
		}
		if l := byID[okID]; l["status"] != "200" || l["apiKeyId"] != keyID["alice"] || !strings.HasPrefix(l["principalId"], "kf-") || l["errorResponseType"] != "-" || l["integrationStatus"] != "200" || l["httpMethod"] != "GET" {
			t.Errorf("200 line: %v", l)
		}
		types := map[string]int{}
		for _, l := range lines {
			types[l["errorResponseType"]]++
		}
		for _, typ := range []string{"UNAUTHORIZED", "INVALID_API_KEY", "MISSING_AUTHENTICATION_TOKEN", "THROTTLED", "QUOTA_EXCEEDED", "UNSUPPORTED_MEDIA_TYPE"} {
			if types[typ] == 0 {
				t.Errorf("no access log line with errorResponseType %s (%v)", typ, types)
			}
		}
		authLog, _ := os.ReadFile(srv.AuthorizerLogFile)
		if !bytes.Contains(authLog, []byte(`"msg":"decision"`)) {
			t.Errorf("the authorizer log has no decisions:\n%s", authLog)
		}
		for name, value := range keys {
			for file, content := range map[string][]byte{"access log": data, "authorizer log": authLog} {
				if bytes.Contains(content, []byte(value)) {
					t.Errorf("the %s contains the value of key %s", file, name)
				}
			}
		}
		if bytes.Contains(data, []byte(importedValue)) || bytes.Contains(authLog, []byte(importedValue)) {
			t.Error("a log contains the imported key's value")
		}
	})

	t.Run("the keygate command serves and stops on SIGTERM", func(t *testing.T) {
		binary := keygateBinary(t)
		cmd, url, _ := startLocal(t, binary, dir, "e2e", "-keys", keysFile)
		if !strings.HasPrefix(url, "http://127.0.0.1:") || !strings.HasSuffix(url, "/v1") {
			t.Errorf("listening on %q", url)
		}
		// The keys file of the first start is reused: alice's value works.
		if r := (client{t: t, base: url}).do("GET", "/health", "", bearer(alice)...); r.status != 200 {
			t.Errorf("%d %s", r.status, r.body)
		}
		stopLocal(t, cmd)
	})

	t.Run("source IP rules from the resource policy", func(t *testing.T) { testSourceIPRules(t, dir, clock) })

	t.Run("the stage's per-method throttle", func(t *testing.T) {
		tight, err := server.Start(t.Context(), server.Options{AssemblyDir: dir, Env: "tight", Addr: "127.0.0.1:0",
			ModuleDir: synth.ModuleDir, Now: clock.Now, Store: apistore.New(apistore.WithClock(clock.Now)), EmulatorInstances: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer tight.Close()
		var tightKeys map[string]string
		data, _ := os.ReadFile(tight.KeysFile)
		json.Unmarshal(data, &tightKeys)
		tc := client{t: t, base: tight.URL}
		// Plan p allows each key 1 request at once; the stage allows the
		// method 2. k1 and k2 take the stage's two tokens; k3, whose own
		// bucket is full, is throttled by the stage.
		for _, k := range []string{"k1", "k2"} {
			if r := tc.do("GET", "/health", "", bearer(tightKeys[k])...); r.status != 200 {
				t.Fatalf("%s: %d %s", k, r.status, r.body)
			}
		}
		expectError(t, "k3", tc.do("GET", "/health", "", bearer(tightKeys["k3"])...), 429, "Too Many Requests", "TooManyRequestsException")
	})
}
