// Package resourcepolicy applies a REST API's resource policy, as the
// synthesized template has it, to a request's method ARN and client address
// the way API Gateway does for the statements keygate writes (package
// sourceip): Effect Allow or Deny, Principal "*", Action execute-api:Invoke,
// Resource patterns with wildcards (the execute-api:/ shorthand included),
// and IpAddress / NotIpAddress conditions on aws:SourceIp. A policy with
// anything else is refused by Compile with a message naming it, so the
// local gateway never serves a policy it would evaluate differently from
// API Gateway.
//
// How the result combines with the method's authorization is the caller's
// business (see Policy.Evaluate and Policy.Denies, and
// https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-authorization-flow.html).
package resourcepolicy

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
)

// Effect is the policy's verdict for one request.
type Effect int

// The three outcomes of IAM policy evaluation: no statement applies
// (Neither, an implicit deny where an explicit Allow is needed), an Allow
// applies and no Deny does, or a Deny applies (it wins over any Allow).
const (
	Neither Effect = iota
	Allow
	ExplicitDeny
)

func (e Effect) String() string {
	switch e {
	case Allow:
		return "Allow"
	case ExplicitDeny:
		return "ExplicitDeny"
	}
	return "Neither"
}

// Policy is a compiled resource policy. It is read-only after Compile and
// safe for concurrent use.
type Policy struct {
	statements []statement
	hasDeny    bool
}

type statement struct {
	deny       bool
	resources  []pattern
	conditions []condition
}

// condition is one IpAddress or NotIpAddress test on aws:SourceIp: the
// address is in one of the ranges (IAM ORs a key's values), negated for
// NotIpAddress.
type condition struct {
	negate bool
	ranges []netip.Prefix
}

// Compile reads a RestApi's Policy property (a JSON object, or a string
// holding one, as CloudFormation accepts both) for the API whose ARN is
// apiARN (arn:aws:execute-api:<region>:<account>:<api id>). The
// "execute-api:/" shorthand stands for apiARN + "/": "API Gateway converts
// the abbreviated syntax to the full ARN when you save the resource policy"
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-resource-policies-examples.html).
// A nil doc is no policy: Compile returns nil, and a nil *Policy is never
// consulted.
func Compile(doc any, apiARN string) (*Policy, error) {
	if doc == nil {
		return nil, nil
	}
	if s, ok := doc.(string); ok {
		var parsed any
		if err := json.Unmarshal([]byte(s), &parsed); err != nil {
			return nil, fmt.Errorf("resource policy: the Policy string is not JSON: %v", err)
		}
		doc = parsed
	}
	top, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("resource policy: Policy is %s, not a policy document", describe(doc))
	}
	for _, k := range slices.Sorted(maps.Keys(top)) {
		switch k {
		case "Version":
			// 2008-10-17 and 2012-10-17 differ only in policy variables,
			// which the accepted resources cannot hold (refused below).
			if v := top[k]; v != "2012-10-17" && v != "2008-10-17" {
				return nil, fmt.Errorf("resource policy: Version %s is not an IAM policy language version (2012-10-17)", describe(v))
			}
		case "Id", "Statement":
		default:
			return nil, fmt.Errorf("resource policy: the element %s is not emulated locally (only Version, Id and Statement)", k)
		}
	}
	var raw []any
	switch s := top["Statement"].(type) {
	case []any:
		raw = s
	case map[string]any:
		raw = []any{s}
	default:
		return nil, fmt.Errorf("resource policy: Statement is %s, not a list of statements", describe(top["Statement"]))
	}
	p := &Policy{}
	var errs []error
	for i, r := range raw {
		st, err := compileStatement(r, apiARN)
		if err != nil {
			errs = append(errs, fmt.Errorf("resource policy: Statement[%d]%s: %w", i, sidOf(r), err))
			continue
		}
		p.statements = append(p.statements, st)
		p.hasDeny = p.hasDeny || st.deny
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

func sidOf(r any) string {
	if m, ok := r.(map[string]any); ok {
		if sid, ok := m["Sid"].(string); ok && sid != "" {
			return " (" + sid + ")"
		}
	}
	return ""
}

const invokeAction = "execute-api:Invoke"

func compileStatement(r any, apiARN string) (statement, error) {
	m, ok := r.(map[string]any)
	if !ok {
		return statement{}, fmt.Errorf("is %s, not a statement", describe(r))
	}
	var st statement
	for _, k := range slices.Sorted(maps.Keys(m)) {
		switch k {
		case "Sid", "Effect", "Principal", "Action", "Resource", "Condition":
		default:
			return st, fmt.Errorf("the element %s is not emulated locally (only Sid, Effect, Principal, Action, Resource and Condition)", k)
		}
	}
	switch m["Effect"] {
	case "Allow":
	case "Deny":
		st.deny = true
	default:
		return st, fmt.Errorf("Effect %s: want Allow or Deny", describe(m["Effect"]))
	}
	if !everyone(m["Principal"]) {
		return st, fmt.Errorf(`Principal %s is not emulated locally: only "*" (anyone) is, since a named principal needs IAM authorization, which the local gateway does not do`, describe(m["Principal"]))
	}
	actions, err := stringList("Action", m["Action"])
	if err != nil {
		return st, err
	}
	for _, a := range actions {
		// Action names are case-insensitive in IAM; a wildcard that covers
		// execute-api:Invoke (execute-api:*, *) is the same statement.
		if action := newPattern(strings.ToLower(a)); !action.match(strings.ToLower(invokeAction)) {
			return st, fmt.Errorf("Action %q is not emulated locally (only %s)", a, invokeAction)
		}
	}
	resources, err := stringList("Resource", m["Resource"])
	if err != nil {
		return st, err
	}
	for _, res := range resources {
		full, err := expandResource(res, apiARN)
		if err != nil {
			return st, err
		}
		st.resources = append(st.resources, newPattern(full))
	}
	if c, present := m["Condition"]; present {
		st.conditions, err = compileConditions(c)
		if err != nil {
			return st, err
		}
	}
	return st, nil
}

// everyone reports a Principal of "*" or {"AWS": "*"}, the two spellings
// of anyone, authenticated or not.
func everyone(v any) bool {
	if v == "*" {
		return true
	}
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return false
	}
	aws, err := stringList("Principal.AWS", m["AWS"])
	return err == nil && len(aws) == 1 && aws[0] == "*"
}

