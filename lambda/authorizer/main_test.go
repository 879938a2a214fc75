package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/keygate/keygate/lambda/authorizer/authorize"
)

// testKey is shaped like an API Gateway key but is not one.
const testKey = "TESTKEYnotarealkey0123456789abcdefghijk"

const methodARN = "arn:aws:execute-api:eu-west-1:123456789012:abc123def4/prod/GET/orders/42"

func TestHandlerLogsOneLinePerDecisionWithoutTheKey(t *testing.T) {
	tests := []struct {
		token, arn       string
		decision, reason string
		wantErr          string
	}{
		{"Bearer " + testKey, methodARN, "allow", "", ""},
		{"Bearer " + testKey + " extra", methodARN, "deny", "extra-token", "Unauthorized"},
		{"Basic " + testKey, methodARN, "deny", "scheme", "Unauthorized"},
		{"Bearer " + testKey, "arn:aws:s3:::bucket", "error", "bad-method-arn", authorize.ErrBadEvent.Error()},
	}
	for _, tc := range tests {
		var logs bytes.Buffer
		h := &handler{logger: slog.New(slog.NewJSONHandler(&logs, nil))}
		ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
		payload, _ := json.Marshal(events.APIGatewayCustomAuthorizerRequest{Type: "TOKEN", AuthorizationToken: tc.token, MethodArn: tc.arn})
		response, err := h.Invoke(ctx, payload)
		if (err == nil) != (tc.wantErr == "") || (err != nil && err.Error() != tc.wantErr) {
			t.Errorf("%s/%s: err = %v, want %q", tc.decision, tc.reason, err, tc.wantErr)
		}
		if err == nil && !strings.Contains(string(response), `"usageIdentifierKey":"`+testKey+`"`) {
			t.Errorf("allow response lacks the usage identifier key")
		}
		lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
		if len(lines) != 1 {
			t.Fatalf("%d log lines, want 1", len(lines))
		}
		if strings.Contains(lines[0], testKey) || strings.Contains(lines[0], "Bearer") {
			t.Fatalf("the log line contains the token (fingerprint %s)", authorize.Fingerprint(testKey))
		}
		var line map[string]any
		if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
			t.Fatalf("log line is not JSON: %v", err)
		}
		if line["requestId"] != "req-1" || line["decision"] != tc.decision || line["reason"] != tc.reason || line["msg"] != "decision" {
			t.Errorf("log line = %v", line)
		}
		wantFingerprint := ""
		if tc.decision != "deny" {
			wantFingerprint = authorize.Fingerprint(testKey)
		}
		if line["fingerprint"] != wantFingerprint {
			t.Errorf("fingerprint = %v, want %q", line["fingerprint"], wantFingerprint)
		}
	}
}

// BenchmarkInvoke measures the whole in-process path the Lambda runtime
// takes: decode the JSON event, decide, log, encode the JSON response,
// through the same wrapper lambda.Start puts around the handler.
func BenchmarkInvoke(b *testing.B) {
	invoke := lambda.NewHandler(&handler{logger: slog.New(slog.NewJSONHandler(discard{}, nil))})
	payload, _ := json.Marshal(events.APIGatewayCustomAuthorizerRequest{Type: "TOKEN", AuthorizationToken: "Bearer " + testKey, MethodArn: methodARN})
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := invoke.Invoke(ctx, payload); err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
