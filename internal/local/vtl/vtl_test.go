package vtl

import (
	"strings"
	"testing"
)

var vars = map[string]int{"requestId": 0, "error.messageString": 1, "identity.apiKeyId": 2}

func resolve(name string) (int, bool) { id, ok := vars[name]; return id, ok }

func TestRenderSubstitutesContextVariables(t *testing.T) {
	values := []string{"req-1", `"Unauthorized"`, "-"}
	for src, want := range map[string]string{
		`{"message": $context.error.messageString, "requestId": "$context.requestId"}`: `{"message": "Unauthorized", "requestId": "req-1"}`,
		`${context.requestId}.`:      `req-1.`,
		`$context.identity.apiKeyId`: `-`,
		`cost: $5, 100%`:             `cost: $5, 100%`,
		`{"status":"ok"}`:            `{"status":"ok"}`,
	} {
		tpl, err := Compile(src, resolve)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if got := string(tpl.Render(nil, func(id int) string { return values[id] })); got != want {
			t.Errorf("%s rendered %s, want %s", src, got, want)
		}
	}
}

func TestCompileRefusesWhatItDoesNotEmulate(t *testing.T) {
	for src, want := range map[string]string{
		`#set($x = 1)`:                 `directive "#set"`,
		`#if($a) x #end`:               `directive "#if"`,
		`$input.json('$')`:             `$input.json`,
		`$util.escapeJavaScript("x")`:  `$util.escapeJavaScript`,
		`$stageVariables.backend`:      `$stageVariables.backend`,
		`$context.authorizer.claims.x`: `$context.authorizer.claims.x is not emulated`,
	} {
		_, err := Compile(src, resolve)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want it to name %s", src, err, want)
		}
	}
}
