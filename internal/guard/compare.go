package guard

import (
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
)

// CompareTemplates compares two templates of one stack, base (what is
// deployed, or the merge base) and head (what is about to be). Nested stacks
// are compared as AWS::CloudFormation::Stack resources only; use
// [CompareAssemblies] to look inside them. Findings are sorted by stack,
// logical ID and action.
func CompareTemplates(base, head []byte) ([]Finding, error) {
	baseTemplate, err := parseTemplate(base)
	if err != nil {
		return nil, fmt.Errorf("base template: %w", err)
	}
	headTemplate, err := parseTemplate(head)
	if err != nil {
		return nil, fmt.Errorf("head template: %w", err)
	}
	return review(located(rootStack, baseTemplate), located(rootStack, headTemplate)).Findings, nil
}

// CompareTemplateFiles is [CompareTemplates] on two files; its errors name
// the file at fault.
func CompareTemplateFiles(basePath, headPath string) ([]Finding, error) {
	r, err := ReviewTemplateFiles(basePath, headPath)
	return r.Findings, err
}

// ReviewTemplateFiles is [ReviewAssemblies] for two root templates, nested
// stacks counted as AWS::CloudFormation::Stack resources only.
func ReviewTemplateFiles(basePath, headPath string) (Review, error) {
	var templates [2]*template
	for i, path := range []string{basePath, headPath} {
		data, err := os.ReadFile(path)
		if err != nil {
			return Review{}, err
		}
		if templates[i], err = parseTemplate(data); err != nil {
			return Review{}, fmt.Errorf("%s: %w", path, err)
		}
	}
	r := review(located(rootStack, templates[0]), located(rootStack, templates[1]))
	r.RootTemplateOnly = true
	return r, nil
}

// rootStack is the Stack of a root template's resources.
const rootStack = ""

// place is where a resource is: its (nested) stack and its logical ID.
type place struct{ stack, id string }

// placed is a resource and where it is.
type placed struct {
	place
	resource
}

// located lists a template's resources as being in stack.
func located(stack string, t *template) []placed {
	out := make([]placed, 0, len(t.Resources))
	for id, r := range t.Resources {
		out = append(out, placed{place{stack, id}, r})
	}
	return out
}

// compare finds the guarded changes from base to head, each a list of the
// resources of a root stack and all its nested stacks.
func compare(base, head []placed) []Finding {
	headAt := make(map[place]placed, len(head))
	for _, r := range head {
		headAt[r.place] = r
	}
	baseAt := make(map[place]placed, len(base))
	for _, r := range base {
		baseAt[r.place] = r
	}
	// What head adds, by type, and where head has each logical ID: the
	// candidates a gone resource may have been renamed or moved to.
	added := map[string][]place{}
	headStacksOf := map[string][]placed{}
	for _, r := range head {
		if _, inBase := baseAt[r.place]; !inBase {
			added[r.Type] = append(added[r.Type], r.place)
			headStacksOf[r.id] = append(headStacksOf[r.id], r)
		}
	}
	for _, places := range added {
		slices.SortFunc(places, comparePlaces)
	}

	var findings []Finding
	// replacedInPlace are the resources that keep their logical ID but get
	// a new physical ID: whatever refers to them sees a new value.
	replacedInPlace := map[place]bool{}
	for _, b := range base {
		rule, guarded := rules[b.Type]
		if !guarded {
			continue
		}
		h, inHead := headAt[b.place]
		switch {
		case !inHead:
			candidates := added[b.Type]
			if b.Type == "AWS::CloudFormation::Stack" {
				candidates = sharingContents(b, candidates, base, head)
			}
			findings = append(findings, gone(b, rule, headStacksOf[b.id], candidates))
		case h.Type != b.Type:
			findings = append(findings, Finding{
				Action: Replace, Cause: CauseTypeChanged,
				Reason: fmt.Sprintf("type changes to %s under the same logical ID, so %s cannot be kept: %s", h.Type, rule.noun, rule.impact),
			}.at(b))
			replacedInPlace[b.place] = true
		default:
			var changed []string
			for _, p := range rule.replacementProperties {
				if !reflect.DeepEqual(b.Properties[p], h.Properties[p]) {
					changed = append(changed, p)
				}
			}
			if len(changed) > 0 {
				findings = append(findings, replacedBy(b, rule, CausePropertyChanged, changed,
					fmt.Sprintf("%s %s %s", plural(changed, "property", "properties"), strings.Join(changed, ", "), plural(changed, "changes", "change"))))
				replacedInPlace[b.place] = true
			}
		}
	}
	findings = append(findings, dependents(base, headAt, replacedInPlace)...)
	findings = append(findings, switchedOffEndpoints(base, headAt)...)

	slices.SortFunc(findings, func(a, b Finding) int {
		if c := comparePlaces(place{a.Stack, a.LogicalID}, place{b.Stack, b.LogicalID}); c != 0 {
			return c
		}
		return strings.Compare(string(a.Action), string(b.Action))
	})
	return findings
}

// sharingContents keeps, of the nested stacks added in head, those that
// hold a logical ID the gone nested stack b held: keygate's key stacks are
// named after their shard, so a shard that empties while another fills is
// a deletion and an addition, and only a stack whose resources follow it is
// likely renamed.
func sharingContents(b placed, added []place, base, head []placed) []place {
	inside := map[string]bool{}
	path := nestedPath(b.stack, b.id)
	for _, r := range base {
		if r.stack == path {
			inside[r.id] = true
		}
	}
	var out []place
	for _, p := range added {
		path := nestedPath(p.stack, p.id)
		if slices.ContainsFunc(head, func(r placed) bool { return r.stack == path && inside[r.id] }) {
			out = append(out, p)
		}
	}
	return out
}

