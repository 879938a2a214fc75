package config

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"github.com/keygate/keygate/internal/sourceip"
)

// Domain is an environment's custom domain name: a REGIONAL API Gateway
// domain, its base path mapping to the stage and, where a Route 53 hosted
// zone is given, its certificate and alias record.
type Domain struct {
	// Name is the host name clients call, e.g. api.example.com.
	Name string `json:"name" required:"true"`
	// CertificateARN is an existing ACM certificate for Name, in the
	// environment's region and account. Without it keygate creates one,
	// validated through DNS in the hosted zone.
	CertificateARN string `json:"certificateArn"`
	// HostedZoneID and HostedZoneName are a Route 53 public hosted zone that
	// contains Name: keygate validates the certificate it creates there and
	// adds the alias record (see AliasRecord).
	HostedZoneID   string `json:"hostedZoneId"`
	HostedZoneName string `json:"hostedZoneName"`
	// BasePath is the first path segment that maps to the stage ("v1" for
	// https://api.example.com/v1/...); empty maps the domain's root.
	BasePath string `json:"basePath"`
	// SecurityPolicy is the TLS policy of the domain (default
	// DefaultSecurityPolicy).
	SecurityPolicy string `json:"securityPolicy"`
	// EndpointAccessMode applies to enhanced ("SecurityPolicy_…") policies
	// only: STRICT (default) or BASIC.
	EndpointAccessMode string `json:"endpointAccessMode"`
	// AliasRecord adds an A alias record for Name in the hosted zone
	// (default: true where a hosted zone is given).
	AliasRecord *bool `json:"aliasRecord"`
	// DisableExecuteAPIEndpoint switches off the API's default
	// execute-api endpoint (default true: clients must come through the
	// domain).
	DisableExecuteAPIEndpoint *bool `json:"disableExecuteApiEndpoint"`
}

// SourceIPs are the client address ranges (CIDR) that may, and may not,
// call the API. Both empty: no restriction.
type SourceIPs struct {
	Allow []string `json:"allow"`
	Deny  []string `json:"deny"`
}

// DefaultSecurityPolicy is TLS 1.3 only, the strictest policy API Gateway
// offers for a REGIONAL custom domain of a REST API (TLS 1.3 with the AES-GCM
// and ChaCha20-Poly1305 suites; "Supported security policies",
// https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-security-policies-list.html).
// keygate's callers are servers of partners, and TLS 1.3 has been in every
// maintained TLS stack since 2018-2020 (OpenSSL 1.1.1, Java 11, Go 1.13,
// .NET on Windows Server 2022); a partner that cannot do it is served by
// SecurityPolicy_TLS13_1_2_PFS_PQ_2025_09 (TLS 1.2 with forward secrecy only)
// or, for legacy stacks, TLS_1_2.
const DefaultSecurityPolicy = "SecurityPolicy_TLS13_1_3_2025_09"

// SecurityPolicies are the TLS policies a REGIONAL custom domain of a REST
// API accepts (same page). TLS_1_0 is left out on purpose: TLS 1.0 and 1.1
// are deprecated (RFC 8996).
var SecurityPolicies = []string{
	"TLS_1_2",
	"SecurityPolicy_TLS13_1_3_2025_09",
	"SecurityPolicy_TLS13_1_3_FIPS_2025_09",
	"SecurityPolicy_TLS13_1_2_PFS_PQ_2025_09",
	"SecurityPolicy_TLS13_1_2_FIPS_PFS_PQ_2025_09",
	"SecurityPolicy_TLS13_1_2_PQ_2025_09",
	"SecurityPolicy_TLS13_1_2_FIPS_PQ_2025_09",
}

// Endpoint access modes of an enhanced security policy: STRICT accepts
// only requests that come through a REGIONAL endpoint with an SNI that
// matches the domain
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-security-policies.html#apigateway-security-policies-endpoint-access-mode).
const (
	AccessModeStrict = "STRICT"
	AccessModeBasic  = "BASIC"
)

// Policy is SecurityPolicy with its default applied.
func (d Domain) Policy() string {
	if d.SecurityPolicy == "" {
		return DefaultSecurityPolicy
	}
	return d.SecurityPolicy
}

// AccessMode is the endpoint access mode of the domain: STRICT unless set,
// and empty for a legacy policy (TLS_1_2), which takes none.
func (d Domain) AccessMode() string {
	if !isEnhancedPolicy(d.Policy()) {
		return ""
	}
	if d.EndpointAccessMode == "" {
		return AccessModeStrict
	}
	return d.EndpointAccessMode
}

