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

	output := func(id, description string, value *string) {
		awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{Description: jsii.String(description), Value: value})
	}
	output("CustomDomainUrl", "Base URL clients call, through the custom domain", jsii.String(d.URL()))
	output("CustomDomainTarget", "Regional domain name to point "+d.Name+" at (alias or CNAME) where DNS is managed outside this stack", out.Domain.AttrRegionalDomainName())
	output("CustomDomainTargetHostedZoneId", "Hosted zone id of CustomDomainTarget, for a Route 53 alias record", out.Domain.AttrRegionalHostedZoneId())
	return out
}

// disableExecuteAPIEndpoint is the RestApi's DisableExecuteApiEndpoint:
// unset without a custom domain (the shipped templates stay as they were),
// explicit where one is configured, so that turning it back on is a change
// CloudFormation applies. A change here changes the RestApi and so the
// deployment's logical ID (aws-cdk-lib hashes the RestApi's properties into
// it), which the setting needs: it "takes effect when you update any
// setting on any stage, such as updating the deployment"
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-disable-default-endpoint.html).
func disableExecuteAPIEndpoint(env config.Environment) *bool {
	if env.Domain == nil {
		return nil
	}
	return jsii.Bool(env.ExecuteAPIEndpointDisabled())
}
