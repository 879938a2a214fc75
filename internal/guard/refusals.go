package guard

import (
	"fmt"
	"slices"
	"strings"
)

// Refuse is a change CloudFormation or API Gateway would refuse mid-deploy
// (the stack rolls back): unlike Delete and Replace, no approval can let it
// through (an Approval names a Delete or a Replace); the change must be made another way, which the
// finding's reason says.
const Refuse Action = "REFUSE"

// The causes of [Refuse] findings.
const (
	// CauseOperationQuota: the deploy creates, updates and deletes more
	// resources than CloudFormation allows in one operation.
	CauseOperationQuota Cause = "operation-quota"
	// CauseKeyInTwoPlans: a key that stays gets a new usage plan attachment
	// while its old one still exists.
	CauseKeyInTwoPlans Cause = "key-in-two-plans"
	// CauseNamedReplacement: a resource with a custom name would be
	// replaced under the same name.
	CauseNamedReplacement Cause = "named-replacement"
)

// namedTypes are the guarded types whose custom name blocks replacement,
// by the property holding the name. CloudFormation reference: "If you
// specify a name, you cannot perform updates that require replacement of
// this resource. [...] If you must replace the resource, specify a new
// name." (aws-resource-apigateway-apikey, Name; aws-resource-logs-loggroup,
// LogGroupName).
var namedTypes = map[string]string{
	"AWS::ApiGateway::ApiKey": "Name",
	"AWS::Logs::LogGroup":     "LogGroupName",
}

// refusals finds what would make the deploy fail, given the guarded
// findings and the operation count.
func refusals(base, head []placed, baseAt, headAt map[place]placed, findings []Finding, ops Operations, replaced map[place]bool) []Finding {
	var out []Finding
	if ops.Total() > MaxOperationsPerDeploy {
		out = append(out, Finding{
			Action: Refuse, Cause: CauseOperationQuota, Type: "AWS::CloudFormation::Stack",
			Reason: fmt.Sprintf(
				"one deploy would make %d resource operations (%d create, %d update, %d delete), nested stacks included; CloudFormation allows %d per operation across a nested-stack hierarchy and fails the deploy above that (CloudFormation quotas page: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html). Split the change into several deploys of at most %d operations each (e.g. add or remove keys in batches; a new key is 2 operations, a replaced one 4), or move the keys out of CloudFormation to the key-lifecycle tool (keygate keys)",
				ops.Total(), ops.Create, ops.Update, ops.Delete, MaxOperationsPerDeploy, MaxOperationsPerDeploy),
		})
	}
	out = append(out, namedReplacements(baseAt, headAt, findings)...)
	out = append(out, keysInTwoPlans(head, baseAt, headAt, replaced)...)
	out = append(out, reusedIdentities(base, head, baseAt, headAt)...)
	return out
}

// namedReplacements refuses replacing a named key or log group under the
// same name: CloudFormation stops the update ("CloudFormation cannot update
// a stack when a custom-named resource requires replacing").
func namedReplacements(baseAt, headAt map[place]placed, findings []Finding) []Finding {
	var out []Finding
	for _, f := range findings {
		nameProperty, named := namedTypes[f.Type]
		if !named || f.Action != Replace || (f.Cause != CausePropertyChanged && f.Cause != CauseDependency) {
			continue
		}
		p := place{f.Stack, f.LogicalID}
		b, h := baseAt[p], headAt[p]
		name, isString := b.Properties[nameProperty].(string)
		if !isString || h.Properties[nameProperty] != name {
			continue // unnamed, or renamed: CloudFormation can replace it
		}
		reason := fmt.Sprintf("%s %q stays while %s %s, which CloudFormation can only apply by replacing the resource, and a resource with a custom name cannot be replaced under the same name (\"If you specify a name, you cannot perform updates that require replacement\", CloudFormation reference for %s), so the deploy fails",
			nameProperty, name, strings.Join(f.Properties, ", "), plural(f.Properties, "changes", "change"), f.Type)
		if f.Type == "AWS::ApiGateway::ApiKey" {
			reason += fmt.Sprintf(". To rotate key %q (a new secretName or secretJsonKey is a new value), add a new key under a new name with the new secret, deploy, move its clients to the new value, then remove (or disable) %q in a later deploy; keep %q's secretName and secretJsonKey as they are meanwhile", name, name, name)
		} else {
			reason += fmt.Sprintf("; give it a new %s along with the change, or revert the change", nameProperty)
		}
		out = append(out, Finding{Action: Refuse, Cause: CauseNamedReplacement, Type: f.Type, LogicalID: f.LogicalID, Stack: f.Stack, Properties: f.Properties, Reason: reason})
	}
	return out
}

