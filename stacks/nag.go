package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// ApplyRulePacks runs cdk-nag's AwsSolutions and Serverless rule packs on
// every stack of the app at synth time: an unacknowledged error fails the
// synth, and each pack writes its report to cdk.out/<pack>-<stack>-NagReport.csv.
func ApplyRulePacks(app awscdk.App) {
	props := &cdknag.NagPackProps{Verbose: jsii.Bool(true)}
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(props), nil)
	awscdk.Aspects_Of(app).Add(cdknag.NewServerlessChecks(props), nil)
}

// acknowledge records, on one construct, why a rule does not apply to it.
// Callers put the reason next to the resource that needs it, not in a list
// at the app level that outlives the resource.
func acknowledge(scope constructs.IConstruct, applyToChildren bool, rules ...[2]string) {
	suppressions := make([]*cdknag.NagPackSuppression, len(rules))
	for i, rule := range rules {
		suppressions[i] = &cdknag.NagPackSuppression{Id: jsii.String(rule[0]), Reason: jsii.String(rule[1])}
	}
	cdknag.NagSuppressions_AddResourceSuppressions(scope, &suppressions, jsii.Bool(applyToChildren))
}

// acknowledgeFinding is acknowledge for one finding of a granular rule
// (IAM4, IAM5): it covers only the named policy or resource, so a new
// wildcard or managed policy on the same construct is still reported.
func acknowledgeFinding(scope constructs.IConstruct, applyToChildren bool, rule, finding, reason string) {
	suppressions := []*cdknag.NagPackSuppression{{
		Id:        jsii.String(rule),
		Reason:    jsii.String(reason),
		AppliesTo: &[]any{jsii.String(finding)},
	}}
	cdknag.NagSuppressions_AddResourceSuppressions(scope, &suppressions, jsii.Bool(applyToChildren))
}
