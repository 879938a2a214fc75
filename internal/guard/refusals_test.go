package guard

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// keyStack is one nested key stack as keygate synthesizes it: the plan ids
// come in as parameters named after the plans, each key beside its
// attachment, and keys listed in detached have no attachment.
type keyStack struct {
	keys     map[string]string // key name → plan name
	secrets  map[string]string // key name → Value (a dynamic reference)
	detached map[string]bool
}

// keygateApp is a root stack with its plans and nested key stacks.
type keygateApp struct {
	plans  []string
	stacks map[string]keyStack // nested stack logical ID → its keys
}

// write lays the app out as cdk.out does, as stack keygate-dev in dir.
func (a keygateApp) write(t *testing.T, dir string) {
	t.Helper()
	root := map[string]res{
		"Api":   {"Type": "AWS::ApiGateway::RestApi", "Properties": map[string]any{"Name": "keygate-dev"}},
		"Stage": {"Type": "AWS::ApiGateway::Stage", "Properties": map[string]any{"StageName": "dev", "RestApiId": ref("Api")}},
	}
	for _, plan := range a.plans {
		root["UsagePlan"+plan] = res{"Type": "AWS::ApiGateway::UsagePlan", "Properties": map[string]any{
			"UsagePlanName": "keygate-dev-" + plan, "ApiStages": []any{map[string]any{"ApiId": ref("Api"), "Stage": ref("Stage")}},
		}}
	}
	for id, ks := range a.stacks {
		nested := map[string]res{}
		params := map[string]any{}
		for name, plan := range ks.keys {
			key := apiKey(name)
			if v, ok := ks.secrets[name]; ok {
				key["Properties"].(map[string]any)["Value"] = v
			}
			nested["ApiKey"+name] = key
			if ks.detached[name] {
				continue
			}
			params["UsagePlanId"+plan] = ref("UsagePlan" + plan)
			nested["UsagePlanKey"+name] = res{"Type": "AWS::ApiGateway::UsagePlanKey", "Properties": map[string]any{
				"KeyId": ref("ApiKey" + name), "KeyType": "API_KEY", "UsagePlanId": ref("UsagePlanId" + plan),
			}}
		}
		file := "keygatedev" + id + ".nested.template.json"
		root[id] = res{"Type": "AWS::CloudFormation::Stack", "Metadata": map[string]any{assetPathKey: file},
			"Properties": map[string]any{"TemplateURL": "https://example.com/" + templateHash(t, nested), "Parameters": params}}
		if err := os.WriteFile(filepath.Join(dir, file), templateOf(t, nested), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "keygate-dev.template.json"), templateOf(t, root), 0o644); err != nil {
		t.Fatal(err)
	}
}

// templateHash stands in for the asset hash in a nested stack's TemplateURL:
// it changes whenever the nested template does.
func templateHash(t *testing.T, resources map[string]res) string {
	sum := sha256.Sum256(templateOf(t, resources))
	return hex.EncodeToString(sum[:8])
}

func reviewApps(t *testing.T, base, head keygateApp) Review {
	t.Helper()
	baseDir, headDir := t.TempDir(), t.TempDir()
	base.write(t, baseDir)
	head.write(t, headDir)
	r, err := ReviewAssemblies(baseDir, headDir, "keygate-dev")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func refusalsOf(r Review) []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Action == Refuse {
			out = append(out, f)
		}
	}
	return out
}

func twoPlans(keys map[string]string) keygateApp {
	return keygateApp{plans: []string{"Standard", "Internal"}, stacks: map[string]keyStack{"ApiKeys01": {keys: keys}}}
}

