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

// accessLogFields are the access log's JSON keys and the $context variables
// behind them. identity.apiKeyId is the key's id, never identity.apiKey (its
// value); authorizer.principalId is the authorizer's fingerprint of the key.
var accessLogFields = [][2]string{
	{"requestId", "$context.requestId"},
	{"extendedRequestId", "$context.extendedRequestId"},
	{"requestTime", "$context.requestTime"},
	{"httpMethod", "$context.httpMethod"},
	{"path", "$context.path"},
	{"resourcePath", "$context.resourcePath"},
	{"protocol", "$context.protocol"},
	{"status", "$context.status"},
	{"responseLength", "$context.responseLength"},
	{"responseLatency", "$context.responseLatency"},
	{"integrationLatency", "$context.integrationLatency"},
	{"integrationStatus", "$context.integration.status"},
	{"sourceIp", "$context.identity.sourceIp"},
	{"userAgent", "$context.identity.userAgent"},
	{"apiKeyId", "$context.identity.apiKeyId"},
	{"principalId", "$context.authorizer.principalId"},
	{"authorizerError", "$context.authorizer.error"},
	{"authorizerLatency", "$context.authorizer.integrationLatency"},
	{"errorResponseType", "$context.error.responseType"},
	{"errorMessage", "$context.error.message"},
	{"xrayTraceId", "$context.xrayTraceId"},
}

// AccessLogFormat is the stage's access log line: one JSON object per request.
// Every value is quoted, because API Gateway writes "-" for a variable with no
// value (integrationLatency of a request the authorizer denied), which would
// make an unquoted number invalid JSON.
func AccessLogFormat() string {
	var b []byte
	b = append(b, '{')
	for i, field := range accessLogFields {
		if i > 0 {
			b = append(b, ',')
		}
		key, _ := json.Marshal(field[0])
		b = append(b, key...)
		b = append(b, ':', '"')
		b = append(b, field[1]...)
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
