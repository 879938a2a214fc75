package local

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/apistore"
	"github.com/keygate/keygate/internal/local/server"
	"github.com/keygate/keygate/test/synth"
)

// guardedEnvironment has source IP rules that split the loopback network:
// 127.0.0.0/30 and ::1 are allowed, 127.0.0.1 is denied (deny beats
// allow), and every other address is outside the allow list. A client can
// send from 127.0.0.2 or 127.0.0.5 by binding its socket there.
func guardedEnvironment(logging, health map[string]any) map[string]any {
	return map[string]any{
		"stageName":  "guarded",
		"throttle":   map[string]any{"rateLimit": 1000, "burstLimit": 1000},
		"logging":    logging,
		"cors":       map[string]any{"allowedOrigins": []any{originA}},
		"sourceIps":  map[string]any{"allow": []any{"127.0.0.0/30", "::1/128"}, "deny": []any{"127.0.0.1/32"}},
		"usagePlans": []any{map[string]any{"name": "p", "throttle": map[string]any{"rateLimit": 100, "burstLimit": 100}}},
		"apiKeys":    []any{map[string]any{"name": "partner", "plan": "p"}},
		"routes":     []any{health},
	}
}

// fromAddress is an HTTP client whose connections come from ip.
func fromAddress(ip string) *http.Client {
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext, DisableKeepAlives: true}}
}

func testSourceIPRules(t *testing.T, dir string, clock *fakeClock) {
	// Linux routes all of 127.0.0.0/8 to the loopback interface; macOS has
	// only 127.0.0.1 unless an alias is added (ifconfig lo0 alias 127.0.0.2).
	for _, ip := range []string{"127.0.0.2", "127.0.0.5"} {
		l, err := net.Listen("tcp", ip+":0")
		if err != nil {
			t.Skipf("cannot use %s as a client address here (%v)", ip, err)
		}
		l.Close()
	}
	srv, err := server.Start(t.Context(), server.Options{AssemblyDir: dir, Env: "guarded", Addr: "127.0.0.1:0",
		ModuleDir: synth.ModuleDir, Now: clock.Now, Store: apistore.New(apistore.WithClock(clock.Now)), EmulatorInstances: 1})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			srv.Close()
		}
	}()
	var keys map[string]string
	data, _ := os.ReadFile(srv.KeysFile)
	json.Unmarshal(data, &keys)
	partner := keys["partner"]
	allowed := client{t: t, base: srv.URL, http: fromAddress("127.0.0.2")}
	denied := client{t: t, base: srv.URL, http: fromAddress("127.0.0.1")}
	outside := client{t: t, base: srv.URL, http: fromAddress("127.0.0.5")}
	// The message names the method ARN with the account masked, as API
	// Gateway writes it.
	arn := "arn:aws:execute-api:" + srv.API.Region + ":********" + srv.API.Account[8:] + ":" + srv.API.ID + "/guarded/"
	explicitDeny := func(method string) string {
		return "User: anonymous is not authorized to perform: execute-api:Invoke on resource: " + arn + method + "/health with an explicit deny"
	}

	if r := allowed.do("GET", "/health", "", bearer(partner)...); r.status != 200 || r.body != `{"status":"ok"}` {
		t.Fatalf("from 127.0.0.2 (allowed): %d %s", r.status, r.body)
	}
	if n := srv.AuthorizerInvocations(); n != 1 {
		t.Fatalf("%d authorizer invocations for the allowed request, want 1", n)
	}
	var deniedID string
	for _, tc := range []struct {
		name    string
		c       client
		headers []string
	}{
		{"127.0.0.1, in the deny list", denied, bearer(partner)},
		{"127.0.0.1 without a key: 403, not 401", denied, nil},
		{"127.0.0.5, outside the allow list", outside, bearer(partner)},
		{"X-Forwarded-For is not the client address", denied, append(bearer(partner), "X-Forwarded-For", "127.0.0.2")},
	} {
		r := tc.c.do("GET", "/health", "", tc.headers...)
		expectError(t, tc.name, r, 403, explicitDeny("GET"), "AccessDeniedException")
		if tc.c.http == denied.http && len(tc.headers) == 2 {
			deniedID = r.header.Get("x-amzn-RequestId")
		}
	}
	if n := srv.AuthorizerInvocations(); n != 1 {
		t.Errorf("the authorizer ran %d times in all, want only the allowed request's 1: a refused address must not reach it", n)
	}

	// The CORS preflight has no authorizer: the policy's own Allow admits
	// it from an allowed address only.
	preflight := []string{"Origin", originA, "Access-Control-Request-Method", "GET"}
	if r := allowed.do("OPTIONS", "/health", "", preflight...); r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != originA {
		t.Errorf("preflight from 127.0.0.2: %d %v", r.status, r.header)
	}
	expectError(t, "preflight from 127.0.0.1", denied.do("OPTIONS", "/health", "", preflight...), 403, explicitDeny("OPTIONS"), "AccessDeniedException")

	// ::1 is allowed too, on an IPv6 listener.
	if l, err := net.Listen("tcp", "[::1]:0"); err != nil {
		t.Logf("no IPv6 loopback here (%v): the ::1 request is skipped", err)
	} else {
		l.Close()
		srv6, err := server.Start(t.Context(), server.Options{AssemblyDir: dir, Env: "guarded", Addr: "[::1]:0",
			ModuleDir: synth.ModuleDir, Now: clock.Now, Store: apistore.New(apistore.WithClock(clock.Now)), EmulatorInstances: 1})
		if err != nil {
			t.Fatal(err)
		}
		if r := (client{t: t, base: srv6.URL}).do("GET", "/health", "", bearer(partner)...); r.status != 200 {
			t.Errorf("from ::1 (allowed): %d %s", r.status, r.body)
		}
		srv6.Close()
	}

	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	closed = true
	log, err := os.ReadFile(srv.AccessLogFile)
	if err != nil {
		t.Fatal(err)
	}
	var line map[string]string
	for scanner := bufio.NewScanner(bytes.NewReader(log)); scanner.Scan(); {
		var l map[string]string
		if json.Unmarshal(scanner.Bytes(), &l) == nil && l["requestId"] == deniedID {
			line = l
		}
	}
	if line == nil {
		t.Fatalf("no access log line for the denied request %s in\n%s", deniedID, log)
	}
	if line["status"] != "403" || line["errorResponseType"] != "ACCESS_DENIED" || line["sourceIp"] != "127.0.0.1" ||
		line["httpMethod"] != "GET" || line["resourcePath"] != "/health" ||
		line["principalId"] != "-" || line["authorizerLatency"] != "-" || line["authorizerError"] != "-" || line["apiKeyId"] != "-" {
		t.Errorf("access log line of the denied request: %v", line)
	}
	if bytes.Contains(log, []byte(partner)) || strings.Contains(string(log), "X-Forwarded-For") {
		t.Error("the access log holds the key value or a request header")
	}
}
