package test

import (
	"os/exec"
	"testing"
)

// Point 13 of issue 8: go.mod must be what `go mod tidy` makes it, or a
// direct dependency (awscdk, constructs, jsii, aws-lambda-go, cdk-nag) sits
// under // indirect and a later tidy silently reshapes the file. make lint
// checks the same; this keeps `go test ./...` honest on its own.
func TestGoModIsTidy(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	cmd := exec.Command(goBin, "mod", "tidy", "-diff")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("go.mod or go.sum is not tidy; run go mod tidy and commit the result:\n%s", out)
	}
}
