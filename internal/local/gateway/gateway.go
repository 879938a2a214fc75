// Package gateway is the local gateway's data plane: an http.Handler that
// serves one stage of a REST API model (internal/apimodel) with API
// Gateway's request pipeline — resource and method match, the TOKEN
// authorizer, the usage plan's API key, throttling, quotas, the integration
// — and answers its errors with the template's gateway responses and one
// access log line per request.
//
// Keys and plans are read from an apistore.Store on every request, so a key
// created, disabled or moved by a control plane sharing the store takes
// effect on the next request.
package gateway

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/keygate/keygate/internal/apimodel"
	"github.com/keygate/keygate/internal/apistore"
	"github.com/keygate/keygate/internal/local/resourcepolicy"
	"github.com/keygate/keygate/internal/local/router"
	"github.com/keygate/keygate/internal/local/throttle"
	"github.com/keygate/keygate/internal/local/tokenauth"
	"github.com/keygate/keygate/internal/local/vtl"
)

// Options configure a Gateway.
type Options struct {
	API   *apimodel.API
	Store *apistore.Store
	// Authorizers invoke each authorizer's function, by authorizer logical
	// id; a CUSTOM method whose authorizer has none is refused at start.
	Authorizers map[string]tokenauth.Invoker
	// Now is the clock of buckets, the authorizer cache and requestTime
	// (time.Now when nil). Quotas follow the store's clock.
	Now func() time.Time
	// AccessLog receives each access log line (without the newline); nil
	// drops them. It must copy the line if it keeps it.
	AccessLog func(line []byte)
	// LambdaURLs forward Lambda proxy routes to a local URL, keyed by
	// "METHOD /resource/path" or "/resource/path"; other Lambda routes
	// answer 502.
	LambdaURLs map[string]string
	// Transport carries HTTP integrations (http.DefaultTransport when nil).
	Transport http.RoundTripper
}

// Gateway serves one stage.
type Gateway struct {
	api         *apimodel.API
	store       *apistore.Store
	now         func() time.Time
	router      *router.Router
	routes      map[*apimodel.Method]*route
	stagePrefix string
	buckets     *throttle.Buckets
	responses   map[string]*compiledResponse
	accessLog   *vtl.Template
	logLine     func([]byte)
	// policy is the API's resource policy, nil without one.
	policy *resourcepolicy.Policy
	// authorizerKeys are the $context.authorizer.<key> variables in use.
	authorizerKeys map[int]string
	pool           sync.Pool
}

// route is a method prepared for serving.
type route struct {
	method       *apimodel.Method
	auth         *tokenauth.Authorizer
	keyRequired  bool
	stageLimits  *throttle.Limits
	stageBucket  string
	planMethod   string // the key of plan per-method throttles: "/path/METHOD"
	integration  integration
	resourcePath string
}

// New prepares the gateway, refusing at start anything in the model it
// would not serve as API Gateway does, with a message naming it.
func New(opts Options) (*Gateway, error) {
	api := opts.API
	g := &Gateway{
		api:            api,
		store:          opts.Store,
		now:            opts.Now,
		router:         router.New(api.Root),
		routes:         map[*apimodel.Method]*route{},
		stagePrefix:    "/" + api.Stage.Name,
		logLine:        opts.AccessLog,
		authorizerKeys: map[int]string{},
	}
	if g.now == nil {
		g.now = time.Now
	}
	g.buckets = throttle.New(g.now)
	g.pool.New = func() any { return &requestContext{} }
	if api.APIKeySource != "AUTHORIZER" && api.APIKeySource != "HEADER" {
		return nil, fmt.Errorf("RestApi ApiKeySourceType %q: want HEADER or AUTHORIZER", api.APIKeySource)
	}
	authorizers := map[string]*tokenauth.Authorizer{}
	for id, model := range api.Authorizers {
		invoke := opts.Authorizers[id]
		if invoke == nil {
			continue // refused below if a method uses it
		}
		a, err := tokenauth.New(model, invoke, g.now)
		if err != nil {
			return nil, err
		}
		authorizers[id] = a
	}
	transport := opts.Transport
	if transport == nil {
		transport = http.DefaultTransport
	}
	var problems []string
	for _, m := range api.Methods() {
		r, err := g.prepare(m, authorizers, opts.LambdaURLs, transport)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s %s: %v", m.HTTPMethod, m.Resource.Path, err))
			continue
		}
		g.routes[m] = r
	}
	policy, err := resourcepolicy.Compile(api.Policy, g.apiARN())
	if err != nil {
		problems = append(problems, err.Error())
	}
	g.policy = policy
	if err := g.compileGatewayResponses(); err != nil {
		problems = append(problems, err.Error())
	}
	if api.Stage.AccessLogFormat != "" {
		t, err := g.compileTemplate("stage access log format", api.Stage.AccessLogFormat)
		if err != nil {
			problems = append(problems, err.Error())
		}
		g.accessLog = t
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("the %s stage cannot be served locally:\n  %s", api.Stage.Name, strings.Join(problems, "\n  "))
	}
	return g, nil
}

