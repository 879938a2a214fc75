package config

import (
	"strings"
	"testing"
)

// A ':' in a plain secretName ends the name early inside
// {{resolve:secretsmanager:NAME:SecretString:…}}; only an ARN may have it.
func TestSecretNameWithColonOutsideAnARNWouldBreakTheDynamicReference(t *testing.T) {
	for _, tc := range []struct {
		name, secret, want string
	}{
		{"colon in a name", "keygate:billing", "contains ':', which is allowed only in a secret ARN"},
		{"malformed ARN", "arn:aws:secretsmanager:eu-west-1:billing", "is not a Secrets Manager secret ARN"},
		{"ARN of another service", "arn:aws:ssm:eu-west-1:123456789012:parameter/billing", "is not a Secrets Manager secret ARN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseJSON([]byte(withChange(t, "defaults.apiKeys.1.secretName", tc.secret)))
			if err == nil || !strings.Contains(err.Error(), "apiKeys[1].secretName: "+tc.want) {
				t.Errorf("err %v, want %q", err, tc.want)
			}
		})
	}
	for _, ok := range []string{"keygate/billing", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:keygate/billing-AbC123", "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:keygate/billing-AbC123"} {
		mustParse(t, withChange(t, "defaults.apiKeys.1.secretName", ok))
	}
}

// The same secret named once by name and once by ARN gives two keys one
// value: API Gateway refuses the second (409 "API Key already exists").
func TestSameSecretByNameAndByARNIsADuplicate(t *testing.T) {
	text := withChange(t, "environments.prod.apiKeys", []any{
		map[string]any{"name": "billing", "plan": "internal", "secretName": "keygate/billing"},
		map[string]any{"name": "billing-2", "plan": "internal", "secretName": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:keygate/billing-AbC123"},
	})
	_, err := ParseJSON([]byte(text))
	assertErrors(t, err, "environments.prod.apiKeys[1].secretName: is also the secret of apiKeys[0]")

	// The same name in another account is another secret.
	text = withChange(t, "environments.prod.apiKeys", []any{
		map[string]any{"name": "billing", "plan": "internal", "secretName": "keygate/billing"},
		map[string]any{"name": "billing-2", "plan": "internal", "secretName": "arn:aws:secretsmanager:eu-west-1:999999999999:secret:keygate/billing-AbC123"},
	})
	mustParse(t, text)
}
