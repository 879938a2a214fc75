package tokenauth

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/apimodel"
	"github.com/keygate/keygate/internal/bearer"
)

const (
	arnGet    = "arn:aws:execute-api:us-east-1:000000000000:abcdefghij/dev/GET/health"
	stageWild = "arn:aws:execute-api:us-east-1:000000000000:abcdefghij/dev/*/*"
	goodToken = "Bearer abcdefghijklmnopqrstuvwxyz0123"
)

type fakeFunction struct {
	calls    atomic.Int64
	response func(event) string
}

func (f *fakeFunction) invoke(_ context.Context, payload []byte) ([]byte, error) {
	f.calls.Add(1)
	var e event
	if err := json.Unmarshal(payload, &e); err != nil {
		return nil, err
	}
	return []byte(f.response(e)), nil
}

func allowStage(e event) string {
	if e.Type != "TOKEN" || !strings.HasPrefix(e.AuthorizationToken, "Bearer ") {
		return `{"errorMessage":"bad event"}`
	}
	return `{"principalId":"fp","usageIdentifierKey":"` + strings.TrimPrefix(e.AuthorizationToken, "Bearer ") +
		`","policyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":["` + stageWild + `"]}]},"context":{"keyFingerprint":"fp"}}`
}

func newAuthorizer(t *testing.T, f *fakeFunction, ttl time.Duration) (*Authorizer, *time.Time) {
	t.Helper()
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	a, err := New(&apimodel.Authorizer{Name: "keygate-bearer", Type: "TOKEN", IdentityHeader: "Authorization",
		ValidationExpression: bearer.ValidationExpression, TTL: ttl}, f.invoke, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	return a, &now
}

func TestMalformedHeadersNeverReachTheFunction(t *testing.T) {
	f := &fakeFunction{response: allowStage}
	a, _ := newAuthorizer(t, f, time.Minute)
	for _, token := range []string{"", "Basic abcdefghijklmnopqrstuvwxyz0123", "Bearer short", "Bearer " + strings.Repeat("a", 129), goodToken + "\n"} {
		d := a.Authorize(context.Background(), token, arnGet)
		if d.Outcome != Unauthorized || d.Message != "Unauthorized" || d.Invoked {
			t.Errorf("token of %d bytes: %+v, want a 401 without invoking", len(token), d)
		}
	}
	if n := f.calls.Load(); n != 0 {
		t.Errorf("the function ran %d times", n)
	}
}

func TestResultsAreCachedPerTokenForTheTTL(t *testing.T) {
	f := &fakeFunction{response: allowStage}
	a, now := newAuthorizer(t, f, time.Minute)
	first := a.Authorize(context.Background(), goodToken, arnGet)
	if first.Outcome != Allowed || !first.Invoked || first.Result.UsageIdentifierKey != "abcdefghijklmnopqrstuvwxyz0123" {
		t.Fatalf("first: %+v", first)
	}
	// Another method of the stage: the cached policy covers it.
	second := a.Authorize(context.Background(), goodToken, strings.Replace(arnGet, "GET/health", "POST/echo/x", 1))
	if second.Outcome != Allowed || second.Invoked {
		t.Errorf("cached: %+v", second)
	}
	*now = now.Add(59 * time.Second)
	a.Authorize(context.Background(), goodToken, arnGet)
	if n := f.calls.Load(); n != 1 {
		t.Errorf("%d invocations within the TTL, want 1", n)
	}
	*now = now.Add(time.Second)
	if d := a.Authorize(context.Background(), goodToken, arnGet); !d.Invoked {
		t.Error("not invoked again once the TTL passed")
	}
	other := "Bearer zyxwvutsrqponmlkjihgfedcba9876"
	if d := a.Authorize(context.Background(), other, arnGet); !d.Invoked {
		t.Error("another token used the first token's result")
	}
}

func TestTTLZeroDisablesTheCache(t *testing.T) {
	f := &fakeFunction{response: allowStage}
	a, _ := newAuthorizer(t, f, 0)
	a.Authorize(context.Background(), goodToken, arnGet)
	a.Authorize(context.Background(), goodToken, arnGet)
	if n := f.calls.Load(); n != 2 {
		t.Errorf("%d invocations with TTL 0, want 2", n)
	}
}

func TestFunctionAnswers(t *testing.T) {
	for _, tc := range []struct {
		name     string
		response string
		want     Outcome
		message  string
	}{
		{"unauthorized error", `{"errorMessage":"Unauthorized","errorType":"errorString"}`, Unauthorized, MessageUnauthorized},
		{"other error", `{"errorMessage":"boom","errorType":"errorString"}`, Failed, ""},
		{"no policy", `{"principalId":"p"}`, Failed, ""},
		{"explicit deny", `{"principalId":"p","policyDocument":{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"execute-api:Invoke","Resource":"` + stageWild + `"}]}}`, Denied, MessageExplicitDeny},
		{"other method only", `{"principalId":"p","policyDocument":{"Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:000000000000:abcdefghij/dev/POST/*"}]}}`, Denied, MessageImplicitDeny},
		{"conditional allow", `{"principalId":"p","policyDocument":{"Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}}`, Denied, MessageImplicitDeny},
		{"object in context", `{"principalId":"p","policyDocument":{"Statement":[]},"context":{"a":{"b":1}}}`, Failed, ""},
		{"wildcards", `{"principalId":"p","policyDocument":{"Statement":[{"Effect":"Allow","Action":"execute-api:*","Resource":"arn:aws:execute-api:*:*:abcdefghij/dev/G?T/*"}]}}`, Allowed, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeFunction{response: func(event) string { return tc.response }}
			a, _ := newAuthorizer(t, f, time.Minute)
			d := a.Authorize(context.Background(), goodToken, arnGet)
			if d.Outcome != tc.want || d.Message != tc.message {
				t.Errorf("%+v, want outcome %d message %q", d, tc.want, tc.message)
			}
		})
	}
}
