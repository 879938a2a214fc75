package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/keygate/keygate/lambda/authorizer/authorize"
)

// BenchmarkInvokeBaseline is the path keygate's handler avoids: the same
// decision as a typed function behind lambda.NewHandler (aws-lambda-go's
// reflection) and without the log line. Compare it with BenchmarkInvoke in
// the same run: the machines here are too noisy for absolute numbers.
func BenchmarkInvokeBaseline(b *testing.B) {
	typed := func(_ context.Context, e events.APIGatewayCustomAuthorizerRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
		response, _, err := authorize.Authorize(e)
		return response, err
	}
	invoke := lambda.NewHandler(typed)
	payload, _ := json.Marshal(events.APIGatewayCustomAuthorizerRequest{Type: "TOKEN", AuthorizationToken: "Bearer " + testKey, MethodArn: methodARN})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := invoke.Invoke(context.Background(), payload); err != nil {
			b.Fatal(err)
		}
	}
}
