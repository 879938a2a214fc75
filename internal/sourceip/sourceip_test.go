package sourceip

import (
	"encoding/json"
	"math/rand/v2"
	"net/netip"
	"path"
	"strings"
	"testing"
)

func mustPrefixes(t testing.TB, ranges ...string) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	for _, r := range ranges {
		p, err := ParsePrefix(r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// effect is the result of evaluating a policy for one request.
type effect string

const (
	allowed effect = "Allow"
	denied  effect = "Deny"
	neither effect = "Neither"
)

// evaluatePolicy is IAM's evaluation of one policy document for an
// execute-api request: an explicit Deny wins, then an Allow, else neither.
// It reads the document as JSON, as API Gateway would, and understands
// exactly what Policy writes: Resource globs and aws:SourceIp conditions.
func evaluatePolicy(t *testing.T, doc Document, resource string, addr netip.Addr) effect {
	t.Helper()
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var parsed struct {
		Statement []struct {
			Effect, Principal, Action, Resource string
			Condition                           map[string]map[string][]string
		}
	}
	if err := json.Unmarshal(data, &parsed); err != nil {
		t.Fatal(err)
	}
	result := neither
	for _, s := range parsed.Statement {
		if s.Principal != "*" || s.Action != "execute-api:Invoke" {
			t.Fatalf("statement %+v is not an invoke by anyone", s)
		}
		if !globMatch(s.Resource, resource) || !conditionsHold(t, s.Condition, addr) {
			continue
		}
		switch s.Effect {
		case "Deny":
			return denied
		case "Allow":
			result = allowed
		default:
			t.Fatalf("effect %q", s.Effect)
		}
	}
	return result
}

// globMatch is IAM's ARN matching: * matches any run of characters (slashes
// included), ? one character.
func globMatch(pattern, s string) bool {
	if pattern == "" {
		return s == ""
	}
	switch pattern[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if globMatch(pattern[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && globMatch(pattern[1:], s[1:])
	default:
		return s != "" && s[0] == pattern[0] && globMatch(pattern[1:], s[1:])
	}
}

func conditionsHold(t *testing.T, conditions map[string]map[string][]string, addr netip.Addr) bool {
	for operator, keys := range conditions {
		for key, values := range keys {
			if key != "aws:SourceIp" {
				t.Fatalf("condition key %q", key)
			}
			in := false
			for _, v := range values {
				p, err := netip.ParsePrefix(v)
				if err != nil {
					t.Fatalf("condition value %q: %v", v, err)
				}
				in = in || p.Contains(addr)
			}
			switch operator {
			case "IpAddress":
				if !in {
					return false
				}
			case "NotIpAddress":
				if in {
					return false
				}
			default:
				t.Fatalf("condition operator %q", operator)
			}
		}
	}
	return true
}

// request is what API Gateway decides for one call, following its
// documented flow: with a Lambda authorizer, explicit denies first (the
// authorizer is not called), then the authorizer's policy combined with the
// resource policy by table A; without an authorizer, the resource policy
// alone must allow.
func request(t *testing.T, doc Document, stage, method, resourcePath string, addr netip.Addr, authorizer effect) (result effect, authorizerCalled bool) {
	t.Helper()
	resource := "execute-api:/" + path.Join(stage, method) + "/" + strings.TrimPrefix(resourcePath, "/")
	policy := evaluatePolicy(t, doc, resource, addr)
	if authorizer == "" { // no authorizer on this method
		if policy == allowed {
			return allowed, false
		}
		return denied, false
	}
	if policy == denied {
		return denied, false
	}
	// Table A: an explicit Deny anywhere wins; otherwise an Allow from
	// either side allows; neither is an implicit deny.
	switch {
	case authorizer == denied:
		return denied, true
	case authorizer == allowed || policy == allowed:
		return allowed, true
	default:
		return denied, true
	}
}

func TestPolicyComposesWithTheAuthorizer(t *testing.T) {
	partner := netip.MustParseAddr("203.0.113.7")
	blockedPartnerHost := netip.MustParseAddr("203.0.113.66")
	stranger := netip.MustParseAddr("198.51.100.1")
	v6Partner := netip.MustParseAddr("2001:db8::1")
	rules := Rules{
		Allow: mustPrefixes(t, "203.0.113.0/24", "2001:db8::/32"),
		Deny:  mustPrefixes(t, "203.0.113.64/26"),
	}
	denyOnly := Rules{Deny: mustPrefixes(t, "198.51.100.0/24")}

	tests := []struct {
		name       string
		rules      Rules
		preflight  bool
		method     string
		addr       netip.Addr
		authorizer effect // "" for a method without authorizer
		want       effect
		wantCalled bool
	}{
		{"allowed range, valid key", rules, true, "GET", partner, allowed, allowed, true},
		{"allowed IPv6 range, valid key", rules, true, "GET", v6Partner, allowed, allowed, true},
		{"allowed range, refused key: the authorizer still decides", rules, true, "GET", partner, denied, denied, true},
		{"allowed range, authorizer policy silent on the method: the resource policy grants nothing", rules, true, "POST", partner, neither, denied, true},
		{"outside the allow list, valid key: denied before the authorizer", rules, true, "GET", stranger, allowed, denied, false},
		{"denied inside the allowed range: deny wins", rules, true, "GET", blockedPartnerHost, allowed, denied, false},
		{"preflight from the allowed range", rules, true, "OPTIONS", partner, "", allowed, false},
		{"preflight from outside the allow list", rules, true, "OPTIONS", stranger, "", denied, false},
		{"preflight from a denied address", rules, true, "OPTIONS", blockedPartnerHost, "", denied, false},
		{"deny list only, other address, valid key", denyOnly, false, "GET", partner, allowed, allowed, true},
		{"deny list only, other address, refused key", denyOnly, false, "GET", partner, denied, denied, true},
		{"deny list only, denied address, valid key", denyOnly, false, "GET", stranger, allowed, denied, false},
		{"deny list only, preflight from another address", denyOnly, true, "OPTIONS", partner, "", allowed, false},
		{"deny list only, preflight from a denied address", denyOnly, true, "OPTIONS", stranger, "", denied, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, called := request(t, tc.rules.Policy(tc.preflight), "prod", tc.method, "/orders/42", tc.addr, tc.authorizer)
			if got != tc.want || called != tc.wantCalled {
				t.Errorf("got %s (authorizer called: %v), want %s (called: %v)", got, called, tc.want, tc.wantCalled)
			}
		})
	}
}

func TestRootPathPreflightIsAllowed(t *testing.T) {
	rules := Rules{Deny: mustPrefixes(t, "198.51.100.0/24")}
	// The root resource's ARN ends in "OPTIONS/": the wildcard matches the
	// empty path too.
	if got, _ := request(t, rules.Policy(true), "prod", "OPTIONS", "/", netip.MustParseAddr("192.0.2.1"), ""); got != allowed {
		t.Errorf("root preflight: %s", got)
	}
}

// TestPermitsAgreesWithThePolicy checks, over random addresses near and in
// the ranges, that the local decision (Permits) is the policy's decision
// for a caller with a valid key.
func TestPermitsAgreesWithThePolicy(t *testing.T) {
	rules := Rules{
		Allow: mustPrefixes(t, "10.0.0.0/8", "192.0.2.0/24", "2001:db8:1::/48"),
		Deny:  mustPrefixes(t, "10.20.0.0/16", "192.0.2.128/25", "2001:db8:1:ff::/64"),
	}
	doc := rules.Policy(false)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		var addr netip.Addr
		if rng.IntN(2) == 0 {
			b := [4]byte{[]byte{10, 192, 11}[rng.IntN(3)], byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))}
			if b[0] == 192 {
				b[1], b[2] = 0, 2
			}
			addr = netip.AddrFrom4(b)
		} else {
			b := [16]byte{0x20, 0x01, 0x0d, 0xb8, 0, byte(rng.IntN(3)), 0, byte(rng.IntN(256))}
			b[15] = byte(rng.IntN(256))
			addr = netip.AddrFrom16(b)
		}
		got, _ := request(t, doc, "prod", "GET", "/x", addr, allowed)
		if (got == allowed) != rules.Permits(addr) {
			t.Fatalf("%s: policy says %s, Permits says %v", addr, got, rules.Permits(addr))
		}
	}
	if !rules.Permits(netip.MustParseAddr("::ffff:10.1.2.3")) {
		t.Error("an IPv4-mapped address is its IPv4 address")
	}
}

