package stacks

import (
	"encoding/json"
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/keygate/keygate/internal/config"
)

// AccessLogField is one key of the access log's JSON line and the $context
// variable API Gateway substitutes for it.
type AccessLogField struct {
	Key      string
	Variable string
}

// AccessLogFields are the access log line's fields.
//
// API Gateway substitutes $context variables as they are, unescaped, so a
// value with a '"' or '\\' inside quotes breaks the line and CloudWatch's
// metric filters skip it. Only variables whose values API Gateway or keygate
// generate are written inside quotes (ids, times, numbers, enums, the method
// and resource path of a matched route, the authorizer's fingerprint); values
// a client controls are left out ($context.identity.userAgent,
// $context.path). So is the error message, even as the already quoted
// $context.error.messageString: for a request with an Authorization header to
// an undefined path or method it quotes the whole header, API key included
// (responses.go); errorResponseType says which error it was.
// identity.apiKeyId is the key's id, never identity.apiKey (its value);
// authorizer.principalId is the authorizer's fingerprint of the key.
var AccessLogFields = []AccessLogField{
	{Key: "requestId", Variable: "$context.requestId"},
	{Key: "extendedRequestId", Variable: "$context.extendedRequestId"},
	{Key: "requestTime", Variable: "$context.requestTime"},
	{Key: "httpMethod", Variable: "$context.httpMethod"},
	{Key: "resourcePath", Variable: "$context.resourcePath"},
	{Key: "protocol", Variable: "$context.protocol"},
	{Key: "tlsVersion", Variable: "$context.tlsVersion"},
	{Key: "cipherSuite", Variable: "$context.cipherSuite"},
	{Key: "status", Variable: "$context.status"},
	{Key: "responseLength", Variable: "$context.responseLength"},
	{Key: "responseLatency", Variable: "$context.responseLatency"},
	{Key: "integrationLatency", Variable: "$context.integrationLatency"},
	{Key: "integrationStatus", Variable: "$context.integration.status"},
	{Key: "sourceIp", Variable: "$context.identity.sourceIp"},
	{Key: "apiKeyId", Variable: "$context.identity.apiKeyId"},
	{Key: "principalId", Variable: "$context.authorizer.principalId"},
	{Key: "authorizerError", Variable: "$context.authorizer.error"},
	{Key: "authorizerLatency", Variable: "$context.authorizer.integrationLatency"},
	{Key: "errorResponseType", Variable: "$context.error.responseType"},
	{Key: "xrayTraceId", Variable: "$context.xrayTraceId"},
}

// AccessLogFormat is the stage's access log line: one JSON object per request.
// Every value is quoted, because API Gateway writes "-" for a variable
// with no value (integrationLatency of a request the authorizer denied),
// which would make an unquoted number invalid JSON.
func AccessLogFormat() string {
	var b []byte
	b = append(b, '{')
	for i, field := range AccessLogFields {
		if i > 0 {
			b = append(b, ',')
		}
		key, _ := json.Marshal(field.Key)
		b = append(b, key...)
		b = append(b, ':', '"')
		b = append(b, field.Variable...)
		b = append(b, '"')
	}
	return string(append(b, '}'))
}

// ExecutionLogGroupName is where API Gateway writes a stage's execution logs.
// API Gateway creates this group itself, with no retention, on the first log
// line; creating it in the stack first is the only way to bound it.
func ExecutionLogGroupName(restAPIID, stageName string) string {
	return fmt.Sprintf("API-Gateway-Execution-Logs_%s/%s", restAPIID, stageName)
}

