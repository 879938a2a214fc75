package prartifact

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const head, base = "1111111111111111111111111111111111111111", "2222222222222222222222222222222222222222"

// artifact writes a well-formed artifact for keygate-dev and returns its
// directory.
func artifact(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"pr.json":         `{"number": 7, "headSha": "` + head + `", "baseSha": "` + base + `"}`,
		"cdk.out/cdk.out": `{"version": "55.0.0"}`,
		"cdk.out/manifest.json": `{"version": "55.0.0", "artifacts": {
			"keygate-dev.assets": {"type": "cdk:asset-manifest", "properties": {"file": "keygate-dev.assets.json"}},
			"keygate-dev": {"type": "aws:cloudformation:stack", "environment": "aws://unknown-account/unknown-region", "properties": {"templateFile": "keygate-dev.template.json"}},
			"Tree": {"type": "cdk:tree", "properties": {"file": "tree.json"}}}}`,
		"cdk.out/keygate-dev.assets.json":                          `{"version": "55.0.0", "files": {"abc": {"source": {"path": "asset.abc", "packaging": "zip"}}}, "dockerImages": {}}`,
		"cdk.out/keygate-dev.template.json":                        `{"Resources": {"BearerAuthorizerRole4583ED85": {"Type": "AWS::IAM::Role"}, "ApiKeys06NestedStackApiKeys06NestedStackResource1A2B": {"Type": "AWS::CloudFormation::Stack", "Metadata": {"aws:asset:path": "keygatedevApiKeys066FB5F91B.nested.template.json"}}}}`,
		"cdk.out/keygatedevApiKeys066FB5F91B.nested.template.json": `{"Resources": {"ApiKeyAcme0A1B2C3D": {"Type": "AWS::ApiGateway::ApiKey"}}}`,
		"cdk.out/tree.json":                                        `{"version": "tree-0.1"}`,
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
	return dir
}

