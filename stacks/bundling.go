package stacks

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3assets"
	"github.com/aws/jsii-runtime-go"

	"github.com/keygate/keygate/internal/gobuild"
)

// GoLambdaAsset is a Go Lambda function bundled at synth time on this machine,
// without Docker: CDK calls TryBundle (an awscdk.ILocalBundling) through jsii.
//
// One GoLambdaAsset serves every stack of the app: the source hash is computed
// once, and the binary is built at most once per synth however many stacks
// stage it (CDK skips bundling altogether when cdk.out already holds the
// asset with this hash).
type GoLambdaAsset struct {
	target     gobuild.Target
	sourceHash string

	mu       sync.Mutex
	buildDir string // holds the one binary every stack's asset copies
	// Builds counts go builds, so tests can prove one build per synth.
	Builds int
}

// NewGoLambdaAsset hashes the sources of the Go main package pkg (relative to
// the module root moduleDir), for the arm64 Lambda architecture.
func NewGoLambdaAsset(moduleDir, pkg string) (*GoLambdaAsset, error) {
	target := gobuild.Target{ModuleDir: moduleDir, Package: pkg, GOARCH: "arm64"}
	hash, err := target.SourceHash()
	if err != nil {
		return nil, err
	}
	return &GoLambdaAsset{target: target, sourceHash: hash}, nil
}

// SourceHash is the asset hash: the same across checkouts, commits and build
// caches as long as what goes into the binary is the same.
func (a *GoLambdaAsset) SourceHash() string { return a.sourceHash }

// Code is the Lambda code of the asset, for one stack.
func (a *GoLambdaAsset) Code() awslambda.Code {
	return awslambda.Code_FromAsset(jsii.String(filepath.Join(a.target.ModuleDir, a.target.Package)), &awss3assets.AssetOptions{
		AssetHash:     jsii.String(a.sourceHash),
		AssetHashType: awscdk.AssetHashType_CUSTOM,
		Bundling: &awscdk.BundlingOptions{
			// Required by the API, never pulled: TryBundle always succeeds
			// or stops the synth, so CDK never falls back to Docker.
			Image: awscdk.DockerImage_FromRegistry(jsii.String("keygate/no-docker-needed")),
			// A new jsii object per stack: CDK hashes the bundling options
			// as JSON, and a Go object passed to jsii a second time
			// serializes differently from the first, which gave the first
			// stack its own asset hash.
			Local: &localBundling{asset: a},
		},
	})
}

// localBundling is the awscdk.ILocalBundling CDK calls back through jsii.
type localBundling struct{ asset *GoLambdaAsset }

// TryBundle builds the binary into outputDir. A failed build stops the synth
// with the compiler's message: returning false would make CDK fall back to
// Docker and bury the real error under "docker: command not found".
func (l *localBundling) TryBundle(outputDir *string, _ *awscdk.BundlingOptions) *bool {
	if err := l.asset.bundle(*outputDir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	return jsii.Bool(true)
}

func (a *GoLambdaAsset) bundle(outputDir string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.buildDir == "" {
		// Not outputDir: CDK renames it once bundling is done.
		dir, err := os.MkdirTemp("", "keygate-bundle-")
		if err != nil {
			return err
		}
		a.Builds++
		if err := a.target.Build(dir); err != nil {
			os.RemoveAll(dir)
			return err
		}
		a.buildDir = dir
	}
	return copyFile(filepath.Join(a.buildDir, "bootstrap"), filepath.Join(outputDir, "bootstrap"))
}

// Close removes the built binary; call it once the app is synthesized.
func (a *GoLambdaAsset) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.buildDir == "" {
		return nil
	}
	err := os.RemoveAll(a.buildDir)
	a.buildDir = ""
	return err
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o755)
}
