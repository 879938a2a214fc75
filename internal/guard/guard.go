// Package guard compares two synthesized CloudFormation templates of the
// same stack and finds the changes that would lock clients out: an API key,
// usage plan, usage plan key, REST API or stage deleted or replaced (a
// replaced key gets a new value; a replaced plan or stage detaches every
// key), or a log group deleted or replaced (its logs are lost).
//
// It reads templates as JSON and decides with plain Go, so `make diff` and
// the workflows can run it without AWS credentials.
package guard

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
)

// guardedType is a resource type whose identity clients depend on.
type guardedType struct {
	// why it matters when the resource goes, for the message.
	why string
	// replacementProperties are the properties CloudFormation can only
	// change by replacing the resource ("Update requires: Replacement" in
	// the CloudFormation resource and property type reference,
	// docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/).
	replacementProperties []string
}

// guarded is the one list of guarded types and their replacement properties.
var guarded = map[string]guardedType{
	"AWS::ApiGateway::ApiKey": {
		why:                   "the key gets a new value (or is gone) and every client using it is locked out",
		replacementProperties: []string{"GenerateDistinctId", "Name", "Value"},
	},
	"AWS::ApiGateway::UsagePlanKey": {
		why:                   "the key is detached from its usage plan: its clients get 403 until it is attached again",
		replacementProperties: []string{"KeyId", "KeyType", "UsagePlanId"},
	},
	"AWS::ApiGateway::UsagePlan": {
		why: "every key attached to the plan loses it: their clients get 403",
	},
	"AWS::ApiGateway::RestApi": {
		why: "the API gets a new id and URL: every client must be reconfigured",
	},
	"AWS::ApiGateway::Stage": {
		why:                   "the stage's URL, usage plan bindings and settings go with it",
		replacementProperties: []string{"RestApiId", "StageName"},
	},
	"AWS::Logs::LogGroup": {
		why:                   "its logs are lost (data loss)",
		replacementProperties: []string{"LogGroupClass", "LogGroupName"},
	},
	"AWS::CloudFormation::Stack": {
		why: "the nested stack is deleted with every resource in it (keygate keeps API keys there)",
	},
}

// Action is what CloudFormation would do to a guarded resource.
type Action string

// The actions the guard reports.
const (
	Delete  Action = "DELETE"
	Replace Action = "REPLACE"
)

// Finding is one guarded change.
type Finding struct {
	Action    Action `json:"action"`
	Type      string `json:"type"`
	LogicalID string `json:"logicalId"`
	// Stack is where the resource is: "" for the stack itself, else the
	// logical ID of the nested stack resource holding it.
	Stack  string `json:"stack,omitempty"`
	Reason string `json:"reason"`
}

func (f Finding) String() string {
	where := ""
	if f.Stack != "" {
		where = " (nested " + f.Stack + ")"
	}
	return fmt.Sprintf("%s %s %s%s: %s", f.Action, f.Type, f.LogicalID, where, f.Reason)
}

type template struct {
	Resources map[string]resource `json:"Resources"`
}

type resource struct {
	Type           string         `json:"Type"`
	Properties     map[string]any `json:"Properties"`
	DeletionPolicy string         `json:"DeletionPolicy"`
	Metadata       map[string]any `json:"Metadata"`
}

// located is a resource and the (nested) stack it is in.
type located struct {
	stack string
	id    string
	resource
}

// CompareTemplates compares two templates of one stack (nested stacks are
// compared as resources only).
func CompareTemplates(base, head []byte) ([]Finding, error) {
	baseTemplate, err := parse(base, "base")
	if err != nil {
		return nil, err
	}
	headTemplate, err := parse(head, "head")
	if err != nil {
		return nil, err
	}
	baseResources, _ := flatten("", baseTemplate, nil)
	headResources, _ := flatten("", headTemplate, nil)
	return compare(baseResources, headResources), nil
}

// CompareAssemblies compares a stack in two cdk.out directories, nested
// stacks included: their templates are found through the aws:asset:path
// metadata CDK puts on each AWS::CloudFormation::Stack resource.
func CompareAssemblies(baseDir, headDir, stack string) ([]Finding, error) {
	load := func(dir, side string) ([]located, error) {
		root, err := readTemplate(filepath.Join(dir, stack+".template.json"), side)
		if err != nil {
			return nil, err
		}
		return flatten("", root, func(file string) (*template, error) {
			return readTemplate(filepath.Join(dir, file), side)
		})
	}
	base, err := load(baseDir, "base")
	if err != nil {
		return nil, err
	}
	head, err := load(headDir, "head")
	if err != nil {
		return nil, err
	}
	return compare(base, head), nil
}