// TestRemovingEveryRuleStillReplacesTheOldPolicy: CloudFormation leaves a
// RestApi's Policy in force when the property leaves the template
// (aws/aws-cdk#21840), so empty rules must still write a policy, one that
// decides every request keygate's authorizer can answer exactly as no policy
// would.
func TestRemovingEveryRuleStillReplacesTheOldPolicy(t *testing.T) {
	var none Rules
	if !none.Permits(netip.MustParseAddr("192.0.2.1")) {
		t.Error("no rules must permit everyone")
	}
	for _, preflight := range []bool{false, true} {
		doc := none.Policy(preflight)
		if len(doc.Statement) == 0 {
			t.Fatalf("preflight %v: empty rules wrote no statement; the previous rules would stay in force", preflight)
		}
		for _, s := range doc.Statement {
			if s.Effect != "Allow" || s.Condition != nil {
				t.Errorf("statement %+v: without rules nothing may depend on the address", s)
			}
		}
		addrs := []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::7")}
		for _, addr := range addrs {
			// What keygate's authorizer returns: an Allow of the whole
			// stage for a valid key, a refusal (here: denied) otherwise.
			for _, authorizer := range []effect{allowed, denied} {
				got, called := request(t, doc, "prod", "GET", "/orders/42", addr, authorizer)
				if got != authorizer || !called {
					t.Errorf("%s, authorizer %s: got %s (authorizer called: %v), want what the authorizer says", addr, authorizer, got, called)
				}
			}
			// A method without authorizer: the CORS preflight passes, as
			// it does with no policy at all.
			if got, _ := request(t, doc, "prod", "OPTIONS", "/orders/42", addr, ""); got != allowed {
				t.Errorf("%s: preflight %s", addr, got)
			}
		}
	}
}

