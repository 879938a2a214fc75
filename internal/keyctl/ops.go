package keyctl

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/keygate/keygate/internal/keyplan"
)

// Key is one of the environment's keys as `list` and `show` print it.
type Key struct {
	keyplan.Actual
	// Source is "keygate" for keys keygate keys manages and "cloudformation"
	// for keys of the environment's stack (or attached to its plans by
	// other means: "other").
	Source string
}

// Plan is the key's plan in this environment ("" when it is in none).
func (k Key) Plan() string {
	if len(k.Plans) == 0 {
		return ""
	}
	return k.Plans[0]
}

// List returns the environment's keys: keygate's own, and the others
// attached to the environment's plans, ordered by name.
func (c *Client) List(ctx context.Context) ([]Key, error) {
	inv, err := c.Inventory(ctx)
	if err != nil {
		return nil, err
	}
	return c.envKeys(inv), nil
}

func (c *Client) envKeys(inv Inventory) []Key {
	var out []Key
	for _, k := range inv.Keys {
		switch {
		case k.Managed(c.env):
			out = append(out, Key{Actual: k, Source: "keygate"})
		case k.Tags[keyplan.TagCloudFormationStack] != "" && len(k.Plans) > 0:
			out = append(out, Key{Actual: k, Source: "cloudformation"})
		case len(k.Plans) > 0:
			out = append(out, Key{Actual: k, Source: "other"})
		}
	}
	slices.SortFunc(out, func(a, b Key) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
	return out
}

// Family returns the keygate-managed keys of the CSV row name: the key
// itself and its rotations, oldest first. An error names what exists if
// nothing does.
func (c *Client) Family(ctx context.Context, name string) ([]Key, Inventory, error) {
	inv, err := c.Inventory(ctx)
	if err != nil {
		return nil, Inventory{}, err
	}
	var family []Key
	for _, k := range c.envKeys(inv) {
		if k.Source == "keygate" && (k.Name == name || k.Tags[keyplan.TagRotationOf] == name) {
			family = append(family, k)
		}
	}
	if len(family) == 0 {
		for _, k := range c.envKeys(inv) {
			if k.Name == name {
				return nil, inv, fmt.Errorf("key %q (%s) in keygate-%s is not managed by keygate keys (%s): change it where it is defined", name, k.ID, c.env, k.Source)
			}
		}
		return nil, inv, fmt.Errorf("no key named %q in keygate-%s; `keygate keys list -env %s` lists them", name, c.env, c.env)
	}
	slices.SortFunc(family, func(a, b Key) int { return cmp.Compare(a.Rotation(), b.Rotation()) })
	return family, inv, nil
}

// Value returns a key's value (GetApiKey includeValue). Callers print it
// only where the user asked for it (-reveal), never in a log line.
func (c *Client) Value(ctx context.Context, keyID string) (string, error) {
	out, err := c.api.GetApiKey(ctx, &apigateway.GetApiKeyInput{ApiKey: aws.String(keyID), IncludeValue: aws.Bool(true)})
	if err != nil {
		return "", fmt.Errorf("reading key %s: %w", keyID, err)
	}
	return aws.ToString(out.Value), nil
}

// Rotation is what Rotate made.
type Rotation struct {
	// Key is the new key.
	Key Key
	// Replaces is the key in use before: the family's newest enabled key,
	// the one to disable once the owner uses Key.
	Replaces Key
}

// Rotate creates the next rotation of the row name: a new key named
// name~rN in the plan of the family's newest key, enabled, tagged as a
// rotation of name. The older keys stay enabled until Disable.
//
// A rotation's own name (acme~r1) is refused: its key would be a rotation
// of a key that is no row, outside the family sync, show, disable and
// -prune work on.
func (c *Client) Rotate(ctx context.Context, name string) (Rotation, error) {
	if root := keyplan.RootName(name); root != name {
		if family, _, err := c.Family(ctx, root); err == nil {
			for _, k := range family {
				if k.Name == name && k.Rotation() > 0 {
					return Rotation{}, fmt.Errorf("%s is rotation %d of %s; rotate the row's name instead: keygate keys rotate %s -env %s (it creates %s)",
						name, k.Rotation(), root, root, c.env, keyplan.RotatedName(root, family[len(family)-1].Rotation()+1))
				}
			}
		}
	}
	family, inv, err := c.Family(ctx, name)
	if err != nil {
		return Rotation{}, err
	}
	if family[0].Name != name || family[0].Rotation() > 0 {
		return Rotation{}, fmt.Errorf("%s is a rotation; rotate the row's name (%s)", name, family[0].Tags[keyplan.TagRotationOf])
	}
	newest := family[len(family)-1]
	plan := newest.Plan()
	if plan == "" {
		return Rotation{}, fmt.Errorf("key %s (%s) is in no plan of keygate-%s; run sync first", newest.Name, newest.ID, c.env)
	}
	replaces := newest
	for _, k := range family {
		if k.Enabled {
			replaces = k // the newest enabled key is the one in use
		}
	}
	n := newest.Rotation() + 1
	tags := keyplan.ManagedTags(c.env)
	tags[keyplan.TagRotationOf], tags[keyplan.TagRotation] = name, strconv.Itoa(n)
	rotated := keyplan.RotatedName(name, n)
	id, err := c.createKey(ctx, rotated, fmt.Sprintf("rotation %d of %s", n, name), true, tags)
	if err != nil {
		return Rotation{}, err
	}
	// A failure here leaves a tagged key in no plan: the next sync attaches it.
	if err := c.attach(ctx, inv.PlanIDs[plan], id); err != nil {
		return Rotation{}, fmt.Errorf("attaching %s (%s) to plan %s (sync attaches it): %w", rotated, id, plan, err)
	}
	key := Key{Actual: keyplan.Actual{ID: id, Name: rotated, Enabled: true, Tags: tags, Plans: []string{plan}, CreatedDate: time.Now()}, Source: "keygate"}
	return Rotation{Key: key, Replaces: replaces}, nil
}

// Toggle is what SetEnabled changed.
type Toggle struct {
	Key Key
	// Family is the row's keys after the change, oldest first.
	Family []Key
}

// InUse is the family's newest enabled key, if any: the key the row's
// owner is expected to use, and the one sync keeps enabled.
func (t Toggle) InUse() (Key, bool) {
	for i := len(t.Family) - 1; i >= 0; i-- {
		if t.Family[i].Enabled {
			return t.Family[i], true
		}
	}
	return Key{}, false
}

// SetEnabled enables or disables the keygate-managed key with exactly this
// name (a row's original key, or one rotation such as acme~r1).
func (c *Client) SetEnabled(ctx context.Context, name string, enabled bool) (Toggle, error) {
	family, _, err := c.Family(ctx, keyplan.RootName(name))
	if err != nil {
		return Toggle{}, err
	}
	for i, k := range family {
		if k.Name != name {
			continue
		}
		_, err := c.api.UpdateApiKey(ctx, &apigateway.UpdateApiKeyInput{ApiKey: aws.String(k.ID), PatchOperations: []types.PatchOperation{
			{Op: types.OpReplace, Path: aws.String("/enabled"), Value: aws.String(strconv.FormatBool(enabled))},
		}})
		if err != nil {
			return Toggle{}, fmt.Errorf("updating %s (%s): %w", name, k.ID, err)
		}
		family[i].Enabled = enabled
		return Toggle{Key: family[i], Family: family}, nil
	}
	return Toggle{}, fmt.Errorf("no key named %q in keygate-%s (the row's keys: %s)", name, c.env, familyNames(family))
}

// MoveResult is one key's move.
type MoveResult struct {
	Key    Key
	From   string
	Window time.Duration
}

// Move puts every key of the row name into plan: detach, then attach, one
// key at a time; each result says how long the key was in no plan.
func (c *Client) Move(ctx context.Context, name, plan string) ([]MoveResult, error) {
	family, inv, err := c.Family(ctx, name)
	if err != nil {
		return nil, err
	}
	to, ok := inv.PlanIDs[plan]
	if !ok {
		return nil, fmt.Errorf("keygate-%s has no usage plan %q; use one of %s", c.env, plan, strings.Join(inv.PlanNames(), ", "))
	}
	var results []MoveResult
	for _, k := range family {
		from := ""
		var fromIDs []string
		for _, p := range k.Plans {
			fromIDs = append(fromIDs, inv.PlanIDs[p])
			from = p
		}
		window, err := c.move(ctx, k.ID, fromIDs, to)
		if err != nil {
			return results, fmt.Errorf("moving %s (%s) to %s: %w", k.Name, k.ID, plan, err)
		}
		k.Plans = []string{plan}
		results = append(results, MoveResult{Key: k, From: from, Window: window})
	}
	return results, nil
}

// DayUsage is one day of a key's usage.
type DayUsage struct {
	Day             time.Time
	Used, Remaining int64
}

// KeyUsage is a key's usage in its plan.
type KeyUsage struct {
	Key  Key
	Days []DayUsage
	// Quota tells whether the key's plan has a request quota; without one
	// DayUsage.Remaining is meaningless (API Gateway reports 0).
	Quota bool
}

// Usage reports the daily usage of the row name's keys between from and to
// (GetUsage on each key's plan).
func (c *Client) Usage(ctx context.Context, name string, from, to time.Time) ([]KeyUsage, error) {
	family, inv, err := c.Family(ctx, name)
	if err != nil {
		return nil, err
	}
	var out []KeyUsage
	for _, k := range family {
		ku := KeyUsage{Key: k}
		if plan := k.Plan(); plan != "" {
			ku.Quota = inv.Quotas[plan]
			pages := apigateway.NewGetUsagePaginator(c.api, &apigateway.GetUsageInput{
				UsagePlanId: aws.String(inv.PlanIDs[plan]), KeyId: aws.String(k.ID),
				StartDate: aws.String(from.Format(time.DateOnly)), EndDate: aws.String(to.Format(time.DateOnly)),
			})
			for pages.HasMorePages() {
				page, err := pages.NextPage(ctx)
				if err != nil {
					return nil, fmt.Errorf("usage of %s (%s): %w", k.Name, k.ID, err)
				}
				// The days count from the answer's startDate, which the
				// service may have moved.
				first := from
				if d, err := time.Parse(time.DateOnly, aws.ToString(page.StartDate)); err == nil {
					first = d
				}
				for i, day := range page.Items[k.ID] {
					if len(day) == 2 {
						ku.Days = append(ku.Days, DayUsage{Day: first.AddDate(0, 0, i), Used: day[0], Remaining: day[1]})
					}
				}
			}
		}
		out = append(out, ku)
	}
	return out, nil
}

func familyNames(family []Key) string {
	var names []string
	for _, k := range family {
		names = append(names, k.Name)
	}
	return strings.Join(names, ", ")
}
