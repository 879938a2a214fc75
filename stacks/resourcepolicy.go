package stacks

import (
	"encoding/json"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"

	"github.com/keygate/keygate/internal/config"
)

// resourcePolicy is the API's resource policy from the environment's
// sourceIps. Its statements come from package sourceip, which explains how
// they compose with the bearer authorizer. There is one even without rules
// (an Allow of every method, which decides what no policy would), because
// CloudFormation does not clear a RestApi's Policy when the property leaves
// the template: removing the last rule must replace the old policy, not
// leave it in force (aws/aws-cdk#21840; serverless/serverless#6789).
//
// A new policy reaches clients only with a new deployment: aws-cdk-lib
// hashes the RestApi's properties, Policy included, into the deployment's
// logical ID, so a policy change creates a deployment and points the stage
// at it.
func resourcePolicy(env config.Environment) awsiam.PolicyDocument {
	// Preflight OPTIONS methods exist only with CORS; they have no
	// authorizer, so the policy must allow them explicitly.
	doc := env.SourceIPs.Rules().Policy(env.CORS.Enabled())
	data, err := json.Marshal(doc)
	if err != nil {
		panic(err) // a sourceip.Document is strings only
	}
	var asJSON map[string]any
	if err := json.Unmarshal(data, &asJSON); err != nil {
		panic(err)
	}
	return awsiam.PolicyDocument_FromJson(asJSON)
}
