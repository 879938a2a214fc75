package scale

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/guard"
	"github.com/keygate/keygate/stacks"
	"github.com/keygate/keygate/test/synth"
)

var (
	variantsOnce     sync.Once
	variantsAssembly *synth.Assembly
)

// variants synthesizes, once, the shipped dev and the next versions of it
// that issue 8 is about: example-partner moved to the internal plan, or
// detached (step 1 of a move), the standard plan renamed, and
// example-partner's value taken from one secret, another one, or a JSON
// field of the first.
func variants(t *testing.T) *synth.Assembly {
	t.Helper()
	variantsOnce.Do(func() {
		context := synth.CDKJSONContext(t)
		keygate := context["keygate"].(map[string]any)
		dev := keygate["environments"].(map[string]any)["dev"].(map[string]any)
		defaults := keygate["defaults"].(map[string]any)

		withPartner := func(partner map[string]any) map[string]any {
			env := copyMap(dev)
			env["manageCloudWatchRole"] = false
			var keys []any
			for _, k := range defaults["apiKeys"].([]any) {
				if k.(map[string]any)["name"] == "example-partner" {
					keys = append(keys, partner)
				} else {
					keys = append(keys, k)
				}
			}
			env["apiKeys"] = keys
			return env
		}
		renamedPlan := withPartner(map[string]any{"name": "example-partner", "plan": "partner"})
		var plans []any
		for _, p := range defaults["usagePlans"].([]any) {
			p := copyMap(p.(map[string]any))
			if p["name"] == "standard" {
				p["name"] = "partner"
			}
			plans = append(plans, p)
		}
		renamedPlan["usagePlans"] = plans

		// bulk's size, every key under another name: one deploy from
		// bulk replaces them all.
		bulkRenamed := copyMap(dev)
		bulkRenamed["manageCloudWatchRole"] = false
		var renamedKeys []any
		for i := range generatedKeys {
			renamedKeys = append(renamedKeys, map[string]any{"name": fmt.Sprintf("renamed-client-%04d", i), "plan": "standard"})
		}
		bulkRenamed["apiKeys"] = renamedKeys

		// Three keys of one key stack, the middle one (in name order,
		// the chain's order) detached.
		chained := copyMap(dev)
		chained["manageCloudWatchRole"] = false
		var chainKeys []any
		for i, name := range sameShardNames(3) {
			chainKeys = append(chainKeys, map[string]any{"name": name, "plan": "standard", "detached": i == 1})
		}
		chained["apiKeys"] = chainKeys

		keygate["environments"] = map[string]any{
			"chained":     chained,
			"bulkrenamed": bulkRenamed,
			"dev":         dev,
			"moved":       withPartner(map[string]any{"name": "example-partner", "plan": "internal"}),
			"detached":    withPartner(map[string]any{"name": "example-partner", "plan": "standard", "detached": true}),
			"renamedplan": renamedPlan,
			"secret":      withPartner(map[string]any{"name": "example-partner", "plan": "standard", "secretName": "keygate/partner"}),
			"secretv2":    withPartner(map[string]any{"name": "example-partner", "plan": "standard", "secretName": "keygate/partner-v2"}),
			"jsonfield":   withPartner(map[string]any{"name": "example-partner", "plan": "standard", "secretName": "keygate/partner", "secretJsonKey": "apiKey"}),
		}
		variantsAssembly = synth.Synthesize(t, filepath.Join(outDir, "variants"), context, synth.Checks{})
	})
	if variantsAssembly == nil {
		t.Fatal("synthesizing the variants failed in an earlier test")
	}
	return variantsAssembly
}

