package guard

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// template is the part of a CloudFormation template the guard reads.
type template struct {
	Resources map[string]resource
}

// resource is one entry of a template's Resources section.
type resource struct {
	Type       string         `json:"Type"`
	Properties map[string]any `json:"Properties"`
	// The policies are any, not string: the AWS::LanguageExtensions
	// transform allows intrinsics there, and failing to parse such a
	// template would be worse than treating it as not retained.
	DeletionPolicy      any            `json:"DeletionPolicy"`
	UpdateReplacePolicy any            `json:"UpdateReplacePolicy"`
	Metadata            map[string]any `json:"Metadata"`
}

// parseTemplate decodes a template and checks it looks like one, so that a
// wrong file (an assets manifest, a truncated download) is an error rather
// than a template with no resources, which would let every deletion pass.
// The empty object {} is accepted: scripts/deployed-templates.sh writes it
// for a stack that is not deployed yet.
func parseTemplate(data []byte) (*template, error) {
	var sections map[string]json.RawMessage
	if err := json.Unmarshal(data, &sections); err != nil {
		return nil, fmt.Errorf("not a JSON CloudFormation template: %w", err)
	}
	if sections == nil {
		return nil, errors.New("not a JSON CloudFormation template: null")
	}
	t := &template{Resources: map[string]resource{}}
	raw, ok := sections["Resources"]
	if !ok {
		if len(sections) > 0 {
			return nil, errors.New("not a CloudFormation template: it has no Resources section")
		}
		return t, nil
	}
	if err := json.Unmarshal(raw, &t.Resources); err != nil {
		return nil, fmt.Errorf("Resources: %w", err)
	}
	if t.Resources == nil {
		// "Resources": null would otherwise read as a stack with nothing in
		// it, and let every deletion pass.
		return nil, errors.New(`not a CloudFormation template: Resources is null (a stack that is not deployed yet is {} or {"Resources": {}})`)
	}
	for id, r := range t.Resources {
		if r.Type == "" {
			return nil, fmt.Errorf("Resources.%s: no Type", id)
		}
	}
	return t, nil
}

// retains reports whether a DeletionPolicy or UpdateReplacePolicy keeps the
// physical resource when CloudFormation lets go of it.
func retains(policy any) bool {
	return policy == "Retain" || policy == "RetainExceptOnCreate"
}

// subVariable matches ${Name} and ${Name.Attribute} in an Fn::Sub string,
// but not the literal ${!Name}.
var subVariable = regexp.MustCompile(`\$\{([^!}][^}.]*)[^}]*\}`)

// references collects the logical IDs (or parameter names) a property value
// points at through Ref, Fn::GetAtt and Fn::Sub, at any depth.
func references(value any, into map[string]bool) {
	switch v := value.(type) {
	case []any:
		for _, item := range v {
			references(item, into)
		}
	case map[string]any:
		if len(v) == 1 {
			switch {
			case isString(v["Ref"]):
				into[v["Ref"].(string)] = true
				return
			case v["Fn::GetAtt"] != nil:
				switch target := v["Fn::GetAtt"].(type) {
				case []any:
					if len(target) > 0 && isString(target[0]) {
						into[target[0].(string)] = true
					}
				case string: // the "LogicalId.Attribute" short form
					id, _, _ := strings.Cut(target, ".")
					into[id] = true
				}
				return
			case v["Fn::Sub"] != nil:
				pattern := v["Fn::Sub"]
				if form, ok := pattern.([]any); ok && len(form) > 0 {
					pattern = form[0]
					if len(form) > 1 {
						references(form[1], into)
					}
				}
				if s, ok := pattern.(string); ok {
					for _, m := range subVariable.FindAllStringSubmatch(s, -1) {
						into[m[1]] = true
					}
				}
				return
			}
		}
		for _, item := range v {
			references(item, into)
		}
	}
}

func isString(v any) bool {
	_, ok := v.(string)
	return ok
}
