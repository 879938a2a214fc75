package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/keygate/keygate/internal/config"
)

// Logical IDs of the custom domain's resources. They are fixed, never
// derived from the construct tree: CloudFormation creates a resource whose
// logical ID changes before it deletes the old one, and a second domain,
// base path mapping or record with the same name fails to create ("already
// exists"), so a refactor must never move them. Changing the configured
// name still replaces them, through the properties CloudFormation replaces
// on (DomainName, BasePath, Name; see internal/guard/rules.go).
const (
	CustomDomainLogicalID            = "CustomDomain"
	CustomDomainMappingLogicalID     = "CustomDomainBasePathMapping"
	CustomDomainCertificateLogicalID = "CustomDomainCertificate"
	CustomDomainAliasLogicalID       = "CustomDomainAliasRecord"
)

// CustomDomain is an environment's custom domain name and what ties it to
// the stage.
type CustomDomain struct {
	Domain  awsapigateway.CfnDomainName
	Mapping awsapigateway.CfnBasePathMapping
	// Certificate is the certificate keygate created, nil where the
	// config names an existing one.
	Certificate awscertificatemanager.Certificate
	// AliasRecord is nil where no record is created.
	AliasRecord awsroute53.CfnRecordSet
}

// newCustomDomain builds the REGIONAL custom domain of env (which must have
// one), maps its base path to the stage and adds its outputs.
//
// It uses the CloudFormation resources directly rather than
// awsapigateway.DomainName: that construct knows only four of the enhanced
// TLS policies and picks logical IDs from the construct tree.
func newCustomDomain(stack awscdk.Stack, env config.Environment, api awsapigateway.RestApi, stage awsapigateway.Stage) *CustomDomain {
	d := env.Domain
	scope := constructs.NewConstruct(stack, jsii.String("Domain"))
	out := &CustomDomain{}

	certificateARN := jsii.String(d.CertificateARN)
	if d.CreatesCertificate() {
		// DNS validation in the configured zone: CloudFormation writes the
		// validation record itself and waits for the certificate to be
		// issued, and ACM renews it for as long as the record stays
		// (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-certificatemanager-certificate.html,
		// DomainValidationOptions). It is created in the stack's region,
		// which is the region a REGIONAL domain needs.
		zone := awsroute53.HostedZone_FromHostedZoneAttributes(scope, jsii.String("HostedZone"), &awsroute53.HostedZoneAttributes{
			HostedZoneId: jsii.String(d.HostedZoneID),
			ZoneName:     jsii.String(d.ZoneName()),
		})
		out.Certificate = awscertificatemanager.NewCertificate(scope, jsii.String("Certificate"), &awscertificatemanager.CertificateProps{
			DomainName: jsii.String(d.Name),
			Validation: awscertificatemanager.CertificateValidation_FromDns(zone),
		})
		out.Certificate.Node().DefaultChild().(awscdk.CfnResource).OverrideLogicalId(jsii.String(CustomDomainCertificateLogicalID))
		// Retained when it leaves the stack (DeletionPolicy and
		// UpdateReplacePolicy Retain): ACM refuses to delete a certificate
		// API Gateway still holds, and it holds it for a while after its
		// domain is deleted, so deleting both in one update or stack
		// deletion can fail "Certificate ... is in use" (aws/aws-cdk#36265,
		// aws/aws-cdk#16608). That includes the rollback of the deploy that
		// created them, so not RetainExceptOnCreate: a failed first deploy
		// would end in ROLLBACK_FAILED. The README says how to delete a
		// retained one.
		out.Certificate.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN)
		certificateARN = out.Certificate.CertificateArn()
	}

	var accessMode *string
	if mode := d.AccessMode(); mode != "" {
		accessMode = jsii.String(mode)
	}
	out.Domain = awsapigateway.NewCfnDomainName(scope, jsii.String("Resource"), &awsapigateway.CfnDomainNameProps{
		DomainName: jsii.String(d.Name),
		// A REGIONAL domain takes RegionalCertificateArn (CertificateArn is
		// for edge-optimized ones, whose certificate lives in us-east-1).
		RegionalCertificateArn: certificateARN,
		EndpointConfiguration: &awsapigateway.CfnDomainName_EndpointConfigurationProperty{
			Types: jsii.Strings("REGIONAL"),
		},
		SecurityPolicy:     jsii.String(d.Policy()),
		EndpointAccessMode: accessMode,
	})
	out.Domain.OverrideLogicalId(jsii.String(CustomDomainLogicalID))

	var basePath *string
	if d.BasePath != "" {
		basePath = jsii.String(d.BasePath)
	}
	out.Mapping = awsapigateway.NewCfnBasePathMapping(scope, jsii.String("BasePathMapping"), &awsapigateway.CfnBasePathMappingProps{
		DomainName: out.Domain.Ref(),
		RestApiId:  api.RestApiId(),
		// The stage's name as a Ref to the Stage resource: the mapping
		// waits for the stage, which API Gateway needs to exist ("Invalid
		// stage identifier specified" otherwise).
		Stage:    stage.StageName(),
		BasePath: basePath,
	})
	out.Mapping.OverrideLogicalId(jsii.String(CustomDomainMappingLogicalID))

	if d.CreatesAliasRecord() {
		// An alias A record to the domain's regional endpoint: the target
		// is the domain's RegionalDomainName in its RegionalHostedZoneId
		// (the API Gateway zone of the region, not the user's zone)
		// ("Setting up a regional custom domain name", Route 53 alias:
		// https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-to-api-gateway.html).
		out.AliasRecord = awsroute53.NewCfnRecordSet(scope, jsii.String("AliasRecord"), &awsroute53.CfnRecordSetProps{
			HostedZoneId: jsii.String(d.HostedZoneID),
			Name:         jsii.String(d.Name),
			Type:         jsii.String("A"),
			AliasTarget: &awsroute53.CfnRecordSet_AliasTargetProperty{
				DnsName:              out.Domain.AttrRegionalDomainName(),
				HostedZoneId:         out.Domain.AttrRegionalHostedZoneId(),
				EvaluateTargetHealth: jsii.Bool(false),
			},
		})
		out.AliasRecord.OverrideLogicalId(jsii.String(CustomDomainAliasLogicalID))
	}

	protectAPIUntilTheDomainServes(api, *d, out)

	output := func(id, description string, value *string) {
		awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{Description: jsii.String(description), Value: value})
	}
	output("CustomDomainUrl", "Base URL clients call, through the custom domain", jsii.String(d.URL()))
	output("CustomDomainTarget", "Regional domain name to point "+d.Name+" at (alias or CNAME) where DNS is managed outside this stack", out.Domain.AttrRegionalDomainName())
	output("CustomDomainTargetHostedZoneId", "Hosted zone id of CustomDomainTarget, for a Route 53 alias record", out.Domain.AttrRegionalHostedZoneId())
	return out
}

