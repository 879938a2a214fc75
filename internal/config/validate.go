package config

import (
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

var (
	envNamePattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}$`)
	accountPattern = regexp.MustCompile(`^[0-9]{12}$`)
	regionPattern  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	// API Gateway stage names: letters, digits, hyphens and underscores, up to 128.
	stageNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	// Names of plans and keys become parts of CloudFormation logical IDs and
	// of AWS resource names: keep them to characters that are safe in both.
	resourceNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	// Secrets Manager secret names (a name, or the ARN of the secret).
	// A path segment: a literal, a {param} or, last only, a greedy {param+}.
	pathSegmentPattern = regexp.MustCompile(`^([A-Za-z0-9._~-]+|\{[A-Za-z_][A-Za-z0-9_]*\+?\})$`)
	urlParamPattern    = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)\}`)
	// A browser origin: http(s), a DNS name or IPv4 address, an optional port.
	originPattern    = regexp.MustCompile(`^https?://[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*(:[0-9]{1,5})?$`)
	lambdaARNPattern = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):lambda:[a-z]{2}(-[a-z]+)+-[0-9]+:[0-9]{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]{1,128})?$`)
)

// RetentionDays are the values CloudWatch Logs accepts for a log group's
// retention (PutRetentionPolicy); anything else fails at deploy time.
var RetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// HTTPMethods are the methods a route may list; ANY matches every method.
var HTTPMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"}

const (
	// A WAF custom response header value holds at most 255 characters
	// (AWS WAF API reference, CustomHTTPHeader).
	maxOriginLength    = 255
	maxCacheTTLSeconds = 3600
	// Root-stack outputs (one per plan) must stay under CloudFormation's 200.
	maxUsagePlans         = 100
	minTimeoutMillis      = 50
	maxTimeoutMillis      = 29000
	maxTagKeyLength       = 128
	maxTagValueLength     = 256
	maxRateLimitPerSecond = 1_000_000
)

func validateEnvironment(path string, env Environment) Errors {
	var errs Errors
	add := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Path: path + "." + field, Msg: fmt.Sprintf(format, args...)})
	}

	if env.Account != "" && !accountPattern.MatchString(env.Account) {
		add("account", "%q is not an AWS account id; use the 12 digits of the account, or leave it out for an environment-agnostic stack", env.Account)
	}
	errs = append(errs, validateQuotas(path, env)...)
	if env.ManageCloudWatchRole && env.CloudWatchRoleManagedOutside {
		add("cloudWatchRoleManagedOutside", "cannot be true where manageCloudWatchRole is true (this stack then sets the role itself); set one of them to false")
	}
	if env.Region != "" && !regionPattern.MatchString(env.Region) {
		add("region", "%q is not an AWS region; use a region code such as us-east-1, or leave it out", env.Region)
	}
	if !stageNamePattern.MatchString(env.StageName) {
		add("stageName", "%q is not a valid stage name; use 1 to 128 letters, digits, '-' or '_'", env.StageName)
	}
	errs = append(errs, validateThrottle(path+".throttle", env.Throttle)...)

	logging := env.Logging
	if !slices.Contains([]LogLevel{LogLevelInfo, LogLevelError, LogLevelOff}, logging.Level) {
		add("logging.level", "%q is not an execution logging level; use INFO, ERROR or OFF", logging.Level)
	}
	if logging.DataTrace && env.Production {
		add("logging.dataTrace", "must be false where production is true: data trace logs whole requests, Authorization header (the API key) included; turn it off")
	} else if logging.DataTrace && logging.Level == LogLevelOff {
		add("logging.dataTrace", "needs execution logging; set logging.level to INFO or ERROR, or turn dataTrace off")
	}
	if !slices.Contains(RetentionDays, logging.RetentionDays) {
		add("logging.retentionDays", "%d is not a CloudWatch retention; use one of %s", logging.RetentionDays, joinInts(RetentionDays))
	}
	if logging.RemovalPolicy != RemovalRetain && logging.RemovalPolicy != RemovalDestroy {
		add("logging.removalPolicy", "%q is not a removal policy for log groups; use \"retain\" or \"destroy\"", logging.RemovalPolicy)
	}
	if ttl := env.CacheTTLSeconds(); ttl < 0 || ttl > maxCacheTTLSeconds {
		add("authorizerCacheTtlSeconds", "%d is out of range; use 0 (no caching) to %d seconds", ttl, maxCacheTTLSeconds)
	}

	errs = append(errs, validateCORS(path+".cors", env.CORS)...)
	errs = append(errs, validateWAF(path+".waf", env)...)
	errs = append(errs, validateAlarms(path+".alarms", env.Alarms)...)
	errs = append(errs, validateUsagePlans(path, env)...)
	errs = append(errs, validateAPIKeys(path, env)...)
	errs = append(errs, validateKeySources(path, env.APIKeys)...)
	errs = append(errs, validateCloudFormationLimits(path, env)...)
	errs = append(errs, validateRoutes(path, env.Routes)...)
	errs = append(errs, validateDomain(path, env)...)
	errs = append(errs, validateSourceIPs(path, env)...)
	if env.CORS.Enabled() {
		for i, route := range env.Routes {
			if j := slices.Index(route.Methods, "OPTIONS"); j >= 0 {
				add(fmt.Sprintf("routes[%d].methods[%d]", i, j), "OPTIONS is the CORS preflight keygate adds for every route when cors is set; remove it from the route")
			}
		}
	}
	for _, key := range sortedKeys(env.Tags) {
		tagPath := "tags." + key
		switch {
		case len(key) > maxTagKeyLength:
			add(tagPath, "tag keys may be at most %d characters; shorten it", maxTagKeyLength)
		case strings.HasPrefix(strings.ToLower(key), "aws:"):
			add(tagPath, "tag keys starting with \"aws:\" are reserved by AWS; rename it")
		}
		if len(env.Tags[key]) > maxTagValueLength {
			add(tagPath, "tag values may be at most %d characters; shorten it", maxTagValueLength)
		}
	}
	return errs
}

func validateCORS(path string, cors CORS) Errors {
	var errs Errors
	for i, origin := range cors.AllowedOrigins {
		originPath := fmt.Sprintf("%s.allowedOrigins[%d]", path, i)
		if origin == "*" {
			if len(cors.AllowedOrigins) > 1 {
				errs = append(errs, FieldError{Path: originPath, Msg: "\"*\" allows every origin, so it must be the only entry; remove it or the other origins"})
			}
			continue
		}
		// Stricter than url.Parse: the origin is written into static
		// mapping values ('…'), VTL and a WAF response header (at most 255
		// characters), where a quote or a $ would break the template.
		if !originPattern.MatchString(origin) || len(origin) > maxOriginLength {
			errs = append(errs, FieldError{Path: originPath, Msg: fmt.Sprintf("%q is not an origin; use scheme://host[:port] without a path, a host of letters, digits, '-' and '.', at most %d characters, e.g. https://app.example.com", origin, maxOriginLength)})
		}
	}
	return errs
}

// WAF's limits for a rate-based rule.
const (
	minWAFRateLimit = 10
	maxWAFRateLimit = 2_000_000_000
)

// WAFCommonRuleSetRules are the rules of the AWS managed rule group
// AWSManagedRulesCommonRuleSet (AWS WAF developer guide, "Baseline rule
// groups"); a rule action override naming any other rule fails the deploy.
var WAFCommonRuleSetRules = []string{
	"NoUserAgent_HEADER", "UserAgent_BadBots_HEADER", "SizeRestrictions_QUERYSTRING", "SizeRestrictions_Cookie_HEADER",
	"SizeRestrictions_BODY", "SizeRestrictions_URIPATH", "EC2MetaDataSSRF_BODY", "EC2MetaDataSSRF_COOKIE",
	"EC2MetaDataSSRF_URIPATH", "EC2MetaDataSSRF_QUERYARGUMENTS", "GenericLFI_QUERYARGUMENTS", "GenericLFI_URIPATH",
	"GenericLFI_BODY", "RestrictedExtensions_URIPATH", "RestrictedExtensions_QUERYARGUMENTS", "GenericRFI_QUERYARGUMENTS",
	"GenericRFI_BODY", "GenericRFI_URIPATH", "CrossSiteScripting_COOKIE", "CrossSiteScripting_QUERYARGUMENTS",
	"CrossSiteScripting_BODY", "CrossSiteScripting_URIPATH",
}

// wafEvaluationWindows are the windows a WAF rate-based rule accepts
// (RateBasedStatement.EvaluationWindowSec).
var wafEvaluationWindows = []int{60, 120, 300, 600}

func validateWAF(path string, env Environment) Errors {
	var errs Errors
	waf := env.WAF
	if !slices.Contains(wafEvaluationWindows, waf.EvaluationWindowSeconds) {
		errs = append(errs, FieldError{Path: path + ".evaluationWindowSeconds", Msg: fmt.Sprintf("%d is not a WAF evaluation window; use one of %s seconds", waf.EvaluationWindowSeconds, joinInts(wafEvaluationWindows))})
	} else if waf.RateLimitPerIP != 0 {
		if waf.RateLimitPerIP < minWAFRateLimit || waf.RateLimitPerIP > maxWAFRateLimit {
			errs = append(errs, FieldError{Path: path + ".rateLimitPerIp", Msg: fmt.Sprintf("%d is out of range; WAF rate-based rules take %d to %d requests per evaluation window", waf.RateLimitPerIP, minWAFRateLimit, maxWAFRateLimit)})
		} else if least := env.MinWAFRateLimit(); waf.RateLimitPerIP < least {
			// WAF would block (before API Gateway sees the key) a client
			// its plan still allows.
			errs = append(errs, FieldError{Path: path + ".rateLimitPerIp", Msg: fmt.Sprintf("%d would block a single key within its plan: the most generous plan allows %d requests (burst plus rate) per %d-second window; raise it to at least %d or leave it out to derive it from the plans", waf.RateLimitPerIP, least, waf.EvaluationWindowSeconds, least)})
		}
	}
	seen := map[string]bool{}
	for i, rule := range waf.CountOnlyRules {
		rulePath := fmt.Sprintf("%s.countOnlyRules[%d]", path, i)
		switch {
		case !slices.Contains(WAFCommonRuleSetRules, rule):
			errs = append(errs, FieldError{Path: rulePath, Msg: fmt.Sprintf("%q is not a rule of AWSManagedRulesCommonRuleSet; use one of %s", rule, strings.Join(WAFCommonRuleSetRules, ", "))})
		case seen[rule]:
			errs = append(errs, FieldError{Path: rulePath, Msg: fmt.Sprintf("%q is listed twice; remove one", rule)})
		}
		seen[rule] = true
	}
	return errs
}

func validateAlarms(path string, alarms Alarms) Errors {
	var errs Errors
	add := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Path: path + "." + field, Msg: fmt.Sprintf(format, args...)})
	}
	for i, email := range alarms.NotifyEmails {
		addr, err := mail.ParseAddress(email)
		if err != nil || addr.Address != email || !strings.Contains(addr.Address[strings.LastIndex(addr.Address, "@"):], ".") {
			add(fmt.Sprintf("notifyEmails[%d]", i), "%q is not an email address; use a bare address such as oncall@example.com", email)
		}
	}
	for field, pct := range map[string]float64{"serverErrorRatePercent": alarms.ServerErrorRatePercent, "clientErrorRatePercent": alarms.ClientErrorRatePercent} {
		if pct <= 0 || pct > 100 {
			add(field, "%s is out of range; use a percentage above 0 and at most 100", formatNumber(pct))
		}
	}
	if alarms.LatencyP99Millis < 1 || alarms.LatencyP99Millis > 30000 {
		add("latencyP99Millis", "%d is out of range; use 1 to 30000 milliseconds (API Gateway times out at 29 s)", alarms.LatencyP99Millis)
	}
	if alarms.AuthorizerLatencyP99Millis < 1 || alarms.AuthorizerLatencyP99Millis > 10000 {
		add("authorizerLatencyP99Millis", "%d is out of range; use 1 to 10000 milliseconds (API Gateway waits 10 s for an authorizer)", alarms.AuthorizerLatencyP99Millis)
	}
	if alarms.AuthorizerErrors < 1 {
		add("authorizerErrors", "%d is out of range; use at least 1 error per minute", alarms.AuthorizerErrors)
	}
	if alarms.AuthorizerThrottles < 1 {
		add("authorizerThrottles", "%d is out of range; use at least 1 throttle per minute", alarms.AuthorizerThrottles)
	}
	slices.SortFunc(errs, func(a, b FieldError) int { return strings.Compare(a.Path, b.Path) })
	return errs
}

func validateThrottle(path string, t Throttle) Errors {
	var errs Errors
	if t.RateLimit <= 0 || t.RateLimit > maxRateLimitPerSecond {
		errs = append(errs, FieldError{Path: path + ".rateLimit", Msg: fmt.Sprintf("%s is out of range; use requests per second above 0 and at most %d", formatNumber(t.RateLimit), maxRateLimitPerSecond)})
	}
	if t.BurstLimit < 1 {
		errs = append(errs, FieldError{Path: path + ".burstLimit", Msg: fmt.Sprintf("%d is out of range; use at least 1 request", t.BurstLimit)})
	} else if t.RateLimit > 0 && float64(t.BurstLimit) < t.RateLimit {
		// A bucket smaller than one second of traffic throttles a client that
		// never exceeds its rate.
		errs = append(errs, FieldError{Path: path + ".burstLimit", Msg: fmt.Sprintf("must be >= rateLimit (%s); raise burstLimit or lower rateLimit", formatNumber(t.RateLimit))})
	}
	return errs
}

func validateUsagePlans(path string, env Environment) Errors {
	var errs Errors
	if len(env.UsagePlans) == 0 {
		errs = append(errs, FieldError{Path: path + ".usagePlans", Msg: "is empty; add at least one plan, API keys only work through a usage plan"})
	}
	if len(env.UsagePlans) > maxUsagePlans {
		errs = append(errs, FieldError{Path: path + ".usagePlans", Msg: fmt.Sprintf("has %d plans; use at most %d", len(env.UsagePlans), maxUsagePlans)})
	}
	seen := map[string]int{}
	for i, plan := range env.UsagePlans {
		planPath := fmt.Sprintf("%s.usagePlans[%d]", path, i)
		errs = append(errs, checkResourceName(planPath+".name", plan.Name)...)
		if first, dup := seen[plan.Name]; dup {
			errs = append(errs, FieldError{Path: planPath + ".name", Msg: fmt.Sprintf("%q is already the name of usagePlans[%d]; plan names must be unique", plan.Name, first)})
		} else {
			seen[plan.Name] = i
		}
		// A plan's throttle is not compared with the stage's: the stage's
		// */* method settings limit each method (all clients together),
		// a plan limits each key across every method, so neither bounds
		// the other. A plan above the per-method limit is reachable by a
		// client that spreads its calls over several methods.
		// https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html
		// ("Per-API, per-stage throttling limits are applied at the API
		// method level for a stage"; "per-client throttling limits are
		// applied to clients that use API keys associated with your usage
		// plan").
		errs = append(errs, validateThrottle(planPath+".throttle", plan.Throttle)...)
		if q := plan.Quota; q != nil {
			if q.Limit < 1 {
				errs = append(errs, FieldError{Path: planPath + ".quota.limit", Msg: fmt.Sprintf("%d is out of range; use at least 1 request per period, or leave quota out", q.Limit)})
			}
			if q.Period != QuotaDay && q.Period != QuotaWeek && q.Period != QuotaMonth {
				errs = append(errs, FieldError{Path: planPath + ".quota.period", Msg: fmt.Sprintf("%q is not a quota period; use DAY, WEEK or MONTH", q.Period)})
			}
		}
	}
	return errs
}

// checkResourceName checks the name of a plan or key.
func checkResourceName(path, name string) Errors {
	if resourceNamePattern.MatchString(name) {
		return nil
	}
	return Errors{{Path: path, Msg: fmt.Sprintf("%q is not a usable name; use 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit", name)}}
}

func validateAPIKeys(path string, env Environment) Errors {
	var errs Errors
	plans := map[string]bool{}
	for _, plan := range env.UsagePlans {
		plans[plan.Name] = true
	}
	names := map[string]int{}
	secrets := map[string]int{}
	perShard := map[int][]string{}
	for i, key := range env.APIKeys {
		keyPath := fmt.Sprintf("%s.apiKeys[%d]", path, i)
		errs = append(errs, checkResourceName(keyPath+".name", key.Name)...)
		// One entry per key name is also what keeps a key in at most one plan
		// of this stage: API Gateway rejects a second attachment on deploy.
		if first, dup := names[key.Name]; dup {
			errs = append(errs, FieldError{Path: keyPath + ".name", Msg: fmt.Sprintf("%q is already apiKeys[%d]; a key belongs to at most one plan per stage, so remove the duplicate or rename it", key.Name, first)})
		} else {
			names[key.Name] = i
			perShard[KeyShard(key.Name)] = append(perShard[KeyShard(key.Name)], key.Name)
		}
		if !plans[key.Plan] {
			errs = append(errs, FieldError{Path: keyPath + ".plan", Msg: fmt.Sprintf("%q is not a plan of this environment; use one of the names in usagePlans (%s)", key.Plan, planNames(env.UsagePlans))})
		}
		if key.SecretName != "" {
			// The secret's name is not itself secret, but we still keep it
			// out of messages in case a value was pasted here by mistake.
			id := secretIdentity(key.SecretName, env) + "\x00" + key.SecretJSONKey
			if problem := checkSecretName(key.SecretName); problem != "" {
				errs = append(errs, FieldError{Path: keyPath + ".secretName", Msg: problem})
			} else if first, dup := secrets[id]; dup {
				errs = append(errs, FieldError{Path: keyPath + ".secretName", Msg: fmt.Sprintf("is also the secret of apiKeys[%d]%s (with the same secretJsonKey); API Gateway key values must be unique, give each key its own secret or JSON field", first, describeSecret(env.APIKeys[first].SecretName, key.SecretName))})
			} else {
				secrets[id] = i
			}
		}
	}
	for shard := range KeyShardCount {
		if len(perShard[shard]) > MaxKeysPerShard {
			errs = append(errs, FieldError{Path: path + ".apiKeys", Msg: fmt.Sprintf("%d keys fall into key stack %d (at most %d fit a CloudFormation template); rename one of the newest of them: %s", len(perShard[shard]), shard, MaxKeysPerShard, strings.Join(perShard[shard][MaxKeysPerShard:], ", "))})
		}
	}
	return errs
}

func validateRoutes(path string, routes []Route) Errors {
	var errs Errors
	if len(routes) == 0 {
		errs = append(errs, FieldError{Path: path + ".routes", Msg: "is empty; add at least one route, e.g. {\"path\": \"/health\", \"methods\": [\"GET\"], \"integration\": {\"type\": \"mock\"}}"})
	}
	seen := map[string]string{}
	for i, route := range routes {
		routePath := fmt.Sprintf("%s.routes[%d]", path, i)
		params, pathErrs := routeParams(routePath+".path", route.Path)
		errs = append(errs, pathErrs...)
		if len(route.Methods) == 0 {
			errs = append(errs, FieldError{Path: routePath + ".methods", Msg: "is empty; list at least one of " + strings.Join(HTTPMethods, ", ")})
		}
		for j, method := range route.Methods {
			methodPath := fmt.Sprintf("%s.methods[%d]", routePath, j)
			if !slices.Contains(HTTPMethods, method) {
				errs = append(errs, FieldError{Path: methodPath, Msg: fmt.Sprintf("%q is not a method; use one of %s (upper case)", method, strings.Join(HTTPMethods, ", "))})
				continue
			}
			id := route.Path + " " + method
			if first, dup := seen[id]; dup {
				errs = append(errs, FieldError{Path: methodPath, Msg: fmt.Sprintf("%s %s is already defined at %s; each path and method may appear once", method, route.Path, first)})
			} else {
				seen[id] = methodPath
			}
		}
		errs = append(errs, validateIntegration(routePath+".integration", route.Integration, params)...)
	}
	return errs
}

// routeParams checks a route path and returns its path parameters.
func routeParams(path, routePath string) (map[string]bool, Errors) {
	params := map[string]bool{}
	if routePath == "/" {
		return params, nil
	}
	if !strings.HasPrefix(routePath, "/") || strings.HasSuffix(routePath, "/") {
		return params, Errors{{Path: path, Msg: fmt.Sprintf("%q must start with '/' and not end with one, e.g. /orders/{id}", routePath)}}
	}
	segments := strings.Split(routePath[1:], "/")
	for i, segment := range segments {
		if !pathSegmentPattern.MatchString(segment) {
			return params, Errors{{Path: path, Msg: fmt.Sprintf("segment %q of %q is not a literal (letters, digits, . _ ~ -) or a {parameter}", segment, routePath)}}
		}
		if strings.HasSuffix(segment, "+}") && i != len(segments)-1 {
			return params, Errors{{Path: path, Msg: fmt.Sprintf("greedy parameter %s must be the last segment of %q", segment, routePath)}}
		}
		if strings.HasPrefix(segment, "{") {
			name := strings.TrimSuffix(strings.Trim(segment, "{}"), "+")
			if params[name] {
				return params, Errors{{Path: path, Msg: fmt.Sprintf("parameter {%s} appears twice in %q; rename one", name, routePath)}}
			}
			params[name] = true
		}
	}
	return params, nil
}

func validateIntegration(path string, in Integration, params map[string]bool) Errors {
	var errs Errors
	add := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Path: path + "." + field, Msg: fmt.Sprintf(format, args...)})
	}
	notFor := func(field string, set bool) {
		if set {
			add(field, "does not apply to a %s integration; remove it", in.Type)
		}
	}
	switch in.Type {
	case IntegrationHTTP:
		u, err := url.Parse(in.URL)
		if in.URL == "" {
			add("url", "is required for an http integration; use the backend's absolute URL, e.g. https://orders.internal.example.com/{proxy}")
		} else if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			add("url", "%q is not an absolute http(s) URL; use e.g. https://orders.internal.example.com/orders/{id}", in.URL)
		} else {
			for _, m := range urlParamPattern.FindAllStringSubmatch(in.URL, -1) {
				if !params[m[1]] {
					add("url", "uses {%s}, which is not a parameter of the route's path; add it to the path or remove it from the URL", m[1])
				}
			}
		}
		notFor("functionArn", in.FunctionARN != "")
		notFor("statusCode", in.StatusCode != 0)
		notFor("body", in.Body != "")
	case IntegrationLambda:
		if !lambdaARNPattern.MatchString(in.FunctionARN) {
			add("functionArn", "%q is not a Lambda function ARN; use arn:aws:lambda:<region>:<account>:function:<name>", in.FunctionARN)
		}
		notFor("url", in.URL != "")
		notFor("statusCode", in.StatusCode != 0)
		notFor("body", in.Body != "")
	case IntegrationMock:
		if in.StatusCode != 0 && (in.StatusCode < 100 || in.StatusCode > 599) {
			add("statusCode", "%d is not an HTTP status; use 100 to 599 (default 200)", in.StatusCode)
		}
		notFor("url", in.URL != "")
		notFor("functionArn", in.FunctionARN != "")
		notFor("timeoutMillis", in.TimeoutMillis != 0)
	default:
		add("type", "%q is not an integration type; use http, lambda or mock", in.Type)
	}
	if in.TimeoutMillis != 0 && in.Type != IntegrationMock && (in.TimeoutMillis < minTimeoutMillis || in.TimeoutMillis > maxTimeoutMillis) {
		add("timeoutMillis", "%d is out of range; use %d to %d milliseconds", in.TimeoutMillis, minTimeoutMillis, maxTimeoutMillis)
	}
	return errs
}

// validateAcrossEnvironments checks what no single environment can: the
// region's API Gateway CloudWatch role (AWS::ApiGateway::Account) exists once
// per account and region, so two stacks that both manage it would overwrite
// each other's setting and the second deploy fails or the first loses logs.
// An unset account or region could be any, so it overlaps every value.
func validateAcrossEnvironments(envs []Environment) Errors {
	var errs Errors
	var owners []Environment
	for _, env := range envs {
		if !env.ManageCloudWatchRole {
			continue
		}
		for _, owner := range owners {
			if mayShareAccountRegion(owner, env) {
				fix := "set this to false, or give both environments accounts and regions that differ"
				if unpinned := unpinnedOf(owner, env); unpinned != "" {
					// The usual case: the shipped dev owns the role with no
					// account or region, and another environment is pinned.
					fix = fmt.Sprintf("%s has no explicit account and region, so it overlaps every account and region: set %s's account and region to where it deploys (both environments then keep manageCloudWatchRole if those differ), or set this to false and cloudWatchRoleManagedOutside to true if the role of this account and region is set elsewhere", unpinned, unpinned)
				}
				errs = append(errs, FieldError{
					Path: "environments." + env.Name + ".manageCloudWatchRole",
					Msg: fmt.Sprintf("environment %q (account/region %s/%s) may already manage the API Gateway CloudWatch role of the same account and region (one per account and region); %s",
						owner.Name, orUnset(owner.Account), orUnset(owner.Region), fix),
				})
				break
			}
		}
		owners = append(owners, env)
	}
	errs = append(errs, validateAccountWide(envs)...)
	errs = append(errs, validateEnvironmentNamePrefixes(envs)...)
	errs = append(errs, validateImportedKeysAcrossEnvironments(envs)...)
	return append(errs, validateDomainsAcrossEnvironments(envs)...)
}

// unpinnedOf names those of a and b without both account and region.
func unpinnedOf(a, b Environment) string {
	var names []string
	for _, env := range []Environment{a, b} {
		if env.Account == "" || env.Region == "" {
			names = append(names, env.Name)
		}
	}
	return strings.Join(names, " and ")
}

// mayShareAccountRegion reports whether two environments may deploy to the
// same account and region: an unset account or region may be any.
func mayShareAccountRegion(a, b Environment) bool {
	overlaps := func(x, y string) bool { return x == "" || y == "" || x == y }
	return overlaps(a.Account, b.Account) && overlaps(a.Region, b.Region)
}

func orUnset(s string) string {
	if s == "" {
		return "(unset)"
	}
	return s
}

func planNames(plans []UsagePlan) string {
	names := make([]string, len(plans))
	for i, p := range plans {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}

func joinInts(values []int) string {
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, ", ")
}

func formatNumber(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
