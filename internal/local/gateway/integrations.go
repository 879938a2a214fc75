package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keygate/keygate/internal/apimodel"
	"github.com/keygate/keygate/internal/local/router"
	"github.com/keygate/keygate/internal/local/vtl"
)

// integration answers a request that passed the gateway's checks.
type integration interface {
	serve(g *Gateway, w http.ResponseWriter, req *http.Request, rc *requestContext, match *router.Match)
}

func (g *Gateway) prepareIntegration(m *apimodel.Method, lambdaURLs map[string]string, transport http.RoundTripper) (integration, error) {
	in := m.Integration
	switch in.Type {
	case "MOCK":
		return g.prepareMock(in)
	case "HTTP", "HTTP_PROXY":
		return g.prepareHTTP(in, in.URI, in.Type == "HTTP_PROXY", transport)
	case "AWS_PROXY":
		g.lambdaRoutes = append(g.lambdaRoutes, m.HTTPMethod+" "+m.Resource.Path)
		key := m.HTTPMethod + " " + m.Resource.Path
		target := lambdaURLs[key]
		if target == "" {
			key = m.Resource.Path
			target = lambdaURLs[key]
		}
		if target != "" {
			g.lambdaUsed[key] = true
		}
		if target == "" {
			return &remoteLambda{functionARN: in.FunctionARN, method: m.HTTPMethod, path: m.Resource.Path}, nil
		}
		// Forwarded as an HTTP proxy: the URL gets the request's path
		// below the resource's parameters substituted like any proxy.
		forward := apimodel.Integration{Type: "HTTP_PROXY", Timeout: in.Timeout, RequestParameters: map[string]string{}}
		for p := range m.RequestParameters {
			if name, ok := strings.CutPrefix(p, "method.request.path."); ok {
				forward.RequestParameters["integration.request.path."+name] = p
			}
		}
		return g.prepareHTTP(forward, target, true, transport)
	}
	return nil, fmt.Errorf("integration type %s is not emulated (MOCK, HTTP, HTTP_PROXY and AWS_PROXY are)", in.Type)
}

// ---- MOCK

type mockIntegration struct {
	status      string // from the request template's statusCode
	templates   []string
	passthrough string
	responses   []*mockResponse
}

type mockResponse struct {
	status      int
	pattern     *regexp.Regexp // nil: the default response
	headers     []headerValue
	contentType string
	body        *vtl.Template // nil: no body
	literal     []byte        // the body when it has no variables
	// corsOrigins are the further allowed origins of CDK's CORS preflight
	// template with several origins; corsMatches says whether they are
	// regular expressions ($origin.matches) or strings ($origin == …).
	corsOrigins []string
	corsMatches bool
	// corsPatterns are corsOrigins compiled once when corsMatches, each
	// matched against the whole origin; nil for one that does not compile
	// (it matches nothing).
	corsPatterns []*regexp.Regexp
}

// The request template keygate's mocks use, {"statusCode": 200}, and the one
// CDK's CORS preflight uses, { statusCode: 200 }.
var mockRequestTemplate = regexp.MustCompile(`^\s*\{\s*"?statusCode"?\s*:\s*(\d{3})\s*\}\s*$`)

func (g *Gateway) prepareMock(in apimodel.Integration) (integration, error) {
	m := &mockIntegration{passthrough: in.PassthroughBehavior, status: "200"}
	if m.passthrough == "" {
		m.passthrough = "WHEN_NO_MATCH"
	}
	for _, ct := range slices.Sorted(maps.Keys(in.RequestTemplates)) {
		match := mockRequestTemplate.FindStringSubmatch(in.RequestTemplates[ct])
		if match == nil {
			return nil, fmt.Errorf("MOCK request template for %s is %q; only {\"statusCode\": <code>} is emulated", ct, in.RequestTemplates[ct])
		}
		m.templates = append(m.templates, ct)
		m.status = match[1]
	}
	for _, ir := range in.Responses {
		r, err := g.prepareMockResponse(ir)
		if err != nil {
			return nil, err
		}
		m.responses = append(m.responses, r)
	}
	return m, nil
}

