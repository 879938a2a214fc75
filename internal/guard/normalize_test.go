package guard

import (
	"testing"
)

// A stack deployed before keygate switched from Fn::GetAtt [K, APIKeyId] to
// Ref K: both are the key id, so the upgrade replaces no attachment and is
// not refused as a key "attached again".
func TestUpgradeFromGetAttKeyIdIsNotRefusedAsKeysAttachedAgain(t *testing.T) {
	withKeyID := func(keyID func(string) any) map[string]res {
		r := shard("A", "B")
		for _, n := range []string{"A", "B"} {
			setProperty(r, "UsagePlanKey"+n, "KeyId", keyID("ApiKey"+n))
		}
		return r
	}
	for name, old := range map[string]func(string) any{
		"long form":  func(id string) any { return getAtt(id, "APIKeyId") },
		"short form": func(id string) any { return map[string]any{"Fn::GetAtt": id + ".APIKeyId"} },
	} {
		t.Run(name, func(t *testing.T) {
			baseDir, headDir := t.TempDir(), t.TempDir()
			assembly{nested: map[string]map[string]res{"Keys01": withKeyID(old)}}.write(t, baseDir)
			assembly{nested: map[string]map[string]res{"Keys01": withKeyID(ref)}}.write(t, headDir)
			r, err := ReviewAssemblies(baseDir, headDir, "keygate-dev")
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Findings) != 0 {
				t.Errorf("findings %v, want none", summaries(r.Findings))
			}
			s, err := Summarize(baseDir, headDir, "keygate-dev")
			if err != nil {
				t.Fatal(err)
			}
			if s.Count(Replaced) != 0 {
				t.Errorf("summary %s, want nothing replaced", s)
			}
		})
	}
	// Another attribute is not a key id: still a change.
	baseDir, headDir := t.TempDir(), t.TempDir()
	assembly{nested: map[string]map[string]res{"Keys01": withKeyID(func(id string) any { return getAtt(id, "Other") })}}.write(t, baseDir)
	assembly{nested: map[string]map[string]res{"Keys01": withKeyID(ref)}}.write(t, headDir)
	if findings, err := CompareAssemblies(baseDir, headDir, "keygate-dev"); err != nil || len(findings) == 0 {
		t.Errorf("GetAtt Other → Ref: findings %v, err %v; want replacements", findings, err)
	}
}
