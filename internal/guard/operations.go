package guard

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// MaxOperationsPerDeploy is CloudFormation's quota on the resources one
// stack operation may create, update or delete across a nested-stack
// hierarchy: "Nested stacks: Maximum number of CloudFormation resources a
// nested stack can create, update, or delete per operation. 2500 resources"
// (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html).
// It is not adjustable, so no label or approval can let a larger diff pass.
const MaxOperationsPerDeploy = 2500

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
		case slices.ContainsFunc(replacementProperties(h.Type), func(p string) bool { return !reflect.DeepEqual(h.Properties[p], b.Properties[p]) }):
			// Guarded types are in the findings already; this adds the
			// unguarded ones (a renamed alarm, a moved method).
			replaced[b.place] = true
		case !reflect.DeepEqual(h.Properties, b.Properties):
			updated[b.place] = true
		}
	}
	for _, h := range head {
		if _, inBase := baseAt[h.place]; !inBase {
			ops.Create++
		}
	}

	// Values that change without their text changing: replaced resources,
	// and the parameters of nested stacks that pass a changed value in.
	changedParams := map[place]bool{}
	// What each resource that stays reads, worked out once: all its
	// properties, and its replacement properties if its type is guarded.
	type reads struct{ all, replacing map[string]bool }
	readsOf := map[place]reads{}
	for _, h := range head {
		if b, inBase := baseAt[h.place]; inBase && b.Type == h.Type {
			r := reads{all: map[string]bool{}, replacing: map[string]bool{}}
			references(h.Properties, r.all)
			for _, p := range replacementProperties(h.Type) {
				references(h.Properties[p], r.replacing)
			}
			readsOf[h.place] = r
		}
	}
	for grew := true; grew; {
		grew = false
		for _, h := range head {
			r, stays := readsOf[h.place]
			if !stays || replaced[h.place] {
				continue
			}
			b := baseAt[h.place]
			changes := func(ids map[string]bool) bool {
				for id := range ids {
					if replaced[place{h.stack, id}] || changedParams[place{h.stack, id}] {
						return true
					}
				}
				return false
			}
			// A replacement property of a guarded type that reads a new
			// value replaces the resource, across nested stacks too (a
			// plan replaced in the root replaces the attachments that
			// receive its id as a parameter).
			if changes(r.replacing) {
				replaced[h.place] = true
				grew = true
				continue
			}
			if !updated[h.place] && changes(r.all) {
				updated[h.place] = true
				grew = true
			}
			if h.Type == "AWS::CloudFormation::Stack" && updated[h.place] {
				inner := nestedPath(h.stack, h.id)
				params, _ := h.Properties["Parameters"].(map[string]any)
				oldParams, _ := b.Properties["Parameters"].(map[string]any)
				for name, value := range params {
					p := place{inner, name}
					if changedParams[p] {
						continue
					}
					valueRefs := map[string]bool{}
					references(value, valueRefs)
					changed := !reflect.DeepEqual(value, oldParams[name])
					for id := range valueRefs {
						changed = changed || replaced[place{h.stack, id}] || changedParams[place{h.stack, id}]
					}
					if changed {
						changedParams[p] = true
						grew = true
					}
				}
			}
		}
		// A nested stack is updated when anything inside it is created,
		// updated, replaced or deleted.
		for p := range touchedStacks(base, head, baseAt, headAt, replaced, updated) {
			if !updated[p] && !replaced[p] {
				if _, inBoth := baseAt[p]; inBoth {
					if _, inHead := headAt[p]; inHead {
						updated[p] = true
						grew = true
					}
				}
			}
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