func (g *Gateway) prepare(m *apimodel.Method, authorizers map[string]*tokenauth.Authorizer, lambdaURLs map[string]string, transport http.RoundTripper) (*route, error) {
	r := &route{method: m, keyRequired: m.APIKeyRequired, resourcePath: m.Resource.Path}
	switch m.AuthorizationType {
	case "NONE":
	case "CUSTOM":
		r.auth = authorizers[m.Authorizer.LogicalID]
		if r.auth == nil {
			return nil, fmt.Errorf("authorizer %s has no local function", m.Authorizer.Name)
		}
	default:
		return nil, fmt.Errorf("AuthorizationType %s is not emulated (NONE and CUSTOM are)", m.AuthorizationType)
	}
	// The most specific method setting wins: path and method over path or
	// method alone over "/*" "*".
	best := -1
	for _, s := range g.api.Stage.MethodSettings {
		if !s.Applies(m.Resource.Path, m.HTTPMethod) || s.Throttle == nil {
			continue
		}
		score := 0
		if s.ResourcePath != "/*" {
			score += 2
		}
		if s.HTTPMethod != "*" {
			score++
		}
		if score > best {
			best = score
			r.stageLimits = &throttle.Limits{Rate: s.Throttle.RateLimit, Burst: s.Throttle.BurstLimit}
		}
	}
	// "Stage method settings for /* * apply to each method": a bucket per
	// resource and method.
	r.stageBucket = "stage " + m.HTTPMethod + " " + m.Resource.Path
	r.planMethod = m.Resource.Path + "/" + m.HTTPMethod
	integration, err := g.prepareIntegration(m, lambdaURLs, transport)
	if err != nil {
		return nil, err
	}
	r.integration = integration
	return r, nil
}

