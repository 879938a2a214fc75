package config

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
)

const (
	certEUWest1 = "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
	certUSEast1 = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
)

// withDomains is validJSON with a domain (and source IPs) per environment
// (nil leaves the environment without).
func withDomains(t *testing.T, dev, prod map[string]any, devSourceIPs map[string]any) string {
	t.Helper()
	var root map[string]any
	if err := json.Unmarshal([]byte(validJSON), &root); err != nil {
		t.Fatal(err)
	}
	envs := root["environments"].(map[string]any)
	if dev != nil {
		envs["dev"].(map[string]any)["domain"] = dev
	}
	if prod != nil {
		envs["prod"].(map[string]any)["domain"] = prod
	}
	if devSourceIPs != nil {
		envs["dev"].(map[string]any)["sourceIps"] = devSourceIPs
	}
	out, _ := json.Marshal(root)
	return string(out)
}

func TestDomainDefaults(t *testing.T) {
	cfg := mustParse(t, withDomains(t,
		map[string]any{"name": "api-dev.example.com", "hostedZoneId": "Z0123456789ABCDEFGHIJ", "hostedZoneName": "Example.com."},
		map[string]any{"name": "api.example.com", "certificateArn": certEUWest1, "basePath": "v1", "securityPolicy": "TLS_1_2", "disableExecuteApiEndpoint": false},
		map[string]any{"allow": []any{"203.0.113.0/24"}, "deny": []any{"203.0.113.64/26"}}))
	dev, _ := cfg.Environment("dev")
	prod, _ := cfg.Environment("prod")

	d := dev.Domain
	if d.Policy() != DefaultSecurityPolicy || d.AccessMode() != AccessModeStrict {
		t.Errorf("dev policy %q mode %q; want the TLS 1.3 default in STRICT mode", d.Policy(), d.AccessMode())
	}
	if !d.CreatesCertificate() || !d.HasHostedZone() || !d.CreatesAliasRecord() || d.ZoneName() != "example.com" {
		t.Errorf("dev domain %+v: want a created certificate and an alias in zone example.com", d)
	}
	if d.URL() != "https://api-dev.example.com/" || !dev.ExecuteAPIEndpointDisabled() {
		t.Errorf("dev URL %q, endpoint disabled %v", d.URL(), dev.ExecuteAPIEndpointDisabled())
	}
	rules := dev.SourceIPs.Rules()
	if len(rules.Allow) != 1 || len(rules.Deny) != 1 || !rules.Permits(netip.MustParseAddr("203.0.113.5")) || rules.Permits(netip.MustParseAddr("203.0.113.70")) {
		t.Errorf("dev rules = %+v", rules)
	}

	p := prod.Domain
	if p.Policy() != "TLS_1_2" || p.AccessMode() != "" {
		t.Errorf("prod policy %q mode %q; a legacy policy takes no access mode", p.Policy(), p.AccessMode())
	}
	if p.CreatesCertificate() || p.CreatesAliasRecord() || p.URL() != "https://api.example.com/v1/" || prod.ExecuteAPIEndpointDisabled() {
		t.Errorf("prod domain %+v, endpoint disabled %v", p, prod.ExecuteAPIEndpointDisabled())
	}
	if !prod.SourceIPs.Rules().Empty() {
		t.Error("prod has no source IP rules")
	}
	if (Environment{}).ExecuteAPIEndpointDisabled() {
		t.Error("without a domain the default endpoint stays on")
	}
}

