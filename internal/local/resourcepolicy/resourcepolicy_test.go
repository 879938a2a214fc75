package resourcepolicy

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/sourceip"
)

const apiARN = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5"

func arn(stage, method, path string) string {
	return apiARN + "/" + stage + "/" + method + path
}

// generated is the policy keygate synthesizes for rules, as the template
// holds it (decoded JSON).
func generated(t testing.TB, rules sourceip.Rules, preflight bool) any {
	t.Helper()
	data, err := json.Marshal(rules.Policy(preflight))
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func prefixes(s ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(s))
	for i, p := range s {
		out[i] = netip.MustParsePrefix(p)
	}
	return out
}

func TestEvaluateTheStatementsKeygateWrites(t *testing.T) {
	allowAndDeny := sourceip.Rules{Allow: prefixes("203.0.113.0/24", "2001:db8::/32"), Deny: prefixes("203.0.113.64/26", "2001:db8:bad::/48")}
	denyOnly := sourceip.Rules{Deny: prefixes("198.51.100.0/24")}
	get, options := arn("prod", "GET", "/orders/42"), arn("prod", "OPTIONS", "/orders/42")
	for _, tc := range []struct {
		name      string
		rules     sourceip.Rules
		preflight bool
		arn, addr string
		want      Effect
		denies    bool
	}{
		// No rules: the single AllowAnySourceIp.
		{"no rules, any address", sourceip.Rules{}, true, get, "198.51.100.7", Allow, false},
		{"no rules, a preflight", sourceip.Rules{}, true, options, "2001:db8::1", Allow, false},
		{"no rules, the root path", sourceip.Rules{}, false, arn("prod", "GET", "/"), "10.0.0.1", Allow, false},
		// An allow list is a Deny of everything outside it.
		{"allowed IPv4", allowAndDeny, true, get, "203.0.113.7", Neither, false},
		{"outside the allow list", allowAndDeny, true, get, "198.51.100.7", ExplicitDeny, true},
		{"allowed IPv6", allowAndDeny, true, get, "2001:db8:1::5", Neither, false},
		{"IPv6 outside the allow list", allowAndDeny, true, get, "2001:db9::1", ExplicitDeny, true},
		{"deny beats allow, IPv4", allowAndDeny, true, get, "203.0.113.70", ExplicitDeny, true},
		{"deny beats allow, IPv6", allowAndDeny, true, get, "2001:db8:bad::1", ExplicitDeny, true},
		// The preflight Allow admits an allowed address only.
		{"preflight from an allowed address", allowAndDeny, true, options, "203.0.113.7", Allow, false},
		{"preflight from a denied address", allowAndDeny, true, options, "203.0.113.70", ExplicitDeny, true},
		{"preflight from outside", allowAndDeny, true, options, "192.0.2.1", ExplicitDeny, true},
		{"preflight, root path", allowAndDeny, true, arn("prod", "OPTIONS", "/"), "203.0.113.7", Allow, false},
		{"no CORS: a preflight is not allowed", allowAndDeny, false, options, "203.0.113.7", Neither, false},
		// A deny list alone.
		{"deny list, denied", denyOnly, false, get, "198.51.100.200", ExplicitDeny, true},
		{"deny list, other address", denyOnly, false, get, "203.0.113.7", Neither, false},
		{"deny list, IPv6 is not in an IPv4 range", denyOnly, false, get, "2001:db8::1", Neither, false},
		{"deny list, an IPv4-mapped peer is its IPv4 address", denyOnly, false, get, "::ffff:198.51.100.1", ExplicitDeny, true},
		// The shorthand is this API's ARN, nobody else's.
		{"another API", allowAndDeny, true, "arn:aws:execute-api:eu-west-1:123456789012:zzzzzzzzzz/prod/GET/x", "198.51.100.7", Neither, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Compile(generated(t, tc.rules, tc.preflight), apiARN)
			if err != nil {
				t.Fatal(err)
			}
			addr := ClientAddr(netip.AddrPortFrom(netip.MustParseAddr(tc.addr), 443).String())
			if got := p.Evaluate(tc.arn, addr); got != tc.want {
				t.Errorf("Evaluate = %v, want %v", got, tc.want)
			}
			if got := p.Denies(tc.arn, addr); got != tc.denies {
				t.Errorf("Denies = %v, want %v", got, tc.denies)
			}
			// Evaluate must agree with the rules' own decision wherever the
			// policy has something to say about an authorized method.
			if tc.arn == get && !tc.rules.Empty() && tc.rules.Permits(addr) == tc.denies {
				t.Errorf("Permits(%s) = %v, but the policy denies = %v", addr, tc.rules.Permits(addr), tc.denies)
			}
		})
	}
}