// Point 4: moving a key to another plan creates its new attachment before
// the old one goes, and API Gateway refuses a key in two plans of a stage
// (aws/aws-cdk#11876).
func TestGuardRefusesKeyMoveBetweenPlans(t *testing.T) {
	base := twoPlans(map[string]string{"Acme": "Standard", "Globex": "Standard"})
	head := twoPlans(map[string]string{"Acme": "Internal", "Globex": "Standard"})
	r := reviewApps(t, base, head)
	refused := refusalsOf(r)
	if len(refused) != 1 {
		t.Fatalf("refusals %v, want one for Acme's attachment", refused)
	}
	f := refused[0]
	if f.Cause != CauseKeyInTwoPlans || f.LogicalID != "UsagePlanKeyAcme" || f.Stack != "ApiKeys01" || f.Type != "AWS::ApiGateway::UsagePlanKey" {
		t.Errorf("refusal %+v", f)
	}
	for _, want := range []string{
		`key "Acme" would be attached to usage plan "keygate-dev-Internal" while still attached to "keygate-dev-Standard"`,
		"aws/aws-cdk#11876",
		`1) set "detached": true on the apiKeys entry "Acme"`,
		`2) set its plan to the new one, remove "detached" and deploy`,
	} {
		if !strings.Contains(f.Reason, want) {
			t.Errorf("reason lacks %q:\n%s", want, f.Reason)
		}
	}
	if !r.Refused() {
		t.Error("Refused() = false")
	}
}

// Point 4, a plan rename: every key of the plan is re-attached (its
// parameter follows the plan's name), while the old plan with its
// attachments is deleted only at the end.
func TestGuardRefusesPlanRenameWithKeys(t *testing.T) {
	base := keygateApp{plans: []string{"Standard"}, stacks: map[string]keyStack{
		"ApiKeys01": {keys: map[string]string{"Acme": "Standard"}}, "ApiKeys02": {keys: map[string]string{"Globex": "Standard"}}}}
	head := keygateApp{plans: []string{"Partner"}, stacks: map[string]keyStack{
		"ApiKeys01": {keys: map[string]string{"Acme": "Partner"}}, "ApiKeys02": {keys: map[string]string{"Globex": "Partner"}}}}
	refused := refusalsOf(reviewApps(t, base, head))
	var got []string
	for _, f := range refused {
		got = append(got, f.Stack+"/"+f.LogicalID)
		if !strings.Contains(f.Reason, `which is renamed or removed`) || !strings.Contains(f.Reason, `1) rename it, point its keys' plan at the new name and set "detached": true on each of them`) {
			t.Errorf("reason of %s: %s", f.LogicalID, f.Reason)
		}
	}
	if want := []string{"ApiKeys01/UsagePlanKeyAcme", "ApiKeys02/UsagePlanKeyGlobex"}; !slices.Equal(got, want) {
		t.Errorf("refused %v, want %v", got, want)
	}
}

// The two steps the refusal prescribes pass: detaching (a guarded DELETE
// of the attachment, no refusal), then attaching to the new plan (nothing
// guarded at all).
func TestGuardAcceptsKeyMoveInTwoSteps(t *testing.T) {
	before := twoPlans(map[string]string{"Acme": "Standard"})
	detached := twoPlans(map[string]string{"Acme": "Standard"})
	detached.stacks["ApiKeys01"] = keyStack{keys: map[string]string{"Acme": "Standard"}, detached: map[string]bool{"Acme": true}}
	after := twoPlans(map[string]string{"Acme": "Internal"})

	step1 := reviewApps(t, before, detached)
	if got := summaries(step1.Findings); !slices.Equal(got, []string{"DELETE removed ApiKeys01/UsagePlanKeyAcme"}) {
		t.Errorf("step 1 findings %v, want only the attachment's deletion", got)
	}
	step2 := reviewApps(t, detached, after)
	if len(step2.Findings) != 0 {
		t.Errorf("step 2 findings %v, want none", step2.Findings)
	}
	// Step 2 creates the attachment and updates the nested stack (new
	// template, new parameter).
	if want := (Operations{Create: 1, Update: 1}); step2.Operations != want {
		t.Errorf("step 2 operations %+v, want %+v", step2.Operations, want)
	}
}

