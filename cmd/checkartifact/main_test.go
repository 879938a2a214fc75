package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The workflow appends stdout to $GITHUB_OUTPUT: key=value lines only, and
// nothing at all when the artifact is refused.
func TestRunPrintsOutputsOnlyForAGoodArtifact(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"pr.json":                           `{"number": 12, "headSha": "` + strings.Repeat("a", 40) + `", "baseSha": "` + strings.Repeat("b", 40) + `"}`,
		"cdk.out/manifest.json":             `{"artifacts": {"keygate-dev": {"type": "aws:cloudformation:stack", "environment": "aws://123456789012/eu-west-1", "properties": {"templateFile": "keygate-dev.template.json"}}}}`,
		"cdk.out/keygate-dev.template.json": `{"Resources": {}}`,
	}
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{dir}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	want := "number=12\nhead_sha=" + strings.Repeat("a", 40) + "\nbase_sha=" + strings.Repeat("b", 40) + "\nstacks=keygate-dev\n"
	if stdout.String() != want {
		t.Errorf("stdout %q, want %q", stdout.String(), want)
	}

	if err := os.WriteFile(filepath.Join(dir, "cdk.json"), []byte(`{"plugin": ["x"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{dir}, &stdout, &stderr); code != 1 || stdout.Len() != 0 || !strings.Contains(stderr.String(), "cdk.json: not part of") {
		t.Errorf("a refused artifact: exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
	if code := run(nil, &stdout, &stderr); code != 2 {
		t.Errorf("no directory: exit %d, want 2", code)
	}
}
