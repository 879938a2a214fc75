package gobuild

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// checkout copies the parts of this module that the authorizer's hash and
// build read into a fresh directory, as a clean clone would have them.
func checkout(t *testing.T) string {
	t.Helper()
	root, err := FindModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "checkout")
	for _, dir := range []string{"go.mod", "go.sum", "internal", "lambda", "stacks"} {
		cmd := exec.Command("cp", "-r", filepath.Join(root, dir), filepath.Join(dst, dir))
		if err := os.MkdirAll(dst, 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("copy %s: %v\n%s", dir, err, out)
		}
	}
	return dst
}

func hashOf(t *testing.T, moduleDir string) string {
	t.Helper()
	hash, err := Target{ModuleDir: moduleDir, Package: "./lambda/authorizer", GOARCH: "arm64"}.SourceHash()
	if err != nil {
		t.Fatal(err)
	}
	return hash
}

func appendTo(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

func TestSourceHashIsTheSameInEveryCheckout(t *testing.T) {
	first, second := checkout(t), checkout(t)
	// The second checkout is a git repository with a commit of its own; the
	// first is not one at all. Neither may matter.
	git := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		cmd.Dir = second
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q")
	git("add", ".")
	git("commit", "-qm", "another commit")

	if a, b := hashOf(t, first), hashOf(t, second); a != b {
		t.Fatalf("hash differs between checkouts: %s vs %s", a, b)
	}
}

func TestSourceHashFollowsWhatGoesIntoTheBinary(t *testing.T) {
	dir := checkout(t)
	base := hashOf(t, dir)

	// Files the authorizer does not compile in: no change.
	appendTo(t, filepath.Join(dir, "stacks", "gateway.go"), "\n// a change to the stack only\n")
	if err := os.WriteFile(filepath.Join(dir, "lambda", "authorizer", "notes_test.go"), []byte("package main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("docs"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := hashOf(t, dir); got != base {
		t.Errorf("hash changed for files outside the binary: %s → %s", base, got)
	}

	// A shared package the authorizer imports (even a comment: the binary's
	// line table moves), then go.sum: each changes the hash.
	bearerFiles, _ := filepath.Glob(filepath.Join(dir, "internal", "bearer", "*.go"))
	var bearerSource string
	for _, f := range bearerFiles {
		if !strings.HasSuffix(f, "_test.go") {
			bearerSource = f
			break
		}
	}
	if bearerSource == "" {
		t.Fatal("no non-test source in internal/bearer")
	}
	appendTo(t, bearerSource, "\n// a change to a shared package\n")
	afterShared := hashOf(t, dir)
	if afterShared == base {
		t.Error("hash did not change when internal/bearer changed")
	}
	appendTo(t, filepath.Join(dir, "go.sum"), "example.com/x v1.0.0 h1:AAAA=\n")
	if got := hashOf(t, dir); got == afterShared {
		t.Error("hash did not change when go.sum changed")
	}
}

func TestBuildIsReproducibleAndReportsCompilerErrors(t *testing.T) {
	first, second := checkout(t), checkout(t)
	build := func(moduleDir string) []byte {
		t.Helper()
		out := t.TempDir()
		target := Target{ModuleDir: moduleDir, Package: "./internal/gobuild/testdata/hello", GOARCH: "arm64"}
		if err := target.Build(out); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(out, "bootstrap"))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	// Two checkouts at different paths. (An empty build cache gives the
	// same bytes too, but costs a cold compile of the standard library:
	// checked by hand, see README.)
	if a, b := build(first), build(second); string(a) != string(b) {
		t.Error("binaries differ between checkouts")
	}

	broken := filepath.Join(first, "internal", "gobuild", "testdata", "hello", "main.go")
	if err := os.WriteFile(broken, []byte("package main\n\nfunc main() { undefinedThing() }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Target{ModuleDir: first, Package: "./internal/gobuild/testdata/hello", GOARCH: "arm64"}.Build(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "undefined: undefinedThing") {
		t.Errorf("want the compiler's message, got %v", err)
	}
}