// Point 5: a named ApiKey cannot be replaced under its name ("If you specify
// a name, you cannot perform updates that require replacement",
// AWS::ApiGateway::ApiKey), and Value, which secretName and secretJsonKey
// make, is a replacement property.
func TestGuardRefusesSecretNameChangeOfExistingKey(t *testing.T) {
	withSecret := func(value string) keygateApp {
		a := twoPlans(map[string]string{"Acme": "Standard"})
		ks := a.stacks["ApiKeys01"]
		if value != "" {
			ks.secrets = map[string]string{"Acme": value}
		}
		a.stacks["ApiKeys01"] = ks
		return a
	}
	tests := []struct{ name, from, to string }{
		{"secretName changed", "{{resolve:secretsmanager:keygate/acme:SecretString:::}}", "{{resolve:secretsmanager:keygate/acme-v2:SecretString:::}}"},
		{"secretJsonKey added", "{{resolve:secretsmanager:keygate/acme:SecretString:::}}", "{{resolve:secretsmanager:keygate/acme:SecretString:apiKey::}}"},
		{"secret set on a generated key", "", "{{resolve:secretsmanager:keygate/acme:SecretString:::}}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			refused := refusalsOf(reviewApps(t, withSecret(tc.from), withSecret(tc.to)))
			if len(refused) != 1 || refused[0].Cause != CauseNamedReplacement || refused[0].LogicalID != "ApiKeyAcme" {
				t.Fatalf("refusals %v, want one named-replacement of ApiKeyAcme", refused)
			}
			for _, want := range []string{`Name "Acme" stays while Value changes`, "If you specify a name, you cannot perform updates that require replacement",
				`add a new key under a new name with the new secret, deploy, move its clients to the new value, then remove (or disable) "Acme"`} {
				if !strings.Contains(refused[0].Reason, want) {
					t.Errorf("reason lacks %q:\n%s", want, refused[0].Reason)
				}
			}
		})
	}

	// The rotation the message prescribes: a new key under a new name, the
	// old one untouched. Guarded (nothing), not refused.
	base := withSecret("{{resolve:secretsmanager:keygate/acme:SecretString:::}}")
	head := twoPlans(map[string]string{"Acme": "Standard", "Acme2": "Standard"})
	head.stacks["ApiKeys01"] = keyStack{keys: head.stacks["ApiKeys01"].keys, secrets: map[string]string{
		"Acme": "{{resolve:secretsmanager:keygate/acme:SecretString:::}}", "Acme2": "{{resolve:secretsmanager:keygate/acme-v2:SecretString:::}}"}}
	if r := reviewApps(t, base, head); len(r.Findings) != 0 {
		t.Errorf("rotation by a new key: %v", r.Findings)
	}
}

// A log group named in the template cannot be replaced under its name either.
func TestGuardRefusesNamedLogGroupReplacedUnderItsName(t *testing.T) {
	base := `{"Resources": {"Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/keygate/dev"}}}}`
	head := `{"Resources": {"Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/keygate/dev", "LogGroupClass": "INFREQUENT_ACCESS"}}}}`
	findings, err := CompareTemplates([]byte(base), []byte(head))
	if err != nil {
		t.Fatal(err)
	}
	if got := summaries(findings); !slices.Equal(got, []string{"REFUSE named-replacement Logs", "REPLACE property-changed Logs"}) {
		t.Errorf("findings %v", got)
	}
}

// manyKeys is an app with n keys spread over stacks of at most 100.
func manyKeys(n int) keygateApp {
	a := keygateApp{plans: []string{"Standard"}, stacks: map[string]keyStack{}}
	for i := range n {
		id := fmt.Sprintf("ApiKeys%02d", i/100)
		ks, ok := a.stacks[id]
		if !ok {
			ks = keyStack{keys: map[string]string{}}
		}
		ks.keys[fmt.Sprintf("K%05d", i)] = "Standard"
		a.stacks[id] = ks
	}
	return a
}

