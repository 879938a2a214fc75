// Package iampolicy reads the IAM policy documents in deploy/iam and
// answers, the way IAM matches strings, whether a policy allows an action on
// a resource. The tests beside it hold those documents to least privilege.
package iampolicy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
)

// Document is an IAM policy document (identity or trust policy).
type Document struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one statement; Action and Resource may be a string or a
// list in JSON and are always lists here.
type Statement struct {
	Sid       string                        `json:"Sid"`
	Effect    string                        `json:"Effect"`
	Principal map[string]any                `json:"Principal"`
	Action    Strings                       `json:"Action"`
	NotAction Strings                       `json:"NotAction"`
	Resource  Strings                       `json:"Resource"`
	Condition map[string]map[string]Strings `json:"Condition"`
}

// Strings is a JSON string or list of strings.
type Strings []string

// UnmarshalJSON accepts "x" and ["x", "y"].
func (s *Strings) UnmarshalJSON(data []byte) error {
	var one string
	if err := json.Unmarshal(data, &one); err == nil {
		*s = Strings{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(data, &many); err != nil {
		return fmt.Errorf("want a string or a list of strings: %w", err)
	}
	*s = many
	return nil
}

// Parse parses the policy document data (read from file, named in errors)
// strictly: unknown top-level or statement keys are errors, so a typo cannot
// silently drop a condition.
func Parse(file string, data []byte) (Document, error) {
	var d Document
	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(&d); err != nil {
		return Document{}, fmt.Errorf("%s: %w", file, err)
	}
	return d, nil
}

// Allows reports whether an Allow statement of the document grants action
// on resource, ignoring conditions (which only ever narrow a grant). IAM
// matches actions case-insensitively and both with * and ? wildcards.
func (d Document) Allows(action, resource string) bool {
	for _, s := range d.Statement {
		if s.Effect != "Allow" {
			continue
		}
		if !anyMatch(s.Action, action, true) {
			continue
		}
		if anyMatch(s.Resource, resource, false) {
			return true
		}
	}
	return false
}

func anyMatch(patterns []string, value string, foldCase bool) bool {
	for _, p := range patterns {
		if foldCase {
			p, value = strings.ToLower(p), strings.ToLower(value)
		}
		if Match(p, value) {
			return true
		}
	}
	return false
}

// Match is IAM's wildcard match: * is any run of characters ("/" and ":"
// included), ? one character.
func Match(pattern, value string) bool {
	// path.Match treats "/" as a separator and "[" and "\\" as syntax; IAM
	// does not, so "/" becomes a character neither string holds and the
	// others are escaped.
	const slash = "\x00"
	p := strings.NewReplacer("/", slash, "[", "\\[", "\\", "\\\\").Replace(pattern)
	ok, err := path.Match(p, strings.ReplaceAll(value, "/", slash))
	return err == nil && ok
}

// Decide is IAM's verdict for one request within this one policy: an
// explicit Deny whose conditions hold wins, else an Allow whose conditions
// hold grants. ctx holds the request's condition keys (e.g.
// iam:PermissionsBoundary, lambda:Principal); a key the request lacks makes
// a positive operator false and a negated one true, as in IAM ("Condition
// operators": a key that is not present does not match, and the Not
// operators then return true). It knows the operators deploy/iam uses.
func (d Document) Decide(action, resource string, ctx map[string]string) bool {
	multi := make(map[string][]string, len(ctx))
	for k, v := range ctx {
		multi[k] = []string{v}
	}
	return d.DecideMulti(action, resource, multi)
}

// DecideMulti is Decide for requests with multivalued condition keys
// (aws:TagKeys). It knows the set operators ForAllValues: (true when every
// value of the request's key matches, and when the key is absent) and
// ForAnyValue: (true when one does), and Null ("true": the key is absent),
// as the IAM User Guide defines them ("Multivalued context keys",
// "Condition operator to check existence of condition keys").
func (d Document) DecideMulti(action, resource string, ctx map[string][]string) bool {
	allowed := false
	for _, s := range d.Statement {
		if !anyMatch(s.Action, action, true) || !anyMatch(s.Resource, resource, false) || !conditionsHold(s.Condition, ctx) {
			continue
		}
		if s.Effect == "Deny" {
			return false
		}
		allowed = true
	}
	return allowed
}

func conditionsHold(conditions map[string]map[string]Strings, ctx map[string][]string) bool {
	for op, keys := range conditions {
		for key, values := range keys {
			got, present := ctx[key]
			if op == "Null" {
				for _, v := range values {
					if (v == "true") == present {
						return false
					}
				}
				continue
			}
			set, base, _ := strings.Cut(op, ":")
			if base == "" {
				set, base = "", op
			}
			one := func(value string) bool {
				matched := false
				for _, v := range values {
					switch strings.Replace(strings.TrimSuffix(base, "IfExists"), "Not", "", 1) {
					case "StringEquals", "ArnEquals":
						matched = matched || value == v
					case "StringLike", "ArnLike":
						matched = matched || Match(v, value)
					default:
						panic("iampolicy: condition operator " + op + " is not known to Decide")
					}
				}
				return matched != strings.Contains(base, "Not")
			}
			switch set {
			case "ForAllValues":
				for _, value := range got {
					if !one(value) {
						return false
					}
				}
			case "ForAnyValue":
				if !slices.ContainsFunc(got, one) {
					return false
				}
			default:
				negated := strings.Contains(base, "Not")
				if !present {
					if negated {
						continue
					}
					return false
				}
				if !one(got[0]) {
					return false
				}
			}
		}
	}
	return true
}
