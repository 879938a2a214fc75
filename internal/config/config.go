// Package config turns keygate's cdk.json context into typed, validated
// environments. It is plain Go (no jsii), so every rule is unit-tested without
// synthesizing anything, and the app can refuse a bad config before it builds a
// single construct.
package config

import "math"

// Config is the whole keygate configuration: one Environment per stack.
type Config struct {
	// Environments in a stable order (sorted by name), so that the app
	// synthesizes stacks in the same order on every run.
	Environments []Environment
}

// Environment is everything one keygate-<name> stack is built from.
type Environment struct {
	// Name is the key under "environments" (dev, staging, prod, …).
	Name string `json:"-"`

	// Account and Region pin the stack to one AWS environment. Both are
	// optional: without them the stack is environment-agnostic, which is what
	// lets `cdk synth` run without AWS credentials.
	Account string `json:"account"`
	Region  string `json:"region"`

	// Production turns on the rules that protect live traffic (no data trace).
	Production bool `json:"production"`

	StageName string `json:"stageName" required:"true"`
	// Throttle becomes the stage's */* method settings, which limit each
	// method (all clients together), not the stage as a whole: "Per-API,
	// per-stage throttling limits are applied at the API method level for a
	// stage" (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html).
	Throttle Throttle `json:"throttle" required:"true"`
	Logging  Logging  `json:"logging" required:"true"`

	// AuthorizerCacheTTLSeconds is how long API Gateway caches an authorizer
	// decision per token (0 disables the cache; API Gateway allows 0–3600).
	AuthorizerCacheTTLSeconds *int `json:"authorizerCacheTtlSeconds"`

	// ManageCloudWatchRole makes this stack own the region's
	// AWS::ApiGateway::Account (the role API Gateway writes execution logs
	// with). There is one per account and region, so only one stack may own it.
	ManageCloudWatchRole bool `json:"manageCloudWatchRole"`
	// CloudWatchRoleManagedOutside says the account+region's API Gateway
	// CloudWatch role is set outside keygate (a landing zone, another
	// stack), so no environment of it needs ManageCloudWatchRole.
	CloudWatchRoleManagedOutside bool `json:"cloudWatchRoleManagedOutside"`

	// CORS, WAF and Alarms have defaults (see Defaults); a key set in
	// cdk.json replaces only that one value.
	CORS   CORS   `json:"cors"`
	WAF    WAF    `json:"waf"`
	Alarms Alarms `json:"alarms"`

	// Domain is the optional custom domain name (see domain.go); SourceIPs
	// restrict which client addresses may call the API.
	Domain    *Domain   `json:"domain"`
	SourceIPs SourceIPs `json:"sourceIps"`

	// Quotas are the adjustable account-wide quotas of the environment's
	// account and region, where they differ from AWS's defaults.
	Quotas Quotas `json:"quotas"`

	UsagePlans []UsagePlan       `json:"usagePlans" required:"true"`
	APIKeys    []APIKey          `json:"apiKeys"`
	Routes     []Route           `json:"routes" required:"true"`
	Tags       map[string]string `json:"tags"`
}

// StackName is the CloudFormation stack name of the environment.
func (e Environment) StackName() string { return "keygate-" + e.Name }

// CacheTTLSeconds is the authorizer result cache TTL with its default applied.
func (e Environment) CacheTTLSeconds() int {
	if e.AuthorizerCacheTTLSeconds == nil {
		return DefaultAuthorizerCacheTTLSeconds
	}
	return *e.AuthorizerCacheTTLSeconds
}

// DefaultAuthorizerCacheTTLSeconds is API Gateway's own default.
const DefaultAuthorizerCacheTTLSeconds = 300

// Throttle is a token bucket: a steady rate and the burst it may absorb.
type Throttle struct {
	RateLimit  float64 `json:"rateLimit" required:"true"`
	BurstLimit int     `json:"burstLimit" required:"true"`
}

// LogLevel is API Gateway's execution logging level.
type LogLevel string

// The execution logging levels API Gateway accepts.
const (
	LogLevelInfo  LogLevel = "INFO"
	LogLevelError LogLevel = "ERROR"
	LogLevelOff   LogLevel = "OFF"
)

// RemovalPolicy says what happens to a log group when its stack deletes it.
type RemovalPolicy string

