// Package apimodel reads one keygate stack from a synthesized cloud assembly
// (cdk.out: the manifest, the stack's template and its nested key stacks'
// templates) into a typed model of the REST API it would deploy: the
// resource tree and methods, integrations, the authorizer, the stage with
// its method settings and access log format, gateway responses, usage plans
// and API keys with their plan attachments. The local gateway serves this
// model, so what runs locally is what the templates say, not what the config
// meant.
package apimodel

import (
	"strings"
	"time"
)

// API is one REST API with its one stage.
type API struct {
	// Stack is the stack name (keygate-dev).
	Stack string
	// Name is the RestApi's Name.
	Name string
	// ID is the local stand-in for the API's id: ten lower-case letters and
	// digits derived from the stack name, the shape of a real one.
	ID string
	// Region and Account come from the stack's environment, with
	// placeholders where it is environment-agnostic.
	Region, Account string
	// APIKeySource is HEADER or AUTHORIZER.
	APIKeySource string
	Stage        Stage
	Root         *Resource
	Authorizers  map[string]*Authorizer // by logical id
	// GatewayResponses by response type (UNAUTHORIZED, DEFAULT_4XX, …).
	GatewayResponses map[string]*GatewayResponse
	UsagePlans       []*UsagePlan
	Keys             []*APIKey

	// Policy is the RestApi's resource policy as the template has it (a
	// decoded JSON object, or a string); nil without one.
	Policy any
}

// Stage is the API's deployed stage.
type Stage struct {
	LogicalID string
	Name      string
	// AccessLogFormat is AccessLogSetting.Format; empty without access logs.
	AccessLogFormat string
	MethodSettings  []MethodSetting
}

// MethodSetting is one of the stage's MethodSettings. ResourcePath is
// decoded ("/orders/{id}", not "/~1orders~1{id}"); "/*" with HTTPMethod "*"
// applies to every method.
type MethodSetting struct {
	ResourcePath string
	HTTPMethod   string
	Throttle     *Throttle
}

// Applies reports whether the setting covers a method of a resource.
func (m MethodSetting) Applies(resourcePath, httpMethod string) bool {
	pathOK := m.ResourcePath == "/*" || m.ResourcePath == resourcePath
	methodOK := m.HTTPMethod == "*" || m.HTTPMethod == httpMethod
	return pathOK && methodOK
}

// Throttle is a token bucket's settings.
type Throttle struct {
	RateLimit  float64
	BurstLimit int
}

// Quota is a usage plan's quota.
type Quota struct {
	Limit, Offset int64
	Period        string
}

// Resource is a node of the resource tree.
type Resource struct {
	LogicalID string
	PathPart  string // "orders", "{id}", "{proxy+}"; "" for the root
	Path      string // "/orders/{id}"
	Parent    *Resource
	Children  []*Resource
	Methods   map[string]*Method // by HTTP method, ANY included
}

// Greedy reports a {name+} path part.
func (r *Resource) Greedy() bool {
	return strings.HasPrefix(r.PathPart, "{") && strings.HasSuffix(r.PathPart, "+}")
}

// Param is the parameter name of a {name} or {name+} path part, else "".
func (r *Resource) Param() string {
	if !strings.HasPrefix(r.PathPart, "{") || !strings.HasSuffix(r.PathPart, "}") {
		return ""
	}
	return strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(r.PathPart, "{"), "}"), "+")
}

// Method is one method of a resource.
type Method struct {
	LogicalID         string
	HTTPMethod        string
	Resource          *Resource
	AuthorizationType string // NONE, CUSTOM, …
	Authorizer        *Authorizer
	APIKeyRequired    bool
	RequestParameters map[string]bool
	Integration       Integration
	// MethodResponses lists the declared status codes.
	MethodResponses []string
}

// Integration is a method's backend.
type Integration struct {
	Type                string // MOCK, HTTP, HTTP_PROXY, AWS_PROXY, AWS
	URI                 string // resolved as far as it can be locally
	HTTPMethod          string
	RequestParameters   map[string]string
	RequestTemplates    map[string]string
	PassthroughBehavior string
	Responses           []IntegrationResponse
	Timeout             time.Duration // zero: API Gateway's default of 29 s
	// FunctionARN is the Lambda function of an AWS_PROXY integration.
	FunctionARN string
}

// IntegrationResponse is one of an integration's responses.
type IntegrationResponse struct {
	StatusCode         string
	SelectionPattern   string
	ResponseParameters map[string]string
	ResponseTemplates  map[string]string
}

// Authorizer is a Lambda authorizer.
type Authorizer struct {
	LogicalID string
	Name      string
	Type      string // TOKEN or REQUEST
	// IdentityHeader is the header of IdentitySource
	// (method.request.header.<name>).
	IdentityHeader       string
	ValidationExpression string
	TTL                  time.Duration
	// FunctionLogicalID is the Lambda function behind it; AssetDir its code
	// in the cloud assembly and AssetHash that asset's hash.
	FunctionLogicalID string
	AssetDir          string
	AssetHash         string
}

// GatewayResponse is one customized gateway response.
type GatewayResponse struct {
	Type               string
	StatusCode         string // empty: the type's default
	ResponseParameters map[string]string
	ResponseTemplates  map[string]string
}

// UsagePlan is one usage plan bound to the API's stage.
type UsagePlan struct {
	LogicalID   string
	Name        string
	Description string
	Throttle    *Throttle
	Quota       *Quota
	// MethodThrottle are the plan's per-method limits on this stage, keyed
	// "<resource path>/<HTTP method>".
	MethodThrottle map[string]Throttle
	Tags           map[string]string
}

// APIKey is one API key of the stack or its nested stacks.
type APIKey struct {
	// LogicalID is the key's logical id, with the nested stack's logical id
	// in front where it is in one (ApiKeys06…/ApiKeyExample…).
	LogicalID   string
	Name        string
	Description string
	Enabled     bool
	Tags        map[string]string
	// SecretName is set when the value is a Secrets Manager dynamic
	// reference; the value then exists only in AWS.
	SecretName string
	// Value is a literal value from the template (keygate never writes one).
	Value string
	// Plans are the logical ids of the usage plans the key is attached to.
	Plans []string
}

// Methods walks the tree and returns every method, in path order.
func (a *API) Methods() []*Method {
	var out []*Method
	var walk func(*Resource)
	walk = func(r *Resource) {
		for _, m := range sortedMethods(r) {
			out = append(out, m)
		}
		for _, c := range r.Children {
			walk(c)
		}
	}
	walk(a.Root)
	return out
}
