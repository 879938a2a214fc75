package guard

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tpl builds a template from logical ID → resource.
func tpl(resources map[string]resource) []byte {
	data, _ := json.Marshal(template{Resources: resources})
	return data
}

func apiKey(name string, extra ...string) resource {
	p := map[string]any{"Name": name, "Enabled": true, "Description": "key " + name}
	for i := 0; i+1 < len(extra); i += 2 {
		p[extra[i]] = extra[i+1]
	}
	return resource{Type: "AWS::ApiGateway::ApiKey", Properties: p, DeletionPolicy: "Retain"}
}

func planKey(keyID, planID string) resource {
	return resource{Type: "AWS::ApiGateway::UsagePlanKey", Properties: map[string]any{
		"KeyId": map[string]any{"Fn::GetAtt": []any{keyID, "APIKeyId"}}, "KeyType": "API_KEY", "UsagePlanId": map[string]any{"Ref": planID},
	}}
}

func plan(rate float64) resource {
	return resource{Type: "AWS::ApiGateway::UsagePlan", Properties: map[string]any{"Throttle": map[string]any{"RateLimit": rate}}}
}

func base() map[string]resource {
	return map[string]resource{
		"ApiKeyA":       apiKey("a"),
		"UsagePlanKeyA": planKey("ApiKeyA", "PlanStd"),
		"PlanStd":       plan(10),
		"PlanInt":       plan(50),
		"Api":           {Type: "AWS::ApiGateway::RestApi", Properties: map[string]any{"Name": "keygate-dev"}},
		"Stage":         {Type: "AWS::ApiGateway::Stage", Properties: map[string]any{"StageName": "dev", "RestApiId": map[string]any{"Ref": "Api"}}},
		"AccessLogs":    {Type: "AWS::Logs::LogGroup", Properties: map[string]any{"RetentionInDays": 30.0}},
		"Function":      {Type: "AWS::Lambda::Function", Properties: map[string]any{"FunctionName": "f"}},
	}
}

func TestCompareTemplates(t *testing.T) {
	tests := []struct {
		name   string
		change func(map[string]resource)
		want   []string // "ACTION LogicalID" of every finding, sorted
		reason string   // a part of the first finding's reason
	}{
		{"nothing changes", func(map[string]resource) {}, nil, ""},
		{"key renamed", func(r map[string]resource) {
			r["ApiKeyA2"] = r["ApiKeyA"]
			delete(r, "ApiKeyA")
		}, []string{"REPLACE ApiKeyA"}, "ApiKeyA2 of the same type appears"},
		{"key value changes", func(r map[string]resource) { r["ApiKeyA"] = apiKey("a", "Value", "{{resolve:secretsmanager:other}}") },
			[]string{"REPLACE ApiKeyA"}, "property Value"},
		{"key name changes", func(r map[string]resource) { r["ApiKeyA"] = apiKey("a-renamed") }, []string{"REPLACE ApiKeyA"}, "property Name"},
		{"key moves to another plan", func(r map[string]resource) { r["UsagePlanKeyA"] = planKey("ApiKeyA", "PlanInt") },
			[]string{"REPLACE UsagePlanKeyA"}, "property UsagePlanId"},
		{"key removed", func(r map[string]resource) { delete(r, "ApiKeyA"); delete(r, "UsagePlanKeyA") },
			[]string{"DELETE ApiKeyA", "DELETE UsagePlanKeyA"}, "DeletionPolicy Retain"},
		{"stage renamed", func(r map[string]resource) {
			s := r["Stage"]
			s.Properties = map[string]any{"StageName": "v2", "RestApiId": map[string]any{"Ref": "Api"}}
			r["Stage"] = s
		}, []string{"REPLACE Stage"}, "property StageName"},
		{"log group removed", func(r map[string]resource) { delete(r, "AccessLogs") }, []string{"DELETE AccessLogs"}, "data loss"},
		{"API removed", func(r map[string]resource) { delete(r, "Api") }, []string{"DELETE Api"}, "new id and URL"},
		{"type changes", func(r map[string]resource) { r["PlanStd"] = resource{Type: "AWS::Lambda::Function"} }, []string{"REPLACE PlanStd"}, "changes type"},

		{"throttle changes", func(r map[string]resource) { r["PlanStd"] = plan(20) }, nil, ""},
		{"description changes", func(r map[string]resource) { r["ApiKeyA"] = apiKey("a", "Description", "new words") }, nil, ""},
		{"key disabled", func(r map[string]resource) {
			k := apiKey("a")
			k.Properties["Enabled"] = false
			r["ApiKeyA"] = k
		}, nil, ""},
		{"retention changes", func(r map[string]resource) {
			r["AccessLogs"] = resource{Type: "AWS::Logs::LogGroup", Properties: map[string]any{"RetentionInDays": 90.0}}
		}, nil, ""},
		{"unguarded resource replaced", func(r map[string]resource) {
			r["Function"] = resource{Type: "AWS::Lambda::Function", Properties: map[string]any{"FunctionName": "g"}}
		}, nil, ""},
		{"key added", func(r map[string]resource) {
			r["ApiKeyB"] = apiKey("b")
			r["UsagePlanKeyB"] = planKey("ApiKeyB", "PlanStd")
		}, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			head := base()
			tc.change(head)
			findings, err := CompareTemplates(tpl(base()), tpl(head))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range findings {
				got = append(got, string(f.Action)+" "+f.LogicalID)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("findings = %v, want %v", findings, tc.want)
			}
			if tc.reason != "" && !strings.Contains(findings[0].Reason, tc.reason) {
				t.Errorf("reason %q lacks %q", findings[0].Reason, tc.reason)
			}
		})
	}
}