// isEnhancedPolicy reports whether a policy is one of the enhanced ones,
// which require an endpoint access mode.
func isEnhancedPolicy(policy string) bool { return strings.HasPrefix(policy, "SecurityPolicy_") }

// HasHostedZone reports whether a Route 53 hosted zone is configured.
func (d Domain) HasHostedZone() bool { return d.HostedZoneID != "" }

// ZoneName is HostedZoneName without the trailing dot Route 53 shows, in
// lower case (DNS names compare without case).
func (d Domain) ZoneName() string { return strings.ToLower(strings.TrimSuffix(d.HostedZoneName, ".")) }

// CreatesCertificate reports whether keygate creates the certificate (no
// certificateArn given).
func (d Domain) CreatesCertificate() bool { return d.CertificateARN == "" }

// CreatesAliasRecord is AliasRecord with its default applied.
func (d Domain) CreatesAliasRecord() bool {
	if d.AliasRecord == nil {
		return d.HasHostedZone()
	}
	return *d.AliasRecord
}

// URL is the base URL clients call.
func (d Domain) URL() string {
	if d.BasePath == "" {
		return "https://" + d.Name + "/"
	}
	return "https://" + d.Name + "/" + d.BasePath + "/"
}

// ExecuteAPIEndpointDisabled reports whether the API's default execute-api
// endpoint is off: by default wherever a domain is configured.
func (e Environment) ExecuteAPIEndpointDisabled() bool {
	if e.Domain == nil {
		return false
	}
	return e.Domain.DisableExecuteAPIEndpoint == nil || *e.Domain.DisableExecuteAPIEndpoint
}

// Rules are the validated source address rules.
func (s SourceIPs) Rules() sourceip.Rules {
	parse := func(ranges []string) []netip.Prefix {
		var out []netip.Prefix
		for _, r := range ranges {
			// Validated in Parse: an error here cannot happen.
			if p, err := sourceip.ParsePrefix(r); err == nil {
				out = append(out, p)
			}
		}
		return out
	}
	return sourceip.Rules{Allow: parse(s.Allow), Deny: parse(s.Deny)}
}

var (
	// A DNS label as API Gateway takes it: lowercase letters, digits and
	// inner hyphens, 1 to 63 characters. (API Gateway refuses upper case in
	// custom domain names.)
	domainLabelPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	// Route 53 hosted zone ids, e.g. Z0123456789ABCDEFGHIJ.
	hostedZoneIDPattern = regexp.MustCompile(`^Z[A-Z0-9]{1,31}$`)
	// An ACM certificate ARN: partition, region, account, certificate id.
	certificateARNPattern = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):acm:([a-z]{2}(?:-[a-z]+)+-[0-9]+):([0-9]{12}):certificate/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	// A base path segment: the characters API Gateway allows in a base
	// path (letters, digits and $-_.+!*'(); aws-cdk-lib checks the same in
	// BasePathMapping). keygate maps one segment, not a multi-level path,
	// which would need an AWS::ApiGatewayV2::ApiMapping.
	basePathPattern = regexp.MustCompile(`^[A-Za-z0-9$_.+!*'()-]{1,128}$`)
)

// maxDomainNameLength is DNS's limit on a name (RFC 1035, without the
// trailing dot).
const maxDomainNameLength = 253

func checkDomainName(name string) string {
	switch {
	case name == "":
		return "is empty; use a host name such as api.example.com"
	case strings.HasPrefix(name, "*."):
		return fmt.Sprintf("%q is a wildcard domain; keygate maps one host name, use e.g. api.%s", name, name[2:])
	case strings.HasSuffix(name, "."):
		return fmt.Sprintf("%q ends with a dot; write it without, e.g. %s", name, strings.TrimSuffix(name, "."))
	case strings.ToLower(name) != name:
		return fmt.Sprintf("%q has upper-case letters, which API Gateway custom domain names do not support; write %s", name, strings.ToLower(name))
	case len(name) > maxDomainNameLength:
		return fmt.Sprintf("is %d characters long; a domain name has at most %d", len(name), maxDomainNameLength)
	}
	labels := strings.Split(name, ".")
	if len(labels) < 2 {
		return fmt.Sprintf("%q is not a fully qualified domain name; use e.g. api.example.com", name)
	}
	for _, label := range labels {
		if !domainLabelPattern.MatchString(label) {
			return fmt.Sprintf("label %q of %q is not a DNS label; use 1 to 63 lowercase letters, digits or inner '-'", label, name)
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return fmt.Sprintf("%q ends in a number, like an IP address; use a domain name", name)
	}
	return ""
}

// partitionOf is the ARN partition of a region.
func partitionOf(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	default:
		return "aws"
	}
}