// ServeHTTP runs API Gateway's request pipeline for one request.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	rc := g.pool.Get().(*requestContext)
	*rc = requestContext{start: g.now(), realStart: time.Now()}
	defer g.pool.Put(rc)
	rc.requestID = newRequestID()
	rc.extendedRequestID = rc.requestID[:8] + "=" // API Gateway's are short base64 ids
	rc.httpMethod = req.Method
	rc.path = req.URL.Path
	rc.protocol = req.Proto
	if req.TLS != nil {
		rc.tlsVersion, rc.cipherSuite = tlsNames(req.TLS)
	}
	rc.userAgent = req.UserAgent()
	rc.domainName = req.Host
	rc.sourceIP, _, _ = net.SplitHostPort(req.RemoteAddr)

	rest, ok := strings.CutPrefix(req.URL.Path, g.stagePrefix)
	if !ok || rest != "" && rest[0] != '/' {
		// Not this stage: there is no stage to log to. API Gateway answers
		// an unknown stage with 403 {"message":"Forbidden"}.
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("x-amzn-RequestId", rc.requestID)
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"message":"Forbidden"}`))
		return
	}
	if rest == "" {
		rest = "/"
	}
	g.serve(w, req, rc, rest)
	rc.responseLatency = time.Since(rc.realStart)
	g.writeAccessLog(rc)
}

func (g *Gateway) serve(w http.ResponseWriter, req *http.Request, rc *requestContext, rest string) {
	match, ok := g.router.Find(req.Method, rest)
	if !ok {
		// "An undefined resource or method answers 403
		// MISSING_AUTHENTICATION_TOKEN" — before any authorizer.
		g.fail(w, req, rc, nil, MissingAuthenticationToken, ptr("Missing Authentication Token"))
		return
	}
	r := g.routes[match.Method]
	rc.resourcePath = r.resourcePath
	rc.resourceID = match.Method.Resource.LogicalID

	var methodARN string
	if r.auth != nil || g.policy != nil {
		methodARN = g.methodARN(req.Method, rest)
	}
	// The client address is the TCP peer's, as API Gateway's aws:SourceIp
	// and $context.identity.sourceIp are; X-Forwarded-For is not trusted.
	// Only a Deny can refuse a method with an authorizer here, so without
	// one (keygate's policy when there are no rules) this costs nothing.
	if g.policy != nil && (r.auth == nil || g.policy.HasDeny()) {
		addr := resourcepolicy.ClientAddr(req.RemoteAddr)
		if g.policyRefuses(w, req, rc, &match, r, methodARN, addr) {
			return
		}
	}

	var usageKey string
	if r.auth != nil {
		d := r.auth.Authorize(req.Context(), req.Header.Get(r.auth.Header()), methodARN)
		if d.Invoked {
			rc.authorizerLatency = d.Latency
			rc.authorizerStatus = "200"
		}
		rc.authorizerError = d.Error
		if d.Result != nil {
			rc.principalID = d.Result.PrincipalID
			rc.authorizerContext = d.Result.Context
			usageKey = d.Result.UsageIdentifierKey
		}
		switch d.Outcome {
		case tokenauth.Unauthorized:
			if d.Invoked {
				rc.authorizerStatus = "401"
			}
			g.fail(w, req, rc, &match, Unauthorized, ptr(d.Message))
			return
		case tokenauth.Denied:
			if d.ImplicitDeny && g.policyAllows(methodARN, req) {
				break
			}
			g.fail(w, req, rc, &match, AccessDenied, ptr(d.Message))
			return
		case tokenauth.Failed:
			// API Gateway answers {"message": null} with a 500.
			g.fail(w, req, rc, &match, AuthorizerConfigurationError, nil)
			return
		}
	}

	var plan *apistore.Plan
	var keyID string
	if r.keyRequired {
		if g.api.APIKeySource == "HEADER" {
			usageKey = req.Header.Get("x-api-key")
		}
		var sk apistore.StageKey
		found := false
		if usageKey != "" {
			sk, found = g.store.ForStage(usageKey, g.api.ID, g.api.Stage.Name)
		}
		// "API Gateway reads the key and compares it against the keys in the
		// usage plan ... Otherwise, it throws an InvalidKeyParameter
		// exception. As a result, the caller receives a 403 Forbidden
		// response" (api-gateway-api-key-source.html); the gateway response
		// type is INVALID_API_KEY, "for an invalid API key submitted for a
		// method requiring an API key" (supported-gateway-response-types.html).
		// A key that does not exist, is disabled or is in no plan of this
		// stage is refused alike.
		if !found || !sk.Key.Enabled || sk.Plan == nil {
			g.fail(w, req, rc, &match, InvalidAPIKey, ptr("Forbidden"))
			return
		}
		keyID, plan = sk.Key.ID, sk.Plan
		rc.apiKeyID = keyID
		// Throttling order: the usage plan's per-client (per-method, else
		// plan) limits, then the stage's per-method limits
		// (api-gateway-request-throttling.html, "How throttling limit
		// settings are applied").
		if limits, bucket, ok := planLimits(plan, g.api.ID, g.api.Stage.Name, r.planMethod, keyID); ok && !g.buckets.Allow(bucket, limits) {
			g.fail(w, req, rc, &match, Throttled, ptr("Too Many Requests"))
			return
		}
	}
	if r.stageLimits != nil && !g.buckets.Allow(r.stageBucket, *r.stageLimits) {
		g.fail(w, req, rc, &match, Throttled, ptr("Too Many Requests"))
		return
	}
	if plan != nil {
		decision, err := g.store.Consume(plan.ID, keyID)
		if err == nil && !decision.Allowed {
			g.fail(w, req, rc, &match, QuotaExceeded, ptr("Limit Exceeded"))
			return
		}
	}
	r.integration.serve(g, w, req, rc, &match)
}

// planLimits are the plan's limits for this method: its per-method throttle
// on the stage when it has one, else the plan's throttle.
func planLimits(p *apistore.Plan, apiID, stage, method, keyID string) (throttle.Limits, string, bool) {
	if st, ok := p.Stage(apiID, stage); ok {
		if t, ok := st.Throttle[method]; ok {
			return throttle.Limits{Rate: t.RateLimit, Burst: t.BurstLimit}, "plan " + p.ID + " " + keyID + " " + method, true
		}
	}
	if p.Throttle == nil {
		return throttle.Limits{}, "", false
	}
	return throttle.Limits{Rate: p.Throttle.RateLimit, Burst: p.Throttle.BurstLimit}, "plan " + p.ID + " " + keyID, true
}

// apiARN is the API's ARN, what "execute-api:" stands for in its resource
// policy.
func (g *Gateway) apiARN() string {
	return "arn:aws:execute-api:" + g.api.Region + ":" + g.api.Account + ":" + g.api.ID
}

// methodARN is the ARN API Gateway sends a TOKEN authorizer and evaluates
// the resource policy against:
// arn:aws:execute-api:<region>:<account>:<api id>/<stage>/<METHOD>/<path>.
func (g *Gateway) methodARN(method, rest string) string {
	return "arn:aws:execute-api:" + g.api.Region + ":" + g.api.Account + ":" + g.api.ID + "/" + g.api.Stage.Name + "/" + method + rest
}

// fail answers with the gateway response of a type.
func (g *Gateway) fail(w http.ResponseWriter, req *http.Request, rc *requestContext, match *router.Match, typ string, message *string) {
	c := g.responses[typ]
	rc.errorResponseType = typ
	rc.errorMessage = message
	h := w.Header()
	params := func(name string) string {
		if match == nil {
			return ""
		}
		v, _ := match.Param(name)
		return v
	}
	for _, hv := range c.headers {
		if v := hv.resolve(req, params); v != "" {
			h.Set(hv.name, v)
		}
	}
	var body []byte
	if c.body != nil {
		h.Set("Content-Type", c.contentType)
		body = c.body.Render(nil, func(id int) string { return g.value(rc, id) })
	} else {
		h.Set("Content-Type", "application/json")
		key := `{"message":`
		if rc.deniedByPolicy {
			// API Gateway's own body for a resource policy's refusal spells
			// the key with a capital M: {"Message":"User: anonymous is not
			// authorized ..."} (apigateway-resource-policies-create-attach.html,
			// "Troubleshoot your resource policy").
			key = `{"Message":`
		}
		body = append(append([]byte(key), g.value(rc, varErrorMessageString)...), '}')
	}
	h.Set("x-amzn-ErrorType", errorTypes[typ])
	g.write(w, rc, c.status, body)
}

// write sends a response and records its status and length.
func (g *Gateway) write(w http.ResponseWriter, rc *requestContext, status int, body []byte) {
	h := w.Header()
	// Canonical keys and values in the pooled request context: no
	// allocation per header.
	rc.ids = [2]string{rc.requestID, rc.extendedRequestID}
	h["X-Amzn-Requestid"] = rc.ids[0:1:1]
	h["X-Amz-Apigw-Id"] = rc.ids[1:2:2]
	rc.status = status
	rc.responseLength = len(body)
	w.WriteHeader(status)
	w.Write(body)
}

func (g *Gateway) writeAccessLog(rc *requestContext) {
	if g.accessLog == nil || g.logLine == nil {
		return
	}
	buf := logBuffers.Get().(*[]byte)
	line := g.accessLog.Render((*buf)[:0], func(id int) string {
		// API Gateway writes "-" for a variable without a value.
		if v := g.value(rc, id); v != "" {
			return v
		}
		if id == varErrorMessageString {
			// "The quoted value of $context.error.message, namely
			// "$context.error.message"" (API Gateway developer guide,
			// "Variables for access logging"): the quotes are part of the
			// variable, around the "-" of a message without a value.
			return `"-"`
		}
		return "-"
	})
	g.logLine(line)
	*buf = line
	logBuffers.Put(buf)
}

var logBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

func ptr(s string) *string { return &s }

// tlsNames are $context.tlsVersion and $context.cipherSuite of a TLS
// connection: the version as API Gateway writes it (TLSv1.3), the suite by
// its IANA name, which for TLS 1.3 is API Gateway's name too (for TLS 1.2
// API Gateway writes OpenSSL's names, e.g. ECDHE-RSA-AES128-GCM-SHA256).
// The local gateway usually serves plain HTTP, where both have no value.
func tlsNames(state *tls.ConnectionState) (version, suite string) {
	switch state.Version {
	case tls.VersionTLS13:
		version = "TLSv1.3"
	case tls.VersionTLS12:
		version = "TLSv1.2"
	case tls.VersionTLS11:
		version = "TLSv1.1"
	case tls.VersionTLS10:
		version = "TLSv1"
	}
	return version, tls.CipherSuiteName(state.CipherSuite)
}