func TestNoPolicyIsNil(t *testing.T) {
	p, err := Compile(nil, apiARN)
	if p != nil || err != nil {
		t.Errorf("Compile(nil) = %v, %v", p, err)
	}
}

func TestCompileAcceptsIAMSpellings(t *testing.T) {
	// The policy as a string, a single statement object, {"AWS": "*"},
	// lists of one, a bare address, a full ARN, "?" and "*" patterns.
	doc := `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":{"AWS":["*"]},"Action":["execute-api:*"],
		"Resource":["arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/pro?/*/admin/*"],
		"Condition":{"IpAddress":{"AWS:SourceIp":"192.0.2.1"}}}}`
	p, err := Compile(doc, apiARN)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		arn, addr string
		want      Effect
	}{
		{arn("prod", "GET", "/admin/x"), "192.0.2.1", ExplicitDeny},
		{arn("prox", "DELETE", "/admin/a/b"), "192.0.2.1", ExplicitDeny},
		{arn("prod", "GET", "/admin/x"), "192.0.2.2", Neither},
		{arn("production", "GET", "/admin/x"), "192.0.2.1", Neither},
		{arn("prod", "GET", "/users/x"), "192.0.2.1", Neither},
	} {
		if got := p.Evaluate(tc.arn, netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("%s from %s: %v, want %v", tc.arn, tc.addr, got, tc.want)
		}
	}
}

func TestAnUnknownAddressIsAMissingKey(t *testing.T) {
	doc := generated(t, sourceip.Rules{Allow: prefixes("192.0.2.0/24"), Deny: prefixes("192.0.2.128/25")}, false)
	p, _ := Compile(doc, apiARN)
	// NotIpAddress holds for a missing key, IpAddress does not: the allow
	// list's Deny applies.
	if got := p.Evaluate(arn("p", "GET", "/"), ClientAddr("not-an-address")); got != ExplicitDeny {
		t.Errorf("%v, want ExplicitDeny", got)
	}
}

