package keyctl_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keygate/keygate/internal/apimodel"
	"github.com/keygate/keygate/internal/bearer"
	"github.com/keygate/keygate/internal/local/gateway"
	"github.com/keygate/keygate/internal/local/tokenauth"
	"github.com/keygate/keygate/lambda/authorizer/authorize"
)

// localGateway serves GET /health of the dev stage through the local
// gateway's data plane on the env's store, with keygate's bearer TOKEN
// authorizer (its code run in process, as the Lambda would run it) and the
// API key source AUTHORIZER, as the stack deploys it.
func (e *env) localGateway(t *testing.T) string {
	t.Helper()
	auth := &apimodel.Authorizer{LogicalID: "BearerAuthorizer", Name: "keygate-bearer", Type: "TOKEN",
		IdentityHeader: "Authorization", ValidationExpression: bearer.ValidationExpression}
	root := &apimodel.Resource{LogicalID: "Root", Path: "/", Methods: map[string]*apimodel.Method{}}
	health := &apimodel.Resource{LogicalID: "Health", PathPart: "health", Path: "/health", Parent: root, Methods: map[string]*apimodel.Method{}}
	root.Children = []*apimodel.Resource{health}
	health.Methods["GET"] = &apimodel.Method{
		LogicalID: "HealthGET", HTTPMethod: "GET", Resource: health,
		AuthorizationType: "CUSTOM", Authorizer: auth, APIKeyRequired: true,
		Integration: apimodel.Integration{
			Type:             "MOCK",
			RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`},
			Responses:        []apimodel.IntegrationResponse{{StatusCode: "200", ResponseTemplates: map[string]string{"application/json": `{"status":"ok"}`}}},
		},
		MethodResponses: []string{"200"},
	}
	api := &apimodel.API{Stack: "keygate-dev", Name: "keygate-dev", ID: apiID, Region: "eu-west-1", Account: "123456789012",
		APIKeySource: "AUTHORIZER", Stage: apimodel.Stage{Name: stage}, Root: root,
		Authorizers: map[string]*apimodel.Authorizer{auth.LogicalID: auth}}
	invoke := func(_ context.Context, payload []byte) ([]byte, error) {
		var event events.APIGatewayCustomAuthorizerRequest
		if err := json.Unmarshal(payload, &event); err != nil {
			return nil, err
		}
		resp, _, err := authorize.Authorize(event)
		if err != nil {
			// What the Lambda runtime returns for a handler error.
			return json.Marshal(map[string]string{"errorMessage": err.Error(), "errorType": "errorString"})
		}
		return json.Marshal(resp)
	}
	g, err := gateway.New(gateway.Options{API: api, Store: e.store, Authorizers: map[string]tokenauth.Invoker{auth.LogicalID: invoke}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return srv.URL + "/" + stage + "/health"
}

// get sends GET url with the bearer key and returns the status.
func get(t *testing.T, url, key string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