// disableExecuteAPIEndpoint is the RestApi's DisableExecuteApiEndpoint,
// always written, false without a custom domain: CloudFormation does not
// reset a RestApi property that leaves the template (it left removed
// BinaryMediaTypes and Policy in force: aws-cloudformation/cloudformation-coverage-roadmap#1894,
// aws/aws-cdk#21840), so removing a domain that had switched the endpoint
// off must say false to switch it back on. A change here changes the
// RestApi and so the deployment's logical ID (aws-cdk-lib hashes the
// RestApi's properties into it), which the setting needs: it "takes effect
// when you update any setting on any stage, such as updating the
// deployment"
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-disable-default-endpoint.html).
func disableExecuteAPIEndpoint(env config.Environment) *bool {
	return jsii.Bool(env.ExecuteAPIEndpointDisabled())
}

// APITLSPolicy is the security policy and endpoint access mode of the REST
// API itself where it has a custom domain: the domain's policy, because
// "when you invoke that custom domain name, API Gateway uses the security
// policy of the API to negotiate the TLS handshake", and AWS recommends
// the same policy on both
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-custom-domain-tls-version.html,
// https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-security-policies-update.html).
// Without it the API keeps the REGIONAL default, TLS_1_0, and the domain's
// TLS 1.3 policy would not hold.
//
// An enhanced (SecurityPolicy_…) policy needs an endpoint access mode on
// the API too ("Endpoint access mode is required for the specified
// security policy": aws/aws-sam-cli#9007); a legacy one takes none
// (accessMode ""). The API's mode is BASIC, whatever the domain's: STRICT
// on an API makes API Gateway require the API's own endpoint type and match
// the request's SNI host
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-security-policies.html#apigateway-security-policies-endpoint-access-mode),
// and the documentation does not say that requests arriving through a
// custom domain, whose SNI is the domain's name, pass it; nobody here can
// try it. BASIC is the mode AWS documents for moving to an enhanced policy,
// it changes nothing about which requests reach the API (the API had no
// access mode before), and STRICT still holds where it matters: on the
// domain, for every request through it. The default endpoint, where an
// API's STRICT would apply, is off by default with a domain.
func APITLSPolicy(d config.Domain) (securityPolicy, accessMode string) {
	if d.AccessMode() == "" {
		return d.Policy(), ""
	}
	return d.Policy(), config.AccessModeBasic
}

// protectAPIUntilTheDomainServes gives the REST API the domain's TLS policy
// (APITLSPolicy) and makes its update wait for the domain, the certificate
// keygate creates and the alias record. Adding a domain to a live
// environment switches the default endpoint off by default, and without the
// wait CloudFormation could do that before the certificate is issued or the
// name resolves, or while the certificate's validation fails and the stack
// rolls back, cutting off every client of the execute-api URL for nothing.
// There is no cycle: the domain, certificate and record refer to nothing of
// the API; only the base path mapping does, and the API does not wait for
// it. (Clients of the old URL are still cut off once the new deployment
// reaches the stage: the README's migration keeps the endpoint on first.)
func protectAPIUntilTheDomainServes(api awsapigateway.RestApi, d config.Domain, domain *CustomDomain) {
	cfnAPI := api.Node().DefaultChild().(awsapigateway.CfnRestApi)
	// The props exist on CfnRestApi (aws-cdk-go v2.275) but not on the
	// RestApi construct.
	policy, accessMode := APITLSPolicy(d)
	cfnAPI.SetSecurityPolicy(jsii.String(policy))
	if accessMode != "" {
		cfnAPI.SetEndpointAccessMode(jsii.String(accessMode))
	}
	reason := jsii.String("the API's default endpoint may switch off only once the custom domain serves")
	cfnAPI.AddResourceDependency(domain.Domain, reason)
	if domain.Certificate != nil {
		cfnAPI.AddResourceDependency(domain.Certificate.Node().DefaultChild().(awscdk.CfnResource), reason)
	}
	if domain.AliasRecord != nil {
		cfnAPI.AddResourceDependency(domain.AliasRecord, reason)
	}
}
