package keyplan

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Tags keygate puts on every key it creates. They are how it knows its own
// keys: a key without them (made by hand, or by CloudFormation) is never
// changed. They also let IAM scope the tool's write permissions to its own
// keys (aws:ResourceTag/keygate:managed-by, see deploy/iam).
const (
	TagManagedBy   = "keygate:managed-by"
	ManagedByValue = "keygate-keys"
	TagEnv         = "keygate:env"
	// TagRotationOf names the key a rotated key replaces; TagRotation is its
	// rotation number (the first rotation of "acme" is "acme~r1").
	TagRotationOf = "keygate:rotation-of"
	TagRotation   = "keygate:rotation"
	// CloudFormation tags every resource it creates with its stack's name,
	// nested stacks included: "All stack-level tags, including automatically
	// created tags, are propagated to resources that CloudFormation supports"
	// (AWSCloudFormation/latest/UserGuide/aws-properties-resource-tags.html;
	// AWS::ApiGateway::ApiKey supports Tags since
	// aws-cloudformation/cloudformation-coverage-roadmap#4).
	TagCloudFormationStack = "aws:cloudformation:stack-name"
)

// ManagedTags are the tags of a key keygate creates for env.
func ManagedTags(env string) map[string]string {
	return map[string]string{TagManagedBy: ManagedByValue, TagEnv: env}
}

// RotatedName is the name of the n-th rotation of the key named name.
func RotatedName(name string, n int) string { return name + RotationSeparator + strconv.Itoa(n) }

// RootName is the row name a key name belongs to: "acme" for "acme~r2",
// the name itself otherwise.
func RootName(name string) string {
	if i := strings.LastIndex(name, RotationSeparator); i > 0 {
		if _, err := strconv.Atoi(name[i+len(RotationSeparator):]); err == nil {
			return name[:i]
		}
	}
	return name
}

// Actual is a key as API Gateway holds it.
type Actual struct {
	ID          string
	Name        string
	Description string
	Enabled     bool
	Tags        map[string]string
	// Plans are the names (as in cdk.json) of this environment's usage plans
	// the key is attached to.
	Plans       []string
	CreatedDate time.Time
	// GeneratedValue is set by the caller for an untagged key whose value
	// keygate generated: an ImportApiKeys call that succeeded in a run that
	// stopped before it could tag the new keys (import cannot tag).
	GeneratedValue bool
}

// Managed reports whether keygate keys created this key for env.
func (a Actual) Managed(env string) bool {
	return a.Tags[TagManagedBy] == ManagedByValue && a.Tags[TagEnv] == env
}

// family is the name of the CSV row a managed key belongs to.
func (a Actual) family() string {
	if of := a.Tags[TagRotationOf]; of != "" {
		return of
	}
	return a.Name
}

// Rotation is the key's rotation number, 0 for the original.
func (a Actual) Rotation() int {
	n, _ := strconv.Atoi(a.Tags[TagRotation])
	return n
}

// cloudFormationStack is the stack that created the key, if any.
func (a Actual) cloudFormationStack() string { return a.Tags[TagCloudFormationStack] }

// Kind is what a change does.
type Kind string

// The changes sync makes, in the order it makes them.
const (
	Adopt    Kind = "adopt"    // tag a key an interrupted run imported
	Create   Kind = "create"   // a new key, attached to its plan
	Attach   Kind = "attach"   // a key of ours in no plan (a run stopped between create and attach)
	Move     Kind = "move"     // detach from the old plan, then attach to the new one
	Enable   Kind = "enable"   //
	Disable  Kind = "disable"  //
	Describe Kind = "describe" // a new description
	Delete   Kind = "delete"   // only with -prune
)

// Change is one step of a Plan.
type Change struct {
	Kind        Kind
	Name        string
	KeyID       string // empty for Create
	Plan        string // Create, Attach, Move: the plan to attach to
	FromPlans   []string
	Enabled     bool   // Create
	Description string // Create, Describe
}

func (c Change) String() string {
	switch c.Kind {
	case Create:
		state := "enabled"
		if !c.Enabled {
			state = "disabled"
		}
		return fmt.Sprintf("create  %s (plan %s, %s)", c.Name, c.Plan, state)
	case Adopt:
		return fmt.Sprintf("adopt   %s (%s: imported by an interrupted run, not yet tagged)", c.Name, c.KeyID)
	case Attach:
		return fmt.Sprintf("attach  %s (%s) to plan %s", c.Name, c.KeyID, c.Plan)
	case Move:
		return fmt.Sprintf("move    %s (%s) from plan %s to %s", c.Name, c.KeyID, strings.Join(c.FromPlans, "+"), c.Plan)
	case Describe:
		return fmt.Sprintf("describe %s (%s): %q", c.Name, c.KeyID, c.Description)
	default:
		return fmt.Sprintf("%-7s %s (%s)", c.Kind, c.Name, c.KeyID)
	}
}

// Input is what Decide compares.
type Input struct {
	Env     string
	Desired []Desired
	Actual  []Actual
	// ConfigKeys are the key names cdk.json gives this environment: keys
	// CloudFormation manages (or will, at the next deploy).
	ConfigKeys []string
	Prune      bool
}

