package test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/test/synth"
)

// TestSynthIsDeterministic synthesizes one config twice and compares every
// template byte for byte: a Go map walked in random order, or anything else
// that differs between runs, would change a nested template's asset hash and
// make every cdk diff noisy. The config puts keys of both plans into one
// shard, so that shard's stack has several parameters.
func TestSynthIsDeterministic(t *testing.T) {
	context := synth.CDKJSONContext(t)
	var keys []any
	for i := 0; len(keys) < 6; i++ {
		name := fmt.Sprintf("client-%d", i)
		if config.KeyShard(name) == 7 {
			plan := []string{"standard", "internal"}[len(keys)%2]
			keys = append(keys, map[string]any{"name": name, "plan": plan})
		}
	}
	keygate := context["keygate"].(map[string]any)
	keygate["environments"] = map[string]any{"dev": keygate["environments"].(map[string]any)["dev"]}
	keygate["defaults"].(map[string]any)["apiKeys"] = keys
	first := synth.Synthesize(t, t.TempDir(), context, synth.Checks{})
	second := synth.Synthesize(t, t.TempDir(), context, synth.Checks{})
	files, _ := filepath.Glob(filepath.Join(first.Dir, "*.template.json"))
	if len(files) < 2 {
		t.Fatalf("only %d templates in %s", len(files), first.Dir)
	}
	for _, file := range files {
		name := filepath.Base(file)
		a, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(second.Dir, name))
		if err != nil {
			t.Fatalf("the second synthesis has no %s", name)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two synthesizes of the same config", name)
		}
	}
	if strings.Count(strings.Join(files, " "), ".nested.") == 0 {
		t.Error("no nested key stack templates were compared")
	}
}
