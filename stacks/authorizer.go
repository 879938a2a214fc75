package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/keygate/keygate/internal/bearer"
	"github.com/keygate/keygate/internal/config"
)

// BearerAuthorizerProps is what the bearer-token authorizer is built from.
type BearerAuthorizerProps struct {
	Environment config.Environment
	// Code is the bundled lambda/authorizer binary.
	Code awslambda.Code
}

// BearerAuthorizer is the TOKEN authorizer that reads
// "Authorization: Bearer <api key>" and hands the key to API Gateway as the
// usage identifier key, together with the Lambda behind it.
type BearerAuthorizer struct {
	Authorizer awsapigateway.TokenAuthorizer
	Function   awslambda.Function
	LogGroup   awslogs.LogGroup
}

const (
	// authorizerMemoryMB: the handler needs a few MB; more memory buys a
	// faster CPU for the cold start, and 256 MB on arm64 is still cheap.
	authorizerMemoryMB = 256
	// authorizerTimeout stays far below API Gateway's 10 s authorizer limit:
	// the decision is a parse and a hash, so a slow invocation is a failure.
	authorizerTimeoutSeconds = 5
)

// NewBearerAuthorizer builds the authorizer Lambda, its log group and the
// TOKEN authorizer that invokes it.
func NewBearerAuthorizer(scope constructs.Construct, id string, props *BearerAuthorizerProps) *BearerAuthorizer {
	scope = constructs.NewConstruct(scope, jsii.String(id))
	env := props.Environment

	logGroup := awslogs.NewLogGroup(scope, jsii.String("LogGroup"), logGroupProps(env.Logging, nil))
	// Its own role, allowed to write to its own log group only, instead of
	// AWSLambdaBasicExecutionRole (create log groups, write to any).
	role := awsiam.NewRole(scope, jsii.String("Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("keygate " + env.Name + " authorizer: write its own logs and traces"),
		InlinePolicies: &map[string]awsiam.PolicyDocument{
			"WriteOwnLogs": awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{
				Statements: &[]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
					Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
					Resources: jsii.Strings(*logGroup.LogGroupArn()),
				})},
			}),
		},
	})
	function := awslambda.NewFunction(scope, jsii.String("Function"), &awslambda.FunctionProps{
		Description:   jsii.String("keygate " + env.Name + ": turns Authorization: Bearer <api key> into API Gateway's usage identifier key"),
		Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:  awslambda.Architecture_ARM_64(),
		Handler:       jsii.String("bootstrap"),
		Code:          props.Code,
		Role:          role,
		MemorySize:    jsii.Number(authorizerMemoryMB),
		Timeout:       awscdk.Duration_Seconds(jsii.Number(authorizerTimeoutSeconds)),
		Tracing:       awslambda.Tracing_ACTIVE,
		LogGroup:      logGroup,
		LoggingFormat: awslambda.LoggingFormat_JSON,
	})

	// Tracing adds xray:PutTraceSegments and xray:PutTelemetryRecords on
	// "*" to the role's default policy.
	acknowledgeFinding(role, true, "AwsSolutions-IAM5", "Resource::*",
		"X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level permissions (Resource must be *); the role has nothing else on a wildcard")
	acknowledge(function, false, [2]string{"Serverless-LambdaDLQ",
		"API Gateway invokes the authorizer synchronously and gets its errors back; there are no asynchronous events to dead-letter"})

	authorizer := awsapigateway.NewTokenAuthorizer(scope, jsii.String("TokenAuthorizer"), &awsapigateway.TokenAuthorizerProps{
		AuthorizerName: jsii.String("keygate-bearer"),
		Handler:        function,
		IdentitySource: awsapigateway.IdentitySource_Header(jsii.String("Authorization")),
		// API Gateway rejects a malformed header with 401 before invoking
		// (and paying for) the Lambda; the pattern is the authorizer's own.
		ValidationRegex: jsii.String(bearer.ValidationExpression),
		ResultsCacheTtl: awscdk.Duration_Seconds(jsii.Number(env.CacheTTLSeconds())),
	})
	return &BearerAuthorizer{Authorizer: authorizer, Function: function, LogGroup: logGroup}
}
