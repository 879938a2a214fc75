// Command authorizer is keygate's TOKEN authorizer Lambda: it turns
// "Authorization: Bearer <api key>" into API Gateway's usage identifier key.
// The decision is authorize.Authorize; this file only wires it to the Lambda
// runtime and writes one JSON log line per invocation.
package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/keygate/keygate/lambda/authorizer/authorize"
)

func main() {
	// JSON lines on stdout: Lambda sends them to CloudWatch Logs as they are.
	lambda.Start(&handler{logger: slog.New(slog.NewJSONHandler(os.Stdout, nil))})
}

// handler is a lambda.Handler: given the raw event, it decides, logs the
// decision and returns the raw response. Implementing Invoke directly, rather
// than handing lambda.Start a typed function, skips the reflection that
// aws-lambda-go would otherwise run on every invocation
// (BenchmarkInvokeBaseline measures that path).
type handler struct{ logger *slog.Logger }

// Invoke decodes a TOKEN event and answers with the authorizer response or
// the decision's error ("Unauthorized" becomes API Gateway's 401).
func (h *handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var event events.APIGatewayCustomAuthorizerRequest
	if err := json.Unmarshal(payload, &event); err != nil {
		// Neither the error nor the payload is logged or returned: a
		// decoder error can quote parts of the payload.
		h.log(ctx, authorize.Decision{Outcome: authorize.Fail, Reason: "bad-json"})
		return nil, authorize.ErrBadEvent
	}
	response, decision, err := authorize.Authorize(event)
	h.log(ctx, decision)
	if err != nil {
		return nil, err
	}
	return json.Marshal(response)
}

// log writes the one line of an invocation. Never the event: it holds the token.
func (h *handler) log(ctx context.Context, decision authorize.Decision) {
	requestID := ""
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		requestID = lc.AwsRequestID
	}
	level := slog.LevelInfo
	if decision.Outcome == authorize.Fail {
		level = slog.LevelError
	}
	h.logger.LogAttrs(ctx, level, "decision",
		slog.String("requestId", requestID),
		slog.String("decision", decision.Outcome),
		slog.String("reason", decision.Reason),
		slog.String("fingerprint", decision.Fingerprint),
	)
}