func TestClientAddr(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:5000":           "127.0.0.1",
		"[::1]:5000":               "::1",
		"[::ffff:192.0.2.1]:80":    "192.0.2.1",
		"[fe80::1%eth0]:80":        "fe80::1",
		"192.0.2.1":                "invalid IP",
		"@":                        "invalid IP",
		"[2001:db8::7]:65535":      "2001:db8::7",
		"203.0.113.9:1, 10.0.0.1:": "invalid IP",
	} {
		if got := ClientAddr(in).String(); got != want {
			t.Errorf("ClientAddr(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestCompileRefusesWhatItDoesNotEmulate(t *testing.T) {
	base := func(extra string) string {
		return `{"Version":"2012-10-17","Statement":[{"Sid":"S","Effect":"Deny","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*"` + extra + `}]}`
	}
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"a named principal", strings.Replace(base(""), `"Principal":"*"`, `"Principal":{"AWS":"arn:aws:iam::123456789012:root"}`, 1), `Statement[0] (S): Principal {"AWS":"arn:aws:iam::123456789012:root"} is not emulated locally`},
		{"NotPrincipal", strings.Replace(base(""), `"Principal":"*"`, `"NotPrincipal":"*"`, 1), "the element NotPrincipal is not emulated"},
		{"NotResource", base(`,"NotResource":"execute-api:/x"`), "the element NotResource is not emulated"},
		{"another action", strings.Replace(base(""), "execute-api:Invoke", "execute-api:ManageConnections", 1), `Action "execute-api:ManageConnections" is not emulated`},
		{"a VPC endpoint condition", base(`,"Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-1"}}`), "Condition operator StringNotEquals is not emulated"},
		{"another key", base(`,"Condition":{"IpAddress":{"aws:VpcSourceIp":"10.0.0.0/8"}}`), "Condition IpAddress key aws:VpcSourceIp is not emulated"},
		{"IfExists", base(`,"Condition":{"IpAddressIfExists":{"aws:SourceIp":"10.0.0.0/8"}}`), "Condition operator IpAddressIfExists"},
		{"a bad range", base(`,"Condition":{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","10.0.0.0/33"]}}`), `"10.0.0.0/33" is not an IPv4 or IPv6 address or CIDR range`},
		{"an unresolved function", strings.Replace(base(""), `"execute-api:/*"`, `{"Fn::Join":["",["execute-api:/",{"Ref":"Stage"}]]}`, 1), `Resource is {"Fn::Join"`},
		{"another service", strings.Replace(base(""), `"execute-api:/*"`, `"s3:/bucket"`, 1), `Resource "s3:/bucket"`},
		{"a policy variable", strings.Replace(base(""), `"execute-api:/*"`, `"execute-api:/${aws:username}/*"`, 1), "policy variables"},
		{"an Effect", strings.Replace(base(""), `"Deny"`, `"deny"`, 1), `Effect "deny": want Allow or Deny`},
		{"a version", strings.Replace(base(""), "2012-10-17", "2020-01-01", 1), `Version "2020-01-01"`},
		{"not JSON", `{"Version":`, "the Policy string is not JSON"},
		{"no statements", `{"Version":"2012-10-17"}`, "Statement is missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(tc.doc, apiARN)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestDenialMessageMasksTheAccount(t *testing.T) {
	a := arn("prod", "GET", "/orders/42")
	if got, want := DenialMessage(a, true), "User: anonymous is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:eu-west-1:********9012:a1b2c3d4e5/prod/GET/orders/42 with an explicit deny"; got != want {
		t.Errorf("explicit:\n got %s\nwant %s", got, want)
	}
	if got := DenialMessage(a, false); strings.Contains(got, "explicit") || !strings.HasSuffix(got, "/prod/GET/orders/42") {
		t.Errorf("implicit: %s", got)
	}
}

func TestPatterns(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"a*", "abc", true},
		{"*c", "abc", true},
		{"a*c", "ac", true},
		{"a*c", "ab", false},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxcyyb", false},
		{"a*ab", "aab", true},
		{"a*aa*a", "aaa", false},
		{"a*aa*a", "aaaa", true},
		{"x/*/OPTIONS/*", "x/prod/OPTIONS/", true},
		{"x/*/OPTIONS/*", "x/prod/GET/OPTIONS", false},
		{"exact", "exact", true},
		{"exact", "exactly", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"a?c", "aéc", true},
		{"*?", "", false},
		{"a*?d", "abcd", true},
	} {
		p := newPattern(tc.pattern)
		if got := p.match(tc.s); got != tc.want {
			t.Errorf("%q matches %q = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

func BenchmarkDeniesAllowListed(b *testing.B) {
	p, _ := Compile(generated(b, sourceip.Rules{Allow: prefixes("203.0.113.0/24", "2001:db8::/32"), Deny: prefixes("203.0.113.64/26")}, true), apiARN)
	a := arn("prod", "GET", "/orders/42")
	addr := netip.MustParseAddr("203.0.113.7")
	b.ReportAllocs()
	for b.Loop() {
		if p.Denies(a, addr) {
			b.Fatal("denied")
		}
	}
}