// The removal policies a log group may have.
const (
	RemovalRetain  RemovalPolicy = "retain"
	RemovalDestroy RemovalPolicy = "destroy"
)

// Logging configures access logs, execution logs and their retention.
type Logging struct {
	Level LogLevel `json:"level" required:"true"`
	// DataTrace logs full requests, including the Authorization header: it is
	// refused where Production is true.
	DataTrace bool `json:"dataTrace"`
	// Metrics enables detailed CloudWatch metrics per method (default true).
	Metrics       *bool         `json:"metrics"`
	RetentionDays int           `json:"retentionDays" required:"true"`
	RemovalPolicy RemovalPolicy `json:"removalPolicy" required:"true"`
}

// MetricsEnabled is Metrics with its default applied.
func (l Logging) MetricsEnabled() bool { return l.Metrics == nil || *l.Metrics }

// QuotaPeriod is the window a usage plan quota counts requests in.
type QuotaPeriod string

// The quota periods API Gateway accepts.
const (
	QuotaDay   QuotaPeriod = "DAY"
	QuotaWeek  QuotaPeriod = "WEEK"
	QuotaMonth QuotaPeriod = "MONTH"
)

// Quota caps the number of requests a key may make per period.
type Quota struct {
	Limit  int         `json:"limit" required:"true"`
	Period QuotaPeriod `json:"period" required:"true"`
}

// UsagePlan is a throttle and an optional quota that API keys subscribe to.
type UsagePlan struct {
	Name        string   `json:"name" required:"true"`
	Description string   `json:"description"`
	Throttle    Throttle `json:"throttle" required:"true"`
	Quota       *Quota   `json:"quota"`
}

// APIKey is one client's key. Its value is generated by API Gateway unless
// SecretName names an existing Secrets Manager secret to import it from; a
// literal value is deliberately not accepted, so no key ever lands in a
// template or in git.
type APIKey struct {
	Name    string `json:"name" required:"true"`
	Plan    string `json:"plan" required:"true"`
	Enabled *bool  `json:"enabled"`
	// SecretName is the name (not the value) of a Secrets Manager secret whose
	// SecretString is the key value to import.
	SecretName string `json:"secretName"`
	// SecretJSONKey, with SecretName, names the field of a JSON secret that
	// holds the key value: without it the whole SecretString is the value.
	SecretJSONKey string `json:"secretJsonKey"`
	Description   string `json:"description"`
	// Detached keeps the key but attaches it to no usage plan (its clients
	// get 403). It is step 1 of moving a key to another plan: API Gateway
	// refuses a key in two plans of one stage, and CloudFormation would
	// attach it to the new plan before detaching it from the old one.
	Detached bool `json:"detached"`
}

// IsEnabled is Enabled with its default (true) applied.
func (k APIKey) IsEnabled() bool { return k.Enabled == nil || *k.Enabled }

// IntegrationType says where a route sends its requests.
type IntegrationType string

// The integration types a route may use.
const (
	IntegrationHTTP   IntegrationType = "http"
	IntegrationLambda IntegrationType = "lambda"
	IntegrationMock   IntegrationType = "mock"
)

// Route is a path, the methods it answers and where requests go.
type Route struct {
	Path        string      `json:"path" required:"true"`
	Methods     []string    `json:"methods" required:"true"`
	Integration Integration `json:"integration" required:"true"`
}

// Integration is the backend of a route. Which fields apply depends on Type.
type Integration struct {
	Type IntegrationType `json:"type" required:"true"`
	// URL is the HTTP proxy target (type http). Path parameters of the route,
	// written {name}, may appear in it and are passed through.
	URL string `json:"url"`
	// FunctionARN is an existing Lambda function (type lambda).
	FunctionARN string `json:"functionArn"`
	// StatusCode and Body are the fixed answer of a mock integration.
	StatusCode int    `json:"statusCode"`
	Body       string `json:"body"`
	// TimeoutMillis bounds how long API Gateway waits for the backend
	// (http and lambda; 50–29000, default 29000).
	TimeoutMillis int `json:"timeoutMillis"`
}

// CORS lets browsers on the allowed origins call the API.
type CORS struct {
	// AllowedOrigins are origins such as https://app.example.com, or "*"
	// alone. Empty means no CORS.
	AllowedOrigins []string `json:"allowedOrigins"`
}

