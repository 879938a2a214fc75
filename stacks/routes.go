package stacks

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/keygate/keygate/internal/config"
)

// addRoutes adds every configured route to the API. Methods inherit the
// API's default method options: the bearer authorizer and a required API key.
func addRoutes(scope constructs.Construct, api awsapigateway.RestApi, env config.Environment) {
	// API Gateway rejects requests missing a declared path parameter before
	// they reach the backend.
	validator := api.AddRequestValidator(jsii.String("RequestValidator"), &awsapigateway.RequestValidatorOptions{
		RequestValidatorName:      jsii.String("keygate-" + env.Name + "-parameters-and-body"),
		ValidateRequestParameters: jsii.Bool(true),
		ValidateRequestBody:       jsii.Bool(true),
	})
	for i, route := range env.Routes {
		resource := api.Root().ResourceForPath(jsii.String(route.Path))
		params := pathParams(route.Path)
		for _, method := range route.Methods {
			integration, methodResponses := newIntegration(scope, api, env, i, route, method, params)
			requestParams := map[string]*bool{}
			for _, p := range params {
				requestParams["method.request.path."+p] = jsii.Bool(true)
			}
			m := resource.AddMethod(jsii.String(method), integration, &awsapigateway.MethodOptions{
				RequestParameters: &requestParams,
				MethodResponses:   methodResponses,
				RequestValidator:  validator,
			})
			acknowledge(m, false, [2]string{"AwsSolutions-COG4",
				"Clients authenticate with API keys sent as bearer tokens, checked by the keygate TOKEN authorizer and enforced by usage plans; a Cognito user pool is not part of this design"})
		}
	}
}

// pathParams lists a route path's parameters ({id} and greedy {proxy+}).
func pathParams(path string) []string {
	var params []string
	for _, segment := range strings.Split(path, "/") {
		if strings.HasPrefix(segment, "{") {
			params = append(params, strings.TrimSuffix(strings.Trim(segment, "{}"), "+"))
		}
	}
	return params
}

// permissionMethod and permissionPath turn a route into the method and path
// parts of an execute-api ARN, where parameters and ANY are wildcards.
func permissionMethod(method string) string {
	if method == "ANY" {
		return "*"
	}
	return method
}

func permissionPath(path string) string {
	segments := strings.Split(path, "/")
	for i, segment := range segments {
		if strings.HasPrefix(segment, "{") {
			segments[i] = "*"
		}
	}
	return strings.Join(segments, "/")
}

func newIntegration(scope constructs.Construct, api awsapigateway.RestApi, env config.Environment, routeIndex int, route config.Route, method string, params []string) (awsapigateway.Integration, *[]*awsapigateway.MethodResponse) {
	in := route.Integration
	var timeout awscdk.Duration
	if in.TimeoutMillis != 0 {
		timeout = awscdk.Duration_Millis(jsii.Number(in.TimeoutMillis))
	}
	switch in.Type {
	case config.IntegrationHTTP:
		// Pass path parameters through: /orders/{id} → https://backend/orders/{id}.
		mapping := map[string]*string{}
		for _, p := range params {
			if strings.Contains(in.URL, "{"+p+"}") {
				mapping["integration.request.path."+p] = jsii.String("method.request.path." + p)
			}
		}
		return awsapigateway.NewHttpIntegration(jsii.String(in.URL), &awsapigateway.HttpIntegrationProps{
			Proxy:      jsii.Bool(true),
			HttpMethod: jsii.String(method),
			Options: &awsapigateway.IntegrationOptions{
				RequestParameters: &mapping,
				Timeout:           timeout,
			},
		}), nil
	case config.IntegrationLambda:
		id := fmt.Sprintf("Route%dFunction%s", routeIndex, method)
		// CDK grants API Gateway on an imported function itself (scoped to
		// this method, path and stage) only where the stack's account is
		// known and is the function's (config validation makes sure of the
		// latter). In an environment-agnostic stack it cannot, so keygate
		// grants the same scope itself; granting twice would only grow the
		// function's resource policy toward Lambda's 20 KB limit.
		// SkipPermissions silences CDK's warning for the agnostic case.
		function := awslambda.Function_FromFunctionAttributes(scope, jsii.String(id), &awslambda.FunctionAttributes{
			FunctionArn:     jsii.String(in.FunctionARN),
			SkipPermissions: jsii.Bool(true),
		})
		if env.Account == "" {
			awslambda.NewCfnPermission(scope, jsii.String(id+"Permission"), &awslambda.CfnPermissionProps{
				Action:       jsii.String("lambda:InvokeFunction"),
				FunctionName: jsii.String(in.FunctionARN),
				Principal:    jsii.String("apigateway.amazonaws.com"),
				SourceArn:    api.ArnForExecuteApi(jsii.String(permissionMethod(method)), jsii.String(permissionPath(route.Path)), api.DeploymentStage().StageName()),
			})
		}
		return awsapigateway.NewLambdaIntegration(function, &awsapigateway.LambdaIntegrationOptions{
			Proxy:   jsii.Bool(true),
			Timeout: timeout,
			// No console test-invoke grant: one permission per method.
			AllowTestInvoke: jsii.Bool(false),
		}), nil
	default: // config.IntegrationMock
		status := in.StatusCode
		if status == 0 {
			status = 200
		}
		code := strconv.Itoa(status)
		return awsapigateway.NewMockIntegration(&awsapigateway.IntegrationOptions{
				RequestTemplates: &map[string]*string{"application/json": jsii.String(`{"statusCode": ` + code + `}`)},
				// NEVER: a body of another content type would otherwise pass
				// through in place of the template, the mock would find no
				// statusCode and answer 500; this way it gets 415.
				PassthroughBehavior: awsapigateway.PassthroughBehavior_NEVER,
				IntegrationResponses: &[]*awsapigateway.IntegrationResponse{{
					StatusCode:        jsii.String(code),
					ResponseTemplates: &map[string]*string{"application/json": jsii.String(in.Body)},
				}},
			}), &[]*awsapigateway.MethodResponse{{
				StatusCode: jsii.String(code),
			}}
	}
}
