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
// with the scheme case-insensitive (RFC 7235 §2.1), the b64token 20 to 128
// characters long (API Gateway's limits for a key value), and at most two
// trailing "=". That last limit is ours: it is base64 padding, the only
// reason a key has "=" at all, and it is what lets ValidationExpression say
// exactly the same thing as Parse without a lookahead (which RE2, and so Go,
// does not have).
package bearer

import "errors"

// Key lengths API Gateway accepts for an API key value.
const (
	MinKeyLength = 20
	MaxKeyLength = 128
	// MaxPadding is the number of trailing "=" accepted.
	MaxPadding = 2
)

// keyChars is the b64token alphabet without "=", as a regular expression
// class; its meaning is the same in RE2 and in Java, which API Gateway uses.
const keyChars = `[A-Za-z0-9._~+/-]`

// ValidationExpression is the TOKEN authorizer's identity validation
// expression. It accepts exactly the headers Parse accepts (a fuzz test holds
// the two together), using only constructs that mean the same in RE2 and Java
// regular expressions: classes, counted repetition, alternation and anchors.
// (Java's $ would also match before a final line terminator, which an HTTP
// header value cannot contain; \z would say it exactly but is not understood
// by every engine API Gateway's documentation examples are written for.)
const ValidationExpression = `^[Bb][Ee][Aa][Rr][Ee][Rr] +(?:` +
	keyChars + `{20,128}|` +
	keyChars + `{19,127}=|` +
	keyChars + `{18,126}==)$`

// Reasons a header is refused. They name what was wrong and never contain
// the header itself, so they are safe to log.
var (
	ErrMissing    = errors.New("missing")     // no header, or an empty one
	ErrScheme     = errors.New("scheme")      // not "Bearer" followed by a space
	ErrNoToken    = errors.New("no-token")    // "Bearer" and spaces only
	ErrCharset    = errors.New("charset")     // a character outside b64token, or misplaced "="
	ErrPadding    = errors.New("padding")     // more than MaxPadding trailing "="
	ErrExtraToken = errors.New("extra-token") // anything after the token
	ErrLength     = errors.New("length")      // token outside MinKeyLength..MaxKeyLength
)

// Parse returns the API key of an Authorization header value, or one of the
// Err… reasons. It never allocates: the key is a substring of header.
func Parse(header string) (key string, err error) {
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