func TestParsePrefix(t *testing.T) {
	for _, ok := range []string{"203.0.113.0/24", "0.0.0.0/0", "198.51.100.7/32", "2001:db8::/32", "2001:db8::1/128"} {
		if _, err := ParsePrefix(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for in, want := range map[string]string{
		"203.0.113.7":         "write 203.0.113.7/32",
		"2001:db8::1":         "write 2001:db8::1/128",
		"10.1.2.3/16":         "the range it covers is 10.1.0.0/16",
		"10.0.0.0/33":         "not a CIDR range",
		"example.com/24":      "not a CIDR range",
		"::ffff:10.0.0.0/104": "IPv4-mapped",
		"":                    "not a CIDR range",
	} {
		_, err := ParsePrefix(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParsePrefix(%q) = %v, want an error with %q", in, err, want)
		}
	}
}

// TestPolicyLengthCountsTheARNAPIGatewayExpands: API Gateway stores the
// policy with every "execute-api:/" expanded into the API's ARN, so a policy
// that fits as written can exceed the quota as stored.
func TestPolicyLengthCountsTheARNAPIGatewayExpands(t *testing.T) {
	rules := Rules{Allow: mustPrefixes(t, "192.0.2.0/24"), Deny: mustPrefixes(t, "192.0.2.128/25")}
	doc := rules.Policy(true)
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	stored := strings.ReplaceAll(string(data), `"execute-api:/`, `"`+worstCaseAPIARN+"/")
	if got := rules.PolicyLength(true); got != len(stored) {
		t.Errorf("PolicyLength = %d, want %d, the length with every resource expanded:\n%s", got, len(stored), stored)
	}
	if len(doc.Statement) != 3 || len(stored)-len(data) != 3*(len(worstCaseAPIARN)-len("execute-api:")) {
		t.Errorf("expected three resources to expand in %s", data)
	}
	// The worst case is at least as long as a real ARN of the longest
	// partition and region names there are today.
	longestToday := "arn:aws-us-gov:execute-api:ap-southeast-2:123456789012:abcdefghij"
	if len(worstCaseAPIARN) < len(longestToday) {
		t.Errorf("worst-case ARN %q is shorter than %q", worstCaseAPIARN, longestToday)
	}

	// Ranges whose compact policy fits the quota as written, but not once
	// expanded: refused by the length that counts.
	var near Rules
	for i := 0; ; i++ {
		near.Deny = append(near.Deny, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24))
		compact, _ := json.Marshal(near.Policy(false))
		if len(compact) > MaxKeptPolicyLength-40 {
			break
		}
	}
	compact, _ := json.Marshal(near.Policy(false))
	if len(compact) > MaxKeptPolicyLength || near.PolicyLength(false) <= MaxKeptPolicyLength {
		t.Errorf("compact %d, stored %d: want a policy that fits only before expansion", len(compact), near.PolicyLength(false))
	}
}

func TestPolicyLengthGrowsWithTheRanges(t *testing.T) {
	few := Rules{Allow: mustPrefixes(t, "192.0.2.0/24")}
	var many Rules
	for i := range 700 {
		many.Allow = append(many.Allow, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24))
	}
	if n := few.PolicyLength(true); n > 500 {
		t.Errorf("one range: %d characters", n)
	}
	if n := many.PolicyLength(false); n <= MaxPolicyLength {
		t.Errorf("700 ranges: %d characters, expected more than the quota", n)
	}
}

// BenchmarkPermits is the per-request cost of the rules in a local gateway:
// a realistic list of a few partner ranges and a blocked subnet.
func BenchmarkPermits(b *testing.B) {
	rules := Rules{
		Allow: mustPrefixes(b, "203.0.113.0/24", "198.51.100.0/24", "192.0.2.0/26", "2001:db8::/32", "10.0.0.0/8"),
		Deny:  mustPrefixes(b, "203.0.113.64/26", "10.20.0.0/16"),
	}
	addrs := []netip.Addr{netip.MustParseAddr("203.0.113.7"), netip.MustParseAddr("203.0.113.70"), netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("2001:db8::1")}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		rules.Permits(addrs[i%len(addrs)])
	}
}

func BenchmarkPolicy(b *testing.B) {
	var rules Rules
	for i := range 100 {
		rules.Allow = append(rules.Allow, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(i), 0}), 24))
	}
	b.ReportAllocs()
	for b.Loop() {
		rules.PolicyLength(true)
	}
}
