package keyctl

import "testing"

func TestKeyARNUsesTheRegionsPartition(t *testing.T) {
	for region, want := range map[string]string{
		"eu-west-1":      "arn:aws:apigateway:eu-west-1::/apikeys/abc",
		"cn-north-1":     "arn:aws-cn:apigateway:cn-north-1::/apikeys/abc",
		"cn-northwest-1": "arn:aws-cn:apigateway:cn-northwest-1::/apikeys/abc",
		"us-gov-west-1":  "arn:aws-us-gov:apigateway:us-gov-west-1::/apikeys/abc",
		"us-iso-east-1":  "arn:aws-iso:apigateway:us-iso-east-1::/apikeys/abc",
		"us-isob-east-1": "arn:aws-iso-b:apigateway:us-isob-east-1::/apikeys/abc",
	} {
		c := &Client{region: region}
		if got := c.KeyARN("abc"); got != want {
			t.Errorf("KeyARN in %s = %s; want %s", region, got, want)
		}
	}
}