// Enabled reports whether CORS is configured.
func (c CORS) Enabled() bool { return len(c.AllowedOrigins) > 0 }

// WAF is the optional AWS WAF web ACL in front of the stage.
type WAF struct {
	// Enabled defaults to the environment's Production flag.
	Enabled *bool `json:"enabled"`
	// RateLimitPerIP is how many requests one source IP may make in one
	// evaluation window before WAF answers it 429. Unset (0), it is derived
	// from the plans (see MinWAFRateLimit); set, it may not be lower.
	RateLimitPerIP int `json:"rateLimitPerIp"`
	// EvaluationWindowSeconds is the window the rate is counted over: 60,
	// 120, 300 (default) or 600, as WAF allows.
	EvaluationWindowSeconds int `json:"evaluationWindowSeconds"`
	// CountOnlyRules are rules of the AWS managed common rule set that only
	// count instead of blocking. The default, SizeRestrictions_BODY (bodies
	// over 8 KB) and NoUserAgent_HEADER (no User-Agent), would block
	// ordinary API clients; [] blocks with every rule.
	CountOnlyRules []string `json:"countOnlyRules"`
}

// WAFRateLimit is the rate-based rule's limit: RateLimitPerIP, or the lowest
// that never blocks a client within its plan.
func (e Environment) WAFRateLimit() int {
	if e.WAF.RateLimitPerIP > 0 {
		return e.WAF.RateLimitPerIP
	}
	return max(e.MinWAFRateLimit(), minWAFRateLimit)
}

// MinWAFRateLimit is the most requests one key may make in one WAF
// evaluation window within the most generous plan: a full bucket (burst)
// and then the steady rate for the rest of the window. A lower per-IP limit
// would block a client with one key that its plan still allows, and since
// several keys may share one address (NAT), it is a floor, not a target.
func (e Environment) MinWAFRateLimit() int {
	most := 0
	for _, plan := range e.UsagePlans {
		n := plan.Throttle.BurstLimit + int(math.Ceil(plan.Throttle.RateLimit*float64(e.WAF.EvaluationWindowSeconds)))
		most = max(most, n)
	}
	return most
}

// Alarms are the CloudWatch alarm thresholds of an environment.
type Alarms struct {
	// NotifyEmails subscribe to an SNS topic the alarms notify; without
	// any, the alarms exist but notify no one.
	NotifyEmails []string `json:"notifyEmails"`
	// ServerErrorRatePercent: share of requests answered 5XX.
	ServerErrorRatePercent float64 `json:"serverErrorRatePercent"`
	// ClientErrorRatePercent: share of requests answered 4XX (a spike means
	// broken clients, revoked keys or an attack).
	ClientErrorRatePercent float64 `json:"clientErrorRatePercent"`
	// LatencyP99Millis: p99 of the whole request as API Gateway measures it.
	LatencyP99Millis int `json:"latencyP99Millis"`
	// AuthorizerErrors and AuthorizerThrottles: counts per minute of the
	// authorizer Lambda that raise the alarm.
	AuthorizerErrors    int `json:"authorizerErrors"`
	AuthorizerThrottles int `json:"authorizerThrottles"`
	// AuthorizerLatencyP99Millis: p99 duration of the authorizer Lambda.
	AuthorizerLatencyP99Millis int `json:"authorizerLatencyP99Millis"`
}

// Defaults are the values an environment has for the optional settings it
// does not set.
func Defaults() Environment {
	return Environment{
		WAF: WAF{EvaluationWindowSeconds: 300, CountOnlyRules: []string{"SizeRestrictions_BODY", "NoUserAgent_HEADER"}},
		Alarms: Alarms{
			ServerErrorRatePercent:     1,
			ClientErrorRatePercent:     25,
			LatencyP99Millis:           3000,
			AuthorizerErrors:           1,
			AuthorizerThrottles:        1,
			AuthorizerLatencyP99Millis: 1000,
		},
	}
}

// WAFEnabled is WAF.Enabled with its default (on in production) applied.
func (e Environment) WAFEnabled() bool {
	if e.WAF.Enabled == nil {
		return e.Production
	}
	return *e.WAF.Enabled
}