func (g *Gateway) prepareMockResponse(ir apimodel.IntegrationResponse) (*mockResponse, error) {
	status, err := strconv.Atoi(ir.StatusCode)
	if err != nil {
		return nil, fmt.Errorf("integration response StatusCode %q is not a number", ir.StatusCode)
	}
	r := &mockResponse{status: status}
	if ir.SelectionPattern != "" {
		// Java regex, matched against the whole status code.
		re, err := regexp.Compile(`^(?:` + ir.SelectionPattern + `)$`)
		if err != nil {
			return nil, fmt.Errorf("SelectionPattern %q cannot be compiled locally: %v", ir.SelectionPattern, err)
		}
		r.pattern = re
	}
	for _, key := range slices.Sorted(maps.Keys(ir.ResponseParameters)) {
		name, ok := strings.CutPrefix(key, "method.response.header.")
		if !ok {
			return nil, fmt.Errorf("integration response parameter %s is not a method response header", key)
		}
		h, err := compileHeader(name, ir.ResponseParameters[key])
		if err != nil {
			return nil, err
		}
		r.headers = append(r.headers, h)
	}
	r.contentType = "application/json"
	if len(ir.ResponseTemplates) > 0 {
		r.contentType = pickContentType(ir.ResponseTemplates)
		body := ir.ResponseTemplates[r.contentType]
		if origins, rest, ok := cutCORSOriginOverride(body); ok {
			// keygate's mock routes with several CORS origins: the override
			// prefix, then the body as any other template.
			r.corsOrigins, body = origins, rest
		}
		if origins, matches, ok := parseCORSTemplate(body); ok && r.corsOrigins == nil {
			r.corsOrigins, r.corsMatches = origins, matches
			if matches {
				for _, o := range origins {
					re, _ := regexp.Compile(`^(?:` + o + `)$`)
					r.corsPatterns = append(r.corsPatterns, re)
				}
			}
		} else {
			// Literal text and $context variables, as API Gateway renders
			// them; any other Velocity is refused here.
			t, err := g.compileTemplate("MOCK response template", body)
			if err != nil {
				return nil, err
			}
			r.body = t
			if text, ok := t.Literal(); ok {
				r.literal = []byte(text)
			}
		}
	}
	return r, nil
}

// parseCORSTemplate recognizes the response template CDK writes for a CORS
// preflight with several allowed origins: the first origin is the literal
// Access-Control-Allow-Origin, the others replace it when the request's
// Origin header equals (or, in older CDK versions, matches) one of them.
func parseCORSTemplate(src string) (origins []string, matches, ok bool) {
	normalized := strings.Join(strings.Fields(src), " ")
	m := corsTemplate.FindStringSubmatch(normalized)
	if m == nil {
		return nil, false, false
	}
	for _, cond := range strings.Split(m[1], " || ") {
		if c := corsEquals.FindStringSubmatch(cond); c != nil {
			origins = append(origins, c[1])
		} else if c := corsMatchesRe.FindStringSubmatch(cond); c != nil {
			origins, matches = append(origins, c[1]), true
		} else {
			return nil, false, false
		}
	}
	return origins, matches, true
}

// cutCORSOriginOverride recognizes the prefix keygate's mock routes put
// before their body when CORS has several origins (stacks.CORSOriginOverride:
// CDK's preflight construct without whitespace): the origins it allows and
// the rest of the template.
func cutCORSOriginOverride(src string) (origins []string, rest string, ok bool) {
	m := corsOverridePrefix.FindStringSubmatchIndex(src)
	if m == nil {
		return nil, "", false
	}
	for _, cond := range strings.Split(src[m[2]:m[3]], " || ") {
		c := corsEquals.FindStringSubmatch(cond)
		if c == nil {
			return nil, "", false
		}
		origins = append(origins, c[1])
	}
	return origins, src[m[1]:], true
}

var (
	corsOverridePrefix = regexp.MustCompile(`^#set\(\$origin = \$input\.params\(\)\.header\.get\("Origin"\)\)#if\(\$origin == ""\)#set\(\$origin = \$input\.params\(\)\.header\.get\("origin"\)\)#\{end\}#if\((.+?)\)#set\(\$context\.responseOverride\.header\.Access-Control-Allow-Origin = \$origin\)#\{end\}`)
	corsTemplate       = regexp.MustCompile(`^#set\(\$origin = \$input\.params\(\)\.header\.get\("Origin"\)\) #if\(\$origin == ""\) #set\(\$origin = \$input\.params\(\)\.header\.get\("origin"\)\) #end #if\((.+)\) #set\(\$context\.responseOverride\.header\.Access-Control-Allow-Origin = \$origin\) #end$`)
	corsEquals         = regexp.MustCompile(`^\$origin == "([^"]*)"$`)
	corsMatchesRe      = regexp.MustCompile(`^\$origin\.matches\("([^"]*)"\)$`)
)

