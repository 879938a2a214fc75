package stacks

import (
	"slices"

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
