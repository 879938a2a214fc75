package keyctl

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"

	"github.com/keygate/keygate/internal/keyplan"
)

// PlanName is the name the stack gives an environment's usage plan
// (stacks/usageplans.go): keygate-<env>-<plan>.
func PlanName(env, plan string) string { return "keygate-" + env + "-" + plan }

// Inventory is what API Gateway holds for one environment.
type Inventory struct {
	// PlanIDs maps a plan's cdk.json name to its id.
	PlanIDs map[string]string
	// Quotas tells, by plan name, whether the plan has a request quota
	// (without one, GetUsage's remaining count means nothing).
	Quotas map[string]bool
	// Keys are every API key in the account and region, with the names of
	// this environment's plans each is attached to.
	Keys []keyplan.Actual
}

// PlanNames are the environment's plan names, sorted.
func (inv Inventory) PlanNames() []string {
	var names []string
	for n := range inv.PlanIDs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// planName is the cdk.json name of the plan with this id.
func (inv Inventory) planName(id string) string {
	for n, pid := range inv.PlanIDs {
		if pid == id {
			return n
		}
	}
	return ""
}

// pageLimit is GetApiKeys' and GetUsagePlanKeys' largest page (API
// reference: "The maximum number of returned results per page. The default
// value is 25 and the maximum value is 500").
const pageLimit = 500

// Inventory reads the environment's plans, every key (without values) and
// every attachment to the environment's plans: one call per 500 keys and per
// 500 attachments, and no writes.
func (c *Client) Inventory(ctx context.Context) (Inventory, error) {
	inv := Inventory{PlanIDs: map[string]string{}, Quotas: map[string]bool{}}
	dups := map[string][]string{}
	prefix := PlanName(c.env, "")
	plans := apigateway.NewGetUsagePlansPaginator(c.api, &apigateway.GetUsagePlansInput{Limit: aws.Int32(pageLimit)})
	for plans.HasMorePages() {
		out, err := plans.NextPage(ctx)
		if err != nil {
			return Inventory{}, fmt.Errorf("listing usage plans: %w", err)
		}
		for _, p := range out.Items {
			name := aws.ToString(p.Name)
			if !strings.HasPrefix(name, prefix) {
				continue
			}
			short := strings.TrimPrefix(name, prefix)
			if first, dup := inv.PlanIDs[short]; dup {
				if len(dups[short]) == 0 {
					dups[short] = []string{first}
				}
				dups[short] = append(dups[short], aws.ToString(p.Id))
				continue
			}
			inv.PlanIDs[short] = aws.ToString(p.Id)
			inv.Quotas[short] = p.Quota != nil
		}
	}
	if len(dups) > 0 {
		// Plan names are not unique in API Gateway; an old stack's plan
		// left behind (retained, or from a failed delete) has the same
		// name. Picking one would put keys where the stack does not look.
		var lines []string
		for _, short := range slices.Sorted(maps.Keys(dups)) {
			lines = append(lines, fmt.Sprintf("%s: %s", PlanName(c.env, short), strings.Join(dups[short], ", ")))
		}
		return Inventory{}, fmt.Errorf("several usage plans in %s have the name keygate-%s gives one plan, so keygate keys cannot tell which is the stack's:\n  %s\nFind the stack's plan (aws cloudformation describe-stack-resources --stack-name keygate-%s, or the UsagePlan outputs) and delete or rename the others (aws apigateway delete-usage-plan --usage-plan-id ID) after moving their keys",
			c.region, c.env, strings.Join(lines, "\n  "), c.env)
	}
	if len(inv.PlanIDs) == 0 {
		return Inventory{}, fmt.Errorf("no usage plan named %s<plan> in %s: deploy the stack keygate-%s first (plans come from cdk.json)", prefix, c.region, c.env)
	}

	attached := map[string][]string{}
	for _, name := range inv.PlanNames() {
		keys := apigateway.NewGetUsagePlanKeysPaginator(c.api, &apigateway.GetUsagePlanKeysInput{UsagePlanId: aws.String(inv.PlanIDs[name]), Limit: aws.Int32(pageLimit)})
		for keys.HasMorePages() {
			out, err := keys.NextPage(ctx)
			if err != nil {
				return Inventory{}, fmt.Errorf("listing the keys of usage plan %s: %w", PlanName(c.env, name), err)
			}
			for _, k := range out.Items {
				// out.Items[i].Value is the key's value: never kept.
				attached[aws.ToString(k.Id)] = append(attached[aws.ToString(k.Id)], name)
			}
		}
	}

	keys := apigateway.NewGetApiKeysPaginator(c.api, &apigateway.GetApiKeysInput{Limit: aws.Int32(pageLimit), IncludeValues: aws.Bool(false)})
	for keys.HasMorePages() {
		out, err := keys.NextPage(ctx)
		if err != nil {
			return Inventory{}, fmt.Errorf("listing API keys: %w", err)
		}
		for _, k := range out.Items {
			id := aws.ToString(k.Id)
			plans := attached[id]
			slices.Sort(plans)
			inv.Keys = append(inv.Keys, keyplan.Actual{
				ID: id, Name: aws.ToString(k.Name), Description: aws.ToString(k.Description), Enabled: k.Enabled,
				Tags: k.Tags, Plans: plans, CreatedDate: aws.ToTime(k.CreatedDate),
			})
		}
	}
	return inv, nil
}

// markGeneratedValues sets GeneratedValue on the untagged keys named in
// names and attached to a plan of the environment, reading their values
// one by one (GetApiKey includeValue) and forgetting them at once. These are
// the only keys whose ownership the tags cannot tell: an ImportApiKeys call
// succeeded, and the run stopped before it tagged the keys.
func (c *Client) markGeneratedValues(ctx context.Context, inv *Inventory, names map[string]bool) error {
	for i := range inv.Keys {
		k := &inv.Keys[i]
		if len(k.Tags) > 0 || !names[k.Name] || len(k.Plans) == 0 {
			continue
		}
		out, err := c.api.GetApiKey(ctx, &apigateway.GetApiKeyInput{ApiKey: aws.String(k.ID), IncludeValue: aws.Bool(true)})
		if err != nil {
			return fmt.Errorf("reading key %s: %w", k.ID, err)
		}
		k.GeneratedValue = IsGeneratedValue(aws.ToString(out.Value))
	}
	return nil
}