// Plan is what sync will do.
type Plan struct {
	Changes []Change
	// Unchanged counts CSV rows whose keys need nothing.
	Unchanged int
	// Kept are keys of ours no row names, left alone without -prune.
	Kept []Actual
	// Notes are things worth saying that change nothing.
	Notes []string
}

// Count is the number of changes of kind k.
func (p Plan) Count(k Kind) int {
	n := 0
	for _, c := range p.Changes {
		if c.Kind == k {
			n++
		}
	}
	return n
}

// Writes is the number of changes (each is one or more write calls).
func (p Plan) Writes() int { return len(p.Changes) }

// ClashError lists CSV names that belong to keys keygate does not manage.
type ClashError struct {
	Clashes []string
	// CloudFormation and HandMade tell which kinds of key the clashes
	// name, for the advice.
	CloudFormation, HandMade bool
}

func (e *ClashError) Error() string {
	verb := " belong"
	if len(e.Clashes) == 1 {
		verb = " belongs"
	}
	return "refusing to sync: " + plural(len(e.Clashes), "name") + " in the keys file" + verb + " to keys keygate keys does not manage:\n  " +
		strings.Join(e.Clashes, "\n  ") +
		"\nRename the row: API key names are what clients and usage reports show, so two keys of one name would confuse both." +
		e.advice()
}

func (e *ClashError) advice() string {
	var out string
	if e.CloudFormation {
		out += "\nA key of cdk.json or of CloudFormation stays CloudFormation's: to hand its name to keygate keys, remove it from cdk.json and deploy first."
	}
	if e.HandMade {
		out += "\nA key made by hand is never adopted (keygate did not generate its value, so it cannot tell it is safe to own): if it is no longer used, detach it " +
			"(aws apigateway delete-usage-plan-key --usage-plan-id PLAN --key-id KEY) and delete it (aws apigateway delete-api-key --api-key KEY); otherwise keep it and give the row another name."
	}
	return out
}

