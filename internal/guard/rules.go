package guard

// rule says why a guarded type matters and which of its properties
// CloudFormation can only change by replacing the resource.
type rule struct {
	// noun names the resource in messages: "CloudFormation replaces <noun>".
	noun string
	// impact is what clients (or operators) lose when it goes.
	impact string
	// replacementProperties are the top-level properties whose change
	// replaces the resource.
	replacementProperties []string
}

// rules is the one table of guarded types. A type that is not here is not
// guarded, whatever happens to it.
//
// replacementProperties are the properties marked "Update requires:
// Replacement" in the CloudFormation resource and property type reference
// (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/,
// pages aws-resource-apigateway-apikey, -usageplan, -usageplankey, -restapi,
// -stage, aws-resource-logs-loggroup and aws-resource-cloudformation-stack).
// Cross-checked against the CDK CLI's bundled resource database
// (node_modules/aws-cdk/db.json.gz, causesReplacement "yes"), which agrees
// on every entry except LogGroupClass: see the comment there.
//
// A type with no replacement property (UsagePlan, RestApi, the nested Stack)
// is still guarded against removal, rename and type change.
var rules = map[string]rule{
	"AWS::ApiGateway::ApiKey": {
		noun:   "the key",
		impact: "every client holding its value is locked out",
		// CustomerId, Description, Enabled, StageKeys and Tags update with
		// no interruption: disabling a key is deliberate, not guarded.
		replacementProperties: []string{"GenerateDistinctId", "Name", "Value"},
	},
	"AWS::ApiGateway::UsagePlanKey": {
		noun:                  "the key's attachment to its usage plan",
		impact:                "the key's clients get 403 Forbidden until it is attached again",
		replacementProperties: []string{"KeyId", "KeyType", "UsagePlanId"},
	},
	"AWS::ApiGateway::UsagePlan": {
		noun:   "the usage plan",
		impact: "every key attached to it is detached and its clients get 403 Forbidden",
		// Every property, UsagePlanName and Throttle included, updates
		// with no interruption.
	},
	"AWS::ApiGateway::RestApi": {
		noun:   "the REST API",
		impact: "the API gets a new id and invoke URL, so every client must be reconfigured",
		// Every property, Name included, updates with no interruption.
	},
	"AWS::ApiGateway::Stage": {
		noun:                  "the stage",
		impact:                "its invoke URL, usage plan bindings and settings go with it",
		replacementProperties: []string{"RestApiId", "StageName"},
	},
	"AWS::Logs::LogGroup": {
		noun:   "the log group",
		impact: "its logs are deleted (data loss)",
		// KmsKeyId, RetentionInDays and the policies update with no
		// interruption. LogGroupClass is listed although the CDK database
		// marks it mutable: the CloudWatch Logs API says a log group's
		// class cannot be changed after creation, and a false alarm costs
		// less than lost logs.
		replacementProperties: []string{"LogGroupClass", "LogGroupName"},
	},
	// The custom domain (stacks/domain.go). Sources: the reference pages
	// aws-resource-apigateway-domainname, -apigateway-basepathmapping,
	// -route53-recordset and -certificatemanager-certificate, which agree
	// with the CDK CLI's database.
	"AWS::ApiGateway::DomainName": {
		noun:   "the custom domain name",
		impact: "it gets a new regional target, so clients resolve nothing or the old target until DNS follows (a domain name is unique per region, so the new one cannot be created while the old exists)",
		// Certificate, security policy, access mode and endpoint
		// configuration update with no interruption.
		replacementProperties: []string{"DomainName"},
	},
	"AWS::ApiGateway::BasePathMapping": {
		noun:                  "the base path mapping",
		impact:                "requests to the custom domain get 403 Forbidden until the new mapping exists, and the old base path stops answering",
		replacementProperties: []string{"BasePath", "DomainName"},
	},
	"AWS::Route53::RecordSet": {
		noun:                  "the DNS record",
		impact:                "the name stops resolving to its target until the new record exists (and a record of the same name and type cannot be created while the old one exists)",
		replacementProperties: []string{"HostedZoneId", "HostedZoneName", "Name"},
	},
	"AWS::CertificateManager::Certificate": {
		noun:                  "the certificate",
		impact:                "the domain needs another: a new one must be issued and DNS-validated first (the deploy waits for it, and fails if validation does)",
		replacementProperties: []string{"CertificateAuthorityArn", "CertificateExport", "DomainName", "DomainValidationOptions", "KeyAlgorithm", "SubjectAlternativeNames", "ValidationMethod"},
	},
	"AWS::CloudFormation::Stack": {
		noun:   "the nested stack",
		impact: "every resource in it is deleted with it, and keygate keeps its API keys in nested stacks",
		// TemplateURL, Parameters and the rest update with no
		// interruption; what changes inside is compared template by
		// template by CompareAssemblies.
	},
}