func (m *mockIntegration) serve(g *Gateway, w http.ResponseWriter, req *http.Request, rc *requestContext, match *router.Match) {
	status := m.status
	if len(m.templates) > 0 {
		// No Content-Type is taken as application/json; a type without a
		// template is refused unless passthrough allows it.
		ct := "application/json"
		if v := req.Header.Get("Content-Type"); v != "" {
			if mt, _, err := mime.ParseMediaType(v); err == nil {
				ct = mt
			} else {
				ct = v
			}
		}
		if !slices.Contains(m.templates, ct) && m.passthrough != "WHEN_NO_MATCH" {
			g.fail(w, req, rc, match, UnsupportedMediaType, ptr("Unsupported Media Type"))
			return
		}
	}
	selected := selectResponse(m.responses, status)
	if selected == nil {
		g.fail(w, req, rc, match, APIConfigurationError, ptr("Internal server error"))
		return
	}
	rc.integrationStatus = status
	h := w.Header()
	params := func(name string) string { v, _ := match.Param(name); return v }
	for _, hv := range selected.headers {
		if v := hv.resolve(req, params); v != "" {
			h.Set(hv.name, v)
		}
	}
	if len(selected.corsOrigins) > 0 {
		origin := req.Header.Get("Origin")
		for i, o := range selected.corsOrigins {
			if origin == o || selected.corsMatches && selected.corsPatterns[i] != nil && selected.corsPatterns[i].MatchString(origin) {
				h.Set("Access-Control-Allow-Origin", origin)
				break
			}
		}
	}
	rc.contentType[0] = selected.contentType
	h["Content-Type"] = rc.contentType[:]
	body := selected.literal
	if selected.body != nil && body == nil {
		body = selected.body.Render(nil, func(id int) string { return g.value(rc, id) })
	}
	g.write(w, rc, selected.status, body)
}

// selectResponse picks the integration response whose SelectionPattern
// matches the status, else the default (no pattern) one.
func selectResponse(responses []*mockResponse, status string) *mockResponse {
	for _, r := range responses {
		if r.pattern != nil && r.pattern.MatchString(status) {
			return r
		}
	}
	for _, r := range responses {
		if r.pattern == nil {
			return r
		}
	}
	return nil
}

// ---- HTTP and HTTP_PROXY

type httpIntegration struct {
	uri   string
	proxy bool
	// responses select the status of a non-proxy integration's answer.
	responses []*mockResponse
	method    string
	params    map[string]string // integration placeholder → method path parameter
	timeout   time.Duration
	client    *http.Client
}

func (g *Gateway) prepareHTTP(in apimodel.Integration, uri string, proxy bool, transport http.RoundTripper) (integration, error) {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("integration URI %q is not an absolute http(s) URL", uri)
	}
	if !proxy && (len(in.RequestTemplates) > 0 || slices.ContainsFunc(in.Responses, func(r apimodel.IntegrationResponse) bool { return len(r.ResponseTemplates) > 0 })) {
		return nil, errors.New("HTTP (non-proxy) integrations with mapping templates are not emulated")
	}
	h := &httpIntegration{uri: uri, proxy: proxy, method: in.HTTPMethod, params: map[string]string{}, timeout: in.Timeout}
	for k, v := range in.RequestParameters {
		name, ok := strings.CutPrefix(k, "integration.request.path.")
		from, fromOK := strings.CutPrefix(v, "method.request.path.")
		if !ok || !fromOK {
			return nil, fmt.Errorf("integration request parameter %s = %s is not emulated (only integration.request.path.* from method.request.path.*)", k, v)
		}
		h.params[name] = from
	}
	if !proxy {
		for _, ir := range in.Responses {
			r, err := g.prepareMockResponse(ir)
			if err != nil {
				return nil, err
			}
			h.responses = append(h.responses, r)
		}
	}
	if h.timeout <= 0 {
		// API Gateway's default integration timeout.
		h.timeout = 29 * time.Second
	}
	h.client = &http.Client{Transport: transport, Timeout: h.timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return h, nil
}

// hopByHop are the headers a proxy does not forward (RFC 9110 §7.6.1).
var hopByHop = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// target is the integration URL for a request; ok is false when a path
// parameter has a "." or ".." segment, which would take the URL out of the
// integration's path prefix (https://backend/api/{proxy} with
// proxy=../admin is https://backend/admin once resolved, RFC 3986 §5.2.4).
// What API Gateway forwards for such a value is not documented; the local
// gateway never forwards it.
func (h *httpIntegration) target(req *http.Request, match *router.Match) (string, bool) {
	target := h.uri
	for placeholder, from := range h.params {
		value, _ := match.Param(from)
		if hasDotSegment(value) {
			return "", false
		}
		target = strings.ReplaceAll(target, "{"+placeholder+"}", escapePathKeepSlashes(value))
	}
	if req.URL.RawQuery != "" {
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		target += sep + req.URL.RawQuery
	}
	return target, true
}

