package scale

import (
	"github.com/keygate/keygate/test/synth"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/guard"
	"github.com/keygate/keygate/stacks"
)

// asDev copies another environment's synthesized root template into a fresh
// directory under keygate-dev's name, beside the nested templates it names,
// so the guard can compare it with the shipped dev as if it were dev's next
// version.
func asDev(t *testing.T, a *synth.Assembly, stack string) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(a.Dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".nested.template.json") {
			if err := os.Symlink(filepath.Join(a.Dir, e.Name()), filepath.Join(dir, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	data, err := os.ReadFile(filepath.Join(a.Dir, stack+".template.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "keygate-dev.template.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestGuardOnSynthesizedTemplates(t *testing.T) {
	scaledApp := scaled(t)

	// Reordered keys and plans plus an added key: nothing guarded.
	findings, err := guard.CompareAssemblies(scaledApp.Dir, asDev(t, scaledApp, "keygate-reordered"), "keygate-dev")
	if err != nil {
		t.Fatal(err)
	}
	if len(findings) != 0 {
		t.Errorf("reordering the config and adding a key: %v", findings)
	}

	// A renamed key is a deleted key (and its attachment): the new name
	// falls into another shard, and the guard pairs rename candidates only
	// within one stack, so it reports what CloudFormation does there, a
	// deletion, which needs approval all the same. A throttle change is not
	// guarded.
	findings, err = guard.CompareAssemblies(scaledApp.Dir, asDev(t, scaledApp, "keygate-renamed"), "keygate-dev")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range findings {
		got = append(got, string(f.Action)+" "+f.Type+" "+f.LogicalID)
	}
	// example-partner was alone in its shard: that nested stack goes too,
	// while the new name's shard, which holds none of its resources, appears.
	want := []string{
		"DELETE AWS::CloudFormation::Stack ApiKeys88NestedStackApiKeys88NestedStackResource1199B126",
		"DELETE AWS::ApiGateway::ApiKey " + stacks.APIKeyLogicalID("example-partner"),
		"DELETE AWS::ApiGateway::UsagePlanKey " + stacks.UsagePlanKeyLogicalID("example-partner"),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
