package scripts

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeCDK synthesizes, for `synth --output DIR`, one empty stack per line
// of stacks.txt in the current directory, and diffs nothing.
const fakeCDK = `#!/usr/bin/env bash
set -eu
case "$1" in
  synth)
    out=""
    while [ $# -gt 0 ]; do [ "$1" = --output ] && out=$2; shift; done
    mkdir -p "$out"
    while read -r stack; do echo '{"Resources": {}}' > "$out/$stack.template.json"; done < stacks.txt ;;
  diff) ;;
  *) echo "fake cdk: unexpected call $*" >&2; exit 99 ;;
esac
`

// make diff said nothing about an environment that BASE synthesizes and the
// working tree does not: it now reports the removed stack.
func TestDiffReportsAnEnvironmentRemovedSinceBase(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	repo, tools := t.TempDir(), t.TempDir()
	guardBin := buildGuard(t, tools)
	cdk := filepath.Join(tools, "cdk")
	if err := os.WriteFile(cdk, []byte(fakeCDK), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(repo, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git := func(args ...string) {
		cmd := exec.Command("git", args...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q")
	write("cdk.json", "{}")
	write("stacks.txt", "keygate-dev\nkeygate-staging\n")
	git("add", ".")
	git("commit", "-qm", "base")
	write("stacks.txt", "keygate-dev\n")

	r := runIn(t, repo, []string{"BASE=HEAD", "KEYGATE_CDK=" + cdk, "KEYGATE_GUARD=" + guardBin}, "diff.sh")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.output)
	}
	if !strings.Contains(r.output, "=== keygate-staging: removed (BASE synthesizes it, the working tree does not)") ||
		!strings.Contains(r.output, "does not delete its deployed stack") {
		t.Errorf("no word of keygate-staging:\n%s", r.output)
	}
	if strings.Contains(r.output, "keygate-dev: removed") {
		t.Errorf("keygate-dev reported removed:\n%s", r.output)
	}
}
