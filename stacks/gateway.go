// Package stacks builds keygate's CloudFormation from a validated
// config.Environment: one GatewayStack per environment, wired from small
// constructs (authorizer, logging, routes, usage plans and keys).
package stacks

import (
	"maps"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/keygate/keygate/internal/config"
)

// GatewayStackProps is what one environment's stack is built from.
type GatewayStackProps struct {
	awscdk.StackProps
	Environment config.Environment
	// Authorizer is the bundled lambda/authorizer, shared by all stacks.
	Authorizer *GoLambdaAsset
}

// GatewayStack is one environment: the REST API, its stage, the bearer
// authorizer, usage plans and API keys, and their logs.
type GatewayStack struct {
	awscdk.Stack
	API        awsapigateway.RestApi
	Authorizer *BearerAuthorizer
	UsagePlans UsagePlans
	KeyStacks  []awscdk.NestedStack
	Monitoring *Monitoring
	// CustomDomain is nil where the environment has no domain.
	CustomDomain *CustomDomain
}

// NewGatewayStack builds the stack of one environment.
func NewGatewayStack(scope constructs.Construct, id string, props *GatewayStackProps) *GatewayStack {
	env := props.Environment
	stackProps := props.StackProps
	if stackProps.Env == nil && (env.Account != "" || env.Region != "") {
		stackProps.Env = &awscdk.Environment{Account: optional(env.Account), Region: optional(env.Region)}
	}
	// Version reporting adds a metadata resource and a 30-region condition
	// to every template, nested key stacks included: noise in every diff.
	stackProps.AnalyticsReporting = jsii.Bool(false)
	if stackProps.Description == nil {
		stackProps.Description = jsii.String("keygate " + env.Name + ": API Gateway with Authorization: Bearer API keys")
	}
	stack := awscdk.NewStack(scope, jsii.String(id), &stackProps)
	var cloudWatchRoleRemoval awscdk.RemovalPolicy
	if env.ManageCloudWatchRole {
		// Other APIs of the account and region log through the same role:
		// keep it when this stack goes.
		cloudWatchRoleRemoval = awscdk.RemovalPolicy_RETAIN
	}
	for _, key := range slices.Sorted(maps.Keys(env.Tags)) {
		awscdk.Tags_Of(stack).Add(jsii.String(key), jsii.String(env.Tags[key]), nil)
	}

	authorizer := NewBearerAuthorizer(stack, "BearerAuthorizer", &BearerAuthorizerProps{
		Environment: env,
		Code:        props.Authorizer.Code(),
	})
	accessLogGroup := newAccessLogGroup(stack, env.Logging)
	api := awsapigateway.NewRestApi(stack, jsii.String("Api"), &awsapigateway.RestApiProps{
		RestApiName: jsii.String(env.StackName()),
		Description: jsii.String("keygate " + env.Name + ": clients send Authorization: Bearer <api key>"),
		// The authorizer, not the x-api-key header, supplies the key that
		// usage plans meter and throttle.
		ApiKeySourceType:            awsapigateway.ApiKeySourceType_AUTHORIZER,
		EndpointTypes:               &[]awsapigateway.EndpointType{awsapigateway.EndpointType_REGIONAL},
		CloudWatchRole:              jsii.Bool(env.ManageCloudWatchRole),
		CloudWatchRoleRemovalPolicy: cloudWatchRoleRemoval,
		DefaultCorsPreflightOptions: corsPreflightOptions(env),
		Policy:                      resourcePolicy(env),
		DisableExecuteApiEndpoint:   disableExecuteAPIEndpoint(env),
		DefaultMethodOptions: &awsapigateway.MethodOptions{
			AuthorizationType: awsapigateway.AuthorizationType_CUSTOM,
			Authorizer:        authorizer.Authorizer,
			ApiKeyRequired:    jsii.Bool(true),
		},
		DeployOptions: &awsapigateway.StageOptions{
			StageName:            jsii.String(env.StageName),
			TracingEnabled:       jsii.Bool(true),
			AccessLogDestination: awsapigateway.NewLogGroupLogDestination(accessLogGroup),
			AccessLogFormat:      awsapigateway.AccessLogFormat_Custom(jsii.String(AccessLogFormat())),
			// These become the stage's method settings for */* (every
			// resource and method).
			LoggingLevel:         awsapigateway.MethodLoggingLevel(env.Logging.Level),
			DataTraceEnabled:     jsii.Bool(env.Logging.DataTrace),
			MetricsEnabled:       jsii.Bool(env.Logging.MetricsEnabled()),
			ThrottlingRateLimit:  jsii.Number(env.Throttle.RateLimit),
			ThrottlingBurstLimit: jsii.Number(env.Throttle.BurstLimit),
		},
	})
	// CDK's own "Endpoint" output would repeat ApiUrl below under a
	// generated name.
	api.Node().TryRemoveChild(jsii.String("Endpoint"))
	stage := api.DeploymentStage()
	executionLogGroup := newExecutionLogGroup(stack, api, stage, env.StageName, env.Logging)
	addRoutes(stack, api, env)
	addGatewayResponses(api, env)
	acknowledgePreflightMethods(api)
	if env.ManageCloudWatchRole {
		boundWelcomeLogGroup(stack, env.Logging)
		acknowledgeFinding(api.Node().FindChild(jsii.String("CloudWatchRole")), false, "AwsSolutions-IAM4",
			"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs",
			"AmazonAPIGatewayPushToCloudWatchLogs is the policy AWS documents for the account-wide API Gateway logging role; that role serves every API of the account and region, so it cannot be scoped to this stack's log groups")
	}
	if env.WAFEnabled() {
		newWebACL(stack, env, stage)
	} else {
		acknowledge(stage, false, [2]string{"AwsSolutions-APIG3",
			"WAF is switched off for this environment in its config (waf.enabled, default on only where production is true)"})
	}
	monitoring := NewMonitoring(stack, "Monitoring", &MonitoringProps{
		Environment:    env,
		Stage:          stage,
		Authorizer:     authorizer,
		AccessLogGroup: accessLogGroup,
	})

	var customDomain *CustomDomain
	if env.Domain != nil {
		customDomain = newCustomDomain(stack, env, api, stage)
	}

	plans := NewUsagePlans(stack, &UsagePlansProps{Environment: env, API: api, Stage: stage})
	keyStacks := NewAPIKeys(stack, env, plans)

	output := func(id, description string, value *string) {
		awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{Description: jsii.String(description), Value: value})
	}
	apiURLDescription := "Base URL of the " + env.StageName + " stage"
	if env.ExecuteAPIEndpointDisabled() {
		apiURLDescription += " on the default endpoint, which is switched off (403): call CustomDomainUrl"
	}
	output("ApiUrl", apiURLDescription, api.Url())
	output("AccessLogGroupName", "Access log group of the stage (one JSON line per request)", accessLogGroup.LogGroupName())
	output("ExecutionLogGroupName", "Execution log group of the stage", executionLogGroup.LogGroupName())
	output("AuthorizerFunctionName", "The bearer authorizer Lambda", authorizer.Function.FunctionName())
	output("DashboardUrl", "CloudWatch dashboard of this environment", jsii.String(DashboardURL(*monitoring.Dashboard.DashboardName())))
	for _, plan := range env.UsagePlans {
		output(logicalID("UsagePlanId", plan.Name), "Usage plan id of "+plan.Name, plans[plan.Name].UsagePlanId())
	}
	return &GatewayStack{Stack: stack, API: api, Authorizer: authorizer, UsagePlans: plans, KeyStacks: keyStacks, Monitoring: monitoring, CustomDomain: customDomain}
}
