package authorize

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keygate/keygate/internal/bearer"
)

// testKey is shaped like an API Gateway key but is not one.
const testKey = "TESTKEYnotarealkey0123456789abcdefghijk"

const methodARN = "arn:aws:execute-api:eu-west-1:123456789012:abc123def4/prod/GET/orders/42"

func event(token, arn string) events.APIGatewayCustomAuthorizerRequest {
	return events.APIGatewayCustomAuthorizerRequest{Type: "TOKEN", AuthorizationToken: token, MethodArn: arn}
}

func TestAuthorizeAllowsAWellFormedKeyOnTheWholeStage(t *testing.T) {
	response, decision, err := Authorize(event("Bearer "+testKey, methodARN))
	if err != nil {
		t.Fatal(err)
	}
	if decision != (Decision{Outcome: Allow, Fingerprint: Fingerprint(testKey)}) {
		t.Errorf("decision = %+v", decision)
	}
	if response.UsageIdentifierKey != testKey {
		t.Error("usageIdentifierKey is not the key from the header")
	}
	encodedContext, _ := json.Marshal(response.Context)
	if response.PrincipalID != Fingerprint(testKey) || string(encodedContext) != `{"keyFingerprint":"`+Fingerprint(testKey)+`"}` {
		t.Errorf("principal %q, context %s: want the fingerprint", response.PrincipalID, encodedContext)
	}
	policy := response.PolicyDocument
	if policy.Version != "2012-10-17" || len(policy.Statement) != 1 {
		t.Fatalf("policy = %+v", policy)
	}
	s := policy.Statement[0]
	want := "arn:aws:execute-api:eu-west-1:123456789012:abc123def4/prod/*/*"
	if s.Effect != "Allow" || len(s.Action) != 1 || s.Action[0] != "execute-api:Invoke" || len(s.Resource) != 1 || s.Resource[0] != want {
		t.Errorf("statement = %+v, want Allow execute-api:Invoke on %s", s, want)
	}

	// The key appears in the response only as usageIdentifierKey.
	encoded, _ := json.Marshal(response)
	if strings.Count(string(encoded), testKey) != 1 || !strings.Contains(string(encoded), `"usageIdentifierKey":"`+testKey+`"`) {
		t.Errorf("the key appears outside usageIdentifierKey in %d places", strings.Count(string(encoded), testKey))
	}
}

func TestAuthorizeRefusesWithUnauthorized(t *testing.T) {
	for _, token := range []string{"", "Bearer", "Basic " + testKey, "Bearer short", "Bearer " + testKey + " " + testKey, "Bearer " + testKey + "!", testKey} {
		response, decision, err := Authorize(event(token, methodARN))
		if err == nil || err.Error() != "Unauthorized" {
			t.Errorf("token of %d bytes: err = %v, want exactly Unauthorized", len(token), err)
		}
		if decision.Outcome != Deny || decision.Reason == "" || decision.Fingerprint != "" {
			t.Errorf("token of %d bytes: decision = %+v", len(token), decision)
		}
		if response.PrincipalID != "" || len(response.PolicyDocument.Statement) != 0 || response.UsageIdentifierKey != "" {
			t.Errorf("a refused token produced a response: %+v", response)
		}
	}
}

func TestAuthorizeFailsOnAnEventItCannotScope(t *testing.T) {
	for _, arn := range []string{
		"",
		"arn:aws:execute-api:eu-west-1:123456789012:abc123def4/prod",       // no method
		"arn:aws:execute-api:eu-west-1:123456789012:abc123def4",            // no stage
		"arn:aws:lambda:eu-west-1:123456789012:function:x/prod/GET/",       // another service
		"arn:aws:execute-api:eu-west-1:12345:abc123def4/prod/GET/",         // bad account
		"arn:aws:execute-api:eu-west-1:123456789012:*/prod/GET/",           // wildcard api
		"arn:aws:execute-api:eu-west-1:123456789012:abc123def4/*/GET/",     // wildcard stage
		"arn:aws:execute-api:eu-west-1:123456789012:/prod/GET/",            // empty api id
		"arn:evil:execute-api:eu-west-1:123456789012:abc123def4/prod/GET/", // unknown partition
		"arn:aws:execute-api::123456789012:abc123def4/prod/GET/",           // no region
		"arn:aws:execute-api:eu-west-1:123456789012:abc123def4/prod/*/",    // wildcard method
		"arn:aws:execute-api:eu-west-1:123456789012:abc123def4//GET/",      // empty stage
		"arn:aws:execute-api:eu-west-1:123456789012:abc123def4/prod//",     // empty method
		"arn:aws:execute-api:eu-west-1:123456789012:abc123def4/pr*d/GET/",  // wildcard inside the stage
		"arn:aws:execute-api:eu-west-1:123456789012:abc/123/prod/GET/",     // slash in the api id
		"ARN:aws:execute-api:eu-west-1:123456789012:abc123def4/prod/GET/",  // not "arn"
		"arn:aws:execute-api:eu-west-1:123456789012:ABC123/prod/GET/",      // API ids are lower case
	} {
		response, decision, err := Authorize(event("Bearer "+testKey, arn))
		if !errors.Is(err, ErrBadEvent) || decision != (Decision{Outcome: Fail, Reason: ReasonBadMethodARN, Fingerprint: Fingerprint(testKey)}) || len(response.PolicyDocument.Statement) != 0 {
			t.Errorf("%q: err %v, decision %+v, response %+v", arn, err, decision, response)
		}
	}
	_, decision, err := Authorize(events.APIGatewayCustomAuthorizerRequest{Type: "REQUEST", AuthorizationToken: "Bearer " + testKey, MethodArn: methodARN})
	if !errors.Is(err, ErrBadEvent) || decision.Reason != ReasonBadEventType {
		t.Errorf("REQUEST event: %v, %+v", err, decision)
	}
}

