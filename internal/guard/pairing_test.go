package guard

import (
	"slices"
	"strings"
	"testing"
)

// Removing key A from one shard and adding key B to another is a deletion
// and an addition: no "likely a rename" across nested stacks, and the
// summary counts A as removed (the README says deleted keys are reported as
// deleted).
func TestKeyDeletedInOneShardIsNotReportedAsRenamedToAKeyAddedInAnother(t *testing.T) {
	baseDir, headDir := t.TempDir(), t.TempDir()
	assembly{nested: map[string]map[string]res{"Keys01": shard("A", "C"), "Keys02": shard("D")}}.write(t, baseDir)
	assembly{nested: map[string]map[string]res{"Keys01": shard("C"), "Keys02": shard("B", "D")}}.write(t, headDir)
	findings, err := CompareAssemblies(baseDir, headDir, "keygate-dev")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"DELETE removed Keys01/ApiKeyA retained", "DELETE removed Keys01/UsagePlanKeyA"}
	if got := summaries(findings); !slices.Equal(got, want) {
		t.Errorf("findings %v, want %v", got, want)
	}
	for _, f := range findings {
		if strings.Contains(f.Reason, "rename") {
			t.Errorf("%s reads as a rename: %s", f.LogicalID, f.Reason)
		}
	}
	s, err := Summarize(baseDir, headDir, "keygate-dev")
	if err != nil {
		t.Fatal(err)
	}
	if s.Count(Removed) != 2 || s.Count(Replaced) != 0 || s.Count(Added) != 2 {
		t.Errorf("summary %s, want the key and its attachment removed, the new ones added, nothing replaced", s)
	}
}

// A plan removed while its key goes to a plan that exists already is a
// move: the message walks through a move, not a plan rename.
func TestKeyMovedOffARemovedPlanGetsMoveStepsNotRenameSteps(t *testing.T) {
	base := twoPlans(map[string]string{"Acme": "Standard", "Globex": "Internal"})
	head := keygateApp{plans: []string{"Internal"}, stacks: map[string]keyStack{"ApiKeys01": {keys: map[string]string{"Acme": "Internal", "Globex": "Internal"}}}}
	refused := refusalsOf(reviewApps(t, base, head))
	if len(refused) != 1 || refused[0].LogicalID != "UsagePlanKeyAcme" {
		t.Fatalf("refusals %v, want Acme's attachment", refused)
	}
	reason := refused[0].Reason
	for _, want := range []string{`usage plan "keygate-dev-Internal", which exists already`, `"keygate-dev-Standard", which is removed`,
		`1) set its plan to the new one and "detached": true on the apiKeys entry "Acme"`, `2) remove "detached" and deploy`} {
		if !strings.Contains(reason, want) {
			t.Errorf("reason lacks %q:\n%s", want, reason)
		}
	}
	if strings.Contains(reason, "Rename a plan") {
		t.Errorf("a move told to rename a plan:\n%s", reason)
	}
}

// A shard that empties while another one fills (key A removed, key B added
// elsewhere, each alone in its shard) is a deletion and an addition of
// nested stacks too, not a rename; a nested stack whose keys follow it to a
// new logical ID still reads as renamed (TestCompareAssemblies).
func TestEmptiedShardIsNotReportedAsRenamedToANewShard(t *testing.T) {
	baseDir, headDir := t.TempDir(), t.TempDir()
	assembly{nested: map[string]map[string]res{"Keys01": shard("A"), "Keys02": shard("C")}}.write(t, baseDir)
	assembly{nested: map[string]map[string]res{"Keys02": shard("C"), "Keys03": shard("B")}}.write(t, headDir)
	findings, err := CompareAssemblies(baseDir, headDir, "keygate-dev")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"DELETE removed Keys01", "DELETE removed Keys01/ApiKeyA retained", "DELETE removed Keys01/UsagePlanKeyA"}
	if got := summaries(findings); !slices.Equal(got, want) {
		t.Errorf("findings %v, want %v", got, want)
	}
}
