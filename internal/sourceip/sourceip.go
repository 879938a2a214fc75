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
package sourceip

import (
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
	everyMethod   = "execute-api:/*"
	preflightOnly = "execute-api:/*/OPTIONS/*"
	sourceIPKey   = "aws:SourceIp"
)

// Policy is the resource policy that enforces r on an API whose methods all
// use a Lambda authorizer, except the CORS preflight OPTIONS methods when
// preflight is true. It is empty (no statements) when r is empty and there
// is nothing to allow. See the package comment for why it has the shape it
// has.
func (r Rules) Policy(preflight bool) Document {
	doc := Document{Version: "2012-10-17", Statement: []Statement{}}
	if r.Empty() {
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
// resource policy, in characters ("Amazon API Gateway quotas for
// configuring and running a REST API": 8192, adjustable).
const MaxPolicyLength = 8192

// PolicyLength is the length of the policy as JSON, without spaces: the
// smallest form API Gateway could store. A policy near the quota may still
// pass this and fail on deploy if API Gateway counts differently.
func (r Rules) PolicyLength(preflight bool) int {
	data, err := json.Marshal(r.Policy(preflight))
	if err != nil {
		panic(err) // a Document of strings always marshals
	}
	return len(data)
}

func prefixStrings(prefixes []netip.Prefix) []string {
	out := make([]string, len(prefixes))
	for i, p := range prefixes {
		out[i] = p.String()
	}
	return out
}