func TestDomainRejectsWithPathAndFix(t *testing.T) {
	zone := map[string]any{"hostedZoneId": "Z0123456789ABCDEFGHIJ", "hostedZoneName": "example.com"}
	with := func(base map[string]any, kv ...any) map[string]any {
		out := map[string]any{}
		for k, v := range base {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(out, kv[i].(string))
			} else {
				out[kv[i].(string)] = kv[i+1]
			}
		}
		return out
	}
	byZone := with(zone, "name", "api.example.com")
	byCert := map[string]any{"name": "api.example.com", "certificateArn": certEUWest1}
	const p = "environments.prod.domain."

	tests := []struct {
		name   string
		domain map[string]any
		want   string
	}{
		{"no name", with(byZone, "name", nil), p + "name: is required"},
		{"upper case", with(byZone, "name", "API.example.com"), p + `name: "API.example.com" has upper-case letters, which API Gateway custom domain names do not support; write api.example.com`},
		{"trailing dot", with(byZone, "name", "api.example.com."), p + `name: "api.example.com." ends with a dot`},
		{"wildcard", with(byZone, "name", "*.example.com"), p + `name: "*.example.com" is a wildcard domain`},
		{"single label", with(byCert, "name", "localhost"), p + `name: "localhost" is not a fully qualified domain name`},
		{"bad label", with(byZone, "name", "api_v1.example.com"), p + `name: label "api_v1" of "api_v1.example.com" is not a DNS label`},
		{"hyphen at the edge", with(byZone, "name", "-api.example.com"), p + `name: label "-api"`},
		{"IP address", with(byCert, "name", "192.0.2.1"), p + `name: "192.0.2.1" ends in a number`},
		{"too long", with(byCert, "name", strings.Repeat("a.", 127)+"com"), p + "name: is 257 characters long"},
		{"neither certificate nor zone", map[string]any{"name": "api.example.com"}, p + "certificateArn: is required without a hosted zone"},
		{"certificate ARN of another service", with(byCert, "certificateArn", "arn:aws:iam::123456789012:server-certificate/api"), p + `certificateArn: "arn:aws:iam::123456789012:server-certificate/api" is not an ACM certificate ARN`},
		{"certificate in another region", with(byCert, "certificateArn", certUSEast1), p + "certificateArn: is in us-east-1, but the environment deploys to eu-west-1; a REGIONAL custom domain needs an ACM certificate of its own region"},
		{"certificate of another account", with(byCert, "certificateArn", strings.Replace(certEUWest1, "123456789012", "210987654321", 1)), p + "certificateArn: belongs to account 210987654321, but the environment deploys to 123456789012"},
		{"certificate of another partition", with(byCert, "certificateArn", strings.Replace(certEUWest1, "arn:aws:", "arn:aws-cn:", 1)), p + "certificateArn: is in partition aws-cn, but region eu-west-1 is in aws"},
		{"zone id without name", with(byZone, "hostedZoneName", nil), p + "hostedZoneName: is required with hostedZoneId"},
		{"zone name without id", with(byZone, "hostedZoneId", nil), p + "hostedZoneId: is required with hostedZoneName"},
		{"zone id with the API prefix", with(byZone, "hostedZoneId", "/hostedzone/Z0123456789ABCDEFGHIJ"), p + `hostedZoneId: "/hostedzone/Z0123456789ABCDEFGHIJ" has the /hostedzone/ prefix of the API's answer; use the id alone, Z0123456789ABCDEFGHIJ`},
		{"zone id charset", with(byZone, "hostedZoneId", "z-123"), p + `hostedZoneId: "z-123" is not a Route 53 hosted zone id`},
		{"zone that does not contain the name", with(byZone, "hostedZoneName", "example.org"), p + `hostedZoneName: "example.org" does not contain "api.example.com"`},
		{"zone that only ends like the name", with(byZone, "name", "api.badexample.com"), p + `hostedZoneName: "example.com" does not contain "api.badexample.com"`},
		{"alias record without a zone", with(byCert, "aliasRecord", true), p + "aliasRecord: needs hostedZoneId and hostedZoneName"},
		{"multi-level base path", with(byZone, "basePath", "v1/orders"), p + `basePath: "v1/orders" has more than one segment`},
		{"leading slash", with(byZone, "basePath", "/v1"), p + `basePath: "/v1" has more than one segment`},
		{"base path charset", with(byZone, "basePath", "v 1"), p + `basePath: "v 1" is not a base path; use 1 to 128 letters, digits or $-_.+!*'()`},
		{"(none)", with(byZone, "basePath", "(none)"), p + `basePath: "(none)" is API Gateway's word for the root`},
		{"TLS 1.0", with(byZone, "securityPolicy", "TLS_1_0"), p + `securityPolicy: "TLS_1_0" is not a security policy of a REGIONAL REST API domain; TLS 1.0 and 1.1 are deprecated (RFC 8996)`},
		{"edge policy", with(byZone, "securityPolicy", "SecurityPolicy_TLS13_2025_EDGE"), p + `securityPolicy: "SecurityPolicy_TLS13_2025_EDGE" is not a security policy of a REGIONAL REST API domain`},
		{"CDK's enum name instead of the AWS name", with(byZone, "securityPolicy", "TLS13_1_3_2025_09"), p + `securityPolicy: "TLS13_1_3_2025_09" is not a security policy`},
		{"access mode with a legacy policy", with(byZone, "securityPolicy", "TLS_1_2", "endpointAccessMode", "STRICT"), p + "endpointAccessMode: applies to the enhanced SecurityPolicy_… policies only, not TLS_1_2; remove it"},
		{"unknown access mode", with(byZone, "endpointAccessMode", "strict"), p + `endpointAccessMode: "strict" is not an endpoint access mode; use STRICT (default) or BASIC`},
		{"unknown key", with(byZone, "certificate", certEUWest1), p + "certificate: unknown key"},
		{"wrong type", with(byZone, "disableExecuteApiEndpoint", "yes"), p + `disableExecuteApiEndpoint: must be true or false`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseJSON([]byte(withDomains(t, nil, tc.domain, nil)))
			assertErrors(t, err, tc.want)
		})
	}
}