// Decide compares the desired keys with the actual ones and returns the
// changes that make them equal. It never plans a change to a key that is
// not Managed(env) (except adopting a key keygate itself imported), and it
// refuses, before planning anything, a CSV name that CloudFormation manages:
// a key of that name in this environment's stack (its CloudFormation tag),
// in cdk.json's apiKeys, or attached to one of the environment's plans
// without keygate's tags.
func Decide(in Input) (Plan, error) {
	var plan Plan
	families := map[string][]Actual{}
	foreign := map[string][]Actual{} // by name: keys we do not manage
	for _, a := range in.Actual {
		switch {
		case a.Managed(in.Env):
			families[a.family()] = append(families[a.family()], a)
		case a.Tags[TagManagedBy] == ManagedByValue:
			// another environment's key: not ours to look at
		default:
			foreign[a.Name] = append(foreign[a.Name], a)
		}
	}
	configKeys := map[string]bool{}
	for _, n := range in.ConfigKeys {
		configKeys[n] = true
	}

	var clashes []string
	var cfnClash, handClash bool
	var adopt []Change
	for _, row := range in.Desired {
		if configKeys[row.Name] {
			clashes = append(clashes, fmt.Sprintf("line %d: %q is an API key of environment %s in cdk.json (CloudFormation manages it)", row.Line, row.Name, in.Env))
			cfnClash = true
			continue
		}
		for _, a := range foreign[row.Name] {
			switch stack := a.cloudFormationStack(); {
			case ownStack(stack, in.Env):
				cfnClash = true
				clashes = append(clashes, fmt.Sprintf("line %d: %q is key %s of CloudFormation stack %s", row.Line, row.Name, a.ID, stack))
			case stack != "" && len(a.Plans) > 0:
				cfnClash = true
				clashes = append(clashes, fmt.Sprintf("line %d: %q is key %s of CloudFormation stack %s, in plan %s", row.Line, row.Name, a.ID, stack, strings.Join(a.Plans, "+")))
			case len(a.Plans) > 0 && !a.GeneratedValue:
				handClash = true
				clashes = append(clashes, fmt.Sprintf("line %d: %q is key %s, in plan %s without keygate's tags (CloudFormation's, or made by hand)", row.Line, row.Name, a.ID, strings.Join(a.Plans, "+")))
			case a.GeneratedValue && stack == "":
				adopt = append(adopt, Change{Kind: Adopt, Name: a.Name, KeyID: a.ID})
				a.Tags = withTags(a.Tags, ManagedTags(in.Env))
				families[row.Name] = append(families[row.Name], a)
			default:
				plan.Notes = append(plan.Notes, fmt.Sprintf("key %s is also named %q but is in none of this environment's plans and has no keygate tags: left alone", a.ID, a.Name))
			}
		}
	}
	if len(clashes) > 0 {
		return Plan{}, &ClashError{Clashes: clashes, CloudFormation: cfnClash, HandMade: handClash}
	}
	plan.Changes = append(plan.Changes, adopt...)
	adopted := map[string]bool{}
	for _, c := range adopt {
		adopted[c.Name] = true
	}

	desired := map[string]bool{}
	for _, row := range in.Desired {
		desired[row.Name] = true
		members := families[row.Name]
		if len(members) == 0 {
			plan.Changes = append(plan.Changes, Change{Kind: Create, Name: row.Name, Plan: row.Plan, Enabled: row.Enabled, Description: row.Description})
			continue
		}
		slices.SortFunc(members, func(a, b Actual) int {
			return cmp.Or(cmp.Compare(a.Rotation(), b.Rotation()), a.CreatedDate.Compare(b.CreatedDate), cmp.Compare(a.ID, b.ID))
		})
		before := len(plan.Changes)
		// Two originals of one row: two syncs ran at once and both created
		// it. The oldest stays; -prune deletes the others.
		for len(members) > 1 && members[1].Rotation() == 0 {
			extra := members[1]
			members = slices.Delete(members, 1, 2)
			if in.Prune {
				plan.Changes = append(plan.Changes, Change{Kind: Delete, Name: extra.Name, KeyID: extra.ID})
			} else {
				plan.Notes = append(plan.Notes, fmt.Sprintf("key %s duplicates %s (%s), probably from two syncs at once: -prune deletes it", extra.ID, members[0].Name, members[0].ID))
			}
		}
		newest := len(members) - 1
		// The row is enabled when the key in use (its newest enabled
		// member) is: a rotation's retired original stays disabled, and a
		// disabled newest rotation behind an enabled older key is left as
		// `disable` made it. Only a family with no enabled key is enabled
		// again, through its newest key. (`list -csv` writes the same rule
		// back: FamilyRows.)
		anyEnabled := slices.ContainsFunc(members, func(m Actual) bool { return m.Enabled })
		for i, m := range members {
			switch {
			case len(m.Plans) == 0:
				plan.Changes = append(plan.Changes, Change{Kind: Attach, Name: m.Name, KeyID: m.ID, Plan: row.Plan})
			case len(m.Plans) != 1 || m.Plans[0] != row.Plan:
				plan.Changes = append(plan.Changes, Change{Kind: Move, Name: m.Name, KeyID: m.ID, Plan: row.Plan, FromPlans: m.Plans})
			}
			switch {
			case !row.Enabled && m.Enabled:
				plan.Changes = append(plan.Changes, Change{Kind: Disable, Name: m.Name, KeyID: m.ID})
			// Older rotations keep the state `disable` gave them: re-enabling a
			// retired key would undo the rotation.
			case row.Enabled && !anyEnabled && i == newest:
				plan.Changes = append(plan.Changes, Change{Kind: Enable, Name: m.Name, KeyID: m.ID})
			}
			if m.Rotation() == 0 && m.Description != row.Description {
				plan.Changes = append(plan.Changes, Change{Kind: Describe, Name: m.Name, KeyID: m.ID, Description: row.Description})
			}
		}
		if len(plan.Changes) == before && !adopted[row.Name] {
			plan.Unchanged++
		}
	}

	var unlisted []Actual
	for name, members := range families {
		if !desired[name] {
			unlisted = append(unlisted, members...)
		}
	}
	slices.SortFunc(unlisted, func(a, b Actual) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
	for _, a := range unlisted {
		if in.Prune {
			plan.Changes = append(plan.Changes, Change{Kind: Delete, Name: a.Name, KeyID: a.ID})
		} else {
			plan.Kept = append(plan.Kept, a)
		}
	}
	return plan, nil
}

// ownStack reports whether stack is env's root stack or one of its nested
// stacks (CloudFormation names those "<root>-<id>-<suffix>").
func ownStack(stack, env string) bool {
	root := "keygate-" + env
	return stack == root || strings.HasPrefix(stack, root+"-")
}

func withTags(tags, more map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range tags {
		out[k] = v
	}
	for k, v := range more {
		out[k] = v
	}
	return out
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// FamilyRows is the inverse of Decide for env's managed keys: one row per
// family (a key and its rotations), named after the row, in the plan of its
// newest key, enabled when any of its keys is (the key in use), with the
// original key's description. Decide(FamilyRows(keys)) plans no change, so
// `keygate keys list -csv` fed back to sync writes nothing.
func FamilyRows(env string, actual []Actual) []Desired {
	families := map[string][]Actual{}
	for _, a := range actual {
		if a.Managed(env) {
			families[a.family()] = append(families[a.family()], a)
		}
	}
	rows := make([]Desired, 0, len(families))
	for name, members := range families {
		slices.SortFunc(members, func(a, b Actual) int {
			return cmp.Or(cmp.Compare(a.Rotation(), b.Rotation()), a.CreatedDate.Compare(b.CreatedDate), cmp.Compare(a.ID, b.ID))
		})
		row := Desired{Name: name}
		for _, m := range members {
			if len(m.Plans) > 0 {
				row.Plan = m.Plans[0] // the newest key's plan wins
			}
			row.Enabled = row.Enabled || m.Enabled
		}
		if members[0].Rotation() == 0 {
			row.Description = members[0].Description
		}
		rows = append(rows, row)
	}
	slices.SortFunc(rows, func(a, b Desired) int { return cmp.Compare(a.Name, b.Name) })
	return rows
}