func expandResource(res, apiARN string) (string, error) {
	if strings.Contains(res, "${") {
		return "", fmt.Errorf("Resource %q: policy variables are not emulated locally", res)
	}
	if rest, ok := strings.CutPrefix(res, "execute-api:/"); ok {
		return apiARN + "/" + rest, nil
	}
	if res == "*" || strings.HasPrefix(res, "arn:") {
		return res, nil
	}
	return "", fmt.Errorf(`Resource %q: want execute-api:/<stage>/<method>/<path>, an execute-api ARN or "*"`, res)
}

const sourceIPKey = "aws:sourceip" // condition keys are case-insensitive

func compileConditions(v any) ([]condition, error) {
	ops, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("Condition is %s, not a map of operators", describe(v))
	}
	var out []condition
	for _, op := range slices.Sorted(maps.Keys(ops)) {
		var negate bool
		switch op {
		case "IpAddress":
		case "NotIpAddress":
			negate = true
		default:
			return nil, fmt.Errorf("Condition operator %s is not emulated locally (only IpAddress and NotIpAddress on aws:SourceIp)", op)
		}
		keys, ok := ops[op].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("Condition %s is %s, not a map of condition keys", op, describe(ops[op]))
		}
		for _, key := range slices.Sorted(maps.Keys(keys)) {
			if strings.ToLower(key) != sourceIPKey {
				return nil, fmt.Errorf("Condition %s key %s is not emulated locally (only aws:SourceIp)", op, key)
			}
			values, err := stringList("Condition "+op+" "+key, keys[key])
			if err != nil {
				return nil, err
			}
			c := condition{negate: negate}
			for _, s := range values {
				r, err := parseRange(s)
				if err != nil {
					return nil, fmt.Errorf("Condition %s %s: %w", op, key, err)
				}
				c.ranges = append(c.ranges, r)
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// parseRange reads an aws:SourceIp value: a CIDR range, or a single
// address (IAM accepts both; the IP address condition operators take
// "the standard CIDR format" and a bare address is that address alone).
func parseRange(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	return netip.Prefix{}, fmt.Errorf("%q is not an IPv4 or IPv6 address or CIDR range", s)
}

func stringList(what string, v any) ([]string, error) {
	switch v := v.(type) {
	case string:
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%s holds %s, not a string", what, describe(e))
			}
			out = append(out, s)
		}
		if len(out) > 0 {
			return out, nil
		}
	}
	return nil, fmt.Errorf("%s is %s; want a string or a list of strings", what, describe(v))
}

