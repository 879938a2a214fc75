// Package synth synthesizes keygate apps for the Template tests and reads
// the result as plain JSON: the app is synthesized once per test process
// (each jsii process costs seconds) and assertions are plain Go.
package synth

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gobuild"
	"github.com/keygate/keygate/stacks"
)

// ModuleDir is the repository root, found from the test's directory.
var ModuleDir = func() string {
	dir, err := gobuild.FindModuleRoot(".")
	if err != nil {
		panic(err)
	}
	return dir
}()

// CDKJSONContext is the "context" of the shipped cdk.json: feature flags and
// the keygate configuration, exactly as `cdk synth` sees them.
func CDKJSONContext(t testing.TB) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(ModuleDir, "cdk.json"))
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

// Assembly is one synthesized app: every stack's template with its nested
// templates, and what the app was built from.
type Assembly struct {
	Dir       string
	Config    config.Config
	Gateways  *stacks.Gateways
	Templates map[string]*Template // by stack name (keygate-dev, …)
}

// Checks are the synth-time checks an app runs besides building templates.
// (aws-cdk-lib's CloudFormation validation is left to make lint: it costs a
// 5 s engine load per process.)
type Checks struct {
	// RulePacks runs the cdk-nag rule packs, as main does.
	RulePacks bool
}

// Synthesize builds and synthesizes an app from a CDK context, the way main
// does, into dir, with the given checks.
func Synthesize(t testing.TB, dir string, context map[string]any, checks Checks) *Assembly {
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
	app := awscdk.NewApp(&awscdk.AppProps{
		Outdir:                          jsii.String(dir),
		Context:                         &appContext,
		BuiltinCloudFormationValidation: jsii.Bool(false),
	})
	gateways, err := stacks.NewApp(app, cfg, ModuleDir)
	if err != nil {
		t.Fatal(err)
	}
	if checks.RulePacks {
		stacks.ApplyRulePacks(app)
	}
	app.Synth(nil)

	a := &Assembly{Dir: dir, Config: cfg, Gateways: gateways, Templates: map[string]*Template{}}
	for _, env := range cfg.Environments {
		a.Templates[env.StackName()] = ReadTemplate(t, dir, env.StackName()+".template.json")
	}
	return a
}

// Template is a CloudFormation template as JSON, with its nested stacks'
// templates attached to their AWS::CloudFormation::Stack resources.
type Template struct {
	Description string               `json:"Description"`
	Parameters  map[string]any       `json:"Parameters"`
	Resources   map[string]Resource  `json:"Resources"`
	Outputs     map[string]Output    `json:"Outputs"`
	File        string               `json:"-"`
	Nested      map[string]*Template `json:"-"` // by the nested stack resource's logical ID
}

// Resource is one resource of a template.
type Resource struct {
	Type                string         `json:"Type"`
	Properties          map[string]any `json:"Properties"`
	DependsOn           any            `json:"DependsOn"`
	DeletionPolicy      string         `json:"DeletionPolicy"`
	UpdateReplacePolicy string         `json:"UpdateReplacePolicy"`
	Metadata            map[string]any `json:"Metadata"`
}

// Output is one output of a template.
type Output struct {
	Description string `json:"Description"`
	Value       any    `json:"Value"`
}

// ReadTemplate reads a template from dir and, through their aws:asset:path
// metadata, the templates of its nested stacks.
func ReadTemplate(t testing.TB, dir, file string) *Template {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	tpl := &Template{File: file, Nested: map[string]*Template{}}
	if err := json.Unmarshal(data, tpl); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	for id, r := range tpl.Resources {
		if r.Type == "AWS::CloudFormation::Stack" {
			nestedFile, _ := r.Metadata["aws:asset:path"].(string)
			if nestedFile == "" {
				t.Fatalf("%s: nested stack %s has no aws:asset:path", file, id)
			}
			tpl.Nested[id] = ReadTemplate(t, dir, nestedFile)
		}
	}
	return tpl
}

