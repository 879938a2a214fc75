// Package test holds keygate's template tests: the app is synthesized once
// per test process (each jsii process costs seconds) and every test reads the
// resulting CloudFormation as plain JSON.
package test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/stacks"
)

func TestMain(m *testing.M) {
	code := m.Run()
	jsii.Close()
	os.Exit(code)
}

// moduleDir is the repository root (tests run in test/).
var moduleDir = func() string {
	dir, err := filepath.Abs("..")
	if err != nil {
		panic(err)
	}
	return dir
}()

// cdkJSONContext is the "context" of the shipped cdk.json: feature flags and
// the keygate configuration, exactly as `cdk synth` sees them.
func cdkJSONContext(t testing.TB) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(moduleDir, "cdk.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cdkJSON struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(data, &cdkJSON); err != nil {
		t.Fatal(err)
	}
	return cdkJSON.Context
}

// assembly is one synthesized app: every stack's template and nested templates.
type assembly struct {
	dir       string
	cfg       config.Config
	gateways  *stacks.Gateways
	templates map[string]*template // by stack name (keygate-dev, …)
}

// synthesize builds and synthesizes an app from a CDK context, the way main
// does, into a fresh directory; validate runs aws-cdk-lib's CloudFormation
// validation on every template.
func synthesize(t testing.TB, context map[string]any, validate bool) *assembly {
	t.Helper()
	cfg, err := config.FromContext(context)
	if err != nil {
		t.Fatal(err)
	}
	// What the CDK CLI adds: asset metadata (nested template paths) and
	// construct paths, without version reporting.
	appContext := map[string]any{
		"aws:cdk:version-reporting":     false,
		"aws:cdk:enable-asset-metadata": true,
		"aws:cdk:enable-path-metadata":  true,
	}
	for k, v := range context {
		appContext[k] = v
	}
	dir := t.TempDir()
	app := awscdk.NewApp(&awscdk.AppProps{
		Outdir:                          jsii.String(dir),
		Context:                         &appContext,
		BuiltinCloudFormationValidation: jsii.Bool(validate),
	})
	gateways, err := stacks.NewApp(app, cfg, moduleDir)
	if err != nil {
		t.Fatal(err)
	}
	app.Synth(nil)

	a := &assembly{dir: dir, cfg: cfg, gateways: gateways, templates: map[string]*template{}}
	for _, env := range cfg.Environments {
		a.templates[env.StackName()] = readTemplate(t, dir, env.StackName()+".template.json")
	}
	return a
}

var (
	shippedOnce     sync.Once
	shippedAssembly *assembly
	shippedDir      string
)

// shipped is the app synthesized from the shipped cdk.json, once per process.
// Its directory outlives the test that first asked for it.
func shipped(t *testing.T) *assembly {
	t.Helper()
	shippedOnce.Do(func() {
		// The shipped config is what CI validates: every template through
		// aws-cdk-lib's CloudFormation validation (a failure panics here).
		shippedAssembly = synthesize(&persistentTB{T: t}, cdkJSONContext(t), true)
	})
	if shippedAssembly == nil {
		t.Fatal("synthesizing the shipped app failed in an earlier test")
	}
	return shippedAssembly
}

// persistentTB gives the shared synthesis a TempDir that is not removed when
// the first test using it ends.
type persistentTB struct{ *testing.T }

func (p *persistentTB) TempDir() string {
	if shippedDir == "" {
		dir, err := os.MkdirTemp("", "keygate-test-")
		if err != nil {
			p.T.Fatal(err)
		}
		shippedDir = dir
	}
	return shippedDir
}

// template is a CloudFormation template as JSON, with its nested stacks'
// templates attached to their AWS::CloudFormation::Stack resources.
type template struct {
	Description string              `json:"Description"`
	Parameters  map[string]any      `json:"Parameters"`
	Resources   map[string]resource `json:"Resources"`
	Outputs     map[string]output   `json:"Outputs"`
	file        string
	nested      map[string]*template // by the nested stack resource's logical ID
}

type resource struct {
	Type                string         `json:"Type"`
	Properties          map[string]any `json:"Properties"`
	DependsOn           any            `json:"DependsOn"`
	DeletionPolicy      string         `json:"DeletionPolicy"`
	UpdateReplacePolicy string         `json:"UpdateReplacePolicy"`
	Metadata            map[string]any `json:"Metadata"`
}

type output struct {
	Description string `json:"Description"`
	Value       any    `json:"Value"`
}

func readTemplate(t testing.TB, dir, file string) *template {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	tpl := &template{file: file, nested: map[string]*template{}}
	if err := json.Unmarshal(data, tpl); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	for id, r := range tpl.Resources {
		if r.Type == "AWS::CloudFormation::Stack" {
			nestedFile, _ := r.Metadata["aws:asset:path"].(string)
			if nestedFile == "" {
				t.Fatalf("%s: nested stack %s has no aws:asset:path", file, id)
			}
			tpl.nested[id] = readTemplate(t, dir, nestedFile)
		}
	}
	return tpl
}

// ofType returns the logical IDs of the resources of a type, sorted.
func (tpl *template) ofType(typ string) []string {
	var ids []string
	for id, r := range tpl.Resources {
		if r.Type == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// only returns the one resource of a type, failing if there is not exactly one.
func (tpl *template) only(t *testing.T, typ string) (string, resource) {
	t.Helper()
	ids := tpl.ofType(typ)
	if len(ids) != 1 {
		t.Fatalf("%s: want exactly one %s, got %v", tpl.file, typ, ids)
	}
	return ids[0], tpl.Resources[ids[0]]
}

// dependsOn lists a resource's DependsOn (a string or a list in templates).
func (r resource) dependsOn() []string {
	switch d := r.DependsOn.(type) {
	case string:
		return []string{d}
	case []any:
		var out []string
		for _, e := range d {
			out = append(out, e.(string))
		}
		return out
	}
	return nil
}

// ref returns the logical ID in {"Ref": id} or {"Fn::GetAtt": [id, attr]}.
func ref(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	if id, ok := m["Ref"].(string); ok {
		return id
	}
	if getAtt, ok := m["Fn::GetAtt"].([]any); ok && len(getAtt) == 2 {
		id, _ := getAtt[0].(string)
		return id
	}
	return ""
}

// refsIn lists every logical ID referenced anywhere in a value (pseudo
// parameters such as AWS::Region left out).
func refsIn(v any) []string {
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if id := ref(v); id != "" {
				if !strings.HasPrefix(id, "AWS::") {
					out = append(out, id)
				}
				return
			}
			for _, e := range v {
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}

// prop reads a nested property by dotted path ("MethodSettings.0.LoggingLevel").
func prop(v any, path string) any {
	for _, key := range strings.Split(path, ".") {
		switch node := v.(type) {
		case map[string]any:
			v = node[key]
		case []any:
			var i int
			if _, err := fmt.Sscan(key, &i); err != nil || i >= len(node) {
				return nil
			}
			v = node[i]
		default:
			return nil
		}
	}
	return v
}

// at reads a nested value by keys, for keys that contain dots themselves
// ("gatewayresponse.header.WWW-Authenticate").
func at(v any, keys ...string) any {
	for _, key := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[key]
	}
	return v
}

func toJSON(v any) string {
	data, _ := json.Marshal(v)
	return string(data)
}
