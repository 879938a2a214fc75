package stacks

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/keygate/keygate/internal/config"
)

// MonitoringProps is what the alarms and the dashboard watch.
type MonitoringProps struct {
	Environment    config.Environment
	Stage          awsapigateway.Stage
	Authorizer     *BearerAuthorizer
	AccessLogGroup awslogs.LogGroup
}

// Monitoring is an environment's alarms, their optional SNS topic and its
// dashboard.
type Monitoring struct {
	Alarms    []awscloudwatch.Alarm
	Topic     awssns.Topic // nil without notifyEmails
	Dashboard awscloudwatch.Dashboard
}

const (
	// Alarms look at one-minute data points and fire when 3 of the last 5
	// breach: quick enough to page, slow enough to ignore a single spike.
	alarmPeriodMinutes     = 1
	alarmEvaluationPeriods = 5
	alarmDatapoints        = 3
)

// ThrottledRequestsNamespace is where the access-log metric of 429 answers
// goes: REST APIs publish no metric of their own for throttled requests.
func ThrottledRequestsNamespace(env config.Environment) string { return "keygate/" + env.Name }

// NewMonitoring creates the alarms, the topic they notify and the dashboard.
func NewMonitoring(scope constructs.Construct, id string, props *MonitoringProps) *Monitoring {
	scope = constructs.NewConstruct(scope, jsii.String(id))
	env, stage, function := props.Environment, props.Stage, props.Authorizer.Function
	period := awscdk.Duration_Minutes(jsii.Number(alarmPeriodMinutes))
	stat := func(statistic string) *awscloudwatch.MetricOptions {
		return &awscloudwatch.MetricOptions{Statistic: jsii.String(statistic), Period: period}
	}
	percent := func(label, id string, metric awscloudwatch.IMetric) awscloudwatch.MathExpression {
		// The Average of API Gateway's 4XXError/5XXError is the share of
		// requests with that class of status.
		return awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression:   jsii.String("100 * " + id),
			UsingMetrics: &map[string]awscloudwatch.IMetric{id: metric},
			Label:        jsii.String(label),
			Period:       period,
		})
	}

	requests := stage.MetricCount(stat("Sum"))
	serverErrors := percent("5XX %", "serverErrors", stage.MetricServerError(stat("Average")))
	clientErrors := percent("4XX %", "clientErrors", stage.MetricClientError(stat("Average")))
	latencyP99 := stage.MetricLatency(stat("p99"))
	authorizerInvocations := function.MetricInvocations(stat("Sum"))
	authorizerErrors := function.MetricErrors(stat("Sum"))
	authorizerThrottles := function.MetricThrottles(stat("Sum"))
	authorizerLatencyP99 := function.MetricDuration(stat("p99"))
	// Requests the authorizer was not invoked for were answered from its
	// cache (or refused by the validation expression before it).
	cacheAnswered := awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression:   jsii.String("IF(requests > 0, 100 * (1 - invocations / requests), 0)"),
		UsingMetrics: &map[string]awscloudwatch.IMetric{"requests": requests, "invocations": authorizerInvocations},
		Label:        jsii.String("answered without invoking the authorizer %"),
		Period:       period,
	})
	throttledFilter := awslogs.NewMetricFilter(scope, jsii.String("ThrottledRequestsFilter"), &awslogs.MetricFilterProps{
		LogGroup:        props.AccessLogGroup,
		FilterPattern:   awslogs.FilterPattern_Literal(jsii.String(`{ $.status = "429" }`)),
		MetricNamespace: jsii.String(ThrottledRequestsNamespace(env)),
		MetricName:      jsii.String("ThrottledRequests"),
		MetricValue:     jsii.String("1"),
		DefaultValue:    jsii.Number(0),
	})
	throttled := throttledFilter.Metric(stat("Sum"))

	m := &Monitoring{}
	alarm := func(name, description string, metric awscloudwatch.IMetric, threshold float64) {
		a := awscloudwatch.NewAlarm(scope, jsii.String(name), &awscloudwatch.AlarmProps{
			AlarmName:          jsii.String(alarmNamePrefix(env) + name),
			AlarmDescription:   jsii.String(description),
			Metric:             metric,
			Threshold:          jsii.Number(threshold),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			EvaluationPeriods:  jsii.Number(alarmEvaluationPeriods),
			DatapointsToAlarm:  jsii.Number(alarmDatapoints),
			// No traffic is not an outage of the gateway.
			TreatMissingData: awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		m.Alarms = append(m.Alarms, a)
	}
	alarms := env.Alarms
	alarm("ServerErrorRate", fmt.Sprintf("5XX answers are at least %s%% of requests", formatPercent(alarms.ServerErrorRatePercent)), serverErrors, alarms.ServerErrorRatePercent)
	alarm("ClientErrorRate", fmt.Sprintf("4XX answers are at least %s%% of requests: broken clients, revoked keys or an attack", formatPercent(alarms.ClientErrorRatePercent)), clientErrors, alarms.ClientErrorRatePercent)
	alarm("LatencyP99", fmt.Sprintf("p99 latency is at least %d ms", alarms.LatencyP99Millis), latencyP99, float64(alarms.LatencyP99Millis))
	alarm("AuthorizerErrors", fmt.Sprintf("the authorizer Lambda failed at least %d times a minute: clients get 500", alarms.AuthorizerErrors), authorizerErrors, float64(alarms.AuthorizerErrors))
	alarm("AuthorizerThrottles", fmt.Sprintf("the authorizer Lambda was throttled at least %d times a minute: clients get 500", alarms.AuthorizerThrottles), authorizerThrottles, float64(alarms.AuthorizerThrottles))
	alarm("AuthorizerLatencyP99", fmt.Sprintf("the authorizer's p99 duration is at least %d ms", alarms.AuthorizerLatencyP99Millis), authorizerLatencyP99, float64(alarms.AuthorizerLatencyP99Millis))

	if len(alarms.NotifyEmails) > 0 {
		m.Topic = awssns.NewTopic(scope, jsii.String("AlarmTopic"), &awssns.TopicProps{
			DisplayName: jsii.String("keygate " + env.Name + " alarms"),
			EnforceSSL:  jsii.Bool(true),
		})
		acknowledge(m.Topic, false, [2]string{"AwsSolutions-SNS2",
			"CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed SNS key, and alarm notifications carry only alarm names and states (no request data or keys)"})
		// EnforceSSL writes a topic policy, and a topic policy replaces
		// SNS's default one: with only the TLS Deny in it, CloudWatch "is not
		// authorized to perform: SNS:Publish … because no resource-based
		// policy allows" (aws-solutions/automated-security-response-on-aws#43)
		// and no alarm email ever arrives. Allow this environment's alarms,
		// in this account and region, and no one else (the Amazon SNS
		// developer guide's confused-deputy conditions).
		m.Topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("AllowThisEnvironmentsAlarmsToPublish"),
			Effect:     awsiam.Effect_ALLOW,
			Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
			Actions:    jsii.Strings("sns:Publish"),
			Resources:  jsii.Strings(*m.Topic.TopicArn()),
			Conditions: &map[string]any{
				"ArnLike":      map[string]any{"aws:SourceArn": alarmARNPattern(env)},
				"StringEquals": map[string]any{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()},
			},
		}))
		for _, email := range alarms.NotifyEmails {
			m.Topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(email), nil))
		}
		acknowledge(m.Topic, true, [2]string{"Serverless-SNSRedrivePolicy",
			"the subscriptions are emails about alarm state changes; CloudWatch keeps each alarm's state and history, so an undelivered email loses no data"})
		action := awscloudwatchactions.NewSnsAction(m.Topic)
		for _, a := range m.Alarms {
			a.AddAlarmAction(action)
			a.AddOkAction(action)
		}
	}

	graph := func(title string, left []awscloudwatch.IMetric, right []awscloudwatch.IMetric) awscloudwatch.GraphWidget {
		props := &awscloudwatch.GraphWidgetProps{Title: jsii.String(title), Left: &left, Width: jsii.Number(12), Height: jsii.Number(6)}
		if len(right) > 0 {
			props.Right = &right
		}
		return awscloudwatch.NewGraphWidget(props)
	}
	m.Dashboard = awscloudwatch.NewDashboard(scope, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName: DashboardName(env),
	})
	m.Dashboard.AddWidgets(
		graph("Requests", []awscloudwatch.IMetric{requests}, nil),
		graph("Errors by class (% of requests)", []awscloudwatch.IMetric{clientErrors, serverErrors}, nil),
	)
	m.Dashboard.AddWidgets(
		graph("Latency (ms)", []awscloudwatch.IMetric{
			stage.MetricLatency(stat("p50")), stage.MetricLatency(stat("p90")), latencyP99,
			stage.MetricIntegrationLatency(stat("p99")),
		}, nil),
		graph("Authorizer invocations vs. cache", []awscloudwatch.IMetric{requests, authorizerInvocations}, []awscloudwatch.IMetric{cacheAnswered}),
	)
	throttledMetrics := []awscloudwatch.IMetric{throttled}
	if env.WAFEnabled() {
		// WAF's 429s never reach API Gateway's access log (AWS WAF
		// developer guide, "Monitoring with Amazon CloudWatch": metrics
		// by WebACL, Rule and Region, named by their metric names).
		throttledMetrics = append(throttledMetrics, awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace:  jsii.String("AWS/WAFV2"),
			MetricName: jsii.String("BlockedRequests"),
			DimensionsMap: &map[string]*string{
				"WebACL": jsii.String(wafMetricName(env, "web-acl")),
				"Rule":   jsii.String(wafMetricName(env, wafRateRuleMetric)),
				"Region": awscdk.Aws_REGION(),
			},
			Statistic: jsii.String("Sum"),
			Period:    period,
			Label:     jsii.String("rate-limited by WAF (per source IP)"),
		}))
	}
	m.Dashboard.AddWidgets(
		graph("Throttled requests (429)", throttledMetrics, nil),
		graph("Authorizer health", []awscloudwatch.IMetric{authorizerErrors, authorizerThrottles}, []awscloudwatch.IMetric{authorizerLatencyP99}),
	)
	return m
}