// keysInTwoPlans refuses attaching a key that stays to a plan while its
// current attachment still exists. CloudFormation creates a replacement (or
// a new logical ID) before it deletes the old one, and API Gateway allows a
// key in only one usage plan per stage (keygate's plans all serve its one
// stage), nor twice in the same plan, so the new attachment fails: moving a
// key to another plan, or renaming its plan, fails the deploy
// (aws/aws-cdk#11876, aws/aws-cdk#13817: "The API Gateway service does not
// allow more than one UsagePlanKey for any given UsagePlan and ApiKey
// combination").
func keysInTwoPlans(head []placed, baseAt, headAt map[place]placed, replaced map[place]bool) []Finding {
	// The base attachments of each key, by the key's place.
	attachedIn := map[place][]placed{}
	for _, b := range baseAt {
		if b.Type != "AWS::ApiGateway::UsagePlanKey" {
			continue
		}
		if key, ok := origin(baseAt, b.stack, b.Properties["KeyId"]); ok {
			attachedIn[key] = append(attachedIn[key], b)
		}
	}
	for _, attachments := range attachedIn {
		slices.SortFunc(attachments, func(a, b placed) int { return comparePlaces(a.place, b.place) })
	}
	var out []Finding
	for _, h := range head {
		if h.Type != "AWS::ApiGateway::UsagePlanKey" {
			continue
		}
		if b, inBase := baseAt[h.place]; inBase && b.Type == h.Type && !replaced[h.place] {
			continue // the attachment stays as it is
		}
		key, ok := origin(headAt, h.stack, h.Properties["KeyId"])
		if !ok {
			continue
		}
		baseKey, keyStays := baseAt[key]
		if !keyStays || baseKey.Type != "AWS::ApiGateway::ApiKey" || replaced[key] {
			continue // a new key: nothing holds it yet
		}
		old := attachedIn[key]
		if len(old) == 0 {
			continue // a detached key being attached: step 2 of a move
		}
		keyName := nameOf(baseKey, "Name")
		newPlan := planName(headAt, h)
		oldPlan := planName(baseAt, old[0])
		oldPlace := planPlace(baseAt, old[0])
		_, oldPlanStays := headAt[oldPlace]
		var what, steps string
		if oldPlanStays {
			what = fmt.Sprintf("key %q would be attached to usage plan %s while still attached to %s", keyName, newPlan, oldPlan)
			if oldPlace == planPlace(headAt, h) {
				what = fmt.Sprintf("key %q would be attached to usage plan %s again (its attachment is replaced) while its current attachment still exists", keyName, newPlan)
			}
			steps = fmt.Sprintf("Move it in two deploys: 1) set \"detached\": true on the apiKeys entry %q (keep its plan) and deploy: the key stays, unattached, and its clients get 403 until step 2 (the guard reports the detachment: approve it in deploy/approved-changes.json); 2) set its plan to the new one, remove \"detached\" and deploy", keyName)
		} else if newPlace := planPlace(headAt, h); isPlan(baseAt, newPlace) {
			// The old plan is removed and the key goes to a plan that
			// exists already: a move, not a rename.
			what = fmt.Sprintf("key %q would be attached to usage plan %s, which exists already, while its attachment to %s, which is removed, still exists", keyName, newPlan, oldPlan)
			steps = fmt.Sprintf("Move it in two deploys: 1) set its plan to the new one and \"detached\": true on the apiKeys entry %q, and deploy (removing the old plan in the same deploy is fine): the key stays, unattached, and its clients get 403 until step 2 (the guard reports the detachment: approve it in deploy/approved-changes.json); 2) remove \"detached\" and deploy", keyName)
		} else {
			what = fmt.Sprintf("key %q would be attached to usage plan %s while its attachment to %s, which is renamed or removed, still exists", keyName, newPlan, oldPlan)
			steps = "Rename a plan in two deploys: 1) rename it, point its keys' plan at the new name and set \"detached\": true on each of them, and deploy: the keys stay, unattached, and their clients get 403 until step 2 (approve the detachments in deploy/approved-changes.json); 2) remove \"detached\" from those keys and deploy"
		}
		out = append(out, Finding{
			Action: Refuse, Cause: CauseKeyInTwoPlans, Type: h.Type, LogicalID: h.id, Stack: h.stack,
			Reason: what + ": CloudFormation creates the new attachment before it deletes the old one, and API Gateway allows a key in only one usage plan per stage, so the deploy fails (aws/aws-cdk#11876). " + steps,
		})
	}
	return out
}

