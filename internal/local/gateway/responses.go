package gateway

import (
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/keygate/keygate/internal/local/vtl"
)

// Gateway response types the local gateway answers with, their default
// status codes and the messages API Gateway puts in $context.error.message
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html).
const (
	MissingAuthenticationToken   = "MISSING_AUTHENTICATION_TOKEN"
	Unauthorized                 = "UNAUTHORIZED"
	AccessDenied                 = "ACCESS_DENIED"
	InvalidAPIKey                = "INVALID_API_KEY"
	Throttled                    = "THROTTLED"
	QuotaExceeded                = "QUOTA_EXCEEDED"
	AuthorizerConfigurationError = "AUTHORIZER_CONFIGURATION_ERROR"
	UnsupportedMediaType         = "UNSUPPORTED_MEDIA_TYPE"
	IntegrationFailure           = "INTEGRATION_FAILURE"
	IntegrationTimeout           = "INTEGRATION_TIMEOUT"
	APIConfigurationError        = "API_CONFIGURATION_ERROR"
)

var defaultStatus = map[string]int{
	MissingAuthenticationToken:   403,
	Unauthorized:                 401,
	AccessDenied:                 403,
	InvalidAPIKey:                403,
	Throttled:                    429,
	QuotaExceeded:                429,
	AuthorizerConfigurationError: 500,
	UnsupportedMediaType:         415,
	IntegrationFailure:           504,
	IntegrationTimeout:           504,
	APIConfigurationError:        500,
}

// errorTypes are the x-amzn-ErrorType headers API Gateway sends with its
// own errors.
var errorTypes = map[string]string{
	MissingAuthenticationToken:   "MissingAuthenticationTokenException",
	Unauthorized:                 "UnauthorizedException",
	AccessDenied:                 "AccessDeniedException",
	InvalidAPIKey:                "ForbiddenException",
	Throttled:                    "TooManyRequestsException",
	QuotaExceeded:                "LimitExceededException",
	AuthorizerConfigurationError: "AuthorizerConfigurationException",
	UnsupportedMediaType:         "UnsupportedMediaTypeException",
	IntegrationFailure:           "InternalServerErrorException",
	IntegrationTimeout:           "InternalServerErrorException",
	APIConfigurationError:        "InternalServerErrorException",
}

// compiledResponse is a gateway response ready to render.
type compiledResponse struct {
	status      int
	headers     []headerValue
	contentType string
	body        *vtl.Template // nil: API Gateway's default {"message": …}
}

// headerValue is a response header's value: a literal, or a request value
// (method.request.header.X, …) read per request.
type headerValue struct {
	name    string
	literal string
	from    string // "header", "querystring", "path"
	param   string
}

func (h headerValue) resolve(r *http.Request, params func(string) string) string {
	switch h.from {
	case "header":
		return r.Header.Get(h.param)
	case "querystring":
		return r.URL.Query().Get(h.param)
	case "path":
		return params(h.param)
	}
	return h.literal
}

// compileHeader reads a response parameter's value: 'literal' or
// method.request.{header,querystring,path}.<name>.
func compileHeader(name, value string) (headerValue, error) {
	if len(value) >= 2 && strings.HasPrefix(value, "'") && strings.HasSuffix(value, "'") {
		return headerValue{name: name, literal: value[1 : len(value)-1]}, nil
	}
	for _, from := range []string{"header", "querystring", "path"} {
		if param, ok := strings.CutPrefix(value, "method.request."+from+"."); ok && param != "" {
			return headerValue{name: name, from: from, param: param}, nil
		}
	}
	return headerValue{}, fmt.Errorf("header %s: the mapping %q is not emulated locally (only 'literal' values and method.request.header/querystring/path)", name, value)
}

var refusedVarPattern = regexp.MustCompile(`\$!?\{?context\.identity\.apiKey([^A-Za-z0-9_]|$)`)

// compileTemplate compiles a template against the $context table.
func (g *Gateway) compileTemplate(where, src string) (*vtl.Template, error) {
	if refusedVarPattern.MatchString(src) {
		return nil, fmt.Errorf("%s: $context.identity.apiKey is the API key's value, which the local gateway never writes anywhere; use $context.identity.apiKeyId", where)
	}
	t, err := vtl.Compile(src, g.resolve)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return t, nil
}

// compileGatewayResponses prepares one response per type the gateway can
// answer with: the template's own for the type, else the template's
// DEFAULT_4XX or DEFAULT_5XX ("If the response type is unspecified, this
// response defaults to the DEFAULT_4XX type"), else API Gateway's built-in
// answer.
func (g *Gateway) compileGatewayResponses() error {
	g.responses = map[string]*compiledResponse{}
	compiled := map[string]*compiledResponse{}
	for _, typ := range slices.Sorted(maps.Keys(g.api.GatewayResponses)) {
		gr := g.api.GatewayResponses[typ]
		c := &compiledResponse{}
		if gr.StatusCode != "" {
			status, err := strconv.Atoi(gr.StatusCode)
			if err != nil {
				return fmt.Errorf("gateway response %s: StatusCode %q is not a number", typ, gr.StatusCode)
			}
			c.status = status
		}
		for _, key := range slices.Sorted(maps.Keys(gr.ResponseParameters)) {
			name, ok := strings.CutPrefix(key, "gatewayresponse.header.")
			if !ok {
				return fmt.Errorf("gateway response %s: response parameter %s is not a header (gatewayresponse.header.<name>)", typ, key)
			}
			h, err := compileHeader(name, gr.ResponseParameters[key])
			if err != nil {
				return fmt.Errorf("gateway response %s: %w", typ, err)
			}
			c.headers = append(c.headers, h)
		}
		if len(gr.ResponseTemplates) > 0 {
			c.contentType = pickContentType(gr.ResponseTemplates)
			t, err := g.compileTemplate("gateway response "+typ, gr.ResponseTemplates[c.contentType])
			if err != nil {
				return err
			}
			c.body = t
		}
		compiled[typ] = c
	}
	for typ, status := range defaultStatus {
		fallback := "DEFAULT_4XX"
		if status >= 500 {
			fallback = "DEFAULT_5XX"
		}
		c, ok := compiled[typ]
		if !ok {
			c, ok = compiled[fallback]
		}
		if !ok {
			c = &compiledResponse{}
		}
		out := *c
		if out.status == 0 {
			// A DEFAULT_4XX status code, when set, changes every 4XX type
			// without its own.
			if d, ok := compiled[fallback]; ok && d.status != 0 {
				out.status = d.status
			} else {
				out.status = status
			}
		}
		g.responses[typ] = &out
	}
	return nil
}

// pickContentType prefers application/json among a template map's keys.
func pickContentType(templates map[string]string) string {
	if _, ok := templates["application/json"]; ok {
		return "application/json"
	}
	return slices.Sorted(maps.Keys(templates))[0]
}
