package guard

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/keygate/keygate/internal/config"
)

// MaxOperationsPerDeploy is CloudFormation's quota on the resources one
// stack operation may create, update or delete across a nested-stack
// hierarchy: "Nested stacks: Maximum number of CloudFormation resources a
// nested stack can create, update, or delete per operation. 2500 resources"
// (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html).
// It is not adjustable, so no approval can let a larger diff pass. The config
// derives its cap of CloudFormation-managed keys from the same number.
const MaxOperationsPerDeploy = config.CloudFormationMaxResourcesPerOperation

// Operations is how many resources one deploy of a diff creates, updates and
// deletes, every nested stack (and each AWS::CloudFormation::Stack resource
// itself) included.
type Operations struct {
	Create int `json:"create"`
	Update int `json:"update"`
	Delete int `json:"delete"`
}

// Total is what CloudFormation counts against [MaxOperationsPerDeploy].
func (o Operations) Total() int { return o.Create + o.Update + o.Delete }

// MarshalJSON adds the total and CloudFormation's quota to the counts, so
// a consumer need not know either.
func (o Operations) MarshalJSON() ([]byte, error) {
	type counts Operations
	return json.Marshal(struct {
		counts
		Total int `json:"total"`
		Max   int `json:"max"`
	}{counts(o), o.Total(), MaxOperationsPerDeploy})
}

func (o Operations) String() string {
	return fmt.Sprintf("%d to create, %d to update, %d to delete: %d of CloudFormation's %d resource operations per deploy",
		o.Create, o.Update, o.Delete, o.Total(), MaxOperationsPerDeploy)
}

