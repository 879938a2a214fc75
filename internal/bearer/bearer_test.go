package bearer

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

var validationExpression = regexp.MustCompile(ValidationExpression)

// key returns a syntactically valid key of n characters (not a real one).
func key(n int) string { return strings.Repeat("k", n) }

// parseCases are the headers every check of the accepted form runs on: Parse
// itself, ValidationExpression under RE2 and under Java.
var parseCases = []struct {
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
	{"carriage return and newline", "Bearer " + key(20) + "\r\n", "", ErrCharset},
	{"line separator", "Bearer " + key(20) + "\u2028", "", ErrCharset},
	{"next line", "Bearer " + key(20) + "\u0085", "", ErrCharset},
	{"newline in the spaces", "Bearer \n" + key(20), "", ErrCharset},
	{"nul", "Bearer " + key(20) + "\x00", "", ErrCharset},
	{"non-ASCII", "Bearer " + key(20) + "é", "", ErrCharset},
}

func TestParse(t *testing.T) {
	for _, tc := range parseCases {
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

// TestKeyLengthAndPadding walks every token length around the limits with
// every padding count: the corners where the three alternatives of
// ValidationExpression meet.
func TestKeyLengthAndPadding(t *testing.T) {
	for _, header := range lengthAndPaddingHeaders() {
		key, err := Parse(header)
		token := strings.TrimPrefix(header, "Bearer ")
		padding := len(token) - len(strings.TrimRight(token, "="))
		want := len(token) >= MinKeyLength && len(token) <= MaxKeyLength && padding <= MaxPadding
		if (err == nil) != want || (err == nil && key != token) {
			t.Errorf("token of %d characters with %d padding: error %v, want accepted %v", len(token), padding, err, want)
		}
		if matched := validationExpression.MatchString(header); matched != want {
			t.Errorf("token of %d characters with %d padding: ValidationExpression matched %v", len(token), padding, matched)
		}
	}
}

// lengthAndPaddingHeaders are "Bearer " and a token of 1 to MaxKeyLength+2
// characters of which 0 to MaxPadding+2 trailing ones are "=".
func lengthAndPaddingHeaders() []string {
	var headers []string
	for length := 1; length <= MaxKeyLength+2; length++ {
		for padding := 0; padding <= MaxPadding+2 && padding < length; padding++ {
			headers = append(headers, "Bearer "+key(length-padding)+strings.Repeat("=", padding))
		}
	}
	return headers
}

// TestValidationExpressionFollowsTheConstants rebuilds the expression from
// the named limits, so that changing one of them without the other fails.
func TestValidationExpressionFollowsTheConstants(t *testing.T) {
	var alternatives []string
	for padding := 0; padding <= MaxPadding; padding++ {
		alternatives = append(alternatives, fmt.Sprintf("%s{%d,%d}%s", keyChars, MinKeyLength-padding, MaxKeyLength-padding, strings.Repeat("=", padding)))
	}
	want := `^[Bb][Ee][Aa][Rr][Ee][Rr] +(?:` + strings.Join(alternatives, "|") + `)\z`
	if ValidationExpression != want {
		t.Errorf("ValidationExpression =\n%s\nwant\n%s", ValidationExpression, want)
	}
	// API Gateway stores it as a plain string property; a few hundred
	// characters would mean the construction went wrong.
	if len(ValidationExpression) > 160 {
		t.Errorf("ValidationExpression is %d characters long", len(ValidationExpression))
	}
}

// TestValidationExpressionMeansTheSameInJava runs ValidationExpression
// through java.util.regex, the engine API Gateway evaluates it with, on
// every table case, every length and padding corner and a few thousand
// generated headers, and compares with Parse. It needs a JDK (java 11 or
// later runs the single source file) and is skipped without one.
func TestValidationExpressionMeansTheSameInJava(t *testing.T) {
	java, err := exec.LookPath("java")
	if err != nil {
		t.Skip("no java on PATH: ValidationExpression is checked against RE2 only")
	}
	var headers []string
	for _, tc := range parseCases {
		headers = append(headers, tc.header)
	}
	headers = append(headers, lengthAndPaddingHeaders()...)
	headers = append(headers, generatedHeaders(3000)...)

	var input strings.Builder
	for _, header := range headers {
		input.WriteString(hex.EncodeToString([]byte(header)))
		input.WriteByte('\n')
	}
	cmd := exec.Command(java, "testdata/ValidationExpressionInJava.java", ValidationExpression)
	cmd.Stdin = strings.NewReader(input.String())
	output, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if exitErr, ok := err.(*exec.ExitError); ok {
			stderr = exitErr.Stderr
		}
		t.Fatalf("java: %v\n%s", err, stderr)
	}
	results := strings.Split(strings.TrimSuffix(string(output), "\n"), "\n")
	if len(results) != len(headers) {
		t.Fatalf("java answered %d of %d headers", len(results), len(headers))
	}
	for i, header := range headers {
		_, err := Parse(header)
		want := "0 0"
		if err == nil {
			want = "1 1"
		}
		if results[i] != want {
			t.Errorf("header %q: Java find/matches %s, Parse error %v", header, results[i], err)
		}
	}
}

// generatedHeaders returns n headers, valid UTF-8 (what Java sees is
// characters, not bytes), made mostly of the characters that decide: the
// scheme's letters, spaces, key characters, "=", line terminators.
func generatedHeaders(n int) []string {
	pieces := []string{"Bearer ", "bearer", "BEARER  ", " ", "=", "==", "k", "Z9", "-._~+/", key(17), key(40), key(126),
		"\n", "\r", "\r\n", "\t", "\u0085", "\u2028", "\u2029", "\x00", "é", ",", `"`}
	state := uint64(1)
	next := func(bound int) int { // a fixed-seed xorshift: the same headers on every run
		state ^= state << 13
		state ^= state >> 7
		state ^= state << 17
		return int(state % uint64(bound))
	}
	headers := make([]string, 0, n)
	for len(headers) < n {
		var b strings.Builder
		if next(4) > 0 {
			b.WriteString("Bearer ")
		}
		for range next(6) {
			b.WriteString(pieces[next(len(pieces))])
		}
		if header := b.String(); utf8.ValidString(header) {
			headers = append(headers, header)
		}
	}
	return headers
}

// FuzzParseAgreesWithValidationExpression holds Parse and the validation
// expression API Gateway evaluates to the same language, and Parse to its
// contract: no panic, and an accepted key is the header's well-formed token.
func FuzzParseAgreesWithValidationExpression(f *testing.F) {
	for _, seed := range []string{
		"", "Bearer", "Bearer ", "bearer " + key(20), "Bearer " + key(19) + "=", "Bearer " + key(18) + "==",
		"Bearer " + key(20) + "===", "Bearer  " + key(128), "Bearer " + key(129), "Basic dXNlcjpwYXNz",
		"Bearer " + key(20) + " x", "Bearer\t" + key(20), "BEARER " + key(10) + "=" + key(10),
		"Bearer " + key(20) + "\n", "Bearer " + key(127) + "=", "Bearer " + key(128) + "=",
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