func readTemplate(path, side string) (*template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", side, err)
	}
	return parse(data, side+" "+path)
}

func parse(data []byte, what string) (*template, error) {
	var t template
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("%s is not a CloudFormation template: %w", what, err)
	}
	return &t, nil
}

// flatten lists a template's resources and, when nested can read them, those
// of its nested stacks.
func flatten(stack string, t *template, nested func(file string) (*template, error)) ([]located, error) {
	var out []located
	for id, r := range t.Resources {
		out = append(out, located{stack: stack, id: id, resource: r})
		if r.Type != "AWS::CloudFormation::Stack" || nested == nil {
			continue
		}
		file, _ := r.Metadata["aws:asset:path"].(string)
		if file == "" {
			return nil, fmt.Errorf("nested stack %s has no aws:asset:path metadata: synthesize with the CDK CLI, which adds it", id)
		}
		child, err := nested(file)
		if err != nil {
			return nil, err
		}
		inner, err := flatten(id, child, nested)
		if err != nil {
			return nil, err
		}
		out = append(out, inner...)
	}
	return out, nil
}

// place is where a resource is: its stack and logical ID.
type place struct{ stack, id string }

func compare(base, head []located) []Finding {
	headAt := map[place]located{}
	headIDs := map[string][]located{} // by logical ID, any stack
	for _, r := range head {
		headAt[place{r.stack, r.id}] = r
		headIDs[r.id] = append(headIDs[r.id], r)
	}
	baseAt := map[place]bool{}
	for _, r := range base {
		baseAt[place{r.stack, r.id}] = true
	}

	var findings []Finding
	for _, b := range base {
		g, isGuarded := guarded[b.Type]
		if !isGuarded {
			continue
		}
		finding := func(action Action, reason string) {
			if b.DeletionPolicy == "Retain" && action == Delete {
				reason += " (DeletionPolicy Retain keeps the resource, but it leaves the stack)"
			}
			findings = append(findings, Finding{Action: action, Type: b.Type, LogicalID: b.id, Stack: b.stack, Reason: reason})
		}
		h, inHead := headAt[place{b.stack, b.id}]
		switch {
		case !inHead:
			if moved := sameTypeElsewhere(headIDs[b.id], b); moved != "" {
				finding(Replace, fmt.Sprintf("moves to %s; CloudFormation deletes it here and creates a new one there: %s", moved, g.why))
			} else if renamed := newOfType(head, baseAt, b); len(renamed) > 0 {
				finding(Replace, fmt.Sprintf("is gone while %s of the same type appears (a rename is a replacement): %s", strings.Join(renamed, ", "), g.why))
			} else {
				finding(Delete, "is removed: "+g.why)
			}
		case h.Type != b.Type:
			finding(Replace, fmt.Sprintf("changes type to %s: %s", h.Type, g.why))
		default:
			var changed []string
			for _, p := range g.replacementProperties {
				if !reflect.DeepEqual(b.Properties[p], h.Properties[p]) {
					changed = append(changed, p)
				}
			}
			if len(changed) > 0 {
				finding(Replace, fmt.Sprintf("%s %s; CloudFormation replaces the resource: %s", plural(changed, "property", "properties"), strings.Join(changed, ", "), g.why))
			}
		}
	}
	sort.Slice(findings, func(i, j int) bool {
		a, b := findings[i], findings[j]
		if a.Stack != b.Stack {
			return a.Stack < b.Stack
		}
		return a.LogicalID < b.LogicalID
	})
	return findings
}

func sameTypeElsewhere(candidates []located, r located) string {
	for _, c := range candidates {
		if c.Type == r.Type && c.stack != r.stack {
			if c.stack == "" {
				return "the stack itself"
			}
			return "nested stack " + c.stack
		}
	}
	return ""
}

// newOfType lists the logical IDs of r's type that head adds, in any of the
// stack's templates (a renamed key may land in another nested stack).
func newOfType(head []located, baseAt map[place]bool, r located) []string {
	var ids []string
	for _, h := range head {
		if h.Type == r.Type && !baseAt[place{h.stack, h.id}] {
			ids = append(ids, h.id)
		}
	}
	sort.Strings(ids)
	if len(ids) > 3 {
		ids = append(ids[:3], fmt.Sprintf("%d more", len(ids)-3))
	}
	return ids
}

func plural(items []string, one, many string) string {
	if len(items) == 1 {
		return one
	}
	return many
}