// gone is the finding for a guarded resource whose logical ID is not in its
// stack any more: moved to another nested stack, renamed, or removed.
// CloudFormation deletes it in every case, so its DeletionPolicy decides
// whether the physical resource survives.
func gone(b placed, rule rule, sameID []placed, sameType []place) Finding {
	var f Finding
	for _, h := range sameID {
		if h.Type == b.Type {
			f = Finding{Action: Replace, Cause: CauseMoved, Reason: fmt.Sprintf(
				"moves to %s; CloudFormation deletes %s here and creates a new one there: %s", stackName(h.stack), rule.noun, rule.impact)}
			break
		}
	}
	// Rename candidates are only those of the same stack: keygate places a
	// key's nested stack by its name, so a key removed from one shard and
	// another added to a different shard are a deletion and an addition,
	// not one key renamed.
	sameType = slices.DeleteFunc(slices.Clone(sameType), func(p place) bool { return p.stack != b.stack })
	if f.Action == "" && len(sameType) > 0 {
		f = Finding{Action: Replace, Cause: CauseRenamed, Reason: fmt.Sprintf(
			"removed %s, added %s of the same type (likely a rename, which CloudFormation carries out by deleting %s and creating a new one): %s",
			b.id, listPlaces(sameType, b.stack), rule.noun, rule.impact)}
	}
	if f.Action == "" {
		f = Finding{Action: Delete, Cause: CauseRemoved, Reason: fmt.Sprintf(
			"removed; CloudFormation deletes %s: %s", rule.noun, rule.impact)}
	}
	if retains(b.DeletionPolicy) {
		f.Retained = true
		f.Reason += fmt.Sprintf(" (retained: DeletionPolicy %v keeps the old resource in the account, outside the stack)", b.DeletionPolicy)
	}
	return f.at(b)
}

// replacedBy is the finding for a guarded resource CloudFormation replaces
// in place (same logical ID, new physical ID); its UpdateReplacePolicy
// decides whether the old physical resource survives.
func replacedBy(b placed, rule rule, cause Cause, properties []string, what string) Finding {
	f := Finding{
		Action: Replace, Cause: cause, Properties: properties,
		Reason: fmt.Sprintf("%s; CloudFormation replaces %s: %s", what, rule.noun, rule.impact),
	}
	if retains(b.UpdateReplacePolicy) {
		f.Retained = true
		f.Reason += fmt.Sprintf(" (retained: UpdateReplacePolicy %v keeps the old resource in the account, outside the stack)", b.UpdateReplacePolicy)
	}
	return f.at(b)
}

// dependents finds the guarded resources whose replacement properties refer
// to a resource replaced in place: their template text is unchanged, but the
// value CloudFormation resolves is new, so they are replaced too (a key
// whose Name changes takes its usage plan attachment with it). It repeats
// until nothing new is found, for chains of references.
func dependents(base []placed, headAt map[place]placed, replaced map[place]bool) []Finding {
	var findings []Finding
	for grew := true; grew; {
		grew = false
		for _, b := range base {
			rule, guarded := rules[b.Type]
			h, inHead := headAt[b.place]
			if !guarded || !inHead || h.Type != b.Type || replaced[b.place] {
				continue
			}
			var via, targets []string
			for _, p := range rule.replacementProperties {
				refs := map[string]bool{}
				references(h.Properties[p], refs)
				for id := range refs {
					if replaced[place{b.stack, id}] {
						via = append(via, p)
						targets = append(targets, id)
						break
					}
				}
			}
			if len(via) == 0 {
				continue
			}
			slices.Sort(targets)
			targets = slices.Compact(targets)
			findings = append(findings, replacedBy(b, rule, CauseDependency, via, fmt.Sprintf(
				"%s %s %s to %s, which is replaced", plural(via, "property", "properties"), strings.Join(via, ", "),
				plural(via, "refers", "refer"), strings.Join(targets, ", "))))
			replaced[b.place] = true
			grew = true
		}
	}
	return findings
}

// at fills in which resource f is about.
func (f Finding) at(r placed) Finding {
	f.Type, f.LogicalID, f.Stack = r.Type, r.id, r.stack
	return f
}

// comparePlaces orders the root stack first, then nested stacks and logical
// IDs alphabetically, so output is the same on every run.
func comparePlaces(a, b place) int {
	if c := strings.Compare(a.stack, b.stack); c != 0 {
		return c
	}
	return strings.Compare(a.id, b.id)
}

func stackName(stack string) string {
	if stack == rootStack {
		return "the root stack"
	}
	return "nested stack " + stack
}

// listPlaces names up to three places, qualifying those outside stack: a
// key renamed in a sharded layout often lands in another nested stack.
func listPlaces(places []place, stack string) string {
	const shown = 3
	var names []string
	for i, p := range places {
		if i == shown {
			names = append(names, fmt.Sprintf("%d more", len(places)-shown))
			break
		}
		if p.stack == stack {
			names = append(names, p.id)
		} else {
			names = append(names, p.id+" in "+stackName(p.stack))
		}
	}
	return strings.Join(names, ", ")
}

func plural(items []string, one, many string) string {
	if len(items) == 1 {
		return one
	}
	return many
}
