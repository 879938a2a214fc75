package test

import (
	"bytes"
	"encoding/json"
	"flag"
	"github.com/keygate/keygate/test/synth"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden templates in test/testdata from the current code")

// assetHash matches the content hashes CDK puts in asset keys and file names:
// they change with every edit of the authorizer and would drown the diff.
var assetHash = regexp.MustCompile(`[0-9a-f]{64}`)

// TestGoldenTemplates keeps a normalized copy of every environment's
// templates (the root and its nested key stacks) in testdata, so that every
// infrastructure change shows up as a readable diff in review. After an
// intended change: go test ./test -run TestGoldenTemplates -update
func TestGoldenTemplates(t *testing.T) {
	a := shipped(t)
	for _, env := range a.Config.Environments {
		t.Run(env.Name, func(t *testing.T) {
			got := normalizedTemplates(t, a.Dir, env.StackName()+".template.json")
			golden := filepath.Join("testdata", env.StackName()+".golden.json")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (create it with: go test ./test -run TestGoldenTemplates -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the synthesized template: review the change, then run go test ./test -run TestGoldenTemplates -update\n%s", golden, firstDifference(want, got))
			}
		})
	}
}

// normalizedTemplates is a stack's template with its nested templates
// inlined by file name, asset hashes replaced, as indented JSON with sorted keys.
func normalizedTemplates(t *testing.T, dir, file string) []byte {
	t.Helper()
	files := map[string]any{}
	var read func(string)
	read = func(name string) {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		var tpl map[string]any
		if err := json.Unmarshal(data, &tpl); err != nil {
			t.Fatal(err)
		}
		files[name] = tpl
		resources, _ := tpl["Resources"].(map[string]any)
		for _, r := range resources {
			if path, ok := synth.Prop(r, "Metadata.aws:asset:path").(string); ok && synth.Prop(r, "Type") == "AWS::CloudFormation::Stack" {
				read(path)
			}
		}
	}
	read(file)
	out, err := json.MarshalIndent(files, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(assetHash.ReplaceAll(out, []byte("<asset-hash>")), '\n')
}

// firstDifference shows a few lines around the first line that differs.
func firstDifference(want, got []byte) string {
	wantLines, gotLines := bytes.Split(want, []byte("\n")), bytes.Split(got, []byte("\n"))
	for i := 0; i < len(wantLines) || i < len(gotLines); i++ {
		var w, g []byte
		if i < len(wantLines) {
			w = wantLines[i]
		}
		if i < len(gotLines) {
			g = gotLines[i]
		}
		if !bytes.Equal(w, g) {
			return "first difference at line " + strconv.Itoa(i+1) + ":\n- " + string(w) + "\n+ " + string(g)
		}
	}
	return ""
}
