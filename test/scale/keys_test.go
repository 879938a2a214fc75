// Package scale tests keygate at the size it is built for (thousands of API
// keys) and the stability of identities as the config changes: in a test
// process of its own, so that its synthesis runs beside package test's.
package scale

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/jsii-runtime-go"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/stacks"
	"github.com/keygate/keygate/test/synth"
)

// generatedKeys fills "bulk" to one below the cap of CloudFormation-managed
// keys, so that "bulkplus" (one key more) sits exactly at it.
const generatedKeys = config.MaxCloudFormationKeys - 1

var (
	scaledOnce     sync.Once
	scaledAssembly *synth.Assembly
)

// addedKeyName is the key bulkplus has beyond bulk: "client-0100x" sorts
// between client-0100 and client-0101.
const addedKeyName = "client-0100x"

// scaled synthesizes, once, an app of the shipped dev and environments
// derived from it: "bulk" with 949 generated keys (every tenth imported from
// Secrets Manager), "bulkplus" with one more, "reordered" with dev's keys in
// reverse order, one key added and its plans reversed, "renamed" with one
// key renamed and the stage throttle changed, and "integrations" with HTTP
// and Lambda routes.
func scaled(t *testing.T) *synth.Assembly {
	t.Helper()
	scaledOnce.Do(func() {
		context := synth.CDKJSONContext(t)
		keygate := context["keygate"].(map[string]any)
		envs := keygate["environments"].(map[string]any)
		dev := envs["dev"].(map[string]any)
		defaults := keygate["defaults"].(map[string]any)

		bulk := copyMap(dev)
		bulk["stageName"] = "bulk"
		var keys []any
		for i := range generatedKeys {
			plan := "standard"
			if i%3 == 0 {
				plan = "internal"
			}
			key := map[string]any{"name": fmt.Sprintf("client-%04d", i), "plan": plan}
			if i%10 == 0 {
				// Imported keys: one dynamic reference each.
				key["secretName"] = fmt.Sprintf("keygate/bulk/client-%04d", i)
			}
			keys = append(keys, key)
		}
		bulk["apiKeys"] = keys
		// bulk with one key more, which lands in the middle of its key
		// stack's creation chains.
		bulkplus := copyMap(bulk)
		bulkplus["stageName"] = "bulkplus"
		// Its own secrets: one imported value per account and region.
		var plusKeys []any
		for _, k := range keys {
			key := copyMap(k.(map[string]any))
			if secret, ok := key["secretName"].(string); ok {
				key["secretName"] = strings.Replace(secret, "keygate/bulk/", "keygate/bulkplus/", 1)
			}
			plusKeys = append(plusKeys, key)
		}
		bulkplus["apiKeys"] = append(plusKeys, map[string]any{"name": addedKeyName, "plan": "standard"})

		reordered := copyMap(dev)
		reordered["manageCloudWatchRole"] = false
		devKeys := slices.Clone(defaults["apiKeys"].([]any))
		slices.Reverse(devKeys)
		reordered["apiKeys"] = append([]any{map[string]any{"name": "newcomer", "plan": "standard"}}, devKeys...)
		plans := slices.Clone(defaults["usagePlans"].([]any))
		slices.Reverse(plans)
		reordered["usagePlans"] = plans

		// dev with one key renamed, and throttles changed.
		renamed := copyMap(dev)
		renamed["manageCloudWatchRole"] = false
		renamedKeys := slices.Clone(defaults["apiKeys"].([]any))
		for i, k := range renamedKeys {
			if k.(map[string]any)["name"] == "example-partner" {
				renamedKeys[i] = map[string]any{"name": "example-partner-v2", "plan": "standard"}
			}
		}
		renamed["apiKeys"] = renamedKeys
		renamed["throttle"] = map[string]any{"rateLimit": 60, "burstLimit": 120}

		// dev with routes to real backends instead of mocks.
		integrations := copyMap(dev)
		integrations["manageCloudWatchRole"] = false
		integrations["routes"] = []any{
			map[string]any{"path": "/orders/{id}", "methods": []any{"GET", "DELETE"}, "integration": map[string]any{
				"type": "http", "url": "https://orders.internal.example.com/v1/orders/{id}", "timeoutMillis": 5000}},
			map[string]any{"path": "/payments/{proxy+}", "methods": []any{"ANY"}, "integration": map[string]any{
				"type": "lambda", "functionArn": "arn:aws:lambda:eu-west-1:123456789012:function:payments"}},
		}

		// integrations pinned to the function's account and region, where
		// CDK grants the invoke permission itself.
		pinned := copyMap(integrations)
		pinned["account"], pinned["region"] = "123456789012", "eu-west-1"
		// With an explicit account and region, some environment must own
		// that region's API Gateway CloudWatch role; dev, which owns one,
		// has none, so this one declares it set outside keygate.
		pinned["cloudWatchRoleManagedOutside"] = true
		pinned["cors"] = map[string]any{"allowedOrigins": []any{"https://app.example.com"}}
		pinned["waf"] = map[string]any{"enabled": true}

		bulk["manageCloudWatchRole"] = false
		bulkplus["manageCloudWatchRole"] = false
		keygate["environments"] = map[string]any{"dev": dev, "bulk": bulk, "bulkplus": bulkplus, "reordered": reordered, "renamed": renamed, "integrations": integrations, "pinned": pinned}
		// Resource and output counts and logical IDs are what this app is
		// for; validation and the rule packs run on the shipped config.
		scaledAssembly = synth.Synthesize(t, outDir, context, synth.Checks{})
	})
	if scaledAssembly == nil {
		t.Fatal("synthesizing the scaled app failed in an earlier test")
	}
	return scaledAssembly
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// outDir holds the synthesized app the tests share; it outlives each test.
var outDir string

func TestMain(m *testing.M) {
	var err error
	if outDir, err = os.MkdirTemp("", "keygate-scale-"); err != nil {
		panic(err)
	}
	code := m.Run()
	jsii.Close()
	os.RemoveAll(outDir)
	os.Exit(code)
}

func TestThousandsOfKeysStayUnderTheTemplateLimits(t *testing.T) {
	a := scaled(t)
	bulk, _ := a.Config.Environment("bulk")
	tpl := a.Templates["keygate-bulk"]
	if len(bulk.APIKeys) != generatedKeys {
		t.Fatalf("bulk has %d keys", len(bulk.APIKeys))
	}
	if n := len(tpl.Resources); n > 500 {
		t.Errorf("root template has %d resources, CloudFormation allows 500", n)
	}
	if n := len(tpl.Outputs); n > 200 {
		t.Errorf("root template has %d outputs, CloudFormation allows 200", n)
	}
	if len(tpl.Nested) < 2 || len(tpl.Nested) > config.KeyShardCount {
		t.Errorf("%d nested key stacks for %d keys", len(tpl.Nested), generatedKeys)
	}
	synth.CheckKeys(t, bulk, tpl)
}

func TestReorderingAndAddingKeysMovesNoKeyOrPlan(t *testing.T) {
	dev := scaled(t).Templates["keygate-dev"]
	reordered := scaled(t).Templates["keygate-reordered"]

	// Every plan of dev keeps its logical ID and settings.
	for _, id := range dev.OfType("AWS::ApiGateway::UsagePlan") {
		before, after := dev.Resources[id], reordered.Resources[id]
		if after.Type != before.Type || synth.ToJSON(before.Properties["Throttle"]) != synth.ToJSON(after.Properties["Throttle"]) {
			t.Errorf("usage plan %s changed or moved: %s → %s", id, synth.ToJSON(before), synth.ToJSON(after))
		}
	}
	// Every key of dev stays in the same nested stack under the same logical
	// IDs, so CloudFormation neither replaces nor moves it.
	for nestedID, nested := range dev.Nested {
		for _, keyID := range nested.OfType("AWS::ApiGateway::ApiKey") {
			after, ok := reordered.Nested[nestedID]
			if !ok {
				t.Errorf("nested stack %s of key %s is gone", nestedID, keyID)
				continue
			}
			if _, ok := after.Resources[keyID]; !ok {
				t.Errorf("key %s left nested stack %s", keyID, nestedID)
			}
			for id, r := range nested.Resources {
				if r.Type == "AWS::ApiGateway::UsagePlanKey" && after.Resources[id].Type != r.Type {
					t.Errorf("usage plan key %s left nested stack %s", id, nestedID)
				}
			}
		}
	}
	// The newcomer went to the shard its name decides, wherever it was listed.
	found := false
	for nestedID, nested := range reordered.Nested {
		if _, ok := nested.Resources[stacks.APIKeyLogicalID("newcomer")]; ok {
			found = true
			want := stacks.KeyStackID(config.KeyShard("newcomer"))
			if nestedID[:len(want)] != want {
				t.Errorf("newcomer is in %s, want %s", nestedID, want)
			}
		}
	}
	if !found {
		t.Error("the added key is missing")
	}
}

func TestLogicalIDsFollowNamesOnly(t *testing.T) {
	tests := []struct{ a, b string }{{"partner-a", "partner.a"}, {"a-b", "ab"}, {"Acme", "acme"}}
	for _, tc := range tests {
		if stacks.APIKeyLogicalID(tc.a) == stacks.APIKeyLogicalID(tc.b) {
			t.Errorf("%q and %q share logical ID %s", tc.a, tc.b, stacks.APIKeyLogicalID(tc.a))
		}
	}
	// Pinned: a change here replaces every deployed key.
	if got := stacks.APIKeyLogicalID("example-partner"); got != "ApiKeyExamplePartner2D5157B4" {
		t.Errorf("APIKeyLogicalID(example-partner) = %s: the naming scheme changed", got)
	}
	if got := stacks.UsagePlanLogicalID("standard"); got != "UsagePlanStandardFE6D3468" {
		t.Errorf("UsagePlanLogicalID(standard) = %s: the naming scheme changed", got)
	}
}
