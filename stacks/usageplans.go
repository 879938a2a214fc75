package stacks

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/keygate/keygate/internal/config"
)

// UsagePlansProps is what the usage plans and API keys are built from.
type UsagePlansProps struct {
	Environment config.Environment
	API         awsapigateway.RestApi
	Stage       awsapigateway.Stage
}

// UsagePlans are an environment's usage plans by configured name.
type UsagePlans map[string]awsapigateway.UsagePlan

// UsagePlanLogicalID is the logical ID of the usage plan with this name.
func UsagePlanLogicalID(name string) string { return logicalID("UsagePlan", name) }

// APIKeyLogicalID is the logical ID of the API key with this name.
func APIKeyLogicalID(name string) string { return logicalID("ApiKey", name) }

// UsagePlanKeyLogicalID is the logical ID of the attachment of the API key
// with this name to its plan.
func UsagePlanKeyLogicalID(keyName string) string { return logicalID("UsagePlanKey", keyName) }

// KeyStackID is the construct id of the nested stack holding shard n's keys.
func KeyStackID(shard int) string { return fmt.Sprintf("ApiKeys%02d", shard) }

// NewUsagePlans creates one usage plan per configured plan, bound to the stage.
func NewUsagePlans(scope constructs.Construct, props *UsagePlansProps) UsagePlans {
	env := props.Environment
	plans := UsagePlans{}
	// In name order, one after another: UpdateUsagePlan is limited to one
	// request every 20 seconds per account ("Amazon API Gateway quotas"), and
	// a change to the stage updates every plan bound to it.
	var previous awsapigateway.UsagePlan
	for _, plan := range slices.SortedFunc(slices.Values(env.UsagePlans), func(a, b config.UsagePlan) int { return strings.Compare(a.Name, b.Name) }) {
		var quota *awsapigateway.QuotaSettings
		if plan.Quota != nil {
			quota = &awsapigateway.QuotaSettings{
				Limit:  jsii.Number(plan.Quota.Limit),
				Period: awsapigateway.Period(plan.Quota.Period),
			}
		}
		usagePlan := awsapigateway.NewUsagePlan(scope, jsii.String("UsagePlan-"+plan.Name), &awsapigateway.UsagePlanProps{
			Name:        jsii.String(fmt.Sprintf("keygate-%s-%s", env.Name, plan.Name)),
			Description: optional(plan.Description),
			Throttle: &awsapigateway.ThrottleSettings{
				RateLimit:  jsii.Number(plan.Throttle.RateLimit),
				BurstLimit: jsii.Number(plan.Throttle.BurstLimit),
			},
			Quota:     quota,
			ApiStages: &[]*awsapigateway.UsagePlanPerApiStage{{Api: props.API, Stage: props.Stage}},
		})
		usagePlan.Node().DefaultChild().(awscdk.CfnResource).OverrideLogicalId(jsii.String(UsagePlanLogicalID(plan.Name)))
		// Without this, CloudFormation may create the plan before the stage
		// exists and the deploy fails with "Invalid API Stage".
		usagePlan.Node().AddDependency(props.Stage)
		if previous != nil {
			usagePlan.Node().AddDependency(previous)
		}
		previous = usagePlan
		plans[plan.Name] = usagePlan
	}
	return plans
}

// NewAPIKeys creates every configured API key with its plan attachment beside
// it, in nested stacks by shard (see config.KeyShard), and returns the nested
// stacks in shard order.
func NewAPIKeys(scope constructs.Construct, env config.Environment, plans UsagePlans) []awscdk.NestedStack {
	byShard := map[int][]config.APIKey{}
	for _, key := range env.APIKeys {
		shard := config.KeyShard(key.Name)
		byShard[shard] = append(byShard[shard], key)
	}
	shards := make([]int, 0, len(byShard))
	for shard := range byShard {
		shards = append(shards, shard)
	}
	slices.Sort(shards)

	var stacks []awscdk.NestedStack
	for _, shard := range shards {
		keys := byShard[shard]
		// Sorted by name: the creation chains below follow names only.
		slices.SortFunc(keys, func(a, b config.APIKey) int { return strings.Compare(a.Name, b.Name) })
		// The plan ids go in as parameters named after the plans, not as
		// CDK's automatic cross-stack references (named after construct
		// paths): a refactor of the parent must not rename them, or every
		// attachment in the shard would look replaced.
		parameters := map[string]*string{}
		for _, key := range keys {
			if !key.Detached {
				parameters[UsagePlanParameterName(key.Plan)] = plans[key.Plan].UsagePlanId()
			}
		}
		nested := awscdk.NewNestedStack(scope, jsii.String(KeyStackID(shard)), &awscdk.NestedStackProps{
			Description: jsii.String(fmt.Sprintf("keygate %s: API keys of shard %d of %d", env.Name, shard, config.KeyShardCount)),
			Parameters:  &parameters,
		})
		planIDs := map[string]*string{}
		// In a fixed order: the nested template's bytes name its asset.
		for _, name := range slices.Sorted(maps.Keys(parameters)) {
			planIDs[name] = awscdk.NewCfnParameter(nested, jsii.String(name), &awscdk.CfnParameterProps{
				Type:        jsii.String("String"),
				Description: jsii.String("Usage plan id"),
			}).ValueAsString()
		}
		// The last key and the last attachment created: a detached key has
		// no attachment, so the next attachment waits for the last one there is.
		var last apiKeyResources
		for _, key := range keys {
			current := newAPIKey(nested, env, key, planIDs[UsagePlanParameterName(key.Plan)])
			chainAfter(current, last)
			last.Key = current.Key
			if current.Attachment != nil {
				last.Attachment = current.Attachment
			}
		}
		// One key stack at a time: with the chains inside each stack, no
		// two attachments (and no two keys) of this environment are ever
		// created, or deleted, at once.
		if len(stacks) > 0 {
			nested.NestedStackResource().AddResourceDependency(stacks[len(stacks)-1].NestedStackResource(), nil)
		}
		stacks = append(stacks, nested)
	}
	return stacks
}

