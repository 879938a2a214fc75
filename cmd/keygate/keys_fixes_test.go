package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/apistore"
	"github.com/keygate/keygate/internal/keyctl"
)

// localKeys serves a control plane with plan standard (a quota) and plan
// internal (none), points the SDK at it, and returns a keys file path.
func localKeys(t *testing.T) (*apistore.Store, string) {
	t.Helper()
	store := apistore.New()
	quota := map[string]*apistore.Quota{"standard": {Limit: 1000, Period: apistore.Day}, "internal": nil}
	for _, plan := range []string{"standard", "internal"} {
		if _, err := store.CreatePlan(apistore.Plan{Name: keyctl.PlanName("dev", plan), Quota: quota[plan], APIStages: []apistore.APIStage{{APIID: "api0000001", Stage: "dev"}}}); err != nil {
			t.Fatal(err)
		}
	}
	saved := attachHold
	attachHold = 0 // not under test here
	t.Cleanup(func() { attachHold = saved })
	dir := serveLocal(t, store)
	file := filepath.Join(dir, "keys.csv")
	os.WriteFile(file, []byte("name,plan,enabled,description\ncust1,standard,true,\ncust2,internal,true,\n"), 0o600)
	return store, file
}

func runCapture(args ...string) (string, string, error) {
	var stdout, stderr bytes.Buffer
	err := runKeys(args, &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

// A -config given and missing is an error; the default missing is a
// warning saying what is not checked.
func TestKeysConfigMissing(t *testing.T) {
	_, file := localKeys(t)
	_, _, err := runCapture("sync", "-env", "dev", "-config", filepath.Join(t.TempDir(), "nope.json"), "-file", file, "-dry-run")
	if _, ok := err.(usageError); !ok || !strings.Contains(err.Error(), "nope.json: no such file") {
		t.Errorf("explicit missing -config: %v", err)
	}
	t.Chdir(t.TempDir()) // no cdk.json here
	out, stderr, err := runCapture("sync", "-env", "dev", "-file", file, "-dry-run")
	if err != nil || !strings.Contains(stderr, "warning: no cdk.json here") || !strings.Contains(out, "2 create") {
		t.Errorf("default missing: %v\n%s\n%s", err, stderr, out)
	}
	if _, _, err := runCapture("sync", "-env", "dev", "-file", file, "-max-delete", "0"); err == nil {
		t.Errorf("-max-delete 0: no error")
	}
}

// After a second rotation the retire hint names the key in use until then
// (cust1~r1), and usage prints "-" as REMAINING for a plan without quota.
func TestKeysRotateHintAndUsageWithoutQuota(t *testing.T) {
	_, file := localKeys(t)
	t.Chdir(t.TempDir())
	if _, _, err := runCapture("sync", "-env", "dev", "-file", file); err != nil {
		t.Fatal(err)
	}
	runCapture("rotate", "cust1", "-env", "dev")
	runCapture("disable", "cust1", "-env", "dev")
	out, _, err := runCapture("rotate", "cust1", "-env", "dev")
	if err != nil || !strings.Contains(out, "created cust1~r2") || !strings.Contains(out, "retire the key in use until now: keygate keys disable cust1~r1 -env dev") {
		t.Errorf("second rotation: %v\n%s", err, out)
	}
	out, _, err = runCapture("disable", "cust1~r2", "-env", "dev")
	if err != nil || !strings.Contains(out, "cust1~r1 is the key in use for cust1 (enabled)") {
		t.Errorf("disable the newest with an older enabled: %v\n%s", err, out)
	}
	out, _, _ = runCapture("disable", "cust1~r1", "-env", "dev")
	if !strings.Contains(out, "No key of cust1 is enabled now (cust1, cust1~r1, cust1~r2)") {
		t.Errorf("disable the last enabled: %s", out)
	}
	_, _, err = runCapture("rotate", "cust1~r1", "-env", "dev")
	if err == nil || !strings.Contains(err.Error(), "cust1~r1 is rotation 1 of cust1") {
		t.Errorf("rotate a rotation: %v", err)
	}
	today := time.Now().UTC().Format(time.DateOnly)
	for name, want := range map[string]string{"cust1": "1000", "cust2": "-"} {
		out, _, err := runCapture("usage", name, "-env", "dev", "-from", today, "-to", today)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if err != nil || len(lines) < 2 {
			t.Fatalf("usage %s: %v\n%s", name, err, out)
		}
		fields := strings.Fields(lines[1])
		if got := fields[len(fields)-1]; got != want {
			t.Errorf("usage %s: REMAINING %q; want %q\n%s", name, got, want, out)
		}
	}
}

func TestParseAttachHold(t *testing.T) {
	if d, err := parseAttachHold(defaultAttachHold.String()); err != nil || d != 100*time.Millisecond {
		t.Errorf("default: %v, %v", d, err)
	}
	for _, bad := range []string{"-1s", "fast", ""} {
		if _, err := parseAttachHold(bad); err == nil || !strings.Contains(err.Error(), "KEYGATE_ATTACH_HOLD") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