func TestCheckAcceptsAKeygateArtifact(t *testing.T) {
	// An older base branch's pr-diff.yml still uploads the approvals file;
	// it is accepted and not read.
	withApprovals := artifact(t)
	write(t, withApprovals, "approved-changes.json", `{"approvals": []}`)
	if _, err := Check(withApprovals, DefaultLimits); err != nil {
		t.Errorf("an artifact with approved-changes.json: %v", err)
	}

	a, err := Check(artifact(t), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if a.PR != (PR{Number: 7, HeadSHA: head, BaseSHA: base}) {
		t.Errorf("pr.json read as %+v", a.PR)
	}
	if len(a.Stacks) != 1 || a.Stacks[0] != "keygate-dev" {
		t.Errorf("stacks %v, want [keygate-dev]", a.Stacks)
	}
}

func TestCheckRefusesWhatAPullRequestCouldSmuggleIn(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, dir string)
		limits Limits
		want   string
	}{
		{"an extra top-level file", func(t *testing.T, dir string) { write(t, dir, "run.sh", "curl evil") }, DefaultLimits, "run.sh: not part of"},
		{"a cdk.json beside the assembly", func(t *testing.T, dir string) { write(t, dir, "cdk.out/cdk.json", `{"plugin": ["./evil"]}`) }, DefaultLimits, "cdk.out/cdk.json: not a file of a keygate cloud assembly"},
		{"a directory (a bundled asset)", func(t *testing.T, dir string) { write(t, dir, "cdk.out/asset.abc/bootstrap", "ELF") }, DefaultLimits, "a directory"},
		{"a symlink to a runner file", func(t *testing.T, dir string) {
			link := filepath.Join(dir, "cdk.out", "tree.json")
			if err := os.Remove(link); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("/etc/passwd", link); err != nil {
				t.Fatal(err)
			}
		}, DefaultLimits, "not a regular file"},
		{"a stack the base branch does not deploy", func(t *testing.T, dir string) {
			replaceIn(t, dir, "cdk.out/manifest.json", `"keygate-dev": {`, `"keygate-dev": {"type": "aws:cloudformation:stack", "properties": {"templateFile": "keygate-dev.template.json"}}, "evil": {`)
		}, DefaultLimits, `stack "evil" is not a keygate stack`},
		{"a stack without its template", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "cdk.out", "keygate-dev.template.json")); err != nil {
				t.Fatal(err)
			}
		}, DefaultLimits, "cdk.out/keygate-dev.template.json: stat"},
		{"a template elsewhere", func(t *testing.T, dir string) {
			replaceIn(t, dir, "cdk.out/manifest.json", `"templateFile": "keygate-dev.template.json"`, `"templateFile": "../../etc/x.template.json"`)
		}, DefaultLimits, "has template file"},
		{"an asset built by a command", func(t *testing.T, dir string) {
			replaceIn(t, dir, "cdk.out/keygate-dev.assets.json", `"packaging": "zip"`, `"executable": ["sh", "-c", "curl evil"]`)
		}, DefaultLimits, "built by a command"},
		{"a Docker image", func(t *testing.T, dir string) {
			replaceIn(t, dir, "cdk.out/keygate-dev.assets.json", `"dockerImages": {}`, `"dockerImages": {"x": {}}`)
		}, DefaultLimits, "Docker image assets"},
		{"an artifact kind the CLI would act on", func(t *testing.T, dir string) {
			replaceIn(t, dir, "cdk.out/manifest.json", `"type": "cdk:tree"`, `"type": "cdk:cloud-assembly"`)
		}, DefaultLimits, `of type "cdk:cloud-assembly"`},
		{"a file that is not JSON", func(t *testing.T, dir string) { write(t, dir, "cdk.out/keygate-dev.template.json", "Resources:") }, DefaultLimits, "cdk.out/keygate-dev.template.json: not JSON"},
		{"a short commit in pr.json", func(t *testing.T, dir string) { replaceIn(t, dir, "pr.json", head, "main") }, DefaultLimits, "full 40-hex commits"},
		{"no pull request number", func(t *testing.T, dir string) { replaceIn(t, dir, "pr.json", `"number": 7`, `"number": 0`) }, DefaultLimits, "not a pull request number"},
		{"a logical ID that starts a workflow command", func(t *testing.T, dir string) {
			replaceIn(t, dir, "cdk.out/keygatedevApiKeys066FB5F91B.nested.template.json", `"ApiKeyAcme0A1B2C3D"`, `"ApiKey\n::add-mask::x"`)
		}, DefaultLimits, `logical ID "ApiKey\n::add-mask::x" is not 1 to 255 letters and digits`},
		{"a logical ID that closes a code block", func(t *testing.T, dir string) {
			replaceIn(t, dir, "cdk.out/keygate-dev.template.json", `"BearerAuthorizerRole4583ED85"`, "\"Role```\"")
		}, DefaultLimits, "is not 1 to 255 letters and digits"},
		{"a logical ID too long", func(t *testing.T, dir string) {
			replaceIn(t, dir, "cdk.out/keygate-dev.template.json", `"BearerAuthorizerRole4583ED85"`, `"`+strings.Repeat("A", 256)+`"`)
		}, DefaultLimits, "is not 1 to 255 letters and digits"},
		{"a resource type with markup", func(t *testing.T, dir string) {
			replaceIn(t, dir, "cdk.out/keygatedevApiKeys066FB5F91B.nested.template.json", `"AWS::ApiGateway::ApiKey"`, `"AWS::ApiGateway::ApiKey <img src=x>"`)
		}, DefaultLimits, "not a CloudFormation resource type"},
		{"a nested template outside the assembly", func(t *testing.T, dir string) {
			replaceIn(t, dir, "cdk.out/keygate-dev.template.json", `"aws:asset:path": "keygatedevApiKeys066FB5F91B.nested.template.json"`, `"aws:asset:path": "../../../etc/passwd"`)
		}, DefaultLimits, `names the template file "../../../etc/passwd"; want the plain name`},
		{"a nested template that is not there", func(t *testing.T, dir string) {
			replaceIn(t, dir, "cdk.out/keygate-dev.template.json", `"aws:asset:path": "keygatedevApiKeys066FB5F91B.nested.template.json"`, `"aws:asset:path": "keygatedevApiKeys99.nested.template.json"`)
		}, DefaultLimits, "which is not in cdk.out"},
		{"an environment with a newline", func(t *testing.T, dir string) {
			replaceIn(t, dir, "cdk.out/manifest.json", `"aws://unknown-account/unknown-region"`, `"aws://123456789012/eu-west-1\n::error::x"`)
		}, DefaultLimits, "has environment"},
		{"a file too large", func(t *testing.T, dir string) {}, Limits{MaxFiles: 100, MaxFileBytes: 100, MaxBytes: 1 << 20}, "more than 100"},
		{"too large in all", func(t *testing.T, dir string) {}, Limits{MaxFiles: 100, MaxFileBytes: 1 << 20, MaxBytes: 200}, "bytes in all"},
		{"too many files", func(t *testing.T, dir string) {}, Limits{MaxFiles: 3, MaxFileBytes: 1 << 20, MaxBytes: 1 << 20}, "files, more than 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := artifact(t)
			tc.change(t, dir)
			_, err := Check(dir, tc.limits)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Check: %v; want an error containing %q", err, tc.want)
			}
		})
	}
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func replaceIn(t *testing.T, dir, name, old, new string) {
	t.Helper()
	path := filepath.Join(dir, name)
	data, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(data), old) {
		t.Fatalf("%s has no %q (%v)", name, old, err)
	}
	write(t, dir, name, strings.Replace(string(data), old, new, 1))
}