// apiKeyResources are the two resources of one configured key.
type apiKeyResources struct {
	Key        awsapigateway.CfnApiKey
	Attachment awsapigateway.CfnUsagePlanKey
}

// chainAfter makes a key and its attachment wait for the last ones created.
//
// API Gateway runs CreateUsagePlanKey one at a time per account and region:
// concurrent calls fail with 409 "Unable to complete operation due to
// concurrent modification", which CloudFormation does not retry (AWS
// support's advice in serverless/serverless#12065 is a DependsOn chain).
// CreateApiKey is limited to 5 requests per second per account, not
// adjustable ("Amazon API Gateway quotas"; ApiKey fails with 429 in
// aws-cloudformation/cloudformation-coverage-roadmap#588). So keys form one
// chain and attachments another, in name order: adding or removing a key
// changes only its successor's DependsOn, which is not a property and
// replaces nothing.
func chainAfter(current *apiKeyResources, last apiKeyResources) {
	if last.Key != nil {
		current.Key.AddResourceDependency(last.Key, nil)
	}
	if current.Attachment != nil && last.Attachment != nil {
		current.Attachment.AddResourceDependency(last.Attachment, nil)
	}
}

// UsagePlanParameterName is the nested key stacks' parameter carrying the
// id of the usage plan with this name.
func UsagePlanParameterName(planName string) string { return logicalID("UsagePlanId", planName) }

func newAPIKey(scope constructs.Construct, env config.Environment, key config.APIKey, usagePlanID *string) *apiKeyResources {
	var value *string
	if key.SecretName != "" {
		// A dynamic reference: CloudFormation reads the secret at deploy
		// time, so the value is never in the template.
		// secretJsonKey fills the json-key segment,
		// {{resolve:secretsmanager:NAME:SecretString:FIELD::}}.
		value = awscdk.SecretValue_SecretsManager(jsii.String(key.SecretName), &awscdk.SecretsManagerSecretOptions{JsonField: optional(key.SecretJSONKey)}).UnsafeUnwrap()
	}
	description := key.Description
	if description == "" {
		description = fmt.Sprintf("keygate %s API key %s", env.Name, key.Name)
	}
	apiKey := awsapigateway.NewCfnApiKey(scope, jsii.String("Key-"+key.Name), &awsapigateway.CfnApiKeyProps{
		Name:        jsii.String(key.Name),
		Description: jsii.String(description),
		Enabled:     jsii.Bool(key.IsEnabled()),
		Value:       value,
	})
	apiKey.OverrideLogicalId(jsii.String(APIKeyLogicalID(key.Name)))
	// A replaced key gets a new value and locks its clients out; a deleted
	// one is kept in API Gateway so that it can be restored.
	apiKey.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN, nil)

	// Ref, not Fn::GetAtt APIKeyId: some regions refuse that attribute
	// ("resource does not support attribute type APIKeyId in Fn::GetAtt",
	// aws/serverless-application-model#2779); Ref is the key id everywhere.
	keyID := apiKey.Ref()
	if key.Detached {
		// Step 1 of a move to another plan: the key stays, unattached,
		// because API Gateway refuses a key in two plans of one stage and
		// CloudFormation attaches before it detaches (aws/aws-cdk#11876).
		// Its id output stays: the README's retained-key recipe takes
		// every key without an ApiKeyId output for a retained one, and a
		// detached key is still managed here, mid-move.
		keyIDOutput(scope, key, keyID, "detached: moving between plans, attached to none")
		return &apiKeyResources{Key: apiKey}
	}
	attachment := awsapigateway.NewCfnUsagePlanKey(scope, jsii.String("PlanKey-"+key.Name), &awsapigateway.CfnUsagePlanKeyProps{
		KeyId:       keyID,
		KeyType:     jsii.String("API_KEY"),
		UsagePlanId: usagePlanID,
	})
	attachment.OverrideLogicalId(jsii.String(UsagePlanKeyLogicalID(key.Name)))

	keyIDOutput(scope, key, keyID, "plan "+key.Plan)
	return &apiKeyResources{Key: apiKey, Attachment: attachment}
}

// keyIDOutput is the ApiKeyId output of a key managed here, which the
// README's retained-key recipe reads to tell managed keys from retained ones.
func keyIDOutput(scope constructs.Construct, key config.APIKey, keyID *string, note string) {
	output := awscdk.NewCfnOutput(scope, jsii.String("KeyId-"+key.Name), &awscdk.CfnOutputProps{
		Description: jsii.String("API key id of " + key.Name + " (" + note + ")"),
		Value:       keyID,
	})
	output.OverrideLogicalId(jsii.String(logicalID("ApiKeyId", key.Name)))
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return jsii.String(s)
}