func TestCompareTemplatesRejectsNonJSON(t *testing.T) {
	if _, err := CompareTemplates([]byte("{"), tpl(base())); err == nil {
		t.Error("no error for a broken base template")
	}
}

// writeAssembly writes a root template with nested stacks into dir, as
// cdk.out holds them.
func writeAssembly(t *testing.T, dir string, root map[string]resource, nested map[string]map[string]resource) {
	t.Helper()
	for id, resources := range nested {
		file := "root" + id + ".nested.template.json"
		root[id] = resource{Type: "AWS::CloudFormation::Stack", Metadata: map[string]any{"aws:asset:path": file}}
		if err := os.WriteFile(filepath.Join(dir, file), tpl(resources), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "root.template.json"), tpl(root), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCompareAssembliesLooksIntoNestedStacks(t *testing.T) {
	keys := func(names ...string) map[string]resource {
		r := map[string]resource{}
		for _, n := range names {
			r["ApiKey"+n] = apiKey(n)
		}
		return r
	}
	tests := []struct {
		name string
		head map[string]map[string]resource
		want []string
	}{
		{"unchanged", map[string]map[string]resource{"Keys01": keys("a", "b"), "Keys02": keys("c")}, nil},
		{"key added to a shard", map[string]map[string]resource{"Keys01": keys("a", "b", "d"), "Keys02": keys("c")}, nil},
		{"key removed from a shard", map[string]map[string]resource{"Keys01": keys("a"), "Keys02": keys("c")}, []string{"DELETE Keys01/ApiKeyb"}},
		{"key moves to another shard", map[string]map[string]resource{"Keys01": keys("a"), "Keys02": keys("b", "c")}, []string{"REPLACE Keys01/ApiKeyb"}},
		{"shard removed", map[string]map[string]resource{"Keys01": keys("a", "b")}, []string{"DELETE /Keys02", "DELETE Keys02/ApiKeyc"}},
	}
	baseDir := t.TempDir()
	writeAssembly(t, baseDir, map[string]resource{}, map[string]map[string]resource{"Keys01": keys("a", "b"), "Keys02": keys("c")})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			headDir := t.TempDir()
			writeAssembly(t, headDir, map[string]resource{}, tc.head)
			findings, err := CompareAssemblies(baseDir, headDir, "root")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range findings {
				got = append(got, string(f.Action)+" "+f.Stack+"/"+f.LogicalID)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("findings = %v, want %v", findings, tc.want)
			}
		})
	}
	if _, err := CompareAssemblies(baseDir, t.TempDir(), "root"); err == nil {
		t.Error("no error for a missing head template")
	}
}
