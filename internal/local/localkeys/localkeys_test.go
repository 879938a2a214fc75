package localkeys

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/apimodel"
	"github.com/keygate/keygate/internal/apistore"
)

func api() *apimodel.API {
	return &apimodel.API{Stack: "keygate-t", ID: "abcdefghij", Stage: apimodel.Stage{Name: "t"},
		UsagePlans: []*apimodel.UsagePlan{
			{LogicalID: "PlanA", Name: "a", Throttle: &apimodel.Throttle{RateLimit: 1, BurstLimit: 2}},
			{LogicalID: "PlanB", Name: "b", Quota: &apimodel.Quota{Limit: 5, Period: "DAY"}},
		},
		Keys: []*apimodel.APIKey{
			{Name: "one", Enabled: true, Plans: []string{"PlanA"}},
			{Name: "two", Enabled: false, Plans: []string{"PlanB"}},
			{Name: "imported", Enabled: true, SecretName: "team/imported", Plans: []string{"PlanA"}},
		}}
}

func writeJSON(t *testing.T, v any) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keys.json")
	data, _ := json.Marshal(v)
	os.WriteFile(path, data, 0o600)
	return path
}

func TestResolveGeneratesKeepsAndTakesGivenValues(t *testing.T) {
	generated := filepath.Join(t.TempDir(), "local", "t.keys.json")
	given := "givenValueForTheImported0123"
	keys := writeJSON(t, map[string]string{"imported": given})
	first, err := Resolve(api(), keys, generated)
	if err != nil {
		t.Fatal(err)
	}
	if first["imported"] != given || len(first["one"]) != 40 || len(first["two"]) != 40 || first["one"] == first["two"] {
		t.Fatalf("values of lengths %d, %d; imported given: %v", len(first["one"]), len(first["two"]), first["imported"] == given)
	}
	info, err := os.Stat(generated)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("%v, mode %v", err, info.Mode().Perm())
	}
	data, _ := os.ReadFile(generated)
	if strings.Contains(string(data), given) {
		t.Error("a value from KEYS was copied into the generated file")
	}
	second, err := Resolve(api(), keys, generated)
	if err != nil || second["one"] != first["one"] || second["two"] != first["two"] {
		t.Error("a restart did not keep the generated values")
	}
}

func TestResolveRefuses(t *testing.T) {
	generated := filepath.Join(t.TempDir(), "t.keys.json")
	secret := "a value that is not a token"
	for _, tc := range []struct {
		name string
		keys string
		want []string
	}{
		{"imported key without value", "", []string{`API key "imported" is imported from the Secrets Manager secret "team/imported"`, "KEYS="}},
		{"unknown name", writeJSON(t, map[string]string{"imported": "givenValueForTheImported0123", "three": "givenValueForTheImported0123"}), []string{`names key "three", which stack keygate-t does not have (its keys: imported, one, two)`}},
		{"value not a bearer token", writeJSON(t, map[string]string{"imported": secret}), []string{`the value of key "imported" cannot be sent as a bearer token`}},
		{"not JSON", writeJSON(t, []string{secret}), []string{`not a JSON object of key names to values`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Resolve(api(), tc.keys, generated)
			for _, want := range tc.want {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("err = %v, want %q", err, want)
				}
			}
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Error("the error message quotes a key value")
			}
		})
	}
}

func TestSeedCreatesPlansKeysAndAttachments(t *testing.T) {
	store := apistore.New()
	values := Values{"one": strings.Repeat("1", 20), "two": strings.Repeat("2", 20), "imported": strings.Repeat("3", 20)}
	planIDs, err := Seed(store, api(), values)
	if err != nil {
		t.Fatal(err)
	}
	sk, ok := store.ForStage(values["one"], "abcdefghij", "t")
	if !ok || sk.Plan == nil || sk.Plan.ID != planIDs["PlanA"] || sk.Plan.Throttle.BurstLimit != 2 {
		t.Errorf("one: %+v", sk)
	}
	sk, _ = store.ForStage(values["two"], "abcdefghij", "t")
	if sk.Key.Enabled || sk.Plan == nil || sk.Plan.Quota.Limit != 5 {
		t.Errorf("two: %+v", sk)
	}
	// Seeding twice into one store: the values are taken.
	if _, err := Seed(store, api(), values); !errors.Is(err, apistore.ErrConflict) {
		t.Errorf("second seed: %v", err)
	}
}