func TestStageARNIsPartitionAware(t *testing.T) {
	tests := []struct{ methodARN, want string }{
		{"arn:aws:execute-api:us-east-1:123456789012:a1b2c3/dev/POST/", "arn:aws:execute-api:us-east-1:123456789012:a1b2c3/dev/*/*"},
		{"arn:aws-cn:execute-api:cn-north-1:123456789012:a1b2c3/prod/GET/x/y", "arn:aws-cn:execute-api:cn-north-1:123456789012:a1b2c3/prod/*/*"},
		{"arn:aws-us-gov:execute-api:us-gov-west-1:123456789012:a1b2c3/Stage_2-b/DELETE/a", "arn:aws-us-gov:execute-api:us-gov-west-1:123456789012:a1b2c3/Stage_2-b/*/*"},
		{"arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/test-invoke-stage/GET", "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/test-invoke-stage/*/*"},
		{"arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/prod/PATCH/a/*/b", "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/prod/*/*"},
	}
	for _, tc := range tests {
		if got, ok := StageARN(tc.methodARN); !ok || got != tc.want {
			t.Errorf("StageARN(%s) = %q, %v; want %s", tc.methodARN, got, ok, tc.want)
		}
	}
}

func TestFingerprintIsStableAndDoesNotRevealTheKey(t *testing.T) {
	a, b := Fingerprint(testKey), Fingerprint(testKey)
	other := Fingerprint(testKey + "x")
	if a != b || a == other || !strings.HasPrefix(a, "kf-") || len(a) != 27 || strings.Contains(a, testKey[:8]) {
		t.Errorf("fingerprints %q %q %q", a, b, other)
	}
}

// FuzzAuthorizeNeverAllowsWhatTheParserRefuses holds Authorize to its
// contract on any token and method ARN: no panic, no Allow for a token
// bearer.Parse refuses, no response alongside an error, and an Allow only
// ever for the method ARN's own stage, with the token's key.
func FuzzAuthorizeNeverAllowsWhatTheParserRefuses(f *testing.F) {
	f.Add("Bearer "+testKey, methodARN)
	f.Add("bearer  "+testKey+"==", "arn:aws-cn:execute-api:cn-north-1:123456789012:a/b/GET/")
	f.Add("Bearer "+testKey+" x", methodARN)
	f.Add("", "")
	f.Add("Bearer "+testKey, "arn:aws:execute-api:eu-west-1:123456789012:abc123def4/*/GET/")
	f.Add("Bearer "+testKey, "arn:aws:execute-api:eu-west-1:123456789012:abc123def4/prod/GET/\n")
	f.Fuzz(func(t *testing.T, token, arn string) {
		response, decision, err := Authorize(event(token, arn))
		if _, parseErr := bearer.Parse(token); parseErr != nil && err == nil {
			t.Fatalf("allowed a token the parser refuses (%v)", parseErr)
		}
		if err != nil {
			if len(response.PolicyDocument.Statement) != 0 || response.UsageIdentifierKey != "" || decision.Outcome == Allow {
				t.Fatalf("error %v with a response %+v", err, response)
			}
			return
		}
		resource := response.PolicyDocument.Statement[0].Resource[0]
		if !strings.HasSuffix(resource, "/*/*") || strings.Count(resource, "*") != 2 || !strings.HasPrefix(arn, strings.TrimSuffix(resource, "*/*")) {
			t.Fatalf("allowed %q for method ARN %q", resource, arn)
		}
		if !strings.HasSuffix(token, response.UsageIdentifierKey) || len(response.UsageIdentifierKey) < 20 {
			t.Fatalf("usage identifier key is not the token's key")
		}
	})
}

func BenchmarkAuthorizeAllow(b *testing.B) {
	e := event("Bearer "+testKey, methodARN)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Authorize(e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAuthorizeDeny(b *testing.B) {
	e := event("Basic dXNlcjpwYXNzd29yZA==", methodARN)
	b.ReportAllocs()
	for b.Loop() {
		Authorize(e)
	}
}
