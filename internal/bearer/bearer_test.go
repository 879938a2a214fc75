package bearer

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

var validationExpression = regexp.MustCompile(ValidationExpression)

// key returns a syntactically valid key of n characters (not a real one).
func key(n int) string { return strings.Repeat("k", n) }

func TestParse(t *testing.T) {
	tests := []struct {
		name   string
		header string
		want   string
		err    error
	}{
		{"typical key", "Bearer AbCdEf0123456789xyzABC", "AbCdEf0123456789xyzABC", nil},
		{"scheme is case-insensitive", "bEaReR " + key(20), key(20), nil},
		{"upper-case scheme", "BEARER " + key(20), key(20), nil},
		{"several spaces", "Bearer    " + key(20), key(20), nil},
		{"all b64token characters", "Bearer AZaz09-._~+/AZaz09-._~+/", "AZaz09-._~+/AZaz09-._~+/", nil},
		{"one padding", "Bearer " + key(19) + "=", key(19) + "=", nil},
		{"two padding", "Bearer " + key(18) + "==", key(18) + "==", nil},
		{"shortest", "Bearer " + key(MinKeyLength), key(MinKeyLength), nil},
		{"longest", "Bearer " + key(MaxKeyLength), key(MaxKeyLength), nil},
		{"longest with padding", "Bearer " + key(126) + "==", key(126) + "==", nil},

		{"empty", "", "", ErrMissing},
		{"scheme only", "Bearer", "", ErrScheme},
		{"scheme and spaces", "Bearer   ", "", ErrNoToken},
		{"basic scheme", "Basic " + key(20), "", ErrScheme},
		{"no space", "Bearer" + key(20), "", ErrScheme},
		{"tab instead of space", "Bearer\t" + key(20), "", ErrScheme},
		{"leading space", " Bearer " + key(20), "", ErrScheme},
		{"prefix of bearer", "Bear " + key(20), "", ErrScheme},
		{"unicode look-alike", "Bearer\u00a0" + key(20), "", ErrScheme},
		{"bare key", key(30), "", ErrScheme},
		{"too short", "Bearer " + key(MinKeyLength-1), "", ErrLength},
		{"too long", "Bearer " + key(MaxKeyLength+1), "", ErrLength},
		{"short with padding", "Bearer " + key(17) + "==", "", ErrLength},
		{"too long with padding", "Bearer " + key(127) + "==", "", ErrLength},
		{"three padding", "Bearer " + key(20) + "===", "", ErrPadding},
		{"padding only", "Bearer " + strings.Repeat("=", 20), "", ErrCharset},
		{"padding in the middle", "Bearer " + key(10) + "=" + key(10), "", ErrCharset},
		{"second token", "Bearer " + key(20) + " " + key(20), "", ErrExtraToken},
		{"trailing space", "Bearer " + key(20) + " ", "", ErrExtraToken},
		{"comma", "Bearer " + key(20) + "," + key(3), "", ErrCharset},
		{"quote", `Bearer "` + key(20) + `"`, "", ErrCharset},
		{"newline", "Bearer " + key(20) + "\n", "", ErrCharset},
		{"nul", "Bearer " + key(20) + "\x00", "", ErrCharset},
		{"non-ASCII", "Bearer " + key(20) + "é", "", ErrCharset},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.header)
			if got != tc.want || !errors.Is(err, tc.err) {
				t.Errorf("Parse = (%d-char key, %v), want (%d-char key, %v)", len(got), err, len(tc.want), tc.err)
			}
			// The validation expression must agree on every case.
			if matched := validationExpression.MatchString(tc.header); matched != (err == nil) {
				t.Errorf("ValidationExpression matched %v, Parse error %v", matched, err)
			}
		})
	}
}

// FuzzParseAgreesWithValidationExpression holds Parse and the validation
// expression API Gateway evaluates to the same language, and Parse to its
// contract: no panic, and an accepted key is the header's well-formed token.
func FuzzParseAgreesWithValidationExpression(f *testing.F) {
	for _, seed := range []string{
		"", "Bearer", "Bearer ", "bearer " + key(20), "Bearer " + key(19) + "=", "Bearer " + key(18) + "==",
		"Bearer " + key(20) + "===", "Bearer  " + key(128), "Bearer " + key(129), "Basic dXNlcjpwYXNz",
		"Bearer " + key(20) + " x", "Bearer\t" + key(20), "BEARER " + key(10) + "=" + key(10),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		key, err := Parse(header)
		matched := validationExpression.MatchString(header)
		if matched != (err == nil) {
			t.Fatalf("disagreement on %q: ValidationExpression %v, Parse error %v", header, matched, err)
		}
		if err != nil {
			if key != "" {
				t.Fatalf("Parse returned a key with error %v", err)
			}
			return
		}
		if !strings.HasSuffix(header, key) || len(key) < MinKeyLength || len(key) > MaxKeyLength || strings.ContainsAny(key, " \t\r\n") {
			t.Fatalf("Parse accepted %q as key %q", header, key)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	header := "Bearer " + key(40)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(header); err != nil {
			b.Fatal(err)
		}
	}
}