// retentionDays maps config.RetentionDays to CDK's names for them.
var retentionDays = map[int]awslogs.RetentionDays{
	1:    awslogs.RetentionDays_ONE_DAY,
	3:    awslogs.RetentionDays_THREE_DAYS,
	5:    awslogs.RetentionDays_FIVE_DAYS,
	7:    awslogs.RetentionDays_ONE_WEEK,
	14:   awslogs.RetentionDays_TWO_WEEKS,
	30:   awslogs.RetentionDays_ONE_MONTH,
	60:   awslogs.RetentionDays_TWO_MONTHS,
	90:   awslogs.RetentionDays_THREE_MONTHS,
	120:  awslogs.RetentionDays_FOUR_MONTHS,
	150:  awslogs.RetentionDays_FIVE_MONTHS,
	180:  awslogs.RetentionDays_SIX_MONTHS,
	365:  awslogs.RetentionDays_ONE_YEAR,
	400:  awslogs.RetentionDays_THIRTEEN_MONTHS,
	545:  awslogs.RetentionDays_EIGHTEEN_MONTHS,
	731:  awslogs.RetentionDays_TWO_YEARS,
	1096: awslogs.RetentionDays_THREE_YEARS,
	1827: awslogs.RetentionDays_FIVE_YEARS,
	2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS,
	2922: awslogs.RetentionDays_EIGHT_YEARS,
	3288: awslogs.RetentionDays_NINE_YEARS,
	3653: awslogs.RetentionDays_TEN_YEARS,
}

// logGroupProps are the settings every keygate log group shares.
func logGroupProps(logging config.Logging, name *string) *awslogs.LogGroupProps {
	removal := awscdk.RemovalPolicy_RETAIN
	if logging.RemovalPolicy == config.RemovalDestroy {
		removal = awscdk.RemovalPolicy_DESTROY
	}
	return &awslogs.LogGroupProps{
		LogGroupName:  name,
		Retention:     retentionDays[logging.RetentionDays],
		RemovalPolicy: removal,
	}
}

// newAccessLogGroup is the log group the stage writes its access log to.
func newAccessLogGroup(scope constructs.Construct, logging config.Logging) awslogs.LogGroup {
	return awslogs.NewLogGroup(scope, jsii.String("AccessLogGroup"), logGroupProps(logging, nil))
}

// newExecutionLogGroup takes ownership of the stage's execution log group and
// makes the stage wait for it, so API Gateway never creates it first.
func newExecutionLogGroup(scope constructs.Construct, api awsapigateway.RestApi, stage awsapigateway.Stage, stageName string, logging config.Logging) awslogs.LogGroup {
	// The stage name comes from config, not from the stage: a reference
	// to the stage would make it depend on itself through this group.
	name := ExecutionLogGroupName(*api.RestApiId(), stageName)
	group := awslogs.NewLogGroup(scope, jsii.String("ExecutionLogGroup"), logGroupProps(logging, jsii.String(name)))
	stage.Node().AddDependency(group)
	return group
}

// WelcomeLogGroupName is the log group API Gateway writes a first line to
// when an account's CloudWatch role is set, with no retention.
const WelcomeLogGroupName = "/aws/apigateway/welcome"

// boundWelcomeLogGroup gives the account's /aws/apigateway/welcome log group
// the environment's retention. Only the environment that owns the account's
// API Gateway CloudWatch role does this: there is one such group per account
// and region. It is a LogRetention (create the group if missing, then set its
// retention), not an AWS::Logs::LogGroup: the group already exists in every
// account whose CloudWatch role was ever set, and creating an existing log
// group fails the deploy ("already exists"). The group is left in place when
// the stack goes: other APIs of the account log through the same role.
func boundWelcomeLogGroup(scope constructs.Construct, logging config.Logging) awslogs.LogRetention {
	retention := awslogs.NewLogRetention(scope, jsii.String("WelcomeLogGroupRetention"), &awslogs.LogRetentionProps{
		LogGroupName:  jsii.String(WelcomeLogGroupName),
		Retention:     retentionDays[logging.RetentionDays],
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	// The provider is one Lambda per stack, named by CDK
	// (aws-cdk-lib/aws-logs LogRetention).
	provider := awscdk.Stack_Of(scope).Node().FindChild(jsii.String("LogRetentionaae0aa3c5b4d4f87b02d85b201efdd8a"))
	acknowledgeFinding(provider, true, "AwsSolutions-IAM4", "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
		"CDK's LogRetention provider writes only its own logs with the managed basic execution policy; it runs once per deploy to set one log group's retention")
	acknowledgeFinding(provider, true, "AwsSolutions-IAM5", "Resource::*",
		"CDK's LogRetention provider needs logs:PutRetentionPolicy and logs:DeleteRetentionPolicy on a log group it may have to create first (/aws/apigateway/welcome), which CDK grants on every group")
	return retention
}
