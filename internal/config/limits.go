package config

import (
	"fmt"
	"slices"
	"strings"
)

// CloudFormation quotas that synth does not check but a deploy does
// ("AWS CloudFormation quotas",
// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html).
const (
	// CloudFormationMaxResourcesPerTemplate is the most resources one
	// template (root or nested) may declare.
	CloudFormationMaxResourcesPerTemplate = 500
	// CloudFormationMaxResourcesPerOperation is the most resources one
	// create, update or delete may touch across a nested-stack hierarchy.
	CloudFormationMaxResourcesPerOperation = 2500
	// CloudFormationMaxDynamicReferences is the most {{resolve:…}} one
	// template may hold.
	CloudFormationMaxDynamicReferences = 60
)

// resourcesPerKey are what one configured key adds to a key stack: the
// AWS::ApiGateway::ApiKey and its AWS::ApiGateway::UsagePlanKey.
const resourcesPerKey = 2

// MaxCloudFormationKeys is the most API keys CloudFormation may manage in one
// environment, so that the environment's first deploy, which creates
// everything at once, stays within CloudFormation's 2,500 resources per
// operation. It is derived from the worst case, not from today's stack: the
// root template at its own limit of 500 resources, plus one
// AWS::CloudFormation::Stack per key stack, leaves the rest to keys at two
// resources each: (2500 − 500 − 100) / 2 = 950. More keys than that go
// through `keygate keys`, outside CloudFormation.
const MaxCloudFormationKeys = (CloudFormationMaxResourcesPerOperation - CloudFormationMaxResourcesPerTemplate - KeyShardCount) / resourcesPerKey

// validateCloudFormationLimits refuses an environment whose templates
// CloudFormation would reject at deploy time.
func validateCloudFormationLimits(path string, env Environment) Errors {
	var errs Errors
	if n := len(env.APIKeys); n > MaxCloudFormationKeys {
		errs = append(errs, FieldError{Path: path + ".apiKeys", Msg: fmt.Sprintf(
			"has %d keys; CloudFormation manages at most %d per environment, so that a first deploy stays within its %d resources per operation (the root stack at its %d-resource limit, %d key stacks, 2 resources per key); keep the rest out of cdk.json and manage them with `keygate keys`",
			n, MaxCloudFormationKeys, CloudFormationMaxResourcesPerOperation, CloudFormationMaxResourcesPerTemplate, KeyShardCount)})
	}
	// Each imported key is one dynamic reference in its key stack's template.
	imported := map[int][]string{}
	for _, key := range env.APIKeys {
		if key.SecretName != "" {
			shard := KeyShard(key.Name)
			imported[shard] = append(imported[shard], key.Name)
		}
	}
	for shard := range KeyShardCount {
		if names := imported[shard]; len(names) > CloudFormationMaxDynamicReferences {
			errs = append(errs, FieldError{Path: path + ".apiKeys", Msg: fmt.Sprintf(
				"%d keys imported from Secrets Manager (secretName) fall into key stack %d, whose template may hold at most %d dynamic references; rename some of them so that they fall into other key stacks, or import them with `keygate keys`: %s",
				len(names), shard, CloudFormationMaxDynamicReferences, strings.Join(names[CloudFormationMaxDynamicReferences:], ", "))})
		}
	}
	errs = append(errs, validateLambdaRoutesReachable(path, env)...)
	return errs
}

// validateLambdaRoutesReachable refuses a Lambda route whose function is in
// another region or account than an environment pinned to one: the stack
// grants API Gateway lambda:InvokeFunction with an AWS::Lambda::Permission,
// which CloudFormation can only create for a function of the stack's own
// region and account ("Functions from 'us-east-1' are not reachable in this
// region", aws/aws-cdk#11826).
func validateLambdaRoutesReachable(path string, env Environment) Errors {
	var errs Errors
	for i, route := range env.Routes {
		arn := route.Integration.FunctionARN
		if route.Integration.Type != IntegrationLambda || !lambdaARNPattern.MatchString(arn) {
			continue
		}
		parts := strings.Split(arn, ":") // arn:partition:lambda:region:account:function:name
		field := fmt.Sprintf("%s.routes[%d].integration.functionArn", path, i)
		if env.Region != "" && parts[3] != env.Region {
			errs = append(errs, FieldError{Path: field, Msg: fmt.Sprintf("is in region %s, the environment in %s; API Gateway can only be granted a function of the stack's own region, so deploy a function there (or front it with an HTTP route)", parts[3], env.Region)})
		}
		if env.Account != "" && parts[4] != env.Account {
			errs = append(errs, FieldError{Path: field, Msg: fmt.Sprintf("is in account %s, the environment in %s; the invoke permission can only be created in the function's own account, so use a function of this account (or front it with an HTTP route)", parts[4], env.Account)})
		}
	}
	return errs
}

// validateImportedKeysAcrossEnvironments refuses one imported key value in
// two environments that may share an account and region. API key values are
// unique per account and region: the second environment's deploy fails with
// 409 "API Key already exists" (serverless/serverless#6458). Keys listed in
// "defaults" land in every environment, so a secretName there is the usual
// way to get here.
func validateImportedKeysAcrossEnvironments(envs []Environment) Errors {
	var errs Errors
	type source struct{ secret, field string }
	for i, env := range envs {
		for j, key := range env.APIKeys {
			if key.SecretName == "" {
				continue
			}
			for _, earlier := range envs[:i] {
				if !mayShareAccountRegion(earlier, env) {
					continue
				}
				clash := slices.ContainsFunc(earlier.APIKeys, func(k APIKey) bool {
					return source{secretIdentity(k.SecretName, earlier), k.SecretJSONKey} == source{secretIdentity(key.SecretName, env), key.SecretJSONKey}
				})
				if clash {
					errs = append(errs, FieldError{Path: fmt.Sprintf("environments.%s.apiKeys[%d].secretName", env.Name, j), Msg: fmt.Sprintf(
						"environment %q imports the same secret (and field), and the two may deploy to the same account and region (account/region %s/%s and %s/%s), where API key values must be unique: the second deploy fails with 409 \"API Key already exists\"; give each environment its own secret (e.g. keygate/%s/%s), or pin the environments to different accounts or regions",
						earlier.Name, orUnset(earlier.Account), orUnset(earlier.Region), orUnset(env.Account), orUnset(env.Region), env.Name, key.Name)})
					break
				}
			}
		}
	}
	return errs
}
