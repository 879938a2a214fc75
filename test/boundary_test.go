package test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keygate/keygate/test/synth"
)

// With the context "@aws-cdk/core:permissionsBoundary" set (README, First
// deploy), every IAM role keygate synthesizes, the CDK's own log retention
// role included, carries the keygate boundary the execution policy insists
// on, and scripts/check-boundary.sh passes the assembly; a role without it
// fails the check before CloudFormation would fail halfway through.
func TestPermissionsBoundaryContextBoundsEveryRole(t *testing.T) {
	context := synth.CDKJSONContext(t)
	context["@aws-cdk/core:permissionsBoundary"] = map[string]any{"name": "keygate-permissions-boundary"}
	envs := context["keygate"].(map[string]any)["environments"].(map[string]any)
	for name, env := range envs {
		env := env.(map[string]any)
		env["account"], env["region"] = "123456789012", "eu-west-1"
		if name != "dev" {
			env["manageCloudWatchRole"] = false
		}
	}
	dir := t.TempDir()
	a := synth.Synthesize(t, dir, context, synth.Checks{})

	roles := 0
	var walk func(stack string, tpl *synth.Template)
	walk = func(stack string, tpl *synth.Template) {
		for _, id := range tpl.OfType("AWS::IAM::Role") {
			roles++
			got := synth.ToJSON(tpl.Resources[id].Properties["PermissionsBoundary"])
			if !strings.Contains(got, ":iam::123456789012:policy/keygate-permissions-boundary") {
				t.Errorf("%s: role %s has PermissionsBoundary %s", stack, id, got)
			}
		}
		for _, n := range tpl.Nested {
			walk(stack, n)
		}
	}
	for stack, tpl := range a.Templates {
		walk(stack, tpl)
	}
	if roles == 0 {
		t.Fatal("no IAM role in the templates: nothing was checked")
	}

	if _, err := exec.LookPath("jq"); err != nil {
		t.Skip("jq is not installed")
	}
	check := func(dir string) (int, string) {
		cmd := exec.Command(filepath.Join(synth.ModuleDir, "scripts", "check-boundary.sh"), dir, "keygate-dev")
		out, err := cmd.CombinedOutput()
		if exit, ok := err.(*exec.ExitError); ok {
			return exit.ExitCode(), string(out)
		} else if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}
	if code, out := check(dir); code != 0 {
		t.Fatalf("check-boundary.sh refuses the bounded assembly: exit %d\n%s", code, out)
	}

	// The same template with one role's boundary gone.
	var root map[string]any
	data, err := os.ReadFile(filepath.Join(dir, "keygate-dev.template.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &root); err != nil {
		t.Fatal(err)
	}
	id := a.Templates["keygate-dev"].OfType("AWS::IAM::Role")[0]
	delete(root["Resources"].(map[string]any)[id].(map[string]any)["Properties"].(map[string]any), "PermissionsBoundary")
	data, _ = json.Marshal(root)
	if err := os.WriteFile(filepath.Join(dir, "keygate-dev.template.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out := check(dir); code != 1 || !strings.Contains(out, id) || !strings.Contains(out, "@aws-cdk/core:permissionsBoundary") {
		t.Errorf("check-boundary.sh on a role without the boundary: exit %d\n%s\nwant exit 1 naming %s and the context to set", code, out, id)
	}
}
