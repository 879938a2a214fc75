package gateway

import (
	"strconv"
	"strings"
	"time"
)

// The $context variables the local gateway fills, as API Gateway names them
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html#context-variable-reference
// and the access logging variables of api-gateway-variables-for-access-logging.html).
// Templates are compiled against this table once, at start; a template
// naming any other variable is refused.
const (
	varRequestID = iota
	varExtendedRequestID
	varRequestTime
	varRequestTimeEpoch
	varHTTPMethod
	varPath
	varResourcePath
	varResourceID
	varStage
	varAPIID
	varAccountID
	varDomainName
	varDomainPrefix
	varProtocol
	varTLSVersion
	varCipherSuite
	varStatus
	varResponseLength
	varResponseLatency
	varIntegrationLatency
	varIntegrationStatus
	varIntegrationLatencyAlt
	varSourceIP
	varUserAgent
	varAPIKeyID
	varPrincipalID
	varAuthorizerError
	varAuthorizerLatency
	varAuthorizerStatus
	varErrorMessage
	varErrorMessageString
	varErrorResponseType
	varErrorValidation
	varXrayTraceID
	varWAFResponseCode
	varCount
	// Authorizer context keys ($context.authorizer.<key>) get ids from
	// varCount on.
)

var contextVars = map[string]int{
	"requestId":                     varRequestID,
	"extendedRequestId":             varExtendedRequestID,
	"requestTime":                   varRequestTime,
	"requestTimeEpoch":              varRequestTimeEpoch,
	"httpMethod":                    varHTTPMethod,
	"path":                          varPath,
	"resourcePath":                  varResourcePath,
	"resourceId":                    varResourceID,
	"stage":                         varStage,
	"apiId":                         varAPIID,
	"accountId":                     varAccountID,
	"domainName":                    varDomainName,
	"domainPrefix":                  varDomainPrefix,
	"protocol":                      varProtocol,
	"tlsVersion":                    varTLSVersion,
	"cipherSuite":                   varCipherSuite,
	"status":                        varStatus,
	"responseLength":                varResponseLength,
	"responseLatency":               varResponseLatency,
	"integrationLatency":            varIntegrationLatency,
	"integrationStatus":             varIntegrationStatus,
	"integration.status":            varIntegrationStatus,
	"integration.latency":           varIntegrationLatencyAlt,
	"identity.sourceIp":             varSourceIP,
	"identity.userAgent":            varUserAgent,
	"identity.apiKeyId":             varAPIKeyID,
	"authorizer.principalId":        varPrincipalID,
	"authorizer.error":              varAuthorizerError,
	"authorizer.integrationLatency": varAuthorizerLatency,
	"authorizer.latency":            varAuthorizerLatency,
	"authorizer.status":             varAuthorizerStatus,
	"error.message":                 varErrorMessage,
	"error.messageString":           varErrorMessageString,
	"error.responseType":            varErrorResponseType,
	"error.validationErrorString":   varErrorValidation,
	"xrayTraceId":                   varXrayTraceID,
	"wafResponseCode":               varWAFResponseCode,
	"waf.status":                    varWAFResponseCode,
}

// refusedVars are variables API Gateway has that the local gateway will not
// render: their values are secrets, and keygate writes none to any log.
var refusedVars = map[string]string{
	"identity.apiKey": "it is the API key's value; use $context.identity.apiKeyId",
}

// requestContext is one request's $context values.
type requestContext struct {
	requestID, extendedRequestID string
	start                        time.Time // the gateway clock, for requestTime
	realStart                    time.Time // the wall clock, for latencies
	httpMethod, path             string
	resourcePath, resourceID     string
	protocol                     string
	tlsVersion, cipherSuite      string // "" over plain HTTP
	sourceIP, userAgent          string
	domainName                   string
	status                       int
	responseLength               int
	responseLatency              time.Duration
	integrationLatency           time.Duration
	integrationStatus            string
	apiKeyID                     string
	principalID                  string
	authorizerError              string
	authorizerLatency            time.Duration
	authorizerStatus             string
	authorizerContext            map[string]any
	errorMessage                 *string // nil: no error message (JSON null)
	errorResponseType            string
	// deniedByPolicy marks a refusal by the resource policy.
	deniedByPolicy bool
	// ids and contentType back response header values without allocating.
	ids         [2]string
	contentType [1]string
}

