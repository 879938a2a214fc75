// Command authorizer is keygate's TOKEN authorizer Lambda: it turns
// "Authorization: Bearer <api key>" into API Gateway's usage identifier key.
// The decision is authorize.Authorize; this file only wires it to the Lambda
// runtime and writes one JSON log line per invocation.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/keygate/keygate/lambda/authorizer/authorize"
)

func main() {
	lambda.Start(newHandler(slog.New(slog.NewJSONHandler(os.Stdout, nil))))
}

// handler is the Lambda handler: decide, log the decision, answer.
type handler func(context.Context, events.APIGatewayCustomAuthorizerRequest) (events.APIGatewayCustomAuthorizerResponse, error)

func newHandler(logger *slog.Logger) handler {
	return func(ctx context.Context, event events.APIGatewayCustomAuthorizerRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
		response, decision, err := authorize.Authorize(event)
		requestID := ""
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			requestID = lc.AwsRequestID
		}
		level := slog.LevelInfo
		if decision.Outcome == authorize.Fail {
			level = slog.LevelError
		}
		// Never the event: it holds the token.
		logger.LogAttrs(ctx, level, "decision",
			slog.String("requestId", requestID),
			slog.String("decision", decision.Outcome),
			slog.String("reason", decision.Reason),
			slog.String("fingerprint", decision.Fingerprint),
		)
		return response, err
	}
}
