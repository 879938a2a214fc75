package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	base := write(t, dir, "base.json", `{"Resources": {"ApiKeyA": {"Type": "AWS::ApiGateway::ApiKey", "Properties": {"Name": "a"}}}}`)
	described := write(t, dir, "described.json", `{"Resources": {"ApiKeyA": {"Type": "AWS::ApiGateway::ApiKey", "Properties": {"Name": "a", "Description": "now described"}}}}`)
	renamed := write(t, dir, "renamed.json", `{"Resources": {"ApiKeyB": {"Type": "AWS::ApiGateway::ApiKey", "Properties": {"Name": "a"}}}}`)
	broken := write(t, dir, "broken.json", `{"Resources":`)

	cdkOut := filepath.Join(dir, "cdk.out")
	if err := os.Mkdir(cdkOut, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, cdkOut, "keygate-dev.template.json", `{"Resources": {}}`)

	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // a part of stdout
		stderr string // a part of stderr
	}{
		{"no guarded change", []string{base, described}, 0, "guard: no guarded changes\n", ""},
		{"guarded change", []string{base, renamed}, 1,
			"REPLACE AWS::ApiGateway::ApiKey ApiKeyA: removed ApiKeyA, added ApiKeyB of the same type", ""},
		{"summary counts", []string{base, renamed}, 1, "\nguard: 1 guarded change(s)\n", ""},
		{"cdk.out directories", []string{cdkOut, cdkOut, "keygate-dev"}, 0, "guard: no guarded changes", ""},
		{"help", []string{"-h"}, 0, "usage: guard", ""},

		{"unparsable template", []string{base, broken}, 2, "", "guard: " + broken + ": not a JSON CloudFormation template"},
		{"missing file", []string{base, filepath.Join(dir, "missing.json")}, 2, "", "no such file"},
		{"unknown stack", []string{cdkOut, cdkOut, "keygate-qa"}, 2, "", `no stack "keygate-qa"`},
		{"directories without a stack", []string{cdkOut, cdkOut}, 2, "", "name the stack too"},
		{"one argument", []string{base}, 2, "", "want 2 or 3 arguments, got 1\n\nusage:"},
		{"flag after the arguments", []string{base, renamed, "-json"}, 2, "", "flags go before the arguments"},
		{"unknown flag", []string{"-nope", base, renamed}, 2, "", "flag provided but not defined: -nope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Run(tc.args, &stdout, &stderr)
			if code != tc.code || !strings.Contains(stdout.String(), tc.stdout) || !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("Run(%q) = %d\nstdout: %s\nstderr: %s\nwant %d, stdout with %q, stderr with %q",
					tc.args, code, stdout.String(), stderr.String(), tc.code, tc.stdout, tc.stderr)
			}
			if code == 2 && stdout.Len() > 0 {
				t.Errorf("stdout on error: %s", stdout.String())
			}
		})
	}
}

func TestRunJSON(t *testing.T) {
	dir := t.TempDir()
	base := write(t, dir, "base.json", `{"Resources": {"Logs": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Retain"}}}`)
	empty := write(t, dir, "empty.json", `{}`)

	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"findings", []string{"-json", base, empty}, 1, `[
  {
    "action": "DELETE",
    "cause": "removed",
    "type": "AWS::Logs::LogGroup",
    "logicalId": "Logs",
    "retained": true,
    "reason": "removed; CloudFormation deletes the log group: its logs are deleted (data loss) (retained: DeletionPolicy Retain keeps the old resource in the account, outside the stack)"
  }
]
`},
		{"no findings is an empty list", []string{"-json", base, base}, 0, "[]\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := Run(tc.args, &stdout, &stderr); code != tc.code {
				t.Errorf("exit %d, want %d (stderr %s)", code, tc.code, stderr.String())
			}
			if stdout.String() != tc.want {
				t.Errorf("stdout:\n%s\nwant:\n%s", stdout.String(), tc.want)
			}
			if !json.Valid(stdout.Bytes()) {
				t.Errorf("stdout is not JSON")
			}
			if !strings.HasPrefix(stderr.String(), "guard: ") {
				t.Errorf("no summary on stderr: %q", stderr.String())
			}
		})
	}
}