// reviewVariants runs the guard from one variant (as deployed keygate-dev)
// to another.
func reviewVariants(t *testing.T, from, to string) guard.Review {
	t.Helper()
	a := variants(t)
	r, err := guard.ReviewAssemblies(asDev(t, a, "keygate-"+from), asDev(t, a, "keygate-"+to), "keygate-dev")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func refusedCauses(r guard.Review) []string {
	var out []string
	for _, f := range r.Findings {
		if f.Action == guard.Refuse {
			out = append(out, string(f.Cause)+" "+f.LogicalID)
		}
	}
	return out
}

// Point 4 on keygate's own templates: a key moved to another plan, or its
// plan renamed, is refused; the two-step move passes.
func TestGuardRefusesKeyMoveOnSynthesizedTemplates(t *testing.T) {
	attachment := stacks.UsagePlanKeyLogicalID("example-partner")
	for _, to := range []string{"moved", "renamedplan"} {
		if got, want := refusedCauses(reviewVariants(t, "dev", to)), []string{"key-in-two-plans " + attachment}; !slices.Equal(got, want) {
			t.Errorf("dev → %s: refusals %v, want %v", to, got, want)
		}
	}
	if got := refusedCauses(reviewVariants(t, "dev", "detached")); len(got) != 0 {
		t.Errorf("step 1 (detach) refused: %v", got)
	}
	step2 := reviewVariants(t, "detached", "moved")
	if len(step2.Findings) != 0 {
		t.Errorf("step 2 (attach to the new plan): %v", step2.Findings)
	}
}

// A detached key keeps its ApiKey (retained, same logical ID) and has no
// attachment; its shard passes no plan id it does not use.
func TestDetachedKeyKeepsTheKeyWithoutAttachment(t *testing.T) {
	tpl := variants(t).Templates["keygate-detached"]
	keyID := stacks.APIKeyLogicalID("example-partner")
	for nestedID, nested := range tpl.Nested {
		if _, ok := nested.Resources[keyID]; !ok {
			continue
		}
		if _, attached := nested.Resources[stacks.UsagePlanKeyLogicalID("example-partner")]; attached {
			t.Errorf("detached key still has its attachment in %s", nestedID)
		}
		for _, id := range nested.OfType("AWS::ApiGateway::UsagePlanKey") {
			if synth.Ref(nested.Resources[id].Properties["UsagePlanId"]) == stacks.UsagePlanParameterName("standard") {
				return // another key of the shard uses the plan: its parameter stays
			}
		}
		if _, passed := nested.Parameters[stacks.UsagePlanParameterName("standard")]; passed {
			t.Errorf("%s still takes the id of a plan none of its keys is attached to", nestedID)
		}
		return
	}
	t.Fatal("the detached key is in no nested stack")
}

// A detached key keeps its ApiKeyId output, described as detached: the
// README's retained-key recipe lists every key without such an output as
// retained, and would have someone delete a key in the middle of its move.
func TestDetachedKeyIsNotListedAsRetainedByTheCleanupRecipe(t *testing.T) {
	tpl := variants(t).Templates["keygate-detached"]
	keyID := stacks.APIKeyLogicalID("example-partner")
	for nestedID, nested := range tpl.Nested {
		if _, ok := nested.Resources[keyID]; !ok {
			continue
		}
		for outputID, o := range nested.Outputs {
			if synth.Ref(o.Value) != keyID {
				continue
			}
			if !strings.HasPrefix(outputID, "ApiKeyId") || !strings.Contains(o.Description, "detached") {
				t.Errorf("%s: output %s %+v, want an ApiKeyId output whose description says the key is detached", nestedID, outputID, o)
			}
			return
		}
		t.Fatalf("detached key has no id output in %s: the cleanup recipe would list it as retained", nestedID)
	}
	t.Fatal("the detached key is in no nested stack")
}

// Point 5: a JSON secret's field becomes the json-key segment of the dynamic
// reference; changing the secret of an existing key is refused, with the
// rotation in the message.
func TestSecretJSONKeyIsTheDynamicReferenceField(t *testing.T) {
	tpl := variants(t).Templates["keygate-jsonfield"]
	keyID := stacks.APIKeyLogicalID("example-partner")
	for _, nested := range tpl.Nested {
		if key, ok := nested.Resources[keyID]; ok {
			if got, want := key.Properties["Value"], "{{resolve:secretsmanager:keygate/partner:SecretString:apiKey::}}"; got != want {
				t.Errorf("Value = %v, want %s", got, want)
			}
			return
		}
	}
	t.Fatal("example-partner is in no nested stack")
}

func TestGuardRefusesSecretChangesOnSynthesizedTemplates(t *testing.T) {
	keyID := stacks.APIKeyLogicalID("example-partner")
	for _, step := range [][2]string{{"secret", "secretv2"}, {"secret", "jsonfield"}, {"dev", "secret"}} {
		r := reviewVariants(t, step[0], step[1])
		if got, want := refusedCauses(r), []string{"named-replacement " + keyID}; !slices.Equal(got, want) {
			t.Errorf("%s → %s: refusals %v, want %v", step[0], step[1], got, want)
		}
	}
}

// Point 3: a first deploy creates every resource of the hierarchy, nested
// stack resources included; above 2,500 the guard refuses it.
func TestGuardCountsAFirstDeployAndRefusesItAboveTheQuota(t *testing.T) {
	a := scaled(t)
	notDeployed := t.TempDir()
	if err := os.WriteFile(filepath.Join(notDeployed, "keygate-dev.template.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, env := range []string{"dev", "bulk"} {
		r, err := guard.ReviewAssemblies(notDeployed, asDev(t, a, "keygate-"+env), "keygate-dev")
		if err != nil {
			t.Fatal(err)
		}
		resources := countResources(a.Templates["keygate-"+env])
		if r.Operations != (guard.Operations{Create: resources}) {
			t.Errorf("%s: operations %+v, want %d creates (every resource, nested ones included)", env, r.Operations, resources)
		}
		refused := slices.Contains(refusedCauses(r), string(guard.CauseOperationQuota)+" ")
		if refused != (resources > guard.MaxOperationsPerDeploy) {
			t.Errorf("%s: %d resources, refused = %v", env, resources, refused)
		}
		t.Logf("%s: first deploy %v, refused %v", env, r.Operations, refused)
	}

	// Renaming every key of bulk in one deploy: each key and attachment
	// deleted and created anew, far above the quota, so refused.
	r, err := guard.ReviewAssemblies(asDev(t, a, "keygate-bulk"), asDev(t, variants(t), "keygate-bulkrenamed"), "keygate-dev")
	if err != nil {
		t.Fatal(err)
	}
	if r.Operations.Create < 2*generatedKeys || r.Operations.Delete < 2*generatedKeys {
		t.Errorf("renaming %d keys: %+v, want at least %d creates and deletes", generatedKeys, r.Operations, 2*generatedKeys)
	}
	if !slices.Contains(refusedCauses(r), string(guard.CauseOperationQuota)+" ") {
		t.Errorf("renaming %d keys (%d operations) is not refused", generatedKeys, r.Operations.Total())
	}
	t.Logf("bulk → bulkrenamed: %v", r.Operations)
}

func countResources(tpl *synth.Template) int {
	n := len(tpl.Resources)
	for _, nested := range tpl.Nested {
		n += countResources(nested)
	}
	return n
}

// The plan a key is attached to is read from the nested stack parameter;
// make sure the variants differ where they should (a guard test that
// passed on identical templates would prove nothing).
func TestVariantsDifferWhereTheyShould(t *testing.T) {
	a := variants(t)
	moved, _ := a.Config.Environment("moved")
	for _, key := range moved.APIKeys {
		if key.Name == "example-partner" && key.Plan != "internal" {
			t.Fatalf("moved: example-partner is in %s", key.Plan)
		}
	}
	synth.CheckKeys(t, moved, a.Templates["keygate-moved"])
	if !strings.Contains(synth.ToJSON(a.Templates["keygate-renamedplan"].Resources), "keygate-renamedplan-partner") {
		t.Error("renamedplan has no plan named partner")
	}
}

// sameShardNames are n key names, sorted, that fall into one key stack.
func sameShardNames(n int) []string {
	byShard := map[int][]string{}
	for i := 0; ; i++ {
		name := fmt.Sprintf("chain-%03d", i)
		shard := config.KeyShard(name)
		byShard[shard] = append(byShard[shard], name)
		if len(byShard[shard]) == n {
			slices.Sort(byShard[shard])
			return byShard[shard]
		}
	}
}

// A detached key has no attachment, and the attachment chain (one
// CreateUsagePlanKey at a time, serverless/serverless#12065) must not break
// where it was: the attachments before and after it stay ordered.
func TestDetachedKeyKeepsTheCreationChainsWhole(t *testing.T) {
	a := variants(t)
	tpl := a.Templates["keygate-chained"]
	env, _ := a.Config.Environment("chained")
	synth.CheckKeys(t, env, tpl)
	graph := synth.NewGraph(tpl)
	ancestors := graph.Ancestors()
	attachments := graph.ResourcesOfType("AWS::ApiGateway::UsagePlanKey")
	if len(attachments) != 2 {
		t.Fatalf("%d attachments, want 2 (the middle key is detached)", len(attachments))
	}
	if ok, x, y := graph.TotallyOrdered(attachments, ancestors); !ok {
		t.Errorf("attachments %s and %s may be created at the same time", x, y)
	}
	if ok, x, y := graph.TotallyOrdered(graph.ResourcesOfType("AWS::ApiGateway::ApiKey"), ancestors); !ok {
		t.Errorf("keys %s and %s may be created at the same time", x, y)
	}
}
