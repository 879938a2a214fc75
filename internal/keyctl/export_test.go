package keyctl

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"

	"github.com/keygate/keygate/internal/keyplan"
)

// Test hooks.

func (c *Client) API() *apigateway.Client { return c.api }

func CreateInput(name, env string) *apigateway.CreateApiKeyInput {
	return &apigateway.CreateApiKeyInput{Name: aws.String(name), Enabled: true, Tags: keyplan.ManagedTags(env)}
}

func AttachInput(planID, keyID string) *apigateway.CreateUsagePlanKeyInput {
	return &apigateway.CreateUsagePlanKeyInput{UsagePlanId: aws.String(planID), KeyId: aws.String(keyID), KeyType: aws.String("API_KEY")}
}

func AttachForTest(ctx context.Context, c *Client, planID, keyID string) error {
	return c.attach(ctx, planID, keyID)
}

// Retryable is the retryer's decision for err.
func Retryable(err error) bool {
	return newRetryer(3, newMetrics()).IsErrorRetryable(err)
}