func hasDotSegment(value string) bool {
	for segment := range strings.SplitSeq(value, "/") {
		if segment == "." || segment == ".." {
			return true
		}
	}
	return false
}

func escapePathKeepSlashes(s string) string {
	parts := strings.Split(s, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

func (h *httpIntegration) serve(g *Gateway, w http.ResponseWriter, req *http.Request, rc *requestContext, match *router.Match) {
	method := h.method
	if method == "" || method == "ANY" || h.proxy {
		method = req.Method
	}
	target, ok := h.target(req, match)
	if !ok {
		g.fail(w, req, rc, match, BadRequestParameters, ptr(dotSegmentMessage))
		return
	}
	out, err := http.NewRequestWithContext(req.Context(), method, target, req.Body)
	if err != nil {
		g.fail(w, req, rc, match, APIConfigurationError, ptr("Internal server error"))
		return
	}
	out.ContentLength = req.ContentLength
	if h.proxy {
		out.Header = req.Header.Clone()
		for _, name := range hopByHop {
			out.Header.Del(name)
		}
		out.Header.Del("Host")
	}
	if xff := req.Header.Get("X-Forwarded-For"); xff != "" {
		out.Header.Set("X-Forwarded-For", xff+", "+rc.sourceIP)
	} else {
		out.Header.Set("X-Forwarded-For", rc.sourceIP)
	}
	start := time.Now()
	resp, err := h.client.Do(out)
	if err != nil {
		rc.integrationLatency = time.Since(start)
		rc.integrationStatus = "-"
		if req.Context().Err() != nil {
			// The client went away, or keygate local is stopping and closed
			// the connection after its grace period: no response reaches
			// anyone, so none is written and the line logs status "-"
			// rather than a 504 nobody received.
			return
		}
		var timeout interface{ Timeout() bool }
		if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &timeout) && timeout.Timeout() {
			g.fail(w, req, rc, match, IntegrationTimeout, ptr("Endpoint request timed out"))
			return
		}
		g.fail(w, req, rc, match, IntegrationFailure, ptr("Internal server error"))
		return
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	rc.integrationLatency = time.Since(start)
	rc.integrationStatus = strconv.Itoa(resp.StatusCode)
	if err != nil {
		g.fail(w, req, rc, match, IntegrationFailure, ptr("Internal server error"))
		return
	}
	header := w.Header()
	status := resp.StatusCode
	if h.proxy {
		for k, v := range resp.Header {
			header[k] = v
		}
		for _, name := range hopByHop {
			header.Del(name)
		}
		header.Del("Content-Length")
	} else {
		// A non-proxy answer goes through the integration responses: the
		// one whose SelectionPattern matches the backend's status, else the
		// default one; without either API Gateway has no mapping (500).
		selected := selectResponse(h.responses, rc.integrationStatus)
		if selected == nil {
			g.fail(w, req, rc, match, APIConfigurationError, ptr("Internal server error"))
			return
		}
		status = selected.status
		params := func(name string) string { v, _ := match.Param(name); return v }
		for _, hv := range selected.headers {
			if v := hv.resolve(req, params); v != "" {
				header.Set(hv.name, v)
			}
		}
		if ct := resp.Header.Get("Content-Type"); ct != "" {
			header.Set("Content-Type", ct)
		}
	}
	g.write(w, rc, status, body)
}

// dotSegmentMessage is the local gateway's own message for a path parameter
// with a dot segment (see target).
const dotSegmentMessage = "Invalid request path: a path parameter has a . or .. segment"

// ---- AWS_PROXY (Lambda)

type remoteLambda struct{ functionARN, method, path string }

func (l *remoteLambda) serve(g *Gateway, w http.ResponseWriter, req *http.Request, rc *requestContext, match *router.Match) {
	rc.integrationStatus = "-"
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-ErrorType", "InternalServerErrorException")
	msg := fmt.Sprintf("keygate local: %s %s is a Lambda proxy integration of %s, which runs in AWS, not here; forward it to a local server with -lambda '%s %s=http://127.0.0.1:<port>'",
		l.method, l.path, l.functionARN, l.method, l.path)
	g.write(w, rc, http.StatusBadGateway, []byte(`{"message":`+strconv.Quote(msg)+`}`))
}
