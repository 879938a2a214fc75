package keyctl

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
)

// generatedPrefix starts every key value keygate generates. It identifies a
// value as keygate's (so a key an interrupted import left untagged can be
// adopted, see Client.markGeneratedValues) and lets secret scanners find a
// leaked key, as GitHub's ghp_ tokens do.
const generatedPrefix = "kgk_"

// valueBytes of randomness: 240 bits, 40 base64url characters.
const valueBytes = 30

// GenerateValue returns a new key value: "kgk_" and 40 base64url
// characters from crypto/rand (44 in all: within API Gateway's 20 to 128,
// and inside the bearer token alphabet of internal/bearer).
func GenerateValue() string {
	b := make([]byte, valueBytes)
	rand.Read(b) // never fails on Go 1.24+ (it crashes the program instead)
	return generatedPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// IsGeneratedValue reports whether v has the shape GenerateValue gives.
func IsGeneratedValue(v string) bool {
	rest, ok := strings.CutPrefix(v, generatedPrefix)
	if !ok || len(rest) != base64.RawURLEncoding.EncodedLen(valueBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(rest)
	return err == nil
}
