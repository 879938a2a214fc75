// Package gobuild builds a Go Lambda binary reproducibly and computes the hash
// that names its CDK asset. It is plain Go (it shells out to the go command),
// so the hash rules are tested without synthesizing anything.
//
// Why a hash of our own: CDK's default asset hash of a directory would see
// only lambda/<fn>, and miss changes in this module's shared packages that the
// function imports; a hash of the built binary would need a build on every
// synth. Instead we hash exactly what goes into the binary: the source files
// of every package of this module it imports, go.mod and go.sum (which pin
// every other package), the Go version and the build settings.
package gobuild

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// Target is one Go main package built for Lambda.
type Target struct {
	// ModuleDir is the root of the Go module (the folder with go.mod).
	ModuleDir string
	// Package is the main package, relative to ModuleDir, e.g. "./lambda/authorizer".
	Package string
	// GOARCH is the Lambda architecture: "arm64" or "amd64".
	GOARCH string
	// GOOS is "linux", Lambda's, when empty; keygate local sets the host's
	// to run the function under the emulator on this machine.
	GOOS string
}

func (t Target) goos() string {
	if t.GOOS == "" {
		return "linux"
	}
	return t.GOOS
}

// buildTags drops aws-lambda-go's net/rpc support, which only the retired go1.x
// runtime used: provided.al2023 speaks the Runtime API.
const buildTags = "lambda.norpc"

// env is the build environment. CGO_ENABLED=0 makes a static binary that runs
// on provided.al2023 whatever libc it has, and keeps the host's C toolchain
// out of the output. The other settings that change the code the compiler
// emits are pinned too, so a developer's environment cannot ship a different
// binary under the same hash: the local toolchain only, no experiments, the
// baseline arm64 and amd64 instruction sets.
func (t Target) env() []string {
	return append(os.Environ(),
		"CGO_ENABLED=0", "GOOS="+t.goos(), "GOARCH="+t.GOARCH, "GOFLAGS=-mod=readonly",
		"GOTOOLCHAIN=local", "GOEXPERIMENT=", "GOARM64=v8.0", "GOAMD64=v1", "GOFIPS140=off")
}

// buildArgs are the flags of a reproducible build; each one removes something
// that would differ between two checkouts of the same commit.
func (t Target) buildArgs(output string) []string {
	return []string{
		"build",
		"-trimpath",                // no absolute paths of the checkout in the binary
		"-buildvcs=false",          // no commit id or dirty flag stamped in
		"-ldflags=-s -w -buildid=", // no symbol table, no DWARF, no build id
		"-tags=" + buildTags,
		"-o", output,
		t.Package,
	}
}

// Build compiles the target into dir/bootstrap, the file name the
// provided.al2023 runtime executes. A failed build returns the compiler's
// own message.
func (t Target) Build(dir string) error {
	cmd := exec.Command("go", t.buildArgs(filepath.Join(dir, "bootstrap"))...)
	cmd.Dir = t.ModuleDir
	cmd.Env = t.env()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build %s (GOOS=%s GOARCH=%s) failed:\n%s", t.Package, t.goos(), t.GOARCH, strings.TrimSpace(string(out)))
	}
	return nil
}

// listedPackage is the part of `go list -json` output the hash needs.
type listedPackage struct {
	ImportPath string
	Dir        string
	Standard   bool
	Module     *struct{ Main bool }
	GoFiles    []string
	CgoFiles   []string
	SFiles     []string
	SysoFiles  []string
	EmbedFiles []string
	Error      *struct{ Err string }
}

// SourceHash is a hex SHA-256 over everything the binary is built from:
// the files of this module's packages that the target imports (paths relative
// to the module root, so the checkout's location does not matter), go.mod,
// go.sum, the Go version and the build flags. It does not depend on git, the
// build cache or any file the binary does not compile in, so stacks/, test/
// and docs can change without changing the asset.
func (t Target) SourceHash() (string, error) {
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Dir,Standard,Module,GoFiles,CgoFiles,SFiles,SysoFiles,EmbedFiles,Error", "-tags="+buildTags, t.Package)
	cmd.Dir = t.ModuleDir
	cmd.Env = t.env()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list %s failed: %v\n%s", t.Package, err, strings.TrimSpace(stderr.String()))
	}

	var files []string
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var pkg listedPackage
		if err := dec.Decode(&pkg); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return "", fmt.Errorf("reading go list output: %w", err)
		}
		if pkg.Error != nil {
			return "", fmt.Errorf("package %s: %s", pkg.ImportPath, pkg.Error.Err)
		}
		if pkg.Standard || pkg.Module == nil || !pkg.Module.Main {
			continue // pinned by the Go version or by go.sum
		}
		for _, group := range [][]string{pkg.GoFiles, pkg.CgoFiles, pkg.SFiles, pkg.SysoFiles, pkg.EmbedFiles} {
			for _, name := range group {
				files = append(files, filepath.Join(pkg.Dir, name))
			}
		}
	}
	files = append(files, filepath.Join(t.ModuleDir, "go.mod"), filepath.Join(t.ModuleDir, "go.sum"))
	slices.Sort(files)

	// The toolchain and settings as the build will see them (same directory,
	// same environment).
	goEnv := exec.Command("go", "env", "GOVERSION", "GOOS", "GOARCH", "GOARM64", "GOAMD64", "GOEXPERIMENT", "GOFIPS140", "CGO_ENABLED")
	goEnv.Dir = t.ModuleDir
	goEnv.Env = t.env()
	settings, err := goEnv.Output()
	if err != nil {
		return "", fmt.Errorf("go env: %w", err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "go env\n%s\nargs %q\n", settings, t.buildArgs("bootstrap"))
	for _, file := range files {
		rel, err := filepath.Rel(t.ModuleDir, file)
		if err != nil {
			return "", err
		}
		content, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		// Length-prefixed, so no two different file sets hash alike.
		fmt.Fprintf(h, "%s %d\n", filepath.ToSlash(rel), len(content))
		h.Write(content)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// FindModuleRoot walks up from dir to the folder holding go.mod.
func FindModuleRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod found above the working directory; run keygate from its checkout")
		}
		dir = parent
	}
}
