package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cdkOut writes a one-stack cdk.out directory with one nested key stack.
func cdkOut(t *testing.T, keys ...string) string {
	t.Helper()
	dir := t.TempDir()
	nested := map[string]any{}
	for _, k := range keys {
		nested["ApiKey"+k] = map[string]any{"Type": "AWS::ApiGateway::ApiKey", "Properties": map[string]any{"Name": k}, "DeletionPolicy": "Retain"}
	}
	files := map[string]any{
		"keygate-dev.template.json": map[string]any{"Resources": map[string]any{
			"Keys01": map[string]any{"Type": "AWS::CloudFormation::Stack", "Metadata": map[string]any{"aws:asset:path": "keys01.nested.template.json"}},
		}},
		"keys01.nested.template.json": map[string]any{"Resources": nested},
	}
	for name, content := range files {
		data, err := json.Marshal(content)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// -json left the operation count on stderr as text: a consumer could not
// read it. -json -object gives findings and operations in one object; the
// bare list, which the workflows read, stays the default.
func TestRunJSONObjectCarriesTheOperationCountAConsumerCouldNotRead(t *testing.T) {
	base, head := cdkOut(t, "A", "B"), cdkOut(t, "A")
	var stdout, stderr bytes.Buffer
	if code := Run([]string{"-json", "-object", base, head, "keygate-dev"}, &stdout, &stderr); code != exitGuarded {
		t.Fatalf("exit %d, want %d: %s", code, exitGuarded, stderr.String())
	}
	var got struct {
		Findings   []map[string]any `json:"findings"`
		Operations map[string]int   `json:"operations"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("stdout is not the object: %v\n%s", err, stdout.String())
	}
	if len(got.Findings) != 1 || got.Findings[0]["logicalId"] != "ApiKeyB" {
		t.Errorf("findings %v, want ApiKeyB's deletion", got.Findings)
	}
	// ApiKeyB deleted, Keys01 updated.
	if o := got.Operations; o["delete"] != 1 || o["update"] != 1 || o["create"] != 0 || o["total"] != 2 || o["max"] != 2500 {
		t.Errorf("operations %v", o)
	}

	// Without -object, the list the workflows read.
	stdout.Reset()
	Run([]string{"-json", base, head, "keygate-dev"}, &stdout, &stderr)
	var list []map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &list); err != nil || len(list) != 1 {
		t.Errorf("-json alone: %v %s", err, stdout.String())
	}

	stderr.Reset()
	if code := Run([]string{"-object", base, head, "keygate-dev"}, &stdout, &stderr); code != exitError || !strings.Contains(stderr.String(), "use it with -json") {
		t.Errorf("-object without -json: exit %d, %s", code, stderr.String())
	}
}

// -json -summary printed text: the summary honours -json.
func TestRunSummaryHonoursJSONInsteadOfPrintingText(t *testing.T) {
	base, head := cdkOut(t, "A", "B"), cdkOut(t, "A", "C")
	var stdout, stderr bytes.Buffer
	if code := Run([]string{"-json", "-summary", base, head, "keygate-dev"}, &stdout, &stderr); code != exitClean {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var got struct {
		Stack                              string
		Added, Modified, Removed, Replaced int
		Changes                            []struct{ Kind, Type, LogicalID, Stack string }
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout.String())
	}
	if got.Stack != "keygate-dev" || got.Added != 1 || got.Removed != 1 || got.Replaced != 0 || len(got.Changes) != 2 {
		t.Errorf("summary %+v", got)
	}
}

// Passing a template file where a cdk.out directory is expected said "not a
// directory"; {"Resources": null} passed as an empty template.
func TestRunExplainsAFileGivenForACdkOutAndRefusesNullResources(t *testing.T) {
	dir := t.TempDir()
	tpl := write(t, dir, "base.template.json", `{"Resources": {}}`)
	var stdout, stderr bytes.Buffer
	if code := Run([]string{tpl, cdkOut(t, "A"), "keygate-dev"}, &stdout, &stderr); code != exitError ||
		!strings.Contains(stderr.String(), "is a file, not a cdk.out directory") || !strings.Contains(stderr.String(), "pass just BASE.template.json HEAD.template.json") {
		t.Errorf("exit %d, stderr %s", code, stderr.String())
	}
	null := write(t, dir, "null.json", `{"Resources": null}`)
	stderr.Reset()
	if code := Run([]string{tpl, null}, &stdout, &stderr); code != exitError || !strings.Contains(stderr.String(), "Resources is null") {
		t.Errorf("exit %d, stderr %s", code, stderr.String())
	}
}

// With two template files the operation count ignored nested stacks
// silently; it now says it covers the root template only, in text and JSON.
func TestRunSaysTheOperationCountOfTwoTemplateFilesIsRootOnly(t *testing.T) {
	dir := t.TempDir()
	base := write(t, dir, "base.json", `{"Resources": {"Keys01": {"Type": "AWS::CloudFormation::Stack"}}}`)
	var stdout, stderr bytes.Buffer
	Run([]string{base, base}, &stdout, &stderr)
	if !strings.Contains(stdout.String(), "(root template only: nested stacks count as their AWS::CloudFormation::Stack resources") {
		t.Errorf("stdout: %s", stdout.String())
	}
	stdout.Reset()
	Run([]string{"-json", "-object", base, base}, &stdout, &stderr)
	if !strings.Contains(stdout.String(), `"rootTemplateOnly": true`) {
		t.Errorf("-json -object: %s", stdout.String())
	}
	stdout.Reset()
	Run([]string{cdkOut(t, "A"), cdkOut(t, "A"), "keygate-dev"}, &stdout, &stderr)
	if strings.Contains(stdout.String(), "root template only") {
		t.Errorf("cdk.out directories labelled root only: %s", stdout.String())
	}
}
