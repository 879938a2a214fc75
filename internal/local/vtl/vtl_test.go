package vtl

import (
	"encoding/json"
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

// In a JSON template, values between a string's quotes are escaped; values
// outside strings (error.messageString, which brings its own quotes) are
// not. Whatever the values, the line stays valid JSON.
func TestEscapeInJSONStringsKeepsLinesValidJSON(t *testing.T) {
	src := `{"requestId":"$context.requestId","errorMessage":$context.error.messageString,"k":"a\"$context.identity.apiKeyId\"b"}`
	tpl, err := Compile(src, resolve)
	if err != nil {
		t.Fatal(err)
	}
	tpl.EscapeInJSONStrings(nil)
	for _, hostile := range []string{`Post "http://127.0.0.1:1/x": dial tcp`, `back\slash`, "new\nline\ttab\x01", `"`, `\`, "plain"} {
		values := []string{hostile, `"Unauthorized"`, hostile}
		line := tpl.Render(nil, func(id int) string { return values[id] })
		var got map[string]string
		if err := json.Unmarshal(line, &got); err != nil {
			t.Fatalf("value %q: %s is not JSON: %v", hostile, line, err)
		}
		if got["requestId"] != hostile || got["errorMessage"] != "Unauthorized" || got["k"] != `a"`+hostile+`"b` {
			t.Errorf("value %q: %v", hostile, got)
		}
	}
	// Without EscapeInJSONStrings values go in as they are (API Gateway's way).
	raw, _ := Compile(`"$context.requestId"`, resolve)
	if got := string(raw.Render(nil, func(int) string { return `a"b` })); got != `"a"b"` {
		t.Errorf("unescaped render: %s", got)
	}
}

func TestSafeVariablesAreCopiedAsTheyAre(t *testing.T) {
	tpl, _ := Compile(`{"a":"$context.requestId","b":"$context.identity.apiKeyId"}`, resolve)
	tpl.EscapeInJSONStrings(func(id int) bool { return id == 0 })
	if got := string(tpl.Render(nil, func(int) string { return `x"y` })); got != `{"a":"x"y","b":"x\"y"}` {
		t.Errorf("rendered %s", got)
	}
}
