package stacks

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/jsii-runtime-go"

	"github.com/keygate/keygate/internal/config"
)

// BearerRealm names the protection space in WWW-Authenticate (RFC 6750 §3).
func BearerRealm(env config.Environment) string { return "keygate-" + env.Name }

// gatewayResponse is one of API Gateway's own error answers.
type gatewayResponse struct {
	id         string
	kind       awsapigateway.ResponseType
	statusCode string // empty keeps API Gateway's status for the type
	// message, where set, replaces API Gateway's own message.
	message string
}

// gatewayResponses are the errors clients can act on: 401 means send a
// well-formed bearer token, 403 means this key may not call this API, 429
// means slow down or wait for the quota period. DEFAULT_4XX/5XX give every
// other error the same JSON shape.
//
// A request with an Authorization header to a path or method the API does
// not define is read by API Gateway as a malformed SigV4 signature, and its
// message quotes the whole header: "'<key>' not a valid key=value pair
// (missing equal-sign) in Authorization header: 'Bearer <key>'"
// (serverless/serverless#3205, HumanCellAtlas/data-store#328). So the
// responses of the types that can carry it say something fixed instead of
// $context.error.messageString, and the access log never holds the message
// (logging.go).
var gatewayResponses = []gatewayResponse{
	{"Unauthorized", awsapigateway.ResponseType_UNAUTHORIZED(), "401", ""},
	{"AccessDenied", awsapigateway.ResponseType_ACCESS_DENIED(), "403", ""},
	{"InvalidApiKey", awsapigateway.ResponseType_INVALID_API_KEY(), "403", ""},
	{"Throttled", awsapigateway.ResponseType_THROTTLED(), "429", ""},
	{"QuotaExceeded", awsapigateway.ResponseType_QUOTA_EXCEEDED(), "429", ""},
	{"MissingAuthenticationToken", awsapigateway.ResponseType_MISSING_AUTHENTICATION_TOKEN(), "", "Missing Authentication Token"},
	{"InvalidSignature", awsapigateway.ResponseType_INVALID_SIGNATURE(), "", "Forbidden"},
	{"ExpiredToken", awsapigateway.ResponseType_EXPIRED_TOKEN(), "", "Forbidden"},
	{"Default4xx", awsapigateway.ResponseType_DEFAULT_4XX(), "", ""},
	{"Default5xx", awsapigateway.ResponseType_DEFAULT_5XX(), "", ""},
}

// GatewayResponseBody is the JSON a gateway response answers with: API
// Gateway's message ($context.error.messageString is already a quoted JSON
// string), or a fixed one.
func GatewayResponseBody(message string) string {
	quoted := "$context.error.messageString"
	if message != "" {
		data, _ := json.Marshal(message)
		quoted = string(data)
	}
	return `{"message": ` + quoted + `, "requestId": "$context.requestId"}`
}

// FixedGatewayResponseMessages are the response types whose message is
// fixed, by CloudFormation's name for the type.
func FixedGatewayResponseMessages() map[string]string {
	fixed := map[string]string{}
	for _, r := range gatewayResponses {
		if r.message != "" {
			fixed[*r.kind.ResponseType()] = r.message
		}
	}
	return fixed
}

// addGatewayResponses gives API Gateway's own errors a stable JSON shape,
// the 401 its WWW-Authenticate challenge, and CORS headers where configured
// (without them a browser hides the error from the calling page).
func addGatewayResponses(api awsapigateway.RestApi, env config.Environment) {
	for _, r := range gatewayResponses {
		headers := map[string]*string{}
		if r.id == "Unauthorized" {
			headers["WWW-Authenticate"] = jsii.String(fmt.Sprintf(`'Bearer realm="%s"'`, BearerRealm(env)))
		}
		if env.CORS.Enabled() {
			headers["Access-Control-Allow-Origin"] = jsii.String(corsAllowOriginForErrors(env.CORS))
			headers["Access-Control-Allow-Headers"] = jsii.String("'" + strings.Join(corsAllowHeaders, ",") + "'")
			headers["Vary"] = jsii.String("'Origin'")
		}
		var status *string
		if r.statusCode != "" {
			status = jsii.String(r.statusCode)
		}
		api.AddGatewayResponse(jsii.String("GatewayResponse"+r.id), &awsapigateway.GatewayResponseOptions{
			Type:            r.kind,
			StatusCode:      status,
			ResponseHeaders: &headers,
			Templates:       &map[string]*string{"application/json": jsii.String(GatewayResponseBody(r.message))},
		})
	}
}
