package iampolicy

import (
	"net/url"
	"testing"
)

// keyARN is an API key's ARN, and tagsOf the IAM resource of TagResource
// on it: PUT /tags/{resource_arn}, the ARN URL-encoded in the path; both
// the decoded and the encoded form are covered by the policy, as callers
// report either.
func keyARN(id string) string { return "arn:aws:apigateway:" + region + "::/apikeys/" + id }

func tagsOf(arn string, encoded bool) string {
	if encoded {
		arn = url.QueryEscape(arn) // as the SDK escapes a path label: ":" and "/" too
	}
	return apigw("/tags/" + arn)
}

// The keys policy grants what keygate keys calls, and IAM, not only the
// tool, keeps CloudFormation's keys and other resources out of reach.
func TestKeysPolicyGrantsTheToolAndKeepsCloudFormationsKeysSafe(t *testing.T) {
	d := load(t, "keygate-keys-policy.json")
	managed := map[string][]string{"aws:ResourceTag/keygate:managed-by": {"keygate-keys"}}
	cfnKey := map[string][]string{"aws:ResourceTag/aws:cloudformation:stack-name": {"keygate-dev-ApiKeys01ABC-1XYZ"}}
	cfnKeyTaggedManaged := map[string][]string{
		"aws:ResourceTag/aws:cloudformation:stack-name": {"keygate-dev-ApiKeys01ABC-1XYZ"},
		"aws:ResourceTag/keygate:managed-by":            {"keygate-keys"},
	}
	keygateTags := map[string][]string{
		"aws:RequestTag/keygate:managed-by": {"keygate-keys"}, "aws:RequestTag/keygate:env": {"dev"},
		"aws:TagKeys": {"keygate:managed-by", "keygate:env"},
	}
	withResource := func(req, res map[string][]string) map[string][]string {
		out := map[string][]string{}
		for k, v := range req {
			out[k] = v
		}
		for k, v := range res {
			out[k] = v
		}
		return out
	}
	keygatePlan := map[string][]string{"aws:ResourceTag/aws:cloudformation:stack-name": {"keygate-dev"}}
	otherPlan := map[string][]string{"aws:ResourceTag/aws:cloudformation:stack-name": {"billing-prod"}}

	for _, c := range []struct {
		what             string
		action, resource string
		ctx              map[string][]string
		want             bool
	}{
		// What the tool does.
		{"list plans", "apigateway:GET", apigw("/usageplans"), nil, true},
		{"list a plan's keys", "apigateway:GET", apigw("/usageplans/p1/keys"), nil, true},
		{"usage", "apigateway:GET", apigw("/usageplans/p1/usage"), nil, true},
		{"list keys", "apigateway:GET", apigw("/apikeys"), nil, true},
		{"create or import keys", "apigateway:POST", apigw("/apikeys"), nil, true},
		{"tag a new key with keygate's tags", "apigateway:PUT", tagsOf(keyARN("k1"), false), keygateTags, true},
		{"tag it (encoded ARN)", "apigateway:PUT", tagsOf(keyARN("k1"), true), keygateTags, true},
		{"disable a keygate key", "apigateway:PATCH", apigw("/apikeys/k1"), managed, true},
		{"delete a keygate key", "apigateway:DELETE", apigw("/apikeys/k1"), managed, true},
		{"attach to a keygate plan", "apigateway:POST", apigw("/usageplans/p1/keys"), keygatePlan, true},
		{"detach from a keygate plan", "apigateway:DELETE", apigw("/usageplans/p1/keys/k1"), keygatePlan, true},
		// What it must not.
		{"tag with another tag", "apigateway:PUT", tagsOf(keyARN("k1"), false), withResource(keygateTags, map[string][]string{"aws:TagKeys": {"keygate:managed-by", "owner"}}), false},
		{"tag without the managed-by tag", "apigateway:PUT", tagsOf(keyARN("k1"), false), map[string][]string{"aws:TagKeys": {"keygate:env"}, "aws:RequestTag/keygate:env": {"dev"}}, false},
		{"tag CloudFormation's key as managed", "apigateway:PUT", tagsOf(keyARN("cfn"), false), withResource(keygateTags, cfnKey), false},
		{"tag CloudFormation's key as managed (encoded)", "apigateway:PUT", tagsOf(keyARN("cfn"), true), withResource(keygateTags, cfnKey), false},
		{"tag a usage plan", "apigateway:PUT", tagsOf("arn:aws:apigateway:"+region+"::/usageplans/p1", false), keygateTags, false},
		{"tag a REST API", "apigateway:PUT", tagsOf("arn:aws:apigateway:"+region+"::/restapis/a1", true), keygateTags, false},
		{"disable CloudFormation's key", "apigateway:PATCH", apigw("/apikeys/cfn"), cfnKey, false},
		{"disable CloudFormation's key once tagged managed", "apigateway:PATCH", apigw("/apikeys/cfn"), cfnKeyTaggedManaged, false},
		{"delete CloudFormation's key once tagged managed", "apigateway:DELETE", apigw("/apikeys/cfn"), cfnKeyTaggedManaged, false},
		{"disable a hand-made key", "apigateway:PATCH", apigw("/apikeys/h1"), nil, false},
		{"untag a key", "apigateway:DELETE", tagsOf(keyARN("k1"), false), managed, false},
		{"attach to another stack's plan", "apigateway:POST", apigw("/usageplans/p9/keys"), otherPlan, false},
		{"detach from a plan of no stack", "apigateway:DELETE", apigw("/usageplans/p9/keys/k1"), nil, false},
		{"change a plan", "apigateway:PATCH", apigw("/usageplans/p1"), keygatePlan, false},
		{"delete a plan", "apigateway:DELETE", apigw("/usageplans/p1"), keygatePlan, false},
		{"read a REST API", "apigateway:GET", apigw("/restapis/a1"), nil, false},
	} {
		if got := d.DecideMulti(c.action, c.resource, c.ctx); got != c.want {
			t.Errorf("%s (%s %s): allowed = %v; want %v", c.what, c.action, c.resource, got, c.want)
		}
	}
}
