package main

import (
	"bytes"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/apistore"
	"github.com/keygate/keygate/internal/keyctl"
)

// capture runs keygate keys with args and returns what it printed on stdout.
func capture(t *testing.T, args []string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := runKeys(args, &stdout, &stderr)
	return stdout.String(), err
}

// serveLocal serves a control plane over store and points the SDK's
// standard configuration at it, with no shared config or credentials
// files; it returns the temporary directory those would be in.
func serveLocal(t *testing.T, store *apistore.Store) string {
	t.Helper()
	srv := httptest.NewServer(newControlPlane(store))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	t.Setenv("AWS_ENDPOINT_URL_API_GATEWAY", srv.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDLOCAL")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	return dir
}

func TestKeysCommandAgainstTheLocalControlPlane(t *testing.T) {
	store := apistore.New()
	for _, plan := range []string{"standard", "internal"} {
		if _, err := store.CreatePlan(apistore.Plan{Name: keyctl.PlanName("dev", plan), APIStages: []apistore.APIStage{{APIID: "api0000001", Stage: "dev"}}}); err != nil {
			t.Fatal(err)
		}
	}
	dir := serveLocal(t, store)

	csvFile := filepath.Join(dir, "keys.csv")
	csv := "name,plan,enabled,description\nacme,standard,true,Acme Corp\nglobex,internal,false,\"Globex, Inc\"\n"
	os.WriteFile(csvFile, []byte(csv), 0o600)
	cdk := filepath.Join("..", "..", "cdk.json")

	out, err := capture(t, []string{"sync", "-env", "dev", "-config", cdk, "-file", csvFile, "-dry-run"})
	if err != nil || !strings.Contains(out, "plan for keygate-dev: 2 create") || !strings.Contains(out, "dry run, nothing applied") || len(store.Keys()) != 0 {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	out, err = capture(t, []string{"sync", "-env", "dev", "-config", cdk, "-file", csvFile})
	if err != nil || !strings.Contains(out, "applied in") || len(store.Keys()) != 2 {
		t.Fatalf("sync: %v\n%s", err, out)
	}
	out, err = capture(t, []string{"list", "-env", "dev", "-config", cdk, "-csv"})
	if err != nil || out != csv {
		t.Errorf("list -csv = %q, %v; want the file back", out, err)
	}
	out, err = capture(t, []string{"show", "acme", "-env", "dev", "-config", cdk})
	if err != nil || !strings.Contains(out, "acme") || !strings.Contains(out, "standard") {
		t.Errorf("show: %v\n%s", err, out)
	}
	for _, k := range store.Keys() {
		if strings.Contains(out, k.Value) {
			t.Error("show printed a key value without -reveal")
		}
	}
	out, err = capture(t, []string{"show", "acme", "-env", "dev", "-config", cdk, "-reveal"})
	value := strings.TrimSpace(out)
	if k, ok := store.KeyByValue(value); err != nil || !ok || k.Name != "acme" || strings.Count(out, "\n") != 1 {
		t.Errorf("show -reveal printed %d lines, a value of the key: %v, %v", strings.Count(out, "\n"), ok, err)
	}
	out, err = capture(t, []string{"usage", "acme", "-env", "dev", "-config", cdk, "-from", "2026-11-01", "-to", "2026-11-03"})
	if err != nil || strings.Count(out, "acme") != 3 {
		t.Errorf("usage: %v\n%s", err, out)
	}
	// A name cdk.json gives a CloudFormation key is refused.
	os.WriteFile(csvFile, []byte(csv+"example-partner,standard,true,\n"), 0o600)
	_, err = capture(t, []string{"sync", "-env", "dev", "-config", cdk, "-file", csvFile})
	if err == nil || !strings.Contains(err.Error(), `"example-partner" is an API key of environment dev in cdk.json`) {
		t.Errorf("clash: %v", err)
	}
	// Bad input names the field and the fix.
	os.WriteFile(csvFile, []byte("name,plan,enabled,description\nx,gold,true,\n"), 0o600)
	_, err = capture(t, []string{"sync", "-env", "dev", "-config", cdk, "-file", csvFile})
	if err == nil || !strings.Contains(err.Error(), `line 2: plan: "gold" is not a usage plan of this environment; use one of standard, internal`) {
		t.Errorf("bad plan: %v", err)
	}
	for _, args := range [][]string{{"sync", "-file", csvFile}, {"show", "-env", "dev"}, {"move", "acme", "-env", "dev"}, {"frobnicate", "-env", "dev"}} {
		if _, err := capture(t, args); err == nil {
			t.Errorf("keys %v: no error", args)
		} else if _, ok := err.(usageError); !ok {
			t.Errorf("keys %v: %v is not a usage error", args, err)
		}
	}
}
