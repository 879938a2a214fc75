package scale

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/stacks"
	"github.com/keygate/keygate/test/synth"
)

// CreateUsagePlanKey runs one at a time per account and region, and
// concurrent calls fail with 409 that CloudFormation does not retry
// (serverless/serverless#12065); CreateApiKey is limited to 5 requests/s
// (cloudformation-coverage-roadmap#588). In one environment's deploy, root
// and nested stacks together, every two attachments, and every two keys, must
// have a path between them in the dependency graph.
func TestConcurrentUsagePlanKeyCreationsCannotHappen(t *testing.T) {
	for _, stack := range []string{"keygate-bulk", "keygate-dev"} {
		t.Run(stack, func(t *testing.T) {
			tpl := scaled(t).Templates[stack]
			graph := synth.NewGraph(tpl)
			ancestors := graph.Ancestors()
			attachments := graph.ResourcesOfType("AWS::ApiGateway::UsagePlanKey")
			keys := graph.ResourcesOfType("AWS::ApiGateway::ApiKey")
			if stack == "keygate-bulk" && len(tpl.Nested) < 2 {
				t.Fatalf("only %d key stacks: the test needs keys in several", len(tpl.Nested))
			}
			if ok, a, b := graph.TotallyOrdered(attachments, ancestors); !ok {
				t.Errorf("usage plan keys %s and %s may be created at the same time (409 ConflictException)", a, b)
			}
			// One chain is stricter than the 4 concurrent CreateApiKey
			// calls that stay under 5 requests/s.
			if ok, a, b := graph.TotallyOrdered(keys, ancestors); !ok {
				t.Errorf("API keys %s and %s may be created at the same time", a, b)
			}
		})
	}
}

// The creation chains follow names: adding a key changes only the DependsOn
// of its successors in the chains, never a property, and nothing else in any
// other key stack.
func TestAddingAKeyChangesOnlyItsNeighboursDependsOn(t *testing.T) {
	before, after := scaled(t).Templates["keygate-bulk"], scaled(t).Templates["keygate-bulkplus"]
	addedKey, addedAttachment := stacks.APIKeyLogicalID(addedKeyName), stacks.UsagePlanKeyLogicalID(addedKeyName)
	changed := 0
	for nestedID, old := range before.Nested {
		updated := after.Nested[nestedID]
		if updated == nil {
			t.Fatalf("key stack %s is gone", nestedID)
		}
		for id, r := range old.Resources {
			n, ok := updated.Resources[id]
			if !ok {
				t.Errorf("%s/%s is gone", nestedID, id)
				continue
			}
			// The environments differ in name only (descriptions).
			if synth.ToJSON(r.Properties) != strings.ReplaceAll(synth.ToJSON(n.Properties), "bulkplus", "bulk") {
				t.Errorf("%s/%s changed properties", nestedID, id)
			}
			if slices.Equal(r.DependsOnIDs(), n.DependsOnIDs()) {
				continue
			}
			changed++
			// Only a successor of the added key may now wait for it.
			if !slices.Contains(n.DependsOnIDs(), addedKey) && !slices.Contains(n.DependsOnIDs(), addedAttachment) {
				t.Errorf("%s/%s: DependsOn %v → %v, though it does not follow the added key", nestedID, id, r.DependsOnIDs(), n.DependsOnIDs())
			}
		}
	}
	if changed != 2 {
		t.Errorf("%d resources changed DependsOn, want the key and the attachment after the added key", changed)
	}
}

// CloudFormation allows 2,500 resources created, updated or deleted in one
// operation across a nested-stack hierarchy, and 60 dynamic references per
// template ("AWS CloudFormation quotas"). An environment at the cap of
// CloudFormation-managed keys must deploy first time within both.
func TestFirstDeployAtTheKeyCapStaysWithinCloudFormationQuotas(t *testing.T) {
	a := scaled(t)
	env, _ := a.Config.Environment("bulkplus")
	if len(env.APIKeys) != config.MaxCloudFormationKeys {
		t.Fatalf("bulkplus has %d keys, want the cap %d", len(env.APIKeys), config.MaxCloudFormationKeys)
	}
	tpl := a.Templates["keygate-bulkplus"]
	total := countResources(tpl)
	if total > config.CloudFormationMaxResourcesPerOperation {
		t.Errorf("a first deploy creates %d resources, CloudFormation allows %d per operation", total, config.CloudFormationMaxResourcesPerOperation)
	}
	files := []string{tpl.File}
	for _, nested := range tpl.Nested {
		files = append(files, nested.File)
	}
	imported := 0
	for _, file := range files {
		data, err := os.ReadFile(filepath.Join(a.Dir, file))
		if err != nil {
			t.Fatal(err)
		}
		n := strings.Count(string(data), "{{resolve:")
		imported += n
		if n > config.CloudFormationMaxDynamicReferences {
			t.Errorf("%s holds %d dynamic references, CloudFormation allows %d", file, n, config.CloudFormationMaxDynamicReferences)
		}
	}
	if imported == 0 {
		t.Error("no imported keys: the dynamic reference check checked nothing")
	}
}

// Fn::GetAtt <ApiKey>.APIKeyId fails in some regions ("resource does not
// support attribute type APIKeyId in Fn::GetAtt",
// aws/serverless-application-model#2779): every key id is a Ref.
func TestKeyIDsAreRefsNotGetAttAPIKeyId(t *testing.T) {
	tpl := scaled(t).Templates["keygate-bulk"]
	for nestedID, nested := range tpl.Nested {
		data, _ := json.Marshal(nested)
		if strings.Contains(string(data), `"APIKeyId"`) {
			t.Errorf("key stack %s uses Fn::GetAtt APIKeyId", nestedID)
		}
		for _, id := range nested.OfType("AWS::ApiGateway::UsagePlanKey") {
			keyID := nested.Resources[id].Properties["KeyId"].(map[string]any)
			if _, ok := keyID["Ref"]; !ok || nested.Resources[keyID["Ref"].(string)].Type != "AWS::ApiGateway::ApiKey" {
				t.Errorf("%s/%s: KeyId %s, want a Ref to its API key", nestedID, id, synth.ToJSON(keyID))
			}
		}
	}
}