// describe names a JSON value for an error message: short literals as
// they are, objects (an unresolved CloudFormation function, say) in full.
func describe(v any) string {
	if v == nil {
		return "missing"
	}
	data, _ := json.Marshal(v)
	return string(data)
}

// HasDeny reports whether any statement is a Deny: without one, no request
// is refused before an authorizer.
func (p *Policy) HasDeny() bool { return p.hasDeny }

// Denies reports whether a Deny statement applies to the request: the
// check API Gateway makes before it calls a Lambda authorizer ("Before
// calling the Lambda authorizer, API Gateway first evaluates the policy and
// checks for any explicit denials. If found, the caller is denied access
// immediately", apigateway-authorization-flow.html). addr is the client's
// address, invalid when it is not known.
func (p *Policy) Denies(methodARN string, addr netip.Addr) bool {
	if !p.hasDeny {
		return false
	}
	for i := range p.statements {
		if st := &p.statements[i]; st.deny && st.applies(methodARN, addr) {
			return true
		}
	}
	return false
}

// Evaluate is the policy's verdict for execute-api:Invoke on methodARN
// (arn:aws:execute-api:<region>:<account>:<api>/<stage>/<METHOD>/<path>)
// from addr: an applying Deny wins over any Allow.
func (p *Policy) Evaluate(methodARN string, addr netip.Addr) Effect {
	verdict := Neither
	for i := range p.statements {
		st := &p.statements[i]
		if !st.applies(methodARN, addr) {
			continue
		}
		if st.deny {
			return ExplicitDeny
		}
		verdict = Allow
	}
	return verdict
}

func (st *statement) applies(methodARN string, addr netip.Addr) bool {
	matched := false
	for i := range st.resources {
		if st.resources[i].match(methodARN) {
			matched = true
			break
		}
	}
	if !matched {
		return false
	}
	// Every condition of a statement must hold (IAM ANDs operators and
	// keys).
	for i := range st.conditions {
		if !st.conditions[i].holds(addr) {
			return false
		}
	}
	return true
}

func (c *condition) holds(addr netip.Addr) bool {
	if !addr.IsValid() {
		// A key missing from the request context: a positive operator does
		// not match, a negated one does (IAM, "Condition operators").
		return c.negate
	}
	in := false
	for _, r := range c.ranges {
		if r.Contains(addr) {
			in = true
			break
		}
	}
	return in != c.negate
}

// ClientAddr is the aws:SourceIp of a request from remoteAddr (host:port,
// as net/http gives it): the TCP peer's address, IPv4-mapped IPv6
// addresses as IPv4 and without a zone. Headers such as X-Forwarded-For do
// not count, as they do not for API Gateway's $context.identity.sourceIp.
// It is invalid when remoteAddr is not an address.
func ClientAddr(remoteAddr string) netip.Addr {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap().WithZone("")
}

// DenialMessage is $context.error.message of a request the resource policy
// refuses: "User: anonymous is not authorized to perform:
// execute-api:Invoke on resource: <method ARN>", with " with an explicit
// deny" when a Deny applied (an implicit deny has none). API Gateway masks
// the account in it, all but its last four digits
// (https://repost.aws/knowledge-center/api-gateway-troubleshoot-403-forbidden
// lists both messages, with x-amzn-ErrorType AccessDeniedException; answers
// quoted from deployed APIs read
// arn:aws:execute-api:eu-west-2:********2087:uiv82new6b/dev/GET/a).
func DenialMessage(methodARN string, explicit bool) string {
	msg := "User: anonymous is not authorized to perform: " + invokeAction + " on resource: " + maskAccount(methodARN)
	if explicit {
		msg += " with an explicit deny"
	}
	return msg
}

// maskAccount masks the fifth field of an ARN, the account id.
func maskAccount(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || len(parts[4]) < 4 {
		return arn
	}
	parts[4] = strings.Repeat("*", len(parts[4])-4) + parts[4][len(parts[4])-4:]
	return strings.Join(parts, ":")
}