func TestCertificateNeedsTheRegion(t *testing.T) {
	text := withDomains(t, nil, map[string]any{"name": "api.example.com", "certificateArn": certEUWest1}, nil)
	_, err := ParseJSON([]byte(strings.Replace(text, `"region":"eu-west-1","routes"`, `"routes"`, 1)))
	assertErrors(t, err, "environments.prod.domain.certificateArn: is in eu-west-1, but the environment has no region; a REGIONAL custom domain needs its certificate in the stack's own region, so set region to eu-west-1")
}

func TestSourceIPsRejectWithPathAndFix(t *testing.T) {
	tests := []struct {
		name      string
		sourceIPs map[string]any
		want      []string
	}{
		{"bare address", map[string]any{"allow": []any{"203.0.113.7"}},
			[]string{`environments.dev.sourceIps.allow[0]: "203.0.113.7" is an address, not a range; write 203.0.113.7/32 for that one address`}},
		{"host bits", map[string]any{"deny": []any{"10.1.2.3/16"}},
			[]string{`environments.dev.sourceIps.deny[0]: "10.1.2.3/16" has host bits set; the range it covers is 10.1.0.0/16, write that`}},
		{"not a range", map[string]any{"allow": []any{"office"}},
			[]string{`environments.dev.sourceIps.allow[0]: "office" is not a CIDR range`}},
		{"duplicate", map[string]any{"allow": []any{"192.0.2.0/24", "198.51.100.0/24", "192.0.2.0/24"}},
			[]string{"environments.dev.sourceIps.allow[2]: 192.0.2.0/24 is already allow[0]; remove the duplicate"}},
		{"not a list", map[string]any{"allow": "192.0.2.0/24"},
			[]string{"environments.dev.sourceIps.allow: must be a list"}},
		{"unknown key", map[string]any{"block": []any{"192.0.2.0/24"}},
			[]string{"environments.dev.sourceIps.block: unknown key"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseJSON([]byte(withDomains(t, nil, nil, tc.sourceIPs)))
			assertErrors(t, err, tc.want...)
		})
	}

	var many []any
	for i := range 700 {
		many = append(many, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24).String())
	}
	_, err := ParseJSON([]byte(withDomains(t, nil, nil, map[string]any{"deny": many})))
	assertErrors(t, err, "environments.dev.sourceIps: makes a resource policy of ")
	if !strings.Contains(err.Error(), "API Gateway takes 8192 by default") {
		t.Errorf("the quota is not named: %v", err)
	}
}

