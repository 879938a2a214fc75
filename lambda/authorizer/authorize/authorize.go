// Package authorize is the authorizer's decision, as a pure function of the
// TOKEN event: who the caller is (the key in its bearer token), what it may
// call (every method of the calling stage), and why, for the log. The Lambda
// around it only decodes the event and writes the log line.
package authorize

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keygate/keygate/internal/bearer"
)

// ErrUnauthorized is what the authorizer returns for any header it refuses.
// API Gateway answers 401 for exactly this error message, and nothing about
// the header or the reason leaves the Lambda.
var ErrUnauthorized = errors.New("Unauthorized")

// ErrBadEvent is returned for an event API Gateway would never send (a
// method ARN that is not an execute-api ARN, another authorizer type): API
// Gateway answers 500, and nobody is allowed in.
var ErrBadEvent = errors.New("authorizer event is not a TOKEN event with an execute-api method ARN")

// Outcome of a decision, as logged.
const (
	Allow = "allow"
	Deny  = "deny"
	Fail  = "error"
)

// Decision is what was decided and why: the content of the one log line per
// invocation. It never holds the key, only its fingerprint.
type Decision struct {
	Outcome     string // Allow, Deny or Fail
	Reason      string // why not Allow: a bearer.Err… reason or "bad-event"
	Fingerprint string // of the key, when the header held a well-formed one
}

// invokeAction is shared by every response: it is only ever read (marshaled).
var invokeAction = []string{"execute-api:Invoke"}

// Authorize decides a TOKEN event. An accepted key gets an Allow on every
// method and resource of the calling stage, with the key as the usage
// identifier key (API Gateway then enforces its usage plan) and its
// fingerprint as principal. Anything else is ErrUnauthorized or ErrBadEvent.
func Authorize(event events.APIGatewayCustomAuthorizerRequest) (events.APIGatewayCustomAuthorizerResponse, Decision, error) {
	key, err := bearer.Parse(event.AuthorizationToken)
	if err != nil {
		return events.APIGatewayCustomAuthorizerResponse{}, Decision{Outcome: Deny, Reason: err.Error()}, ErrUnauthorized
	}
	fingerprint := Fingerprint(key)
	resource, ok := StageARN(event.MethodArn)
	if !ok || (event.Type != "" && event.Type != "TOKEN") {
		return events.APIGatewayCustomAuthorizerResponse{}, Decision{Outcome: Fail, Reason: "bad-event", Fingerprint: fingerprint}, ErrBadEvent
	}
	// One allocation backs the statement, its resource list and the
	// context value (a *string marshals as the string, and unlike a string
	// it goes into an interface without another allocation): this runs on
	// every uncached request.
	backing := &allowBacking{resource: [1]string{resource}, fingerprint: fingerprint}
	backing.statement[0] = events.IAMPolicyStatement{Action: invokeAction, Effect: "Allow", Resource: backing.resource[:]}
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: fingerprint,
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
			Version:   "2012-10-17",
			Statement: backing.statement[:],
		},
		Context:            map[string]any{ContextFingerprint: &backing.fingerprint},
		UsageIdentifierKey: key,
	}, Decision{Outcome: Allow, Fingerprint: fingerprint}, nil
}

// ContextFingerprint is the authorizer context key of the key fingerprint
// ($context.authorizer.keyFingerprint in API Gateway).
const ContextFingerprint = "keyFingerprint"

type allowBacking struct {
	statement   [1]events.IAMPolicyStatement
	resource    [1]string
	fingerprint string
}

// Fingerprint names a key in logs and as principalId
// ($context.authorizer.principalId in the access log) without revealing it:
// the first 12 bytes of its SHA-256, hex. The same key always has the same
// fingerprint, so one client's requests can be followed across logs.
func Fingerprint(key string) string {
	// Hash from a stack copy: converting a key longer than 32 bytes with
	// []byte(key) would allocate.
	var buf [bearer.MaxKeyLength]byte
	sum := sha256.Sum256(buf[:copy(buf[:], key)])
	var out [3 + 24]byte
	copy(out[:], "kf-")
	hex.Encode(out[3:], sum[:12])
	return string(out[:])
}

// StageARN turns a method ARN,
//
//	arn:<partition>:execute-api:<region>:<account>:<api-id>/<stage>/<method>/<path…>
//
// into the ARN of every method and resource of that stage,
//
//	arn:<partition>:execute-api:<region>:<account>:<api-id>/<stage>/*/*
//
// API Gateway caches the policy per token and applies it to the client's
// next requests, whatever method they call: a policy for the one method
// ARN would deny them with 403. Wider than the stage it must not be.
func StageARN(methodARN string) (string, bool) {
	rest := methodARN
	var fields [5]string // arn, partition, service, region, account
	for i := range fields {
		j := strings.IndexByte(rest, ':')
		if j < 0 {
			return "", false
		}
		fields[i], rest = rest[:j], rest[j+1:]
	}
	if fields[0] != "arn" || !knownPartition(fields[1]) || fields[2] != "execute-api" ||
		!isRegion(fields[3]) || !isAccount(fields[4]) {
		return "", false
	}
	apiID, rest, ok := strings.Cut(rest, "/")
	if !ok || !isName(apiID, false) {
		return "", false
	}
	stage, rest, ok := strings.Cut(rest, "/")
	if !ok || !isName(stage, true) {
		return "", false
	}
	method, _, _ := strings.Cut(rest, "/")
	if method == "" {
		return "", false
	}
	prefixLength := len(methodARN) - len(rest) // through "<stage>/"
	return methodARN[:prefixLength] + "*/*", true
}

// Partitions that have API Gateway.
func knownPartition(p string) bool {
	switch p {
	case "aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc":
		return true
	}
	return false
}

func isRegion(s string) bool {
	if len(s) < 4 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func isAccount(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isName checks an API id (lower-case letters and digits) or a stage name
// (letters, digits, '-' and '_'); neither may be a wildcard.
func isName(s string, stage bool) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case stage && (c >= 'A' && c <= 'Z' || c == '-' || c == '_'):
		default:
			return false
		}
	}
	return true
}
