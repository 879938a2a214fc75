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
		// With the cdk-nag rule packs, as main runs them (see
		// TestRulePacks…). aws-cdk-lib's CloudFormation validation, 5 s of
		// a single engine load, runs in make lint.
		shippedAssembly = synth.Synthesize(t, outDir, synth.CDKJSONContext(t), synth.Checks{RulePacks: true})
	})
	if shippedAssembly == nil {
		t.Fatal("synthesizing the shipped app failed in an earlier test")
	}
	return shippedAssembly
}
