package test

import (
	"encoding/json"
	"github.com/keygate/keygate/test/synth"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadConfigFailsBeforeAnyStackIsBuilt runs the app as the CDK CLI does
// (context in CDK_CONTEXT_JSON, output in CDK_OUTDIR) with a config that has
// several problems: the process must fail, list every problem with its key
// path, and write nothing.
func TestBadConfigFailsBeforeAnyStackIsBuilt(t *testing.T) {
	// A process of its own: it can overlap the in-process synthesis.
	t.Parallel()

	context := synth.CDKJSONContext(t)
	// Two problems from cdk.json edits and one from a -c override.
	envs := context["keygate"].(map[string]any)["environments"].(map[string]any)
	envs["prod"].(map[string]any)["logging"] = map[string]any{"retentionDays": 8, "dataTrace": true}
	envs["staging"].(map[string]any)["stageName"] = "staging area"
	context["keygate.environments.dev.throttle.rateLimit"] = "500"
	contextJSON, _ := json.Marshal(context)

	outdir := filepath.Join(t.TempDir(), "cdk.out")
	// As cdk.json runs it (go run caches the binary that make synth built).
	cmd := exec.Command("go", "run", ".")
	cmd.Dir = synth.ModuleDir
	cmd.Env = append(os.Environ(), "CDK_OUTDIR="+outdir, "CDK_CONTEXT_JSON="+string(contextJSON))
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the app accepted a bad config:\n%s", out)
	}
	for _, want := range []string{
		"invalid keygate configuration (4 problems):",
		"environments.prod.logging.retentionDays: 8 is not a CloudWatch retention; use one of 1, 3, 5, 7, 14, 30",
		"environments.prod.logging.dataTrace: must be false where production is true",
		`environments.staging.stageName: "staging area" is not a valid stage name`,
		"environments.dev.throttle.burstLimit: must be >= rateLimit (500)",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "goroutine ") {
		t.Errorf("a config error must not be a panic:\n%s", out)
	}
	if entries, err := os.ReadDir(outdir); err == nil && len(entries) > 0 {
		t.Errorf("the failed synth wrote %d entries to its output directory", len(entries))
	}
}
