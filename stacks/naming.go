package stacks

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode"
)

// logicalID derives a CloudFormation logical ID from a configured name.
//
// Clients depend on the identity of API keys and usage plans: CloudFormation
// replaces a resource whose logical ID changes, and a replaced key gets a new
// value. So these IDs come from the configured name alone, never from the
// construct tree, the config order or a shard: a refactor of the CDK code or a
// reordered config changes none of them. The readable part makes diffs
// legible; the hash of the exact name keeps "a-b" and "a.b" apart.
func logicalID(prefix, name string) string {
	var readable strings.Builder
	upperNext := true
	for _, r := range name {
		if r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r)) {
			upperNext = true
			continue
		}
		if upperNext {
			r = unicode.ToUpper(r)
			upperNext = false
		}
		readable.WriteRune(r)
	}
	sum := sha256.Sum256([]byte(name))
	return prefix + readable.String() + strings.ToUpper(hex.EncodeToString(sum[:4]))
}
