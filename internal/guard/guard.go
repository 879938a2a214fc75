// Package guard compares two synthesized CloudFormation templates of the same
// stack and finds the changes that would lock clients out: an API key, usage
// plan, usage plan key, REST API, stage or nested key stack deleted or
// replaced (a replaced key gets a new value; a replaced plan, attachment or
// stage detaches keys), or a log group deleted or replaced (its logs are lost).
//
// It reads templates as JSON and decides with plain Go, so `make diff` and the
// workflows can run it offline, without AWS credentials. What counts as a
// replacement lives in one table, [rules], taken from the CloudFormation
// resource reference.
//
// It also counts the resources one deploy creates, updates and deletes
// across the nested-stack hierarchy ([Operations]) and reports as [Refuse]
// what CloudFormation or API Gateway would fail mid-deploy, which no label
// may allow: more than [MaxOperationsPerDeploy] operations, a key attached to
// a plan while its old attachment exists, a named resource replaced under
// its name, a new key or log group reusing the value or name of one that
// goes. [ReviewAssemblies] returns both.
package guard

import "fmt"

// Action is what CloudFormation would do to a guarded resource.
type Action string

// The actions the guard reports.
const (
	// Delete: the resource goes and nothing takes its place.
	Delete Action = "DELETE"
	// Replace: the resource goes and a new one with a new physical ID (a new
	// key value, a new API URL) takes its place.
	Replace Action = "REPLACE"
)

// Cause says which kind of template change led to a [Finding], for workflows
// that want to treat, say, renames differently from plain deletions.
type Cause string

// The causes the guard reports.
const (
	// CauseRemoved: the logical ID is gone and nothing of its type appears.
	CauseRemoved Cause = "removed"
	// CauseRenamed: the logical ID is gone while one of the same type
	// appears, most likely the same resource under a new logical ID.
	CauseRenamed Cause = "renamed"
	// CauseMoved: the logical ID is gone from its (nested) stack and appears,
	// with the same type, in another one of the same root stack.
	CauseMoved Cause = "moved"
	// CauseTypeChanged: the logical ID stays but names another type.
	CauseTypeChanged Cause = "type-changed"
	// CausePropertyChanged: a property CloudFormation can only change by
	// replacement has a different value.
	CausePropertyChanged Cause = "property-changed"
	// CauseDependency: a replacement property refers (Ref, Fn::GetAtt,
	// Fn::Sub) to a resource that is itself replaced in place, so its
	// resolved value changes although its template text does not.
	CauseDependency Cause = "dependency-replaced"
)

// Finding is one guarded change.
type Finding struct {
	Action    Action `json:"action"`
	Cause     Cause  `json:"cause"`
	Type      string `json:"type"`
	LogicalID string `json:"logicalId"`
	// Stack is where the resource is: "" for the root stack, else the
	// logical ID of the AWS::CloudFormation::Stack resource holding it
	// (joined with "/" for stacks nested more than one level deep).
	Stack string `json:"stack,omitempty"`
	// Properties lists the replacement properties that change (or that
	// refer to a replaced resource), for CausePropertyChanged and
	// CauseDependency.
	Properties []string `json:"properties,omitempty"`
	// Retained is true when a Retain DeletionPolicy (for a deletion) or
	// UpdateReplacePolicy (for an in-place replacement) keeps the old
	// physical resource in the account. It still leaves the stack: a key
	// loses its usage plan attachment, a log group its management.
	Retained bool   `json:"retained,omitempty"`
	Reason   string `json:"reason"`
}

// String is the one-line, human form printed by cmd/guard, e.g.
//
//	REPLACE AWS::ApiGateway::ApiKey ApiKeyPartnerAcme (nested Keys01): property Name changes; ...
func (f Finding) String() string {
	where := ""
	if f.Stack != "" {
		where = " (nested " + f.Stack + ")"
	}
	if f.LogicalID == "" { // about the whole deploy, e.g. the operation quota
		return fmt.Sprintf("%s %s: %s", f.Action, f.Type, f.Reason)
	}
	return fmt.Sprintf("%s %s %s%s: %s", f.Action, f.Type, f.LogicalID, where, f.Reason)
}
