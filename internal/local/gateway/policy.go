package gateway

import (
	"net/http"
	"net/netip"

	"github.com/keygate/keygate/internal/local/resourcepolicy"
	"github.com/keygate/keygate/internal/local/router"
)

// How the resource policy combines with a method's authorization, from
// "How API Gateway resource policies affect authorization workflow"
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-authorization-flow.html):
//
//   - A method with a Lambda authorizer: "Before calling the Lambda
//     authorizer, API Gateway first evaluates the policy and checks for any
//     explicit denials. If found, the caller is denied access immediately."
//     Afterwards the authorizer's policy and the resource policy combine by
//     table A: an authorizer Deny, or a resource policy Deny, is a deny;
//     otherwise an Allow in either is an Allow; neither is an implicit deny.
//   - A method without authorization (the CORS preflight OPTIONS): "API
//     Gateway resource policy only ... seeking an explicit allow ... An
//     implicit denial or any explicit denial results in denying the caller."
//   - No policy: nothing to evaluate.
//
// Where the docs are silent, the local gateway chooses: the policy is
// evaluated after the resource and method match (an undefined route stays
// MISSING_AUTHENTICATION_TOKEN, since a method ARN needs a method) and
// before the authorizer's identity source check (a refused address gets 403
// with or without a token), as the flowchart puts the "explicit deny?" test
// before anything of the authorizer.
//
// A refused request gets the ACCESS_DENIED gateway response with the
// message DenialMessage writes (x-amzn-ErrorType AccessDeniedException,
// https://repost.aws/knowledge-center/api-gateway-troubleshoot-403-forbidden).

// policyRefuses applies the policy before any authorizer: it answers and
// returns true when the request stops here.
func (g *Gateway) policyRefuses(w http.ResponseWriter, req *http.Request, rc *requestContext, match *router.Match, r *route, methodARN string, addr netip.Addr) bool {
	if r.auth != nil {
		if g.policy.Denies(methodARN, addr) {
			g.denyByPolicy(w, req, rc, match, methodARN, true)
			return true
		}
		return false
	}
	switch g.policy.Evaluate(methodARN, addr) {
	case resourcepolicy.Allow:
		return false
	case resourcepolicy.ExplicitDeny:
		g.denyByPolicy(w, req, rc, match, methodARN, true)
	default:
		g.denyByPolicy(w, req, rc, match, methodARN, false)
	}
	return true
}

// policyAllows reports whether the resource policy allows a request whose
// authorizer policy neither allowed nor denied it (table A: "Neither Allow
// nor Deny" and "Allow" is Allow).
func (g *Gateway) policyAllows(methodARN string, req *http.Request) bool {
	return g.policy != nil && g.policy.Evaluate(methodARN, resourcepolicy.ClientAddr(req.RemoteAddr)) == resourcepolicy.Allow
}

func (g *Gateway) denyByPolicy(w http.ResponseWriter, req *http.Request, rc *requestContext, match *router.Match, methodARN string, explicit bool) {
	rc.deniedByPolicy = true
	g.fail(w, req, rc, match, AccessDenied, ptr(resourcepolicy.DenialMessage(methodARN, explicit)))
}
