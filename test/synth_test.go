// Package test holds keygate's template tests on the shipped cdk.json: the
// app is synthesized once per test process (see package synth) and every
// test reads the resulting CloudFormation as plain JSON.
package test

import (
	"os"
	"sync"
	"testing"

	"github.com/aws/jsii-runtime-go"

	"github.com/keygate/keygate/test/synth"
)

// outDir holds the synthesized apps that tests share; it outlives each test.
var outDir string

func TestMain(m *testing.M) {
	var err error
	if outDir, err = os.MkdirTemp("", "keygate-test-"); err != nil {
		panic(err)
	}
	code := m.Run()
	jsii.Close()
	os.RemoveAll(outDir)
	os.Exit(code)
}

var (
	shippedOnce     sync.Once
	shippedAssembly *synth.Assembly
)

// shipped is the app synthesized from the shipped cdk.json, once per process.
func shipped(t *testing.T) *synth.Assembly {
	t.Helper()
	shippedOnce.Do(func() {
		// The shipped config is what CI checks: every template through
		// aws-cdk-lib's CloudFormation validation (a failure panics here)
		// and the cdk-nag rule packs (see TestRulePacks…).
		shippedAssembly = synth.Synthesize(t, outDir, synth.CDKJSONContext(t), synth.Checks{Validation: true, RulePacks: true})
	})
	if shippedAssembly == nil {
		t.Fatal("synthesizing the shipped app failed in an earlier test")
	}
	return shippedAssembly
}