// value is the variable's value, "" when it has none.
func (g *Gateway) value(rc *requestContext, id int) string {
	switch id {
	case varRequestID:
		return rc.requestID
	case varExtendedRequestID:
		return rc.extendedRequestID
	case varRequestTime:
		// CLF format, as API Gateway writes it: 25/Nov/2026:22:21:20 +0000.
		return rc.start.UTC().Format("02/Jan/2006:15:04:05 -0700")
	case varRequestTimeEpoch:
		return strconv.FormatInt(rc.start.UnixMilli(), 10)
	case varHTTPMethod:
		return rc.httpMethod
	case varPath:
		return rc.path
	case varResourcePath:
		return rc.resourcePath
	case varResourceID:
		return rc.resourceID
	case varStage:
		return g.api.Stage.Name
	case varAPIID:
		return g.api.ID
	case varAccountID:
		return g.api.Account
	case varDomainName:
		return rc.domainName
	case varDomainPrefix:
		prefix, _, _ := strings.Cut(rc.domainName, ".")
		return prefix
	case varProtocol:
		return rc.protocol
	case varTLSVersion:
		return rc.tlsVersion
	case varCipherSuite:
		return rc.cipherSuite
	case varStatus:
		if rc.status == 0 {
			return ""
		}
		return strconv.Itoa(rc.status)
	case varResponseLength:
		return strconv.Itoa(rc.responseLength)
	case varResponseLatency:
		return millis(rc.responseLatency, true)
	case varIntegrationLatency, varIntegrationLatencyAlt:
		if rc.integrationStatus == "" {
			return ""
		}
		return millis(rc.integrationLatency, true)
	case varIntegrationStatus:
		return rc.integrationStatus
	case varSourceIP:
		return rc.sourceIP
	case varUserAgent:
		return rc.userAgent
	case varAPIKeyID:
		return rc.apiKeyID
	case varPrincipalID:
		return rc.principalID
	case varAuthorizerError:
		return rc.authorizerError
	case varAuthorizerLatency:
		return millis(rc.authorizerLatency, rc.authorizerStatus != "")
	case varAuthorizerStatus:
		return rc.authorizerStatus
	case varErrorMessage:
		if rc.errorMessage == nil {
			return ""
		}
		return *rc.errorMessage
	case varErrorMessageString:
		// "The quoted value of $context.error.message, namely
		// "$context.error.message"" — a JSON string, or null.
		if rc.errorMessage == nil {
			if rc.errorResponseType != "" {
				return "null"
			}
			return ""
		}
		return strconv.Quote(*rc.errorMessage)
	case varErrorResponseType:
		return rc.errorResponseType
	case varErrorValidation, varXrayTraceID, varWAFResponseCode:
		// No request validation errors, X-Ray or WAF locally.
		return ""
	}
	if key, ok := g.authorizerKeys[id]; ok {
		if v, ok := rc.authorizerContext[key]; ok {
			switch v := v.(type) {
			case string:
				return v
			case bool:
				return strconv.FormatBool(v)
			case float64:
				return strconv.FormatFloat(v, 'f', -1, 64)
			}
		}
	}
	return ""
}

func millis(d time.Duration, set bool) string {
	if !set {
		return ""
	}
	return strconv.FormatInt(d.Milliseconds(), 10)
}

// resolve maps a $context variable name to its id for vtl.Compile,
// allocating ids for authorizer context keys.
func (g *Gateway) resolve(name string) (int, bool) {
	if id, ok := contextVars[name]; ok {
		return id, true
	}
	if _, refused := refusedVars[name]; refused {
		return 0, false
	}
	if key, ok := strings.CutPrefix(name, "authorizer."); ok && key != "" && !strings.Contains(key, ".") {
		for id, k := range g.authorizerKeys {
			if k == key {
				return id, true
			}
		}
		id := varCount + len(g.authorizerKeys)
		g.authorizerKeys[id] = key
		return id, true
	}
	return 0, false
}
