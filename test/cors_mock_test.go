package test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/stacks"
	"github.com/keygate/keygate/test/synth"
)

// checkMockCORS checks every mock method other than the preflights: with
// CORS its integration response maps Access-Control-Allow-Origin (the first
// origin) and Vary: Origin, both declared on the method response of the same
// status; with several origins its template starts with the override that
// answers each allowed Origin with itself, and ends with the configured
// body. Without CORS none of it.
func checkMockCORS(t *testing.T, env config.Environment, tpl *synth.Template) {
	t.Helper()
	mocks := 0
	for _, id := range tpl.OfType("AWS::ApiGateway::Method") {
		p := tpl.Resources[id].Properties
		if p["HttpMethod"] == "OPTIONS" || synth.Prop(p, "Integration.Type") != "MOCK" {
			continue
		}
		mocks++
		response := synth.Prop(p, "Integration.IntegrationResponses.0")
		allowOrigin := synth.At(response, "ResponseParameters", "method.response.header.Access-Control-Allow-Origin")
		vary := synth.At(response, "ResponseParameters", "method.response.header.Vary")
		template, _ := synth.At(response, "ResponseTemplates", "application/json").(string)
		if !env.CORS.Enabled() {
			if allowOrigin != nil || vary != nil || strings.Contains(template, "responseOverride") {
				t.Errorf("%s has CORS without cors configured: %s", id, synth.ToJSON(response))
			}
			continue
		}
		if allowOrigin != "'"+env.CORS.AllowedOrigins[0]+"'" || vary != "'Origin'" {
			t.Errorf("%s: integration response headers %s", id, synth.ToJSON(synth.Prop(response, "ResponseParameters")))
		}
		declared := false
		for _, mr := range synth.Prop(p, "MethodResponses").([]any) {
			if synth.Prop(mr, "StatusCode") == synth.Prop(response, "StatusCode") {
				declared = synth.At(mr, "ResponseParameters", "method.response.header.Access-Control-Allow-Origin") == true &&
					synth.At(mr, "ResponseParameters", "method.response.header.Vary") == true
			}
		}
		if !declared {
			t.Errorf("%s: the method response of status %v does not declare the CORS headers: %s", id, synth.Prop(response, "StatusCode"), synth.ToJSON(p["MethodResponses"]))
		}
		override := stacks.CORSOriginOverride(env.CORS.AllowedOrigins)
		if len(env.CORS.AllowedOrigins) > 1 {
			if !strings.HasPrefix(template, override) {
				t.Errorf("%s: template %q lacks the origin override", id, template)
			}
			for _, o := range env.CORS.AllowedOrigins {
				if !strings.Contains(template, `$origin == "`+o+`"`) {
					t.Errorf("%s: the override does not allow %s", id, o)
				}
			}
		} else if strings.Contains(template, "responseOverride") {
			t.Errorf("%s: a single origin needs no override: %q", id, template)
		}
	}
	if mocks == 0 {
		t.Error("no mock method to check")
	}
}

func TestMockRoutesAnswerWithCORSWhereConfigured(t *testing.T) {
	eachEnvironment(t, checkMockCORS)
}

func TestMockRoutesWithSeveralOriginsOverrideTheOrigin(t *testing.T) {
	context := synth.CDKJSONContext(t)
	keygate := context["keygate"].(map[string]any)
	dev := keygate["environments"].(map[string]any)["dev"].(map[string]any)
	dev["cors"] = map[string]any{"allowedOrigins": []any{"https://a.example.com", "https://b.example.com"}}
	keygate["environments"] = map[string]any{"dev": dev}
	a := synth.Synthesize(t, filepath.Join(t.TempDir(), "cdk.out"), context, synth.Checks{RulePacks: true})
	env := a.Config.Environments[0]
	checkMockCORS(t, env, a.Templates[env.StackName()])
}
