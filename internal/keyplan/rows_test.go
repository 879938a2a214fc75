package keyplan

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func rotation(id, of string, n int, plan string, enabled bool) Actual {
	a := managed(id, RotatedName(of, n), plan, enabled)
	a.Tags[TagRotationOf], a.Tags[TagRotation] = of, string(rune('0'+n))
	a.CreatedDate = time.Unix(int64(10+n), 0)
	return a
}

// GIVEN the states the documented flows leave (rotate, then disable the
// old key; rotate twice; disable everything; a rotation that was moved)
// WHEN list -csv writes them as rows and sync plans those rows
// THEN nothing changes: the round trip is zero writes.
func TestFamilyRowsRoundTripPlansNoChange(t *testing.T) {
	original := func(id, name, plan string, enabled bool) Actual {
		a := managed(id, name, plan, enabled)
		a.Description = "customer " + name
		return a
	}
	states := map[string][]Actual{
		"rotated, old disabled": {original("1", "cust1", "standard", false), rotation("2", "cust1", 1, "standard", true)},
		"rotated twice, only the newest enabled": {
			original("1", "cust1", "standard", false), rotation("2", "cust1", 1, "standard", false), rotation("3", "cust1", 2, "standard", true)},
		"rotated, both enabled":       {original("1", "cust1", "standard", true), rotation("2", "cust1", 1, "standard", true)},
		"rotated, newest disabled":    {original("1", "cust1", "standard", true), rotation("2", "cust1", 1, "standard", false)},
		"all disabled":                {original("1", "cust1", "internal", false), rotation("2", "cust1", 1, "internal", false)},
		"plain key":                   {original("1", "cust2", "standard", true)},
		"original deleted by hand":    {rotation("2", "cust3", 1, "internal", true)},
		"another environment ignored": {original("1", "cust4", "standard", true), {ID: "9", Name: "x", Tags: ManagedTags("prod"), Enabled: true}},
	}
	for name, actual := range states {
		t.Run(name, func(t *testing.T) {
			rows := FamilyRows("dev", actual)
			plan, err := Decide(Input{Env: "dev", Desired: rows, Actual: actual, Prune: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(plan.Changes) != 0 {
				t.Errorf("rows %+v → changes %v; want none", rows, kinds(plan))
			}
		})
	}
}

func TestFamilyRowsEnabledIsTheKeyInUse(t *testing.T) {
	actual := []Actual{managed("1", "cust1", "standard", false), rotation("2", "cust1", 1, "standard", true), managed("3", "cust2", "internal", false)}
	got := FamilyRows("dev", actual)
	want := []Desired{{Name: "cust1", Plan: "standard", Enabled: true}, {Name: "cust2", Plan: "internal", Enabled: false}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FamilyRows = %+v; want %+v", got, want)
	}
}

// A row enabled whose keys are all disabled gets its newest key back; one
// whose newest rotation was disabled while an older key is in use is left
// as `disable` made it.
func TestDecideEnablesOnlyAFamilyWithNoEnabledKey(t *testing.T) {
	for _, tc := range []struct {
		actual []Actual
		want   []string
	}{
		{[]Actual{managed("1", "cust1", "standard", false), rotation("2", "cust1", 1, "standard", false)}, []string{"enable cust1~r1"}},
		{[]Actual{managed("1", "cust1", "standard", true), rotation("2", "cust1", 1, "standard", false)}, nil},
	} {
		plan, err := Decide(Input{Env: "dev", Desired: []Desired{row("cust1", "standard", true)}, Actual: tc.actual})
		if err != nil {
			t.Fatal(err)
		}
		if got := kinds(plan); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("changes = %v; want %v", got, tc.want)
		}
	}
}

// The refusal's advice fits the keys it names: a hand-made key is told
// how to remove it, a CloudFormation key how to hand it over, and neither
// advice appears for the other kind.
func TestClashAdviceFitsTheKind(t *testing.T) {
	handMade := Input{Env: "dev", Desired: []Desired{{Name: "h", Plan: "standard", Line: 2}}, Actual: []Actual{{ID: "k3", Name: "h", Plans: []string{"standard"}}}}
	_, err := Decide(handMade)
	if err == nil || !strings.Contains(err.Error(), "delete-usage-plan-key") || strings.Contains(err.Error(), "remove it from cdk.json") {
		t.Errorf("hand-made clash: %v", err)
	}
	inConfig := Input{Env: "dev", Desired: []Desired{{Name: "c", Plan: "standard", Line: 2}}, ConfigKeys: []string{"c"}}
	_, err = Decide(inConfig)
	if err == nil || strings.Contains(err.Error(), "delete-usage-plan-key") || !strings.Contains(err.Error(), "remove it from cdk.json") {
		t.Errorf("cdk.json clash: %v", err)
	}
}