// countOperations counts what CloudFormation does to go from base to head,
// and returns with the count every resource replaced in place:
//
//   - a logical ID only in head is a create, one only in base a delete
//     (with DeletionPolicy Retain too: CloudFormation still processes it);
//   - a replacement, which the findings name for guarded types, or a type
//     change is a create and a delete: CloudFormation creates the new
//     resource, then deletes the old one in the cleanup phase;
//   - any other change of Properties is an update, and so is a resource whose
//     Properties read (Ref, Fn::GetAtt, Fn::Sub) a replaced resource or a
//     nested stack parameter whose value changes, since its resolved value
//     changes although its text does not;
//   - a nested stack resource is updated whenever anything inside it is.
//
// Replacement properties are those of [rules] and, for the unguarded types
// keygate synthesizes, [countedReplacements].
//
// DependsOn, Metadata and policies alone are not counted: an update that
// changes only such attributes makes CloudFormation touch no resource
// ("the UpdateStack operation does nothing in this case", aws/aws-cdk#21496,
// on DependsOn-only changes), so the DependsOn chains between keys, which
// change a neighbour's DependsOn when a key is added, cost nothing here.
// A type whose replacement properties the guard does not know
// ([KnowsReplacementsOf]) counts its changes as updates.
func countOperations(base, head []placed, baseAt, headAt map[place]placed, findings []Finding) (Operations, map[place]bool) {
	replaced := map[place]bool{}
	for _, f := range findings {
		if f.Action == Replace {
			p := place{f.Stack, f.LogicalID}
			if _, inHead := headAt[p]; inHead {
				replaced[p] = true
			}
		}
	}
	var ops Operations
	updated := map[place]bool{}
	for _, b := range base {
		h, inHead := headAt[b.place]
		switch {
		case !inHead:
			ops.Delete++
		case h.Type != b.Type:
			replaced[b.place] = true
		case reflect.DeepEqual(h.Properties, b.Properties):
		case slices.ContainsFunc(replacementProperties(h.Type), func(p string) bool { return !reflect.DeepEqual(h.Properties[p], b.Properties[p]) }):
			// Guarded types are in the findings already; this adds the
			// unguarded ones (a renamed alarm, a moved method).
			replaced[b.place] = true
		default:
			updated[b.place] = true
		}
	}
	for _, h := range head {
		if _, inBase := baseAt[h.place]; !inBase {
			ops.Create++
		}
	}

	// Values that change without their text changing: replaced resources,
	// and the parameters of nested stacks that pass a new value in. They
	// spread to what reads them (Ref, Fn::GetAtt, Fn::Sub), worked out once
	// per resource: readers is, for each value (a resource or a nested
	// stack parameter, by place), the resources that stay and read it, and
	// whether they read it in a replacement property.
	type reader struct {
		at        place
		replacing bool
	}
	readers := map[place][]reader{}
	for _, h := range head {
		if b, inBase := baseAt[h.place]; !inBase || b.Type != h.Type {
			continue
		}
		all, replacing := map[string]bool{}, map[string]bool{}
		references(h.Properties, all)
		for _, p := range replacementProperties(h.Type) {
			references(h.Properties[p], replacing)
		}
		for id := range all {
			v := place{h.stack, id}
			readers[v] = append(readers[v], reader{h.place, replacing[id]})
		}
	}
	changedParams := map[place]bool{}
	var changed []place // values whose change has yet to reach their readers
	for p := range replaced {
		changed = append(changed, p)
	}
	// passChanges marks the parameters of nested stack resource at whose
	// value changes: its text differs, or it reads a changed value.
	passChanges := func(at place) {
		h := headAt[at]
		if h.Type != "AWS::CloudFormation::Stack" {
			return
		}
		inner := nestedPath(at.stack, at.id)
		params, _ := h.Properties["Parameters"].(map[string]any)
		oldParams, _ := baseAt[at].Properties["Parameters"].(map[string]any)
		for name, value := range params {
			p := place{inner, name}
			if changedParams[p] {
				continue
			}
			differs := !reflect.DeepEqual(value, oldParams[name])
			if !differs {
				refs := map[string]bool{}
				references(value, refs)
				for id := range refs {
					v := place{at.stack, id}
					differs = differs || replaced[v] || changedParams[v]
				}
			}
			if differs {
				changedParams[p] = true
				changed = append(changed, p)
			}
		}
	}
	for p := range updated {
		passChanges(p)
	}
	for len(changed) > 0 {
		v := changed[len(changed)-1]
		changed = changed[:len(changed)-1]
		for _, r := range readers[v] {
			switch {
			case replaced[r.at]:
			case r.replacing:
				// A replacement property that reads a new value replaces
				// the resource, across nested stacks too (a plan replaced
				// in the root replaces the attachments that receive its id
				// as a parameter).
				replaced[r.at] = true
				changed = append(changed, r.at)
			case !updated[r.at]:
				updated[r.at] = true
				passChanges(r.at)
			default:
				passChanges(r.at) // updated already; v may be new to its parameters
			}
		}
	}
	// A nested stack is updated when anything inside it is created, updated,
	// replaced or deleted. (That passes no new value to its parameters.)
	for p := range touchedStacks(base, head, baseAt, headAt, replaced, updated) {
		_, inBase := baseAt[p]
		_, inHead := headAt[p]
		if inBase && inHead && !replaced[p] {
			updated[p] = true
		}
	}
	for p := range replaced {
		if _, inBase := baseAt[p]; inBase {
			ops.Create++
			ops.Delete++
		}
	}
	for p := range updated {
		if !replaced[p] {
			ops.Update++
		}
	}
	return ops, replaced
}

// touchedStacks are the AWS::CloudFormation::Stack resources (as places in
// their parent) that hold, at any depth, a resource created, deleted,
// replaced or updated.
func touchedStacks(base, head []placed, baseAt, headAt map[place]placed, replaced, updated map[place]bool) map[place]bool {
	touched := map[place]bool{}
	mark := func(stack string) {
		for stack != rootStack {
			parent, id := splitStack(stack)
			touched[place{parent, id}] = true
			stack = parent
		}
	}
	for _, b := range base {
		if _, inHead := headAt[b.place]; !inHead || replaced[b.place] || updated[b.place] {
			mark(b.stack)
		}
	}
	for _, h := range head {
		if _, inBase := baseAt[h.place]; !inBase {
			mark(h.stack)
		}
	}
	return touched
}

// splitStack is the inverse of nestedPath: the parent stack and the logical
// ID of the nested stack resource in it.
func splitStack(stack string) (parent, id string) {
	i := strings.LastIndex(stack, "/")
	if i < 0 {
		return rootStack, stack
	}
	return stack[:i], stack[i+1:]
}

func index(resources []placed) map[place]placed {
	at := make(map[place]placed, len(resources))
	for _, r := range resources {
		at[r.place] = r
	}
	return at
}
