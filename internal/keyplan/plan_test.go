package keyplan

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func managed(id, name, plan string, enabled bool) Actual {
	a := Actual{ID: id, Name: name, Enabled: enabled, Tags: ManagedTags("dev"), CreatedDate: time.Unix(1, 0)}
	if plan != "" {
		a.Plans = []string{plan}
	}
	return a
}

func row(name, plan string, enabled bool) Desired {
	return Desired{Name: name, Plan: plan, Enabled: enabled}
}

func kinds(p Plan) []string {
	var out []string
	for _, c := range p.Changes {
		out = append(out, string(c.Kind)+" "+c.Name)
	}
	return out
}

func TestDecide(t *testing.T) {
	rotated := managed("k2", "acme~r1", "standard", true)
	rotated.Tags[TagRotationOf], rotated.Tags[TagRotation] = "acme", "1"
	otherEnv := Actual{ID: "x", Name: "gone", Tags: ManagedTags("prod"), Plans: nil}

	tests := []struct {
		name   string
		in     Input
		want   []string
		kept   int
		unchng int
	}{
		{"empty environment: create everything",
			Input{Desired: []Desired{row("a", "standard", true), row("b", "internal", false)}},
			[]string{"create a", "create b"}, 0, 0},
		{"in sync: nothing",
			Input{Desired: []Desired{row("a", "standard", true)}, Actual: []Actual{managed("1", "a", "standard", true)}},
			nil, 0, 1},
		{"enable, disable, move, attach",
			Input{
				Desired: []Desired{row("a", "standard", true), row("b", "standard", false), row("c", "internal", true), row("d", "standard", true)},
				Actual:  []Actual{managed("1", "a", "standard", false), managed("2", "b", "standard", true), managed("3", "c", "standard", true), managed("4", "d", "", true)},
			},
			[]string{"enable a", "disable b", "move c", "attach d"}, 0, 0},
		{"unlisted keys are kept without prune",
			Input{Actual: []Actual{managed("1", "old", "standard", true), otherEnv}},
			nil, 1, 0},
		{"unlisted keys are deleted with prune, never another environment's",
			Input{Prune: true, Actual: []Actual{managed("1", "old", "standard", true), otherEnv}},
			[]string{"delete old"}, 0, 0},
		{"a rotation belongs to its row: moved with it, not pruned",
			Input{Prune: true, Desired: []Desired{row("acme", "internal", true)},
				Actual: []Actual{managed("k1", "acme", "internal", true), func() Actual { r := rotated; r.Plans = []string{"internal"}; return r }()}},
			nil, 0, 1},
		{"a disabled older rotation stays disabled; the newest is enabled",
			Input{Desired: []Desired{row("acme", "standard", true)},
				Actual: []Actual{managed("k1", "acme", "standard", false), func() Actual { r := rotated; r.Enabled = false; return r }()}},
			[]string{"enable acme~r1"}, 0, 0},
		{"a row disabled disables every rotation",
			Input{Desired: []Desired{row("acme", "standard", false)}, Actual: []Actual{managed("k1", "acme", "standard", true), rotated}},
			[]string{"disable acme", "disable acme~r1"}, 0, 0},
		{"an interrupted import is adopted, not duplicated",
			Input{Desired: []Desired{row("a", "standard", true)},
				Actual: []Actual{{ID: "9", Name: "a", Enabled: true, Plans: []string{"standard"}, GeneratedValue: true}}},
			[]string{"adopt a"}, 0, 0},
		{"a duplicate from two syncs at once is noted, and deleted with prune",
			Input{Prune: true, Desired: []Desired{row("a", "standard", true)},
				Actual: []Actual{func() Actual { d := managed("2", "a", "standard", true); d.CreatedDate = time.Unix(5, 0); return d }(), managed("1", "a", "standard", true)}},
			[]string{"delete a"}, 0, 0},
		{"a same-named stray key in no plan is left alone and ours is created",
			Input{Desired: []Desired{row("a", "standard", true)}, Actual: []Actual{{ID: "9", Name: "a", Enabled: true}}},
			[]string{"create a"}, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Env = "dev"
			p, err := Decide(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := kinds(p); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("changes = %q; want %q", got, tc.want)
			}
			if len(p.Kept) != tc.kept || p.Unchanged != tc.unchng {
				t.Errorf("kept %d unchanged %d; want %d %d", len(p.Kept), p.Unchanged, tc.kept, tc.unchng)
			}
		})
	}
}