// validateDomain checks an environment's domain; path is the environment's.
func validateDomain(path string, env Environment) Errors {
	d := env.Domain
	if d == nil {
		return nil
	}
	var errs Errors
	add := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Path: path + ".domain." + field, Msg: fmt.Sprintf(format, args...)})
	}
	nameOK := true
	if msg := checkDomainName(d.Name); msg != "" {
		add("name", "%s", msg)
		nameOK = false
	}

	if d.CertificateARN != "" {
		// A REGIONAL domain takes a certificate of its own region and
		// account ("Setting up a regional custom domain name":
		// https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-regional-api-custom-domain-create.html).
		m := certificateARNPattern.FindStringSubmatch(d.CertificateARN)
		switch {
		case m == nil:
			add("certificateArn", "%q is not an ACM certificate ARN; use arn:aws:acm:<region>:<account>:certificate/<id>, or leave it out and give hostedZoneId and hostedZoneName to have keygate create the certificate", d.CertificateARN)
		case env.Region == "":
			add("certificateArn", "is in %s, but the environment has no region; a REGIONAL custom domain needs its certificate in the stack's own region, so set region to %s", m[2], m[2])
		case m[2] != env.Region:
			add("certificateArn", "is in %s, but the environment deploys to %s; a REGIONAL custom domain needs an ACM certificate of its own region: request or import one in %s, or leave certificateArn out to have keygate create it", m[2], env.Region, env.Region)
		case m[1] != partitionOf(env.Region):
			add("certificateArn", "is in partition %s, but region %s is in %s; use a certificate of that partition", m[1], env.Region, partitionOf(env.Region))
		case env.Account != "" && m[3] != env.Account:
			add("certificateArn", "belongs to account %s, but the environment deploys to %s; API Gateway uses certificates of its own account only", m[3], env.Account)
		}
	}

	hasID, hasName := d.HostedZoneID != "", d.HostedZoneName != ""
	switch {
	case hasID != hasName:
		missing := "hostedZoneName"
		if !hasID {
			missing = "hostedZoneId"
		}
		add(missing, "is required with %s; give both the id and the name of the Route 53 hosted zone", map[bool]string{true: "hostedZoneId", false: "hostedZoneName"}[hasID])
	case hasID:
		if strings.HasPrefix(d.HostedZoneID, "/hostedzone/") {
			add("hostedZoneId", "%q has the /hostedzone/ prefix of the API's answer; use the id alone, %s", d.HostedZoneID, strings.TrimPrefix(d.HostedZoneID, "/hostedzone/"))
		} else if !hostedZoneIDPattern.MatchString(d.HostedZoneID) {
			add("hostedZoneId", "%q is not a Route 53 hosted zone id; use the zone's id, e.g. Z0123456789ABCDEFGHIJ", d.HostedZoneID)
		}
		zone := d.ZoneName()
		if msg := checkDomainName(zone); msg != "" {
			add("hostedZoneName", "%s", msg)
		} else if nameOK && d.Name != zone && !strings.HasSuffix(d.Name, "."+zone) {
			add("hostedZoneName", "%q does not contain %q; use the hosted zone that %s is in, or a name inside %s", zone, d.Name, d.Name, zone)
		}
	}
	if d.CertificateARN == "" && !hasID && !hasName {
		add("certificateArn", "is required without a hosted zone; give an ACM certificate ARN for %s in the environment's region, or hostedZoneId and hostedZoneName to have keygate create a DNS-validated certificate", orName(d.Name))
	}
	if d.AliasRecord != nil && *d.AliasRecord && !hasID {
		add("aliasRecord", "needs hostedZoneId and hostedZoneName (the zone the record goes into); give them, or set aliasRecord to false and point your DNS at the CustomDomainTarget output")
	}

	switch {
	case d.BasePath == "":
	case strings.Contains(d.BasePath, "/"):
		add("basePath", "%q has more than one segment; keygate maps a single segment such as v1 (or empty for the root)", d.BasePath)
	case d.BasePath == "(none)":
		add("basePath", "\"(none)\" is API Gateway's word for the root; leave basePath empty instead")
	case !basePathPattern.MatchString(d.BasePath):
		add("basePath", "%q is not a base path; use 1 to 128 letters, digits or $-_.+!*'() (e.g. v1), or leave it empty to map the root", d.BasePath)
	}

	if !slices.Contains(SecurityPolicies, d.Policy()) {
		hint := ""
		if d.SecurityPolicy == "TLS_1_0" {
			hint = "TLS 1.0 and 1.1 are deprecated (RFC 8996) and keygate does not offer them; "
		}
		add("securityPolicy", "%q is not a security policy of a REGIONAL REST API domain; %suse one of %s (default %s)", d.SecurityPolicy, hint, strings.Join(SecurityPolicies, ", "), DefaultSecurityPolicy)
	} else if d.EndpointAccessMode != "" {
		switch {
		case !isEnhancedPolicy(d.Policy()):
			add("endpointAccessMode", "applies to the enhanced SecurityPolicy_… policies only, not %s; remove it", d.Policy())
		case d.EndpointAccessMode != AccessModeStrict && d.EndpointAccessMode != AccessModeBasic:
			add("endpointAccessMode", "%q is not an endpoint access mode; use STRICT (default) or BASIC", d.EndpointAccessMode)
		}
	}
	return errs
}