// Point 3: CloudFormation creates, updates or deletes at most 2,500
// resources per operation across a nested-stack hierarchy (CloudFormation
// quotas page); above that the deploy fails, whatever the labels.
func TestGuardRefusesDeployAboveOperationQuota(t *testing.T) {
	empty := keygateApp{plans: []string{"Standard"}}

	// 1,240 keys: 2,480 key resources and 13 nested stacks created.
	under := reviewApps(t, empty, manyKeys(1240))
	if want := (Operations{Create: 2480 + 13}); under.Operations != want {
		t.Errorf("operations %+v, want %+v", under.Operations, want)
	}
	if under.Refused() {
		t.Errorf("2,493 operations refused: %v", refusalsOf(under))
	}

	// 1,250 keys: 2,500 key resources and 13 nested stacks: 2,513.
	over := reviewApps(t, empty, manyKeys(1250))
	if over.Operations.Total() != 2513 {
		t.Errorf("operations %+v, want 2,513 in all", over.Operations)
	}
	refused := refusalsOf(over)
	if len(refused) != 1 || refused[0].Cause != CauseOperationQuota {
		t.Fatalf("refusals %v, want the operation quota", refused)
	}
	for _, want := range []string{"one deploy would make 2513 resource operations (2513 create, 0 update, 0 delete)",
		"CloudFormation allows 2500 per operation", "cloudformation-limits.html", "Split the change into several deploys", "keygate keys"} {
		if !strings.Contains(refused[0].Reason, want) {
			t.Errorf("reason lacks %q:\n%s", want, refused[0].Reason)
		}
	}

	// Removing them again counts the same, as deletions.
	if ops := reviewApps(t, manyKeys(1250), empty).Operations; ops != (Operations{Delete: 2513}) {
		t.Errorf("removing every key: %+v", ops)
	}
}

// What CloudFormation counts: a replacement is a create and a delete, an
// update inside a nested stack updates the nested stack resource too, and a
// resource that reads a replaced one is updated although its text is not.
func TestOperationsCountReplacementsAsCreateAndDelete(t *testing.T) {
	tests := []struct {
		name   string
		change func(r map[string]res)
		want   Operations
	}{
		{"nothing", func(map[string]res) {}, Operations{}},
		{"throttle changed", func(r map[string]res) {
			setProperty(r, "PlanStandard", "Throttle", map[string]any{"RateLimit": 50.0, "BurstLimit": 100.0})
		}, Operations{Update: 1}},
		// The key (replaced), its attachment (KeyId reads it: replaced).
		{"key value set", func(r map[string]res) {
			setProperty(r, "ApiKeyAcme", "Value", "{{resolve:secretsmanager:acme:SecretString:::}}")
		},
			Operations{Create: 2, Delete: 2}},
		// The API renamed: new API, the stage (RestApiId) replaced, and
		// the plan, whose ApiStages read the stage, updated.
		{"REST API renamed", func(r map[string]res) {
			rename(r, "Api", "RestApi")
			setProperty(r, "Stage", "RestApiId", ref("RestApi"))
		}, Operations{Create: 2, Update: 1, Delete: 2}},
		// The stage replaced in place: the plan reading it is updated.
		{"stage renamed", func(r map[string]res) { setProperty(r, "Stage", "StageName", "v2") },
			Operations{Create: 1, Update: 1, Delete: 1}},
		// An unguarded type replaced: not a finding, but still a create
		// and a delete.
		{"unguarded function renamed in place", func(r map[string]res) { setProperty(r, "Authorizer", "FunctionName", "authorizer-v2") },
			Operations{Create: 1, Delete: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := keygateLike()
			head := keygateLike()
			tc.change(head)
			dir := t.TempDir()
			basePath, headPath := filepath.Join(dir, "base.json"), filepath.Join(dir, "head.json")
			os.WriteFile(basePath, templateOf(t, base), 0o644)
			os.WriteFile(headPath, templateOf(t, head), 0o644)
			r, err := ReviewTemplateFiles(basePath, headPath)
			if err != nil {
				t.Fatal(err)
			}
			if r.Operations != tc.want {
				t.Errorf("operations %+v, want %+v (findings %v)", r.Operations, tc.want, summaries(r.Findings))
			}
		})
	}

	// Inside a nested stack: a key's description changes, so the key and
	// the nested stack resource are updated.
	base := twoPlans(map[string]string{"Acme": "Standard"})
	baseDir, headDir := t.TempDir(), t.TempDir()
	base.write(t, baseDir)
	base.write(t, headDir)
	file := filepath.Join(headDir, "keygatedevApiKeys01.nested.template.json")
	data, _ := os.ReadFile(file)
	os.WriteFile(file, []byte(strings.Replace(string(data), `"key Acme"`, `"Acme Corp"`, 1)), 0o644)
	root := filepath.Join(headDir, "keygate-dev.template.json")
	data, _ = os.ReadFile(root)
	os.WriteFile(root, []byte(strings.Replace(string(data), "https://example.com/", "https://example.com/v2-", 1)), 0o644)
	r, err := ReviewAssemblies(baseDir, headDir, "keygate-dev")
	if err != nil {
		t.Fatal(err)
	}
	if want := (Operations{Update: 2}); r.Operations != want {
		t.Errorf("nested description change: %+v, want %+v", r.Operations, want)
	}
}