func TestRunAllow(t *testing.T) {
	dir := t.TempDir()
	baseOut, headOut := filepath.Join(dir, "base"), filepath.Join(dir, "head")
	for _, d := range []string{baseOut, headOut} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(t, baseOut, "keygate-dev.template.json", `{"Resources": {"ApiKeyA": {"Type": "AWS::ApiGateway::ApiKey", "Properties": {"Name": "a"}}, "ApiKeyB": {"Type": "AWS::ApiGateway::ApiKey", "Properties": {"Name": "b"}}}}`)
	write(t, headOut, "keygate-dev.template.json", `{"Resources": {"ApiKeyA": {"Type": "AWS::ApiGateway::ApiKey", "Properties": {"Name": "a2"}}, "ApiKeyB": {"Type": "AWS::ApiGateway::ApiKey", "Properties": {"Name": "b2"}}}}`)
	entry := func(id string) string {
		return `{"stack": "keygate-dev", "logicalId": "` + id + `", "type": "AWS::ApiGateway::ApiKey", "action": "REPLACE", "commit": "0123456789abcdef0123456789abcdef01234567", "reason": "renamed on purpose"}`
	}
	onlyA := write(t, dir, "a.json", `{"approvals": [`+entry("ApiKeyA")+`]}`)
	both := write(t, dir, "both.json", `{"approvals": [`+entry("ApiKeyA")+`, `+entry("ApiKeyB")+`, `+entry("ApiKeyGone")+`]}`)
	broken := write(t, dir, "broken.json", `{"approvals": [{"stack": "keygate-dev"}]}`)

	tests := []struct {
		name           string
		args           []string
		code           int
		stdout, stderr string
	}{
		{"one of two approved", []string{"-allow", onlyA, baseOut, headOut, "keygate-dev"}, 1, "APPROVED REPLACE AWS::ApiGateway::ApiKey ApiKeyA", ""},
		{"the other still guarded", []string{"-allow", onlyA, baseOut, headOut, "keygate-dev"}, 1, "\nREPLACE AWS::ApiGateway::ApiKey ApiKeyB", ""},
		{"both approved", []string{"-allow", both, baseOut, headOut, "keygate-dev"}, 0, "guard: 0 guarded change(s), 2 approved", ""},
		{"stale approval named", []string{"-allow", both, baseOut, headOut, "keygate-dev"}, 0, "STALE approval of REPLACE AWS::ApiGateway::ApiKey ApiKeyGone", ""},
		{"json lists only what still needs approval", []string{"-json", "-allow", onlyA, baseOut, headOut, "keygate-dev"}, 1, `"logicalId": "ApiKeyB"`, "APPROVED REPLACE"},
		{"a broken allowlist is an error, not an approval", []string{"-allow", broken, baseOut, headOut, "keygate-dev"}, 2, "", "approvals[0].logicalId: required"},
		{"a missing allowlist is an error", []string{"-allow", filepath.Join(dir, "missing.json"), baseOut, headOut, "keygate-dev"}, 2, "", "no such file"},
		{"two templates have no stack to approve", []string{"-allow", onlyA, filepath.Join(baseOut, "keygate-dev.template.json"), filepath.Join(headOut, "keygate-dev.template.json")}, 2, "", "-allow needs two cdk.out directories"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Run(tc.args, &stdout, &stderr)
			if code != tc.code || !strings.Contains(stdout.String(), tc.stdout) || !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("Run(%q) = %d\nstdout: %s\nstderr: %s\nwant %d, stdout with %q, stderr with %q",
					tc.args, code, stdout.String(), stderr.String(), tc.code, tc.stdout, tc.stderr)
			}
		})
	}
	var stdout, stderr bytes.Buffer
	Run([]string{"-json", "-allow", onlyA, baseOut, headOut, "keygate-dev"}, &stdout, &stderr)
	var guarded []map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &guarded); err != nil || len(guarded) != 1 {
		t.Errorf("-json -allow stdout must be a JSON list of the one finding still guarded: %v\n%s", err, stdout.String())
	}
}
