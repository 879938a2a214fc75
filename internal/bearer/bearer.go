// Package bearer parses "Authorization: Bearer <api key>" headers. It is the
// one place the accepted form lives: the authorizer Lambda calls Parse, and
// the CDK stack puts ValidationExpression on the TOKEN authorizer so that API
// Gateway refuses the same malformed headers before invoking the Lambda.
//
// The accepted form is RFC 6750 §2.1 credentials narrowed to what an API
// Gateway API key can be:
//
//	credentials = "Bearer" 1*SP b64token
//	b64token    = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//
// with the scheme case-insensitive (RFC 7235 §2.1), SP only between scheme
// and token, the b64token 20 to 128 characters long, "=" included (API
// Gateway's limits for a key value), and at most two trailing "=". That
// last limit is ours, stricter than RFC 6750: "=" is base64 padding, the
// only reason a key has one at all, and the limit keeps ValidationExpression
// short while it says exactly the same thing as Parse.
package bearer

import "errors"

// Key lengths API Gateway accepts for an API key value.
const (
	MinKeyLength = 20
	MaxKeyLength = 128
	// MaxPadding is the most trailing "=" accepted: base64 padding.
	MaxPadding = 2
)

// keyChars is the b64token alphabet without "=", as a regular expression
// class; its meaning is the same in RE2 and in Java, which API Gateway uses.
const keyChars = `[A-Za-z0-9._~+/-]`

// ValidationExpression is the TOKEN authorizer's identity validation
// expression. It accepts exactly the headers Parse accepts (a table test and
// a fuzz test hold the two together), using only constructs that mean the
// same in RE2 (Go, the tests) and in Java (API Gateway): character classes
// without shorthands, counted repetition, alternation, a non-capturing group
// and the anchors ^ and \z.
//
// Why \z and not $: Java's $ also matches before a final line terminator
// (\n, \r\n, \r, \u0085, \u2028, \u2029), so "^…$" would let API Gateway pass
// "Bearer <key>\n" on to the Lambda, where RE2 and Parse refuse it. \z is
// the end of input in both engines.
//
// Why three alternatives: the length limit covers the whole b64token,
// padding included. RE2 has no lookahead to check the length apart from
// the form, so without one the expression takes an alternative per padding
// count, each counted so that key characters plus padding fall within
// MinKeyLength..MaxKeyLength. Any number of "=" would take 127 of them
// (some 4 KB of expression); keys are at most MaxPadding "=" of base64
// padding, so it takes three (113 characters in all).
// TestValidationExpressionFollowsTheConstants rebuilds it from the
// constants above.
const ValidationExpression = `^[Bb][Ee][Aa][Rr][Ee][Rr] +(?:` +
	keyChars + `{20,128}|` +
	keyChars + `{19,127}=|` +
	keyChars + `{18,126}==)\z`

// Reasons a header is refused. They name what was wrong and never contain
// the header itself, so they are safe to log.
var (
	ErrMissing    = errors.New("missing")     // no header, or an empty one
	ErrScheme     = errors.New("scheme")      // not "Bearer" followed by a space
	ErrNoToken    = errors.New("no-token")    // "Bearer" and spaces only
	ErrCharset    = errors.New("charset")     // a character outside b64token, or misplaced "="
	ErrPadding    = errors.New("padding")     // more than MaxPadding trailing "="
	ErrExtraToken = errors.New("extra-token") // a space after the token, then more
	ErrLength     = errors.New("length")      // token outside MinKeyLength..MaxKeyLength
)

// Parse returns the API key of an Authorization header value, or one of the
// Err… reasons. It never allocates: the key is a substring of the header.
// It is a hand-written scanner rather than ValidationExpression compiled at
// run time, so the Lambda needs no regexp and pays no compile at cold start.
func Parse(authorizationHeader string) (key string, err error) {
	header := authorizationHeader
	if header == "" {
		return "", ErrMissing
	}
	const scheme = "bearer"
	if len(header) <= len(scheme) {
		return "", ErrScheme
	}
	for i := 0; i < len(scheme); i++ {
		// ASCII case folding only: no Unicode look-alike may pass as "Bearer".
		if header[i]|0x20 != scheme[i] {
			return "", ErrScheme
		}
	}
	if header[len(scheme)] != ' ' {
		return "", ErrScheme
	}
	i := len(scheme)
	for i < len(header) && header[i] == ' ' {
		i++
	}
	token := header[i:]
	if token == "" {
		return "", ErrNoToken
	}

	n := 0
	for n < len(token) && isKeyChar(token[n]) {
		n++
	}
	if n == 0 {
		return "", ErrCharset
	}
	padding := 0
	for n < len(token) && token[n] == '=' {
		n++
		padding++
	}
	if n < len(token) {
		if token[n] == ' ' {
			return "", ErrExtraToken
		}
		return "", ErrCharset
	}
	if padding > MaxPadding {
		return "", ErrPadding
	}
	if len(token) < MinKeyLength || len(token) > MaxKeyLength {
		return "", ErrLength
	}
	return token, nil
}

func isKeyChar(c byte) bool {
	switch {
	case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '.', '_', '~', '+', '/':
		return true
	}
	return false
}