// A usage plan replaced in the root stack reaches the attachments in the
// nested stacks through the parameter that passes its id in, even where
// the parameter keeps its name: they are replaced, and the keys, which
// stay, would be in two plans.
func TestPlanReplacedThroughANestedStackParameter(t *testing.T) {
	base := twoPlans(map[string]string{"Acme": "Standard"})
	baseDir, headDir := t.TempDir(), t.TempDir()
	base.write(t, baseDir)
	base.write(t, headDir)
	root := filepath.Join(headDir, "keygate-dev.template.json")
	data, _ := os.ReadFile(root)
	// The plan's logical ID changes, the parameter name does not.
	text := strings.ReplaceAll(string(data), `"UsagePlanStandard"`, `"UsagePlanGold"`)
	os.WriteFile(root, []byte(text), 0o644)
	r, err := ReviewAssemblies(baseDir, headDir, "keygate-dev")
	if err != nil {
		t.Fatal(err)
	}
	// Plan: create + delete; nested stack: update; attachment: create +
	// delete.
	if want := (Operations{Create: 2, Update: 1, Delete: 2}); r.Operations != want {
		t.Errorf("operations %+v, want %+v", r.Operations, want)
	}
	refused := refusalsOf(r)
	if len(refused) != 1 || refused[0].LogicalID != "UsagePlanKeyAcme" || !strings.Contains(refused[0].Reason, "renamed or removed") {
		t.Errorf("refusals %v, want Acme's attachment", refused)
	}
}

// BenchmarkReview measures the guard on 5,000 keys in 50 nested stacks, one
// key moved: "compare" is the guarded findings alone (what the guard did
// before it counted operations and refusals), "review" all of it.
func BenchmarkReview(b *testing.B) {
	t := &testing.T{}
	baseApp, headApp := manyKeys(5000), manyKeys(5000)
	headApp.plans = append(headApp.plans, "Internal")
	headApp.stacks["ApiKeys00"].keys["K00000"] = "Internal"
	baseDir, headDir := b.TempDir(), b.TempDir()
	baseApp.write(t, baseDir)
	headApp.write(t, headDir)
	base, err := loadAssembly(baseDir, "keygate-dev")
	if err != nil {
		b.Fatal(err)
	}
	head, err := loadAssembly(headDir, "keygate-dev")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("compare", func(b *testing.B) {
		for b.Loop() {
			compare(base, head)
		}
	})
	b.Run("review", func(b *testing.B) {
		for b.Loop() {
			if r := review(base, head); !r.Refused() {
				b.Fatal("the move is not refused")
			}
		}
	})
}

