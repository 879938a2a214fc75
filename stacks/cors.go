package stacks

import (
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/jsii-runtime-go"

	"github.com/keygate/keygate/internal/config"
)

// corsPreflightOptions are the API's CORS preflight settings, nil without
// CORS. Preflight OPTIONS methods answer browsers without a key: a preflight
// request never carries the Authorization header.
func corsPreflightOptions(env config.Environment) *awsapigateway.CorsOptions {
	if !env.CORS.Enabled() {
		return nil
	}
	return &awsapigateway.CorsOptions{
		AllowOrigins: jsii.Strings(env.CORS.AllowedOrigins...),
		AllowHeaders: jsii.Strings(corsAllowHeaders...),
		AllowMethods: jsii.Strings(corsAllowMethods(env)...),
		MaxAge:       awscdk.Duration_Hours(jsii.Number(1)),
	}
}

// corsAllowHeaders are the request headers a browser may send cross-origin.
var corsAllowHeaders = []string{"Authorization", "Content-Type"}

// corsAllowOriginForErrors is the Access-Control-Allow-Origin value of the
// gateway responses. Unlike method responses, a gateway response cannot
// choose among several origins, so with more than one it echoes the
// request's Origin header: the bodies carry only an error message and a
// request id, never data.
func corsAllowOriginForErrors(cors config.CORS) string {
	if len(cors.AllowedOrigins) == 1 {
		return "'" + cors.AllowedOrigins[0] + "'"
	}
	return "method.request.header.Origin"
}

// corsAllowMethods are the methods of every configured route.
func corsAllowMethods(env config.Environment) []string {
	var methods []string
	for _, route := range env.Routes {
		for _, m := range route.Methods {
			if m == "ANY" {
				return []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}
			}
			if !slices.Contains(methods, m) {
				methods = append(methods, m)
			}
		}
	}
	slices.Sort(methods)
	return methods
}

// acknowledgePreflightMethods records why CORS preflight methods have no
// authorizer: browsers send preflight requests without credentials.
func acknowledgePreflightMethods(api awsapigateway.RestApi) {
	for _, method := range *api.Methods() {
		if *method.HttpMethod() == "OPTIONS" {
			acknowledge(method, false,
				[2]string{"AwsSolutions-APIG4", "CORS preflight: browsers send OPTIONS without credentials; the mock answers with CORS headers only and reaches no backend"},
				[2]string{"AwsSolutions-COG4", "CORS preflight: browsers send OPTIONS without credentials; the mock answers with CORS headers only and reaches no backend"})
		}
	}
}

// mockCORS is what a mock method's integration and method responses need
// for CORS: header mappings (nil without CORS) and the response template.
type mockCORS struct {
	integrationParameters *map[string]*string
	methodParameters      *map[string]*bool
	template              string
}

// corsMockResponse adds CORS to a mock route's answer, as CDK's own
// preflight answers (aws-cdk-lib/aws-apigateway/lib/resource.ts,
// addCorsPreflight): the first allowed origin as a static
// Access-Control-Allow-Origin, with Vary: Origin. With several origins the
// response template also replaces the header with the request's Origin when
// it is one of them, through $context.responseOverride.header — the VTL
// construct CDK's preflight uses, written here without whitespace between
// directives so the body the client gets is exactly the configured one
// (Velocity outputs nothing for #set and #if...#end, and the formal #{end}
// keeps a body starting with a letter from running into the directive).
// The local gateway recognizes exactly this prefix (internal/local/gateway).
func corsMockResponse(cors config.CORS, body string) mockCORS {
	if !cors.Enabled() {
		return mockCORS{template: body}
	}
	out := mockCORS{
		integrationParameters: &map[string]*string{
			"method.response.header.Access-Control-Allow-Origin": jsii.String("'" + cors.AllowedOrigins[0] + "'"),
			"method.response.header.Vary":                        jsii.String("'Origin'"),
		},
		methodParameters: &map[string]*bool{
			"method.response.header.Access-Control-Allow-Origin": jsii.Bool(true),
			"method.response.header.Vary":                        jsii.Bool(true),
		},
		template: body,
	}
	if len(cors.AllowedOrigins) > 1 {
		out.template = CORSOriginOverride(cors.AllowedOrigins) + body
	}
	return out
}

// CORSOriginOverride is the VTL prefix of a mock response template that
// answers a request whose Origin is one of origins with that origin in
// Access-Control-Allow-Origin.
func CORSOriginOverride(origins []string) string {
	conditions := make([]string, len(origins))
	for i, o := range origins {
		conditions[i] = `$origin == "` + o + `"`
	}
	return `#set($origin = $input.params().header.get("Origin"))` +
		`#if($origin == "")#set($origin = $input.params().header.get("origin"))#{end}` +
		`#if(` + strings.Join(conditions, " || ") + `)#set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)#{end}`
}
