// Package sourceip decides which client addresses may call a keygate API and
// writes that decision as the API's resource policy. It is plain Go: the
// stack synthesizes the policy from it, and a local gateway can apply the
// same rules to a client address with Permits.
//
// How API Gateway combines a resource policy with a Lambda authorizer
// decides how the policy must be written
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-authorization-flow.html,
// "Lambda authorizer and resource policy" and table A):
//
//   - Before it calls the authorizer, API Gateway looks only for an explicit
//     Deny in the resource policy. An Allow conditioned on IpAddress does not
//     stop anyone: an address outside it is "neither allowed nor denied" and
//     still reaches the authorizer, which allows any valid key. So an allow
//     list is written as a Deny with NotIpAddress.
//   - After the authorizer, an Allow in the resource policy turns an
//     authorizer policy that neither allows nor denies the method into an
//     Allow (table A: "Neither" + "Allow" = Allow). So the policy grants
//     nothing on methods that have the authorizer: it only takes away.
//   - A method without an authorizer (the CORS preflight OPTIONS) is
//     evaluated against the resource policy alone, which then needs an
//     explicit Allow ("API Gateway resource policy only"): the policy allows
//     OPTIONS, and only OPTIONS, from the permitted addresses.
//
// Without rules there is still a policy, one that allows everything: see
// [Rules.Policy] for why, and why that grants nothing the authorizer does
// not.
package sourceip

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
)

// Rules are the allowed and denied source address ranges of one API. An
// empty Allow permits every address the Deny list does not name; a Deny
// always wins over an Allow, as an explicit Deny does in IAM.
type Rules struct {
	Allow []netip.Prefix
	Deny  []netip.Prefix
}

// Empty reports whether there are no rules at all (no resource policy).
func (r Rules) Empty() bool { return len(r.Allow) == 0 && len(r.Deny) == 0 }

// Permits reports whether a request from addr passes the rules, the way
// API Gateway evaluates the policy Policy writes (aws:SourceIp with
// IpAddress and NotIpAddress).
func (r Rules) Permits(addr netip.Addr) bool {
	addr = addr.Unmap()
	contains := func(prefixes []netip.Prefix) bool {
		return slices.ContainsFunc(prefixes, func(p netip.Prefix) bool { return p.Contains(addr) })
	}
	if contains(r.Deny) {
		return false
	}
	return len(r.Allow) == 0 || contains(r.Allow)
}

// ParsePrefix reads one CIDR range as the config gives it. It accepts only
// the canonical form (the network address with its prefix length), so that
// what the policy says is what the operator meant: "10.1.2.3/16" is an error
// that suggests "10.1.0.0/16", and a single address needs /32 or /128.
func ParsePrefix(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		if addr, addrErr := netip.ParseAddr(s); addrErr == nil {
			return netip.Prefix{}, fmt.Errorf("%q is an address, not a range; write %s/%d for that one address", s, addr.Unmap(), addr.Unmap().BitLen())
		}
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR range; use e.g. 203.0.113.0/24 or 2001:db8::/32", s)
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, fmt.Errorf("%q is an IPv4-mapped IPv6 range; write the IPv4 range instead", s)
	}
	if p.Addr().Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q has an IPv6 zone, which a source address never has; remove it", s)
	}
	if masked := p.Masked(); masked != p {
		return netip.Prefix{}, fmt.Errorf("%q has host bits set; the range it covers is %s, write that", s, masked)
	}
	return p, nil
}

// Statement is one IAM policy statement of the resource policy.
type Statement struct {
	Sid       string                         `json:"Sid"`
	Effect    string                         `json:"Effect"`
	Principal string                         `json:"Principal"`
	Action    string                         `json:"Action"`
	Resource  string                         `json:"Resource"`
	Condition map[string]map[string][]string `json:"Condition,omitempty"`
}

// Document is an IAM policy document.
type Document struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

const (
	invoke = "execute-api:Invoke"
	// execute-api:/ is API Gateway's shorthand for this API's ARN in its own
	// resource policy; the rest is <stage>/<method>/<path>.
	resourcePrefix = "execute-api:/"
	everyMethod    = resourcePrefix + "*"
	preflightOnly  = resourcePrefix + "*/OPTIONS/*"
	sourceIPKey    = "aws:SourceIp"
)