func orName(name string) string {
	if name == "" {
		return "the domain"
	}
	return name
}

// validateSourceIPs checks the CIDR ranges and that the policy they make
// fits API Gateway's quota; path is the environment's.
func validateSourceIPs(path string, env Environment) Errors {
	var errs Errors
	check := func(field string, ranges []string) {
		seen := map[netip.Prefix]int{}
		for i, r := range ranges {
			p, err := sourceip.ParsePrefix(r)
			if err != nil {
				errs = append(errs, FieldError{Path: fmt.Sprintf("%s.sourceIps.%s[%d]", path, field, i), Msg: err.Error()})
				continue
			}
			if first, dup := seen[p]; dup {
				errs = append(errs, FieldError{Path: fmt.Sprintf("%s.sourceIps.%s[%d]", path, field, i), Msg: fmt.Sprintf("%s is already %s[%d]; remove the duplicate", p, field, first)})
				continue
			}
			seen[p] = i
		}
	}
	check("allow", env.SourceIPs.Allow)
	check("deny", env.SourceIPs.Deny)
	if len(errs) == 0 {
		if n := env.SourceIPs.Rules().PolicyLength(env.CORS.Enabled()); n > sourceip.MaxKeptPolicyLength {
			errs = append(errs, FieldError{Path: path + ".sourceIps", Msg: fmt.Sprintf("makes a resource policy of up to %d characters once API Gateway expands execute-api:/ into the API's ARN; API Gateway takes %d by default and keygate keeps %d of them free, so merge ranges into wider ones", n, sourceip.MaxPolicyLength, sourceip.PolicyLengthMargin)})
		}
	}
	return errs
}

// validateDomainsAcrossEnvironments checks what no single environment can:
// a REGIONAL custom domain name is unique within a region across all AWS
// accounts ("Custom domain name for public REST APIs", considerations:
// https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-custom-domains.html),
// so two environments that may deploy to the same region cannot both claim
// a name; and one record name exists once in a hosted zone, so two
// environments in different regions cannot both create the alias record.
// An unset region could be any, so it overlaps every region.
func validateDomainsAcrossEnvironments(envs []Environment) Errors {
	var errs Errors
	var claimed []Environment
	for _, env := range envs {
		if env.Domain == nil {
			continue
		}
		for _, other := range claimed {
			if other.Domain.Name != env.Domain.Name {
				continue
			}
			if other.Region == "" || env.Region == "" || other.Region == env.Region {
				errs = append(errs, FieldError{
					Path: "environments." + env.Name + ".domain.name",
					Msg: fmt.Sprintf("%q is also the domain of environment %q (region %s); a custom domain name is unique within a region across all AWS accounts, so give each environment its own name (e.g. api-%s.%s) or regions that differ",
						env.Domain.Name, other.Name, orUnset(other.Region), env.Name, parentOf(env.Domain.Name)),
				})
				break
			}
			if env.Domain.CreatesAliasRecord() && other.Domain.CreatesAliasRecord() && env.Domain.HostedZoneID == other.Domain.HostedZoneID {
				errs = append(errs, FieldError{
					Path: "environments." + env.Name + ".domain.aliasRecord",
					Msg: fmt.Sprintf("environment %q already creates the alias record %s in hosted zone %s, and a zone holds one such record; set aliasRecord to false here and route between the regions yourself (e.g. latency records to each CustomDomainTarget)",
						other.Name, env.Domain.Name, env.Domain.HostedZoneID),
				})
				break
			}
		}
		claimed = append(claimed, env)
	}
	return errs
}

func parentOf(name string) string {
	if _, parent, ok := strings.Cut(name, "."); ok && strings.Contains(parent, ".") {
		return parent
	}
	return name
}