func TestDomainNamesAcrossEnvironments(t *testing.T) {
	zone := func(name, id string, alias any) map[string]any {
		d := map[string]any{"name": name, "hostedZoneId": id, "hostedZoneName": "example.com"}
		if alias != nil {
			d["aliasRecord"] = alias
		}
		return d
	}
	// dev and prod are both in eu-west-1 in validJSON (different accounts):
	// the name is unique per region across all accounts.
	_, err := ParseJSON([]byte(withDomains(t, zone("api.example.com", "Z1", nil), zone("api.example.com", "Z2", nil), nil)))
	assertErrors(t, err, `environments.prod.domain.name: "api.example.com" is also the domain of environment "dev" (region eu-west-1); a custom domain name is unique within a region across all AWS accounts`)

	sameNameOtherRegion := withDomains(t, zone("api.example.com", "Z1", nil), zone("api.example.com", "Z1", nil), nil)
	sameNameOtherRegion = strings.Replace(sameNameOtherRegion, `"region":"eu-west-1","stageName":"dev"`, `"region":"us-east-1","stageName":"dev"`, 1)
	if !strings.Contains(sameNameOtherRegion, "us-east-1") {
		t.Fatalf("test setup: dev's region not replaced in %s", sameNameOtherRegion)
	}
	// Another region may use the same name, but not the same alias record.
	_, err = ParseJSON([]byte(sameNameOtherRegion))
	assertErrors(t, err, `environments.prod.domain.aliasRecord: environment "dev" already creates the alias record api.example.com in hosted zone Z1`)
	// Without a second alias record it is a valid multi-region setup.
	ok := withDomains(t, zone("api.example.com", "Z1", nil), zone("api.example.com", "Z1", false), nil)
	ok = strings.Replace(ok, `"region":"eu-west-1","stageName":"dev"`, `"region":"us-east-1","stageName":"dev"`, 1)
	mustParse(t, ok)
	// Different names in one region are fine.
	mustParse(t, withDomains(t, zone("api-dev.example.com", "Z1", nil), zone("api.example.com", "Z1", nil), nil))
}

// TestDomainFromCommandLine sets a domain with -c overrides alone, as a
// user trying it out would: strings stay strings, lists and booleans parse.
func TestDomainFromCommandLine(t *testing.T) {
	var keygate any
	json.Unmarshal([]byte(validJSON), &keygate)
	cfg, err := FromContext(map[string]any{
		"keygate":                               keygate,
		"keygate.environments.prod.domain.name": "api.example.com",
		"keygate.environments.prod.domain.hostedZoneId":              "Z0123456789ABCDEFGHIJ",
		"keygate.environments.prod.domain.hostedZoneName":            "example.com",
		"keygate.environments.prod.domain.basePath":                  "2026",
		"keygate.environments.prod.domain.disableExecuteApiEndpoint": "false",
		"keygate.environments.prod.sourceIps.allow":                  `["192.0.2.0/24"]`,
	})
	if err != nil {
		t.Fatal(err)
	}
	prod, _ := cfg.Environment("prod")
	if prod.Domain == nil || prod.Domain.BasePath != "2026" || prod.ExecuteAPIEndpointDisabled() || len(prod.SourceIPs.Allow) != 1 {
		t.Errorf("domain %+v, endpoint disabled %v, source IPs %+v", prod.Domain, prod.ExecuteAPIEndpointDisabled(), prod.SourceIPs)
	}
}
