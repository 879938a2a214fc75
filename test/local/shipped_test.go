package local

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/local/server"
	"github.com/keygate/keygate/test/synth"
)

// TestShippedEnvironmentsServe synthesizes the shipped cdk.json and serves
// each of its environments: every one starts, refuses a request without a
// key and answers one with a key through the authorizer.
func TestShippedEnvironmentsServe(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cdk.out")
	assembly := synth.Synthesize(t, dir, synth.CDKJSONContext(t), synth.Checks{})
	for _, env := range assembly.Config.Environments {
		t.Run(env.Name, func(t *testing.T) {
			srv, err := server.Start(t.Context(), server.Options{AssemblyDir: dir, Env: env.Name, Addr: "127.0.0.1:0", ModuleDir: synth.ModuleDir, EmulatorInstances: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			var keys map[string]string
			data, _ := os.ReadFile(srv.KeysFile)
			json.Unmarshal(data, &keys)
			c := client{t: t, base: srv.URL}
			if r := c.do("GET", "/health", ""); r.status != 401 {
				t.Errorf("without a key: %d %s", r.status, r.body)
			}
			for _, key := range env.APIKeys {
				r := c.do("GET", "/health", "", bearer(keys[key.Name])...)
				want := 200
				if !key.IsEnabled() {
					want = 403
				}
				if r.status != want {
					t.Errorf("key %s: %d %s, want %d", key.Name, r.status, r.body, want)
				}
			}
		})
	}

	t.Run("an assembly older than the authorizer's source is refused", func(t *testing.T) {
		// A fresh local directory, so the host build is not reused, and the
		// deployed binary no longer what the source builds to.
		os.RemoveAll(filepath.Join(dir, "local"))
		bootstraps, _ := filepath.Glob(filepath.Join(dir, "asset.*", "bootstrap"))
		if len(bootstraps) == 0 {
			t.Fatal("no authorizer asset in the assembly")
		}
		for _, b := range bootstraps {
			os.WriteFile(b, []byte("an older build"), 0o755)
		}
		env := assembly.Config.Environments[0]
		_, err := server.Start(t.Context(), server.Options{AssemblyDir: dir, Env: env.Name, Addr: "127.0.0.1:0", ModuleDir: synth.ModuleDir, EmulatorInstances: 1})
		if err == nil || !strings.Contains(err.Error(), "has changed since") || !strings.Contains(err.Error(), "run make synth") {
			t.Errorf("err = %v", err)
		}
	})
}
