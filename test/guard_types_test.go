package test

import (
	"testing"

	"github.com/keygate/keygate/internal/guard"
	"github.com/keygate/keygate/test/synth"
)

// The guard counts a replacement as a create and a delete against
// CloudFormation's 2,500 operations per deploy; for that it must know the
// replacement properties of every type keygate synthesizes, or a new type's
// replacements would be undercounted as updates.
func TestGuardKnowsTheReplacementPropertiesOfEveryType(t *testing.T) {
	a := shipped(t)
	var walk func(stack string, tpl *synth.Template)
	walk = func(stack string, tpl *synth.Template) {
		for id, r := range tpl.Resources {
			if !guard.KnowsReplacementsOf(r.Type) {
				t.Errorf("%s %s (%s): the guard does not know which of its properties replace it; add its type to internal/guard/replacements.go from the CloudFormation resource reference", stack, id, r.Type)
			}
		}
		for id, nested := range tpl.Nested {
			walk(stack+"/"+id, nested)
		}
	}
	for name, tpl := range a.Templates {
		walk(name, tpl)
	}
}
