package main

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

func TestRunExitCodes(t *testing.T) {
	dir := t.TempDir()
	base := write(t, dir, "base.json", `{"Resources": {"ApiKeyA": {"Type": "AWS::ApiGateway::ApiKey", "Properties": {"Name": "a"}}}}`)
	same := write(t, dir, "same.json", `{"Resources": {"ApiKeyA": {"Type": "AWS::ApiGateway::ApiKey", "Properties": {"Name": "a", "Description": "now described"}}}}`)
	renamed := write(t, dir, "renamed.json", `{"Resources": {"ApiKeyB": {"Type": "AWS::ApiGateway::ApiKey", "Properties": {"Name": "a"}}}}`)
	broken := write(t, dir, "broken.json", `{"Resources":`)

	tests := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{base, same}, 0, "guard: no guarded changes", ""},
		{[]string{base, renamed}, 1, "REPLACE AWS::ApiGateway::ApiKey ApiKeyA: is gone while ApiKeyB of the same type appears", ""},
		{[]string{base, broken}, 2, "", "is not a CloudFormation template"},
		{[]string{base, filepath.Join(dir, "missing.json")}, 2, "", "no such file"},
		{[]string{base}, 2, "", "usage:"},
		{[]string{"-nope"}, 2, "", "usage:"},
	}
	for _, tc := range tests {
		var stdout, stderr bytes.Buffer
		code := run(tc.args, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stdout.String(), tc.stdout) || !strings.Contains(stderr.String(), tc.stderr) {
			t.Errorf("run(%v) = %d\nstdout: %s\nstderr: %s\nwant %d, %q, %q", tc.args, code, stdout.String(), stderr.String(), tc.code, tc.stdout, tc.stderr)
		}
	}

	var stdout bytes.Buffer
	if code := run([]string{"-json", base, renamed}, &stdout, &bytes.Buffer{}); code != 1 {
		t.Errorf("-json exit %d", code)
	}
	var findings []map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &findings); err != nil || len(findings) != 1 || findings[0]["action"] != "REPLACE" || findings[0]["logicalId"] != "ApiKeyA" {
		t.Errorf("-json output %s (%v)", stdout.String(), err)
	}
}