// The counted replacement properties are the CDK CLI's resource database's
// ("causesReplacement": "yes"), when it is installed (make test installs
// it); rules may list more (LogGroupClass, see rules.go), never fewer.
func TestCountedReplacementsMatchTheCDKDatabase(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "..", "node_modules", "aws-cdk", "db.json.gz"))
	if err != nil {
		t.Skipf("no CDK resource database (npm ci installs it): %v", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var db struct {
		Schema struct {
			Resource struct {
				Entities []struct {
					CloudFormationType string `json:"cloudFormationType"`
					Properties         map[string]struct {
						CausesReplacement string `json:"causesReplacement"`
					} `json:"properties"`
				} `json:"entities"`
			} `json:"resource"`
		} `json:"schema"`
	}
	if err := json.NewDecoder(zr).Decode(&db); err != nil {
		t.Fatal(err)
	}
	fromDB := map[string][]string{}
	for _, e := range db.Schema.Resource.Entities {
		var props []string
		for name, p := range e.Properties {
			if p.CausesReplacement == "yes" {
				props = append(props, name)
			}
		}
		slices.Sort(props)
		fromDB[e.CloudFormationType] = props
	}
	if len(fromDB) < 100 {
		t.Fatalf("read %d resource types from the database: its layout changed", len(fromDB))
	}
	for typ, props := range countedReplacements {
		want, ok := fromDB[typ]
		if !ok {
			t.Errorf("%s is not in the CDK database", typ)
		}
		if !slices.Equal(slices.Sorted(slices.Values(props)), want) {
			t.Errorf("%s: counted replacement properties %v, the CDK database says %v", typ, props, want)
		}
	}
	for typ, rule := range rules {
		for _, p := range fromDB[typ] {
			if !slices.Contains(rule.replacementProperties, p) {
				t.Errorf("%s: the CDK database marks %s as a replacement property, rules.go does not", typ, p)
			}
		}
	}
}

// Replacements spread along chains of reads: the stage replaced, a
// permission whose SourceArn (a replacement property) reads it replaced in
// turn, and what reads the permission updated.
func TestOperationsFollowChainsOfReplacements(t *testing.T) {
	withChain := func(stageName string) map[string]res {
		r := keygateLike()
		setProperty(r, "Stage", "StageName", stageName)
		r["Permission"] = res{"Type": "AWS::Lambda::Permission", "Properties": map[string]any{
			"Action": "lambda:InvokeFunction", "FunctionName": ref("Authorizer"), "Principal": "apigateway.amazonaws.com",
			"SourceArn": map[string]any{"Fn::Sub": "arn:aws:execute-api:eu-west-1:123456789012:${Api}/${Stage}/*"},
		}}
		r["Reader"] = res{"Type": "AWS::SSM::Parameter", "Properties": map[string]any{"Value": ref("Permission")}}
		return r
	}
	dir := t.TempDir()
	basePath, headPath := filepath.Join(dir, "base.json"), filepath.Join(dir, "head.json")
	os.WriteFile(basePath, templateOf(t, withChain("dev")), 0o644)
	os.WriteFile(headPath, templateOf(t, withChain("v2")), 0o644)
	r, err := ReviewTemplateFiles(basePath, headPath)
	if err != nil {
		t.Fatal(err)
	}
	// Stage and Permission: create + delete each; the plan (ApiStages)
	// and Reader: updated.
	if want := (Operations{Create: 2, Update: 2, Delete: 2}); r.Operations != want {
		t.Errorf("operations %+v, want %+v (findings %v)", r.Operations, want, summaries(r.Findings))
	}
}
