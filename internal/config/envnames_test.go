package config

import (
	"strings"
	"testing"
)

// dev and dev-eu cannot both exist: keygate-dev-eu would match keygate-dev's
// IAM patterns (keygate-dev-*). The error names both environments and
// fails the parse; dev and deveu, or eu-dev, are fine.
func TestEnvironmentNamedLikeAnotherPlusDashFailsConfig(t *testing.T) {
	text := withChange(t, "environments.dev-eu", map[string]any{"stageName": "deveu", "account": "111111111111", "region": "eu-central-1", "cloudWatchRoleManagedOutside": true})
	_, err := ParseJSON([]byte(text))
	if err == nil {
		t.Fatal("dev and dev-eu were accepted")
	}
	for _, want := range []string{"environments.dev-eu", `environment "dev"`, "keygate-dev-eu-*", `stack/keygate-dev-*`, `rename "dev-eu"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	for _, name := range []string{"deveu", "eu-dev", "devx"} {
		text := withChange(t, "environments."+name, map[string]any{"stageName": "x", "account": "111111111111", "region": "eu-central-1", "cloudWatchRoleManagedOutside": true})
		if _, err := ParseJSON([]byte(text)); err != nil {
			t.Errorf("%s beside dev: %v", name, err)
		}
	}
}