// Policy is the resource policy that enforces r on an API whose methods all
// use a Lambda authorizer, except the CORS preflight OPTIONS methods when
// preflight is true. See the package comment for why it has the shape it
// has.
//
// Empty rules still make a policy, a single Allow of every method
// (AllowAnySourceIp), because a stack must never go without one once it had
// one: CloudFormation does not clear a RestApi's Policy when the property
// leaves the template, so removing every rule would leave the last rules in
// force (aws/aws-cdk#21840; serverless/serverless#6789, fixed in
// serverless/serverless#7138 by always writing such a default policy).
// This Allow decides exactly what no policy decides, by the authorization
// flow's table A
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-authorization-flow.html):
//   - There is no Deny, so nothing is refused before the authorizer.
//   - An authorized method: the authorizer's Allow with this Allow is an
//     Allow, as it is alone; a refused key is a 401 before any policy
//     counts. The only outcome it would change is an authorizer policy
//     that neither allows nor denies the method (an implicit deny alone, an
//     Allow with this), and keygate's authorizer never returns one: it
//     allows every method of the calling stage, <api>/<stage>/*/*
//     (lambda/authorizer/authorize, pinned by its tests), and a stage has
//     its own authorizer cache.
//   - A method without an authorizer (the CORS preflight) needs an
//     explicit Allow once there is a policy; this is one.
func (r Rules) Policy(preflight bool) Document {
	doc := Document{Version: "2012-10-17", Statement: []Statement{}}
	if r.Empty() {
		doc.Statement = append(doc.Statement, Statement{
			Sid: "AllowAnySourceIp", Effect: "Allow", Principal: "*", Action: invoke, Resource: everyMethod,
		})
		return doc
	}
	allow := prefixStrings(r.Allow)
	deny := prefixStrings(r.Deny)
	if len(allow) > 0 {
		doc.Statement = append(doc.Statement, Statement{
			Sid: "DenyOutsideAllowedSourceIps", Effect: "Deny", Principal: "*", Action: invoke, Resource: everyMethod,
			Condition: map[string]map[string][]string{"NotIpAddress": {sourceIPKey: allow}},
		})
	}
	if len(deny) > 0 {
		doc.Statement = append(doc.Statement, Statement{
			Sid: "DenyDeniedSourceIps", Effect: "Deny", Principal: "*", Action: invoke, Resource: everyMethod,
			Condition: map[string]map[string][]string{"IpAddress": {sourceIPKey: deny}},
		})
	}
	if preflight {
		// The Deny statements above still apply to preflights: an explicit
		// Deny wins over this Allow.
		doc.Statement = append(doc.Statement, Statement{
			Sid: "AllowCorsPreflight", Effect: "Allow", Principal: "*", Action: invoke, Resource: preflightOnly,
		})
	}
	return doc
}

// MaxPolicyLength is API Gateway's default quota on the length of a
// resource policy, in characters ("Quotas for configuring and running a
// REST API in API Gateway": 8192, adjustable;
// https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-execution-service-limits-table.html).
const MaxPolicyLength = 8192

// PolicyLengthMargin is what keygate keeps free under MaxPolicyLength for
// what it cannot measure offline: how API Gateway formats the policy it
// stores beyond the ARN expansion PolicyLength accounts for. A policy that
// still does not fit fails the RestApi update, and CloudFormation rolls
// back; the margin makes that a config error instead.
const PolicyLengthMargin = 256

// MaxKeptPolicyLength is the longest policy PolicyLength may report.
const MaxKeptPolicyLength = MaxPolicyLength - PolicyLengthMargin

// worstCaseAPIARN is the longest ARN of a REST API that "execute-api:" can
// stand for: API Gateway saves the policy with "execute-api:/" expanded
// into the API's own ARN, arn:<partition>:execute-api:<region>:<account>:<api-id>/,
// so the stored policy is longer than the template's. The partition is the
// longest there is (aws-us-gov), the region two characters longer than
// today's longest codes (ap-southeast-2, eusc-de-east-1: 14), the account
// 12 digits and the API id 10 characters, as API Gateway generates them.
const worstCaseAPIARN = "arn:aws-us-gov:execute-api:xx-xxxxxxxxxxx-9:123456789012:a1b2c3d4e5"

// quotedResourcePrefix starts every resource of the policy's JSON.
var quotedResourcePrefix = []byte(`"` + resourcePrefix)

// PolicyLength is the length of the policy as API Gateway stores it, at
// worst: compact JSON with every "execute-api:" resource expanded into the
// longest ARN an API can have (worstCaseAPIARN). Compare it with
// MaxKeptPolicyLength.
func (r Rules) PolicyLength(preflight bool) int {
	data, err := json.Marshal(r.Policy(preflight))
	if err != nil {
		panic(err) // a Document of strings always marshals
	}
	expansions := bytes.Count(data, quotedResourcePrefix)
	return len(data) + expansions*(len(worstCaseAPIARN)-len("execute-api:"))
}

func prefixStrings(prefixes []netip.Prefix) []string {
	out := make([]string, len(prefixes))
	for i, p := range prefixes {
		out[i] = p.String()
	}
	return out
}