// origin follows a value (Ref, Fn::GetAtt) to the resource it names,
// through the parameters a parent stack passes to a nested one.
func origin(at map[place]placed, stack string, value any) (place, bool) {
	for range 16 { // nesting depth bound; keygate nests one level
		refs := map[string]bool{}
		references(value, refs)
		if len(refs) != 1 {
			return place{}, false
		}
		var id string
		for r := range refs {
			id = r
		}
		if _, isResource := at[place{stack, id}]; isResource {
			return place{stack, id}, true
		}
		if stack == rootStack {
			return place{}, false
		}
		parent, nestedID := splitStack(stack)
		params, _ := at[place{parent, nestedID}].Properties["Parameters"].(map[string]any)
		passed, ok := params[id]
		if !ok {
			return place{}, false
		}
		stack, value = parent, passed
	}
	return place{}, false
}

// planPlace is the usage plan an attachment names, or the zero place.
func planPlace(at map[place]placed, attachment placed) place {
	p, _ := origin(at, attachment.stack, attachment.Properties["UsagePlanId"])
	return p
}

// isPlan reports whether p is a usage plan in at.
func isPlan(at map[place]placed, p place) bool {
	r, ok := at[p]
	return ok && r.Type == "AWS::ApiGateway::UsagePlan"
}

// planName names the usage plan an attachment names, for messages.
func planName(at map[place]placed, attachment placed) string {
	p, ok := origin(at, attachment.stack, attachment.Properties["UsagePlanId"])
	if !ok {
		return "(a plan the guard cannot resolve)"
	}
	return fmt.Sprintf("%q", nameOf(at[p], "UsagePlanName", p.id))
}

// nameOf is a resource's name property, else the fallback (or its logical
// ID).
func nameOf(r placed, property string, fallback ...string) string {
	if name, ok := r.Properties[property].(string); ok && name != "" {
		return name
	}
	if len(fallback) > 0 {
		return fallback[0]
	}
	return r.id
}

// sortFindings orders findings by stack, logical ID and action, so output is
// the same on every run.
func sortFindings(findings []Finding) {
	slices.SortFunc(findings, func(a, b Finding) int {
		if c := comparePlaces(place{a.Stack, a.LogicalID}, place{b.Stack, b.LogicalID}); c != 0 {
			return c
		}
		return strings.Compare(string(a.Action), string(b.Action))
	})
}

// Review is what the guard says about a diff: the guarded findings (Delete
// and Replace, which an approval may allow, and Refuse, which nothing allows)
// and the resource operations one deploy makes.
type Review struct {
	Findings   []Finding  `json:"findings"`
	Operations Operations `json:"operations"`
	// RootTemplateOnly: the review compared two root template files, so
	// nested stacks count as their AWS::CloudFormation::Stack resources
	// only, not what is inside them.
	RootTemplateOnly bool `json:"rootTemplateOnly,omitempty"`
}

// Refused reports whether any finding is a [Refuse].
func (r Review) Refused() bool {
	return slices.ContainsFunc(r.Findings, func(f Finding) bool { return f.Action == Refuse })
}

// review compares base with head, counts the operations and adds the
// refusals.
func review(base, head []placed) Review {
	normalizeKeyIDs(base)
	normalizeKeyIDs(head)
	findings := compare(base, head)
	baseAt, headAt := index(base), index(head)
	ops, replaced := countOperations(base, head, baseAt, headAt, findings)
	findings = append(findings, refusals(base, head, baseAt, headAt, findings, ops, replaced)...)
	sortFindings(findings)
	return Review{Findings: findings, Operations: ops}
}
