package guard

import (
	"slices"
	"strings"
	"testing"
)

// withDomain is keygateLike with a custom domain as stacks/domain.go writes
// it: a created certificate, the domain, its mapping and an alias record.
func withDomain() map[string]res {
	r := keygateLike()
	r["CustomDomainCertificate"] = res{"Type": "AWS::CertificateManager::Certificate", "Properties": map[string]any{
		"DomainName": "api.example.com", "ValidationMethod": "DNS",
		"DomainValidationOptions": []any{map[string]any{"DomainName": "api.example.com", "HostedZoneId": "Z1"}},
	}}
	r["CustomDomain"] = res{"Type": "AWS::ApiGateway::DomainName", "Properties": map[string]any{
		"DomainName": "api.example.com", "RegionalCertificateArn": ref("CustomDomainCertificate"),
		"EndpointConfiguration": map[string]any{"Types": []any{"REGIONAL"}},
		"SecurityPolicy":        "SecurityPolicy_TLS13_1_3_2025_09", "EndpointAccessMode": "STRICT",
	}}
	r["CustomDomainBasePathMapping"] = res{"Type": "AWS::ApiGateway::BasePathMapping", "Properties": map[string]any{
		"DomainName": ref("CustomDomain"), "RestApiId": ref("Api"), "Stage": ref("Stage"), "BasePath": "v1",
	}}
	r["CustomDomainAliasRecord"] = res{"Type": "AWS::Route53::RecordSet", "Properties": map[string]any{
		"HostedZoneId": "Z1", "Name": "api.example.com", "Type": "A",
		"AliasTarget": map[string]any{"DNSName": getAtt("CustomDomain", "RegionalDomainName"), "HostedZoneId": getAtt("CustomDomain", "RegionalHostedZoneId")},
	}}
	return r
}

func TestCompareTemplatesGuardsTheCustomDomain(t *testing.T) {
	tests := []struct {
		name   string
		change func(r map[string]res)
		want   []string
	}{
		{"domain renamed: its certificate, domain and mapping are replaced", func(r map[string]res) {
			setProperty(r, "CustomDomainCertificate", "DomainName", "api.example.org")
			setProperty(r, "CustomDomain", "DomainName", "api.example.org")
			setProperty(r, "CustomDomainAliasRecord", "Name", "api.example.org")
		}, []string{"REPLACE property-changed CustomDomain", "REPLACE property-changed CustomDomainAliasRecord",
			"REPLACE dependency-replaced CustomDomainBasePathMapping", "REPLACE property-changed CustomDomainCertificate"}},
		{"base path changed", func(r map[string]res) { setProperty(r, "CustomDomainBasePathMapping", "BasePath", "v2") },
			[]string{"REPLACE property-changed CustomDomainBasePathMapping"}},
		{"record moved to another zone", func(r map[string]res) { setProperty(r, "CustomDomainAliasRecord", "HostedZoneId", "Z2") },
			[]string{"REPLACE property-changed CustomDomainAliasRecord"}},
		{"domain removed", func(r map[string]res) {
			for _, id := range []string{"CustomDomainCertificate", "CustomDomain", "CustomDomainBasePathMapping", "CustomDomainAliasRecord"} {
				delete(r, id)
			}
		}, []string{"DELETE removed CustomDomain", "DELETE removed CustomDomainAliasRecord", "DELETE removed CustomDomainBasePathMapping", "DELETE removed CustomDomainCertificate"}},
		{"domain under a new logical ID", func(r map[string]res) {
			rename(r, "CustomDomain", "DomainResource")
			setProperty(r, "CustomDomainBasePathMapping", "DomainName", ref("DomainResource"))
		}, []string{"REPLACE renamed CustomDomain", "REPLACE property-changed CustomDomainBasePathMapping"}},

		// Not guarded: these update in place.
		{"TLS policy changed", func(r map[string]res) {
			setProperty(r, "CustomDomain", "SecurityPolicy", "TLS_1_2")
			setProperty(r, "CustomDomain", "EndpointAccessMode", nil)
		}, nil},
		{"certificate switched to an existing one", func(r map[string]res) {
			delete(r, "CustomDomainCertificate")
			setProperty(r, "CustomDomain", "RegionalCertificateArn", "arn:aws:acm:eu-west-1:123456789012:certificate/x")
		}, []string{"DELETE removed CustomDomainCertificate"}},
		{"mapping to another stage", func(r map[string]res) { setProperty(r, "CustomDomainBasePathMapping", "Stage", "prod") }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			head := withDomain()
			tc.change(head)
			findings, err := CompareTemplates(templateOf(t, withDomain()), templateOf(t, head))
			if err != nil {
				t.Fatal(err)
			}
			if got := summaries(findings); !slices.Equal(got, tc.want) {
				t.Errorf("findings:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

// TestCompareTemplatesFlagsCuttingOffDefaultEndpointClients: the deploy that
// adds a custom domain switches the default endpoint off by default, before
// clients can have moved to the domain; the guard holds it with the way out.
func TestCompareTemplatesFlagsCuttingOffDefaultEndpointClients(t *testing.T) {
	tests := []struct {
		name       string
		base, head any // DisableExecuteApiEndpoint; nil: unset
		want       []string
	}{
		{"unset to true", nil, true, []string{"SWITCH-OFF endpoint-disabled Api"}},
		{"false to true", false, true, []string{"SWITCH-OFF endpoint-disabled Api"}},
		{"string false to string true", "false", "true", []string{"SWITCH-OFF endpoint-disabled Api"}},
		{"true stays true", true, true, nil},
		{"true to false: clients get it back", true, false, nil},
		{"unset to false", nil, false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base, head := keygateLike(), withDomain()
			setProperty(base, "Api", "DisableExecuteApiEndpoint", tc.base)
			setProperty(head, "Api", "DisableExecuteApiEndpoint", tc.head)
			findings, err := CompareTemplates(templateOf(t, base), templateOf(t, head))
			if err != nil {
				t.Fatal(err)
			}
			if got := summaries(findings); !slices.Equal(got, tc.want) {
				t.Errorf("findings:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
			for _, f := range findings {
				if !strings.Contains(f.Reason, `"disableExecuteApiEndpoint": false`) || f.Type != "AWS::ApiGateway::RestApi" {
					t.Errorf("finding %s does not give the way out", f)
				}
			}
		})
	}

	// A stack deployed for the first time has no clients to cut off.
	head := withDomain()
	setProperty(head, "Api", "DisableExecuteApiEndpoint", true)
	findings, err := CompareTemplates([]byte(`{}`), templateOf(t, head))
	if err != nil || len(findings) != 0 {
		t.Errorf("new stack: %v, %v", findings, err)
	}

	// Approvable like any guarded change.
	if _, err := ParseAllowlist([]byte(`{"approvals":[{"stack":"keygate-prod","logicalId":"Api","type":"AWS::ApiGateway::RestApi","action":"SWITCH-OFF","commit":"0123456789abcdef0123456789abcdef01234567","reason":"partners moved to api.example.com"}]}`)); err != nil {
		t.Errorf("approving a SWITCH-OFF: %v", err)
	}
}
