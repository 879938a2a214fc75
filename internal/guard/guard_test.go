package guard

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// res is a template resource as a test writes it.
type res = map[string]any

// templateOf encodes resources as a template.
func templateOf(t testing.TB, resources map[string]res) []byte {
	t.Helper()
	data, err := json.Marshal(map[string]any{"Resources": resources})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func ref(id string) any               { return map[string]any{"Ref": id} }
func getAtt(id, attribute string) any { return map[string]any{"Fn::GetAtt": []any{id, attribute}} }

// apiKey is a key as keygate writes it: retained on deletion and on
// replacement, so a mistake never destroys a value clients hold.
func apiKey(name string) res {
	return res{
		"Type":                "AWS::ApiGateway::ApiKey",
		"Properties":          map[string]any{"Name": name, "Enabled": true, "Description": "key " + name},
		"DeletionPolicy":      "Retain",
		"UpdateReplacePolicy": "Retain",
	}
}

func planKey(keyID, planID string) res {
	return res{"Type": "AWS::ApiGateway::UsagePlanKey", "Properties": map[string]any{
		"KeyId": getAtt(keyID, "APIKeyId"), "KeyType": "API_KEY", "UsagePlanId": ref(planID),
	}}
}

// keygateLike is a small root template shaped like keygate's.
func keygateLike() map[string]res {
	return map[string]res{
		"Api":   {"Type": "AWS::ApiGateway::RestApi", "Properties": map[string]any{"Name": "keygate-dev"}},
		"Stage": {"Type": "AWS::ApiGateway::Stage", "Properties": map[string]any{"StageName": "dev", "RestApiId": ref("Api")}},
		"PlanStandard": {"Type": "AWS::ApiGateway::UsagePlan", "Properties": map[string]any{
			"UsagePlanName": "standard", "Throttle": map[string]any{"RateLimit": 20.0, "BurstLimit": 40.0},
			"ApiStages": []any{map[string]any{"ApiId": ref("Api"), "Stage": ref("Stage")}},
		}},
		"PlanInternal":     {"Type": "AWS::ApiGateway::UsagePlan", "Properties": map[string]any{"UsagePlanName": "internal"}},
		"ApiKeyAcme":       apiKey("acme"),
		"UsagePlanKeyAcme": planKey("ApiKeyAcme", "PlanStandard"),
		"AccessLogs": {"Type": "AWS::Logs::LogGroup", "Properties": map[string]any{"RetentionInDays": 30.0},
			"DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete"},
		"Authorizer": {"Type": "AWS::Lambda::Function", "Properties": map[string]any{"FunctionName": "authorizer"}},
	}
}

// setProperty changes one property of resource id (nil removes it).
func setProperty(resources map[string]res, id, property string, value any) {
	r := maps.Clone(resources[id])
	properties := maps.Clone(r["Properties"].(map[string]any))
	if value == nil {
		delete(properties, property)
	} else {
		properties[property] = value
	}
	r["Properties"] = properties
	resources[id] = r
}

// rename moves resource from to the logical ID to.
func rename(resources map[string]res, from, to string) {
	resources[to] = resources[from]
	delete(resources, from)
}

// summary is a finding in a form a test table can spell out:
// "ACTION cause [stack/]logicalId [retained]".
func summary(f Finding) string {
	s := fmt.Sprintf("%s %s %s", f.Action, f.Cause, f.LogicalID)
	if f.Stack != "" {
		s = fmt.Sprintf("%s %s %s/%s", f.Action, f.Cause, f.Stack, f.LogicalID)
	}
	if f.Retained {
		s += " retained"
	}
	return s
}

func summaries(findings []Finding) []string {
	var out []string
	for _, f := range findings {
		out = append(out, summary(f))
	}
	return out
}

func TestCompareTemplates(t *testing.T) {
	tests := []struct {
		name   string
		change func(r map[string]res)
		want   []string
	}{
		{"nothing changes", func(map[string]res) {}, nil},

		// Guarded.
		{"key renamed: the logical ID goes, one of the same type comes", func(r map[string]res) {
			rename(r, "ApiKeyAcme", "ApiKeyAcmeCorp")
			// Its attachment follows: same text but for the logical ID.
			setProperty(r, "UsagePlanKeyAcme", "KeyId", getAtt("ApiKeyAcmeCorp", "APIKeyId"))
		}, []string{"REPLACE renamed ApiKeyAcme retained", "REPLACE property-changed UsagePlanKeyAcme"}},
		// A named key cannot be replaced under its name: refused.
		{"key value set", func(r map[string]res) { setProperty(r, "ApiKeyAcme", "Value", "{{resolve:secretsmanager:acme}}") },
			[]string{"REFUSE named-replacement ApiKeyAcme", "REPLACE property-changed ApiKeyAcme retained", "REPLACE dependency-replaced UsagePlanKeyAcme"}},
		{"key name changed", func(r map[string]res) { setProperty(r, "ApiKeyAcme", "Name", "acme-corp") },
			[]string{"REPLACE property-changed ApiKeyAcme retained", "REPLACE dependency-replaced UsagePlanKeyAcme"}},
		// A key in two plans of the stage: refused.
		{"usage plan key moves to another plan", func(r map[string]res) { setProperty(r, "UsagePlanKeyAcme", "UsagePlanId", ref("PlanInternal")) },
			[]string{"REFUSE key-in-two-plans UsagePlanKeyAcme", "REPLACE property-changed UsagePlanKeyAcme"}},
		{"key and its attachment removed", func(r map[string]res) { delete(r, "ApiKeyAcme"); delete(r, "UsagePlanKeyAcme") },
			[]string{"DELETE removed ApiKeyAcme retained", "DELETE removed UsagePlanKeyAcme"}},
		{"usage plan removed", func(r map[string]res) { delete(r, "PlanInternal") }, []string{"DELETE removed PlanInternal"}},
		{"stage name changed", func(r map[string]res) { setProperty(r, "Stage", "StageName", "v2") },
			[]string{"REPLACE property-changed Stage"}},
		{"REST API renamed", func(r map[string]res) {
			rename(r, "Api", "RestApi")
			setProperty(r, "Stage", "RestApiId", ref("RestApi"))
		}, []string{"REPLACE renamed Api", "REPLACE property-changed Stage"}},
		{"log group removed", func(r map[string]res) { delete(r, "AccessLogs") }, []string{"DELETE removed AccessLogs"}},
		{"log group named", func(r map[string]res) { setProperty(r, "AccessLogs", "LogGroupName", "/keygate/access") },
			[]string{"REPLACE property-changed AccessLogs"}},
		{"log group class changed", func(r map[string]res) { setProperty(r, "AccessLogs", "LogGroupClass", "INFREQUENT_ACCESS") },
			[]string{"REPLACE property-changed AccessLogs"}},
		{"type changed under the same logical ID", func(r map[string]res) { r["PlanInternal"] = res{"Type": "AWS::SSM::Parameter"} },
			[]string{"REPLACE type-changed PlanInternal"}},

		// Not guarded.
		{"usage plan throttle changed", func(r map[string]res) {
			setProperty(r, "PlanStandard", "Throttle", map[string]any{"RateLimit": 50.0, "BurstLimit": 100.0})
		}, nil},
		{"usage plan renamed in place", func(r map[string]res) { setProperty(r, "PlanStandard", "UsagePlanName", "gold") }, nil},
		{"key description changed", func(r map[string]res) { setProperty(r, "ApiKeyAcme", "Description", "Acme Corp") }, nil},
		{"key disabled", func(r map[string]res) { setProperty(r, "ApiKeyAcme", "Enabled", false) }, nil},
		{"REST API name changed", func(r map[string]res) { setProperty(r, "Api", "Name", "keygate") }, nil},
		{"log retention changed", func(r map[string]res) { setProperty(r, "AccessLogs", "RetentionInDays", 90.0) }, nil},
		{"unguarded Lambda function replaced", func(r map[string]res) { setProperty(r, "Authorizer", "FunctionName", "authorizer-v2") }, nil},
		{"unguarded Lambda function renamed", func(r map[string]res) { rename(r, "Authorizer", "BearerAuthorizer") }, nil},
		{"key added", func(r map[string]res) {
			r["ApiKeyGlobex"] = apiKey("globex")
			r["UsagePlanKeyGlobex"] = planKey("ApiKeyGlobex", "PlanStandard")
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			head := keygateLike()
			tc.change(head)
			findings, err := CompareTemplates(templateOf(t, keygateLike()), templateOf(t, head))
			if err != nil {
				t.Fatal(err)
			}
			if got := summaries(findings); !slices.Equal(got, tc.want) {
				t.Errorf("findings:\n  %s\nwant:\n  %s\nin full:\n  %v", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "), findings)
			}
		})
	}
}

// TestFindingMessages pins the wording reviewers read in pull requests.
func TestFindingMessages(t *testing.T) {
	tests := []struct {
		name   string
		change func(r map[string]res)
		want   []string
	}{
		{"key name changed", func(r map[string]res) { setProperty(r, "ApiKeyAcme", "Name", "acme-corp") }, []string{
			"REPLACE AWS::ApiGateway::ApiKey ApiKeyAcme: property Name changes; CloudFormation replaces the key: every client holding its value is locked out (retained: UpdateReplacePolicy Retain keeps the old resource in the account, outside the stack)",
			"REPLACE AWS::ApiGateway::UsagePlanKey UsagePlanKeyAcme: property KeyId refers to ApiKeyAcme, which is replaced; CloudFormation replaces the key's attachment to its usage plan: the key's clients get 403 Forbidden until it is attached again",
		}},
		{"key renamed", func(r map[string]res) { r["ApiKeyAcmeCorp"] = r["ApiKeyAcme"]; delete(r, "ApiKeyAcme") }, []string{
			"REPLACE AWS::ApiGateway::ApiKey ApiKeyAcme: removed ApiKeyAcme, added ApiKeyAcmeCorp of the same type (likely a rename, which CloudFormation carries out by deleting the key and creating a new one): every client holding its value is locked out (retained: DeletionPolicy Retain keeps the old resource in the account, outside the stack)",
		}},
		{"log group removed", func(r map[string]res) { delete(r, "AccessLogs") }, []string{
			"DELETE AWS::Logs::LogGroup AccessLogs: removed; CloudFormation deletes the log group: its logs are deleted (data loss)",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			head := keygateLike()
			tc.change(head)
			findings, err := CompareTemplates(templateOf(t, keygateLike()), templateOf(t, head))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range findings {
				got = append(got, f.String())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("messages:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

func TestFindingsAreSortedAndStable(t *testing.T) {
	base := map[string]res{}
	for _, name := range []string{"d", "b", "e", "a", "c"} {
		base["ApiKey"+name] = apiKey(name)
	}
	head := map[string]res{}
	first, err := CompareTemplates(templateOf(t, base), templateOf(t, head))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"DELETE removed ApiKeya retained", "DELETE removed ApiKeyb retained", "DELETE removed ApiKeyc retained", "DELETE removed ApiKeyd retained", "DELETE removed ApiKeye retained"}
	for range 20 {
		again, _ := CompareTemplates(templateOf(t, base), templateOf(t, head))
		if got := summaries(again); !slices.Equal(got, want) || !slices.Equal(summaries(first), got) {
			t.Fatalf("findings %v, want %v", got, want)
		}
	}
}

func TestCompareTemplatesRejectsWhatIsNotATemplate(t *testing.T) {
	good := templateOf(t, keygateLike())
	tests := []struct {
		name     string
		template string
		err      string // "" when the template is accepted
	}{
		{"empty object, as for a stack not deployed yet", `{}`, ""},
		{"no resources", `{"Resources": {}}`, ""},
		{"broken JSON", `{"Resources":`, "not a JSON CloudFormation template"},
		{"a list", `[]`, "not a JSON CloudFormation template"},
		{"null", `null`, "not a JSON CloudFormation template"},
		{"another JSON file", `{"version": "48.0.0", "files": {}}`, "no Resources section"},
		{"resources not an object", `{"Resources": []}`, "Resources"},
		{"resource without a type", `{"Resources": {"ApiKeyA": {"Properties": {}}}}`, "Resources.ApiKeyA: no Type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for side, pair := range map[string][2][]byte{"base": {[]byte(tc.template), good}, "head": {good, []byte(tc.template)}} {
				_, err := CompareTemplates(pair[0], pair[1])
				switch {
				case tc.err == "" && err != nil:
					t.Errorf("%s: unexpected error %v", side, err)
				case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), side)):
					t.Errorf("%s: error %v, want one starting %q and containing %q", side, err, side, tc.err)
				}
			}
		})
	}
}

func TestReferences(t *testing.T) {
	tests := []struct {
		name  string
		value string
		want  []string
	}{
		{"literal", `"dev"`, nil},
		{"Ref", `{"Ref": "Api"}`, []string{"Api"}},
		{"Fn::GetAtt list", `{"Fn::GetAtt": ["ApiKeyA", "APIKeyId"]}`, []string{"ApiKeyA"}},
		{"Fn::GetAtt string", `{"Fn::GetAtt": "ApiKeyA.APIKeyId"}`, []string{"ApiKeyA"}},
		{"Fn::Sub", `{"Fn::Sub": "${Api}/${Stage.StageName}/${!Literal}/${AWS::Region}"}`, []string{"AWS::Region", "Api", "Stage"}},
		{"Fn::Sub with variables", `{"Fn::Sub": ["${Name}-x", {"Name": {"Ref": "Plan"}}]}`, []string{"Name", "Plan"}},
		{"nested in Fn::Join", `{"Fn::Join": ["", ["a", {"Ref": "Api"}, {"Fn::GetAtt": ["Logs", "Arn"]}]]}`, []string{"Api", "Logs"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var value any
			if err := json.Unmarshal([]byte(tc.value), &value); err != nil {
				t.Fatal(err)
			}
			refs := map[string]bool{}
			references(value, refs)
			if got := slices.Sorted(maps.Keys(refs)); !slices.Equal(got, tc.want) {
				t.Errorf("references = %v, want %v", got, tc.want)
			}
		})
	}
}

// assembly is a cdk.out directory's worth of one stack: the root template's
// own resources and, by nested stack logical ID, each nested template's.
type assembly struct {
	root   map[string]res
	nested map[string]map[string]res
}

// write puts the assembly into dir the way the CDK does: one file per
// template, the nested stack resource naming its file in aws:asset:path.
func (a assembly) write(t *testing.T, dir string) {
	t.Helper()
	root := maps.Clone(a.root)
	if root == nil {
		root = map[string]res{}
	}
	for id, resources := range a.nested {
		file := "keygatedev" + id + ".nested.template.json"
		root[id] = res{"Type": "AWS::CloudFormation::Stack", "Metadata": map[string]any{assetPathKey: file}}
		if err := os.WriteFile(filepath.Join(dir, file), templateOf(t, resources), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "keygate-dev.template.json"), templateOf(t, root), 0o644); err != nil {
		t.Fatal(err)
	}
}

// shard is a nested key stack holding a key and its attachment per name.
func shard(names ...string) map[string]res {
	r := map[string]res{}
	for _, n := range names {
		r["ApiKey"+n] = apiKey(n)
		r["UsagePlanKey"+n] = planKey("ApiKey"+n, "UsagePlanIdStandard")
	}
	return r
}

func TestCompareAssemblies(t *testing.T) {
	base := assembly{nested: map[string]map[string]res{"Keys01": shard("A", "B"), "Keys02": shard("C")}}
	tests := []struct {
		name string
		head assembly
		want []string
	}{
		{"unchanged", base, nil},
		{"key added to a shard", assembly{nested: map[string]map[string]res{"Keys01": shard("A", "B", "D"), "Keys02": shard("C")}}, nil},
		{"key removed from a nested template", assembly{nested: map[string]map[string]res{"Keys01": shard("A"), "Keys02": shard("C")}},
			[]string{"DELETE removed Keys01/ApiKeyB retained", "DELETE removed Keys01/UsagePlanKeyB"}},
		{"key moves to another shard", assembly{nested: map[string]map[string]res{"Keys01": shard("A"), "Keys02": shard("B", "C")}},
			[]string{"REPLACE moved Keys01/ApiKeyB retained", "REPLACE moved Keys01/UsagePlanKeyB"}},
		{"nested stack removed", assembly{nested: map[string]map[string]res{"Keys01": shard("A", "B")}},
			[]string{"DELETE removed Keys02", "DELETE removed Keys02/ApiKeyC retained", "DELETE removed Keys02/UsagePlanKeyC"}},
		{"nested stack renamed", assembly{nested: map[string]map[string]res{"Keys01": shard("A", "B"), "KeysTwo": shard("C")}},
			[]string{"REPLACE renamed Keys02", "REPLACE moved Keys02/ApiKeyC retained", "REPLACE moved Keys02/UsagePlanKeyC"}},
	}
	baseDir := t.TempDir()
	base.write(t, baseDir)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			headDir := t.TempDir()
			tc.head.write(t, headDir)
			findings, err := CompareAssemblies(baseDir, headDir, "keygate-dev")
			if err != nil {
				t.Fatal(err)
			}
			if got := summaries(findings); !slices.Equal(got, tc.want) {
				t.Errorf("findings:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

func TestCompareAssembliesFollowsNestingDepth(t *testing.T) {
	write := func(dir string, inner map[string]res) {
		files := map[string]map[string]res{
			"keygate-dev.template.json":  {"Outer": {"Type": "AWS::CloudFormation::Stack", "Metadata": map[string]any{assetPathKey: "outer.nested.template.json"}}},
			"outer.nested.template.json": {"Inner": {"Type": "AWS::CloudFormation::Stack", "Metadata": map[string]any{assetPathKey: "inner.nested.template.json"}}},
			"inner.nested.template.json": inner,
		}
		for file, resources := range files {
			if err := os.WriteFile(filepath.Join(dir, file), templateOf(t, resources), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	baseDir, headDir := t.TempDir(), t.TempDir()
	write(baseDir, shard("A"))
	write(headDir, map[string]res{})
	findings, err := CompareAssemblies(baseDir, headDir, "keygate-dev")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"DELETE removed Outer/Inner/ApiKeyA retained", "DELETE removed Outer/Inner/UsagePlanKeyA"}
	if got := summaries(findings); !slices.Equal(got, want) {
		t.Errorf("findings %v, want %v", got, want)
	}
}

func TestCompareAssembliesErrors(t *testing.T) {
	good := t.TempDir()
	assembly{nested: map[string]map[string]res{"Keys01": shard("A")}}.write(t, good)

	noAssetPath := t.TempDir()
	assembly{root: map[string]res{"Keys01": {"Type": "AWS::CloudFormation::Stack"}}}.write(t, noAssetPath)

	nestedMissing := t.TempDir()
	assembly{nested: map[string]map[string]res{"Keys01": shard("A")}}.write(t, nestedMissing)
	if err := os.Remove(filepath.Join(nestedMissing, "keygatedevKeys01.nested.template.json")); err != nil {
		t.Fatal(err)
	}

	selfNesting := t.TempDir()
	assembly{root: map[string]res{"Loop": {"Type": "AWS::CloudFormation::Stack", "Metadata": map[string]any{assetPathKey: "keygate-dev.template.json"}}}}.write(t, selfNesting)

	// A template that names a file outside the assembly: the guard must not
	// read (and echo) it. A real file outside is planted to prove it.
	outside := t.TempDir()
	escaping := filepath.Join(outside, "assembly")
	if err := os.Mkdir(escaping, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "secret.json"), templateOf(t, shard("Z")), 0o644); err != nil {
		t.Fatal(err)
	}
	assembly{root: map[string]res{"Keys01": {"Type": "AWS::CloudFormation::Stack", "Metadata": map[string]any{assetPathKey: "../secret.json"}}}}.write(t, escaping)
	absolute := t.TempDir()
	assembly{root: map[string]res{"Keys01": {"Type": "AWS::CloudFormation::Stack", "Metadata": map[string]any{assetPathKey: filepath.Join(outside, "secret.json")}}}}.write(t, absolute)
	subdir := t.TempDir()
	assembly{root: map[string]res{"Keys01": {"Type": "AWS::CloudFormation::Stack", "Metadata": map[string]any{assetPathKey: "sub/keys.nested.template.json"}}}}.write(t, subdir)

	tests := []struct {
		name, baseDir, headDir, stack, err string
	}{
		{"nested template path leaving the assembly", good, escaping, "keygate-dev", `head: nested stack Keys01: aws:asset:path "../secret.json" is not a plain file name`},
		{"absolute nested template path", good, absolute, "keygate-dev", `is not a plain file name in the cloud assembly`},
		{"nested template path with a directory", good, subdir, "keygate-dev", `"sub/keys.nested.template.json" is not a plain file name`},
		{"unknown stack", good, good, "keygate-qa", `base: no stack "keygate-qa" in ` + good + " (stacks there: keygate-dev)"},
		{"not a directory", filepath.Join(good, "missing"), good, "keygate-dev", "base: " + filepath.Join(good, "missing") + " is not a cdk.out directory"},
		{"nested stack without aws:asset:path", good, noAssetPath, "keygate-dev", "head: nested stack Keys01 has no aws:asset:path metadata"},
		{"nested template missing", nestedMissing, good, "keygate-dev", "base: nested stack Keys01: open"},
		{"template nesting itself", good, selfNesting, "keygate-dev", "head: nested stack Loop: keygate-dev.template.json is already part of this stack"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CompareAssemblies(tc.baseDir, tc.headDir, tc.stack)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("error %v, want one containing %q", err, tc.err)
			}
		})
	}
}

func ExampleCompareTemplates() {
	base := `{"Resources": {
	  "ApiKeyAcme": {"Type": "AWS::ApiGateway::ApiKey", "Properties": {"Name": "acme", "Enabled": true}},
	  "AccessLogs": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 30}}
	}}`
	head := `{"Resources": {
	  "ApiKeyAcme": {"Type": "AWS::ApiGateway::ApiKey", "Properties": {"Name": "acme", "Enabled": false}},
	  "AccessLogs": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 30, "LogGroupName": "/keygate/access"}}
	}}`
	findings, err := CompareTemplates([]byte(base), []byte(head))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range findings {
		fmt.Println(f)
	}
	// Output:
	// REPLACE AWS::Logs::LogGroup AccessLogs: property LogGroupName changes; CloudFormation replaces the log group: its logs are deleted (data loss)
}