func TestDecideDescriptionAndMoveDetails(t *testing.T) {
	a := managed("1", "a", "standard", true)
	a.Description = "old"
	p, err := Decide(Input{Env: "dev", Desired: []Desired{{Name: "a", Plan: "internal", Enabled: true, Description: "new"}}, Actual: []Actual{a}})
	if err != nil {
		t.Fatal(err)
	}
	want := []Change{
		{Kind: Move, Name: "a", KeyID: "1", Plan: "internal", FromPlans: []string{"standard"}},
		{Kind: Describe, Name: "a", KeyID: "1", Description: "new"},
	}
	if !reflect.DeepEqual(p.Changes, want) {
		t.Errorf("changes = %+v", p.Changes)
	}
}

func TestDecideRefusesNamesCloudFormationManages(t *testing.T) {
	cfn := func(id, name, stack string, plans ...string) Actual {
		return Actual{ID: id, Name: name, Enabled: true, Plans: plans, Tags: map[string]string{TagCloudFormationStack: stack}}
	}
	in := Input{
		Env: "dev",
		Desired: []Desired{
			{Name: "nested", Plan: "standard", Line: 2},
			{Name: "in-config", Plan: "standard", Line: 3},
			{Name: "hand-made", Plan: "standard", Line: 4},
			{Name: "other-stack", Plan: "standard", Line: 5},
			{Name: "fine", Plan: "standard", Line: 6},
		},
		Actual: []Actual{
			cfn("k1", "nested", "keygate-dev-ApiKeys07ABC-1XYZ"),
			{ID: "k3", Name: "hand-made", Plans: []string{"standard"}},
			cfn("k4", "other-stack", "someone-else"), // in no plan of ours: not a clash
			cfn("k5", "fine", "keygate-devx"),        // another environment's stack name prefix
			// a CloudFormation key is never adopted, even with a generated value
		},
		ConfigKeys: []string{"in-config"},
	}
	_, err := Decide(in)
	var clash *ClashError
	if !errors.As(err, &clash) {
		t.Fatalf("err = %v", err)
	}
	msg := err.Error()
	for _, want := range []string{
		`line 2: "nested" is key k1 of CloudFormation stack keygate-dev-ApiKeys07ABC-1XYZ`,
		`line 3: "in-config" is an API key of environment dev in cdk.json`,
		`line 4: "hand-made" is key k3, in plan standard without keygate's tags`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if len(clash.Clashes) != 3 {
		t.Errorf("clashes = %q", clash.Clashes)
	}

	generated := cfn("k6", "fine", "keygate-dev", "standard")
	generated.GeneratedValue = true
	in.Desired, in.Actual, in.ConfigKeys = []Desired{{Name: "fine", Plan: "standard", Line: 2}}, []Actual{generated}, nil
	if _, err := Decide(in); !errors.As(err, &clash) {
		t.Errorf("a CloudFormation key with a generated-looking value was not refused: %v", err)
	}
}

func TestRootName(t *testing.T) {
	for in, want := range map[string]string{"acme": "acme", "acme~r2": "acme", "acme~r12": "acme", "a~rb": "a~rb", "~r1": "~r1", RotatedName("x~r1y", 3): "x~r1y"} {
		if got := RootName(in); got != want {
			t.Errorf("RootName(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestDecideKeepsTheOldestOfDuplicates(t *testing.T) {
	newer := managed("new", "a", "standard", true)
	newer.CreatedDate = time.Unix(9, 0)
	older := managed("old", "a", "internal", true)
	for _, prune := range []bool{false, true} {
		p, err := Decide(Input{Env: "dev", Prune: prune, Desired: []Desired{row("a", "standard", true)}, Actual: []Actual{newer, older}})
		if err != nil {
			t.Fatal(err)
		}
		// The oldest is the row's key: it moves to the row's plan.
		want := []Change{{Kind: Move, Name: "a", KeyID: "old", Plan: "standard", FromPlans: []string{"internal"}}}
		if prune {
			want = append([]Change{{Kind: Delete, Name: "a", KeyID: "new"}}, want...)
		} else if len(p.Notes) != 1 || !strings.Contains(p.Notes[0], "key new duplicates a (old)") {
			t.Errorf("notes = %q", p.Notes)
		}
		if !reflect.DeepEqual(p.Changes, want) {
			t.Errorf("prune %v: changes = %+v", prune, p.Changes)
		}
	}
}