// OfType returns the logical IDs of the resources of a type, sorted.
func (tpl *Template) OfType(typ string) []string {
	var ids []string
	for id, r := range tpl.Resources {
		if r.Type == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// Only returns the one resource of a type, failing if there is not exactly one.
func (tpl *Template) Only(t *testing.T, typ string) (string, Resource) {
	t.Helper()
	ids := tpl.OfType(typ)
	if len(ids) != 1 {
		t.Fatalf("%s: want exactly one %s, got %v", tpl.File, typ, ids)
	}
	return ids[0], tpl.Resources[ids[0]]
}

// AuthorizerFunction returns the Lambda function the stack's one API Gateway
// authorizer invokes (other functions, such as CDK's LogRetention provider,
// may sit beside it).
func (tpl *Template) AuthorizerFunction(t *testing.T) (string, Resource) {
	t.Helper()
	_, authorizer := tpl.Only(t, "AWS::ApiGateway::Authorizer")
	var ids []string
	for _, id := range RefsIn(authorizer.Properties["AuthorizerUri"]) {
		if tpl.Resources[id].Type == "AWS::Lambda::Function" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("%s: the authorizer invokes functions %v, want exactly one", tpl.File, ids)
	}
	return ids[0], tpl.Resources[ids[0]]
}

// DependsOnIDs lists a resource's DependsOn (a string or a list in templates).
func (r Resource) DependsOnIDs() []string {
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

// Ref returns the logical ID in {"Ref": id} or {"Fn::GetAtt": [id, attr]}.
func Ref(v any) string {
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

// subVariable is a ${LogicalId} or ${LogicalId.Attribute} in an Fn::Sub string.
var subVariable = regexp.MustCompile(`\$\{([A-Za-z0-9]+)(\.[A-Za-z0-9.]+)?\}`)

// RefsIn lists every logical ID referenced anywhere in a value, by Ref,
// Fn::GetAtt or Fn::Sub (pseudo parameters such as AWS::Region left out).
func RefsIn(v any) []string {
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if id := Ref(v); id != "" {
				if !strings.HasPrefix(id, "AWS::") {
					out = append(out, id)
				}
				return
			}
			if sub, ok := v["Fn::Sub"]; ok {
				s, _ := sub.(string)
				if list, ok := sub.([]any); ok && len(list) > 0 {
					s, _ = list[0].(string)
				}
				for _, m := range subVariable.FindAllStringSubmatch(s, -1) {
					out = append(out, m[1])
				}
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

// Prop reads a nested property by dotted path ("MethodSettings.0.LoggingLevel").
func Prop(v any, path string) any {
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

// At reads a nested value by keys, for keys that contain dots themselves
// ("gatewayresponse.header.WWW-Authenticate").
func At(v any, keys ...string) any {
	for _, key := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[key]
	}
	return v
}

// ToJSON is v as compact JSON, for comparisons and messages.
func ToJSON(v any) string {
	data, _ := json.Marshal(v)
	return string(data)
}

// CheckKeys proves every configured key is in its shard's nested stack,
// retained, attached to the usage plan of its configured plan (through the
// nested stack's parameter) and has its id as an output.
func CheckKeys(t testing.TB, env config.Environment, tpl *Template) {
	t.Helper()
	shardStacks := map[string]string{} // construct id prefix → logical id of nested stack
	for id := range tpl.Nested {
		shardStacks[id] = id
	}
	keyCount := 0
	for stackID, nested := range tpl.Nested {
		keyCount += len(nested.OfType("AWS::ApiGateway::ApiKey"))
		if n := len(nested.Resources); n > 500 {
			t.Errorf("nested stack %s has %d resources, CloudFormation allows 500", stackID, n)
		}
		if n := len(nested.Outputs); n > 200 {
			t.Errorf("nested stack %s has %d outputs, CloudFormation allows 200", stackID, n)
		}
	}
	if keyCount != len(env.APIKeys) {
		t.Errorf("%d API keys in nested stacks, want %d", keyCount, len(env.APIKeys))
	}
	for _, key := range env.APIKeys {
		keyID := stacks.APIKeyLogicalID(key.Name)
		wantStack := stacks.KeyStackID(config.KeyShard(key.Name))
		var nestedID string
		var nested *Template
		for id, n := range tpl.Nested {
			if _, ok := n.Resources[keyID]; ok {
				nestedID, nested = id, n
			}
		}
		if nested == nil {
			t.Errorf("key %q (%s) is in no nested stack", key.Name, keyID)
			continue
		}
		if !strings.HasPrefix(nestedID, wantStack+"NestedStack") {
			t.Errorf("key %q is in %s, want shard stack %s", key.Name, nestedID, wantStack)
		}
		apiKey := nested.Resources[keyID]
		if apiKey.DeletionPolicy != "Retain" || apiKey.UpdateReplacePolicy != "Retain" {
			t.Errorf("key %q: DeletionPolicy %q, UpdateReplacePolicy %q; want Retain for both", key.Name, apiKey.DeletionPolicy, apiKey.UpdateReplacePolicy)
		}
		if apiKey.Properties["Name"] != key.Name || apiKey.Properties["Enabled"] != key.IsEnabled() {
			t.Errorf("key %q: %s", key.Name, ToJSON(apiKey.Properties))
		}
		value, hasValue := apiKey.Properties["Value"]
		switch {
		case key.SecretName == "" && hasValue:
			t.Errorf("key %q has a Value in the template", key.Name)
		case key.SecretName != "" && value != "{{resolve:secretsmanager:"+key.SecretName+":SecretString:"+key.SecretJSONKey+"::}}":
			t.Errorf("key %q: Value must be a dynamic reference to its secret, got %v", key.Name, value)
		}
		if key.Detached {
			// Step 1 of a move: the key stays, with no attachment.
			if _, attached := nested.Resources[stacks.UsagePlanKeyLogicalID(key.Name)]; attached {
				t.Errorf("detached key %q has a usage plan key", key.Name)
			}
			continue
		}

		attachment, ok := nested.Resources[stacks.UsagePlanKeyLogicalID(key.Name)]
		if !ok || attachment.Type != "AWS::ApiGateway::UsagePlanKey" {
			t.Errorf("key %q has no usage plan key beside it", key.Name)
			continue
		}
		if Ref(attachment.Properties["KeyId"]) != keyID || attachment.Properties["KeyType"] != "API_KEY" {
			t.Errorf("usage plan key of %q: %s", key.Name, ToJSON(attachment.Properties))
		}
		// UsagePlanId is a parameter of the nested stack; the parent passes
		// the plan's id into it.
		param := Ref(attachment.Properties["UsagePlanId"])
		passed := Prop(tpl.Resources[nestedID].Properties, "Parameters."+param)
		if Ref(passed) != stacks.UsagePlanLogicalID(key.Plan) {
			t.Errorf("key %q is attached to %s, want plan %s (%s)", key.Name, ToJSON(passed), key.Plan, stacks.UsagePlanLogicalID(key.Plan))
		}
		if !HasOutputFor(nested, keyID) {
			t.Errorf("no output gives the id of key %q", key.Name)
		}
	}
}

// HasOutputFor reports whether one of the template's outputs references id.
func HasOutputFor(tpl *Template, id string) bool {
	for _, o := range tpl.Outputs {
		if Ref(o.Value) == id {
			return true
		}
	}
	return false
}