// alarmNamePrefix starts the name of every alarm of an environment. Alarm
// names are unique per account and region, as is an environment's stack.
func alarmNamePrefix(env config.Environment) string { return "keygate-" + env.Name + "-" }

// alarmARNPattern matches the ARNs of an environment's alarms in the stack's
// account and region.
func alarmARNPattern(env config.Environment) *string {
	return awscdk.Fn_Join(jsii.String(""), jsii.Strings(
		"arn:", *awscdk.Aws_PARTITION(), ":cloudwatch:", *awscdk.Aws_REGION(), ":", *awscdk.Aws_ACCOUNT_ID(), ":alarm:", alarmNamePrefix(env)+"*"))
}

// DashboardName is the name of an environment's dashboard. Dashboards are
// global per account ("CloudWatch dashboards": a name is unique in the
// account, not the region), so the region is part of it: the same
// environment deployed to two regions would otherwise collide.
func DashboardName(env config.Environment) *string {
	return awscdk.Fn_Join(jsii.String("-"), jsii.Strings("keygate", env.Name, *awscdk.Aws_REGION()))
}

// DashboardURL is the console address of a dashboard in the stack's region.
func DashboardURL(dashboardName string) string {
	region := *awscdk.Aws_REGION()
	return fmt.Sprintf("https://%s.console.aws.amazon.com/cloudwatch/home?region=%s#dashboards:name=%s", region, region, dashboardName)
}

func formatPercent(f float64) string { return fmt.Sprintf("%g", f) }
