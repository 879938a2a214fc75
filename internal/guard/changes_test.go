package guard

import (
	"slices"
	"strings"
	"testing"
)

func TestSummarizeSeesIntoNestedStacks(t *testing.T) {
	base := assembly{
		root:   map[string]res{"Plan": {"Type": "AWS::ApiGateway::UsagePlan", "Properties": map[string]any{"Throttle": 10.0}}},
		nested: map[string]map[string]res{"Keys01": shard("A", "B"), "Keys02": shard("C")},
	}
	head := assembly{
		root:   map[string]res{"Plan": {"Type": "AWS::ApiGateway::UsagePlan", "Properties": map[string]any{"Throttle": 20.0}}},
		nested: map[string]map[string]res{"Keys01": shard("A", "D"), "Keys02": shard("C")},
	}
	head.nested["Keys01"]["ApiKeyA"] = apiKey("A-renamed") // Name is a replacement property
	baseDir, headDir := t.TempDir(), t.TempDir()
	base.write(t, baseDir)
	head.write(t, headDir)

	summary, err := Summarize(baseDir, headDir, "keygate-dev")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range summary.Changes {
		got = append(got, string(c.Kind)+" "+c.Stack+"/"+c.LogicalID)
	}
	want := []string{
		"modified /Plan",
		"replaced Keys01/ApiKeyA",
		"removed Keys01/ApiKeyB", // gone while ApiKeyD appears: the guard calls it a rename, but it is gone
		"added Keys01/ApiKeyD",
		"replaced Keys01/UsagePlanKeyA", // its key is replaced in place
		"removed Keys01/UsagePlanKeyB",
		"added Keys01/UsagePlanKeyD",
	}
	if !slices.Equal(got, want) {
		t.Errorf("changes:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	if s := summary.String(); s != "2 added, 1 modified, 2 removed, 2 replaced" {
		t.Errorf("summary = %q", s)
	}

	if _, err := Summarize(baseDir, t.TempDir(), "keygate-dev"); err == nil {
		t.Error("no error for a missing head")
	}
}
