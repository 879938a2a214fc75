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

// Reasons for Fail, beside the bearer.Err… reasons for Deny.
const (
	ReasonBadMethodARN = "bad-method-arn" // not an execute-api method ARN with an API id and a stage
	ReasonBadEventType = "bad-event-type" // a REQUEST event sent to a TOKEN authorizer
)

// Decision is what was decided and why: the content of the one log line per
// invocation. It never holds the key, only its fingerprint.
type Decision struct {
	Outcome     string // Allow, Deny or Fail
	Reason      string // why not Allow: a bearer.Err… reason or a Reason… constant
	Fingerprint string // of the key, when the header held a well-formed one
}

// invokeAction is shared by every response: it is only ever read (marshaled).
var invokeAction = []string{"execute-api:Invoke"}

// stageWildcard follows "<api-id>/<stage>/" in the policy resource: every
// method, every resource path.
const stageWildcard = "*/*"

// Authorize decides a TOKEN event. An accepted key gets an Allow on every
// method and resource of the calling stage, with the key as the usage
// identifier key (API Gateway then enforces its usage plan) and its
// fingerprint as principal. A refused header is ErrUnauthorized (401); an
// event that cannot be scoped to a stage is ErrBadEvent (500). Neither
// comes with a policy.
func Authorize(event events.APIGatewayCustomAuthorizerRequest) (events.APIGatewayCustomAuthorizerResponse, Decision, error) {
	key, err := bearer.Parse(event.AuthorizationToken)
	if err != nil {
		return events.APIGatewayCustomAuthorizerResponse{}, Decision{Outcome: Deny, Reason: err.Error()}, ErrUnauthorized
	}
	var fingerprint [fingerprintLength]byte
	writeFingerprint(&fingerprint, key)
	stage, ok := stagePrefix(event.MethodArn)
	if !ok || (event.Type != "" && event.Type != "TOKEN") {
		reason := ReasonBadMethodARN
		if ok {
			reason = ReasonBadEventType
		}
		return events.APIGatewayCustomAuthorizerResponse{}, Decision{Outcome: Fail, Reason: reason, Fingerprint: string(fingerprint[:])}, ErrBadEvent
	}

	// This runs on every request the authorizer cache misses, so the
	// response takes four allocations: one string holding both the
	// fingerprint and the resource, one struct backing the statement, its
	// resource list and the context value (a *string marshals as the
	// string, and unlike a string goes into an interface without another
	// allocation), and the context map's two.
	var text strings.Builder
	text.Grow(fingerprintLength + len(stage) + len(stageWildcard))
	text.Write(fingerprint[:])
	text.WriteString(stage)
	text.WriteString(stageWildcard)
	principal, resource := text.String()[:fingerprintLength], text.String()[fingerprintLength:]

	backing := &allowBacking{resource: [1]string{resource}, fingerprint: principal}
	backing.statement[0] = events.IAMPolicyStatement{Action: invokeAction, Effect: "Allow", Resource: backing.resource[:]}
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: principal,
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
			Version:   "2012-10-17",
			Statement: backing.statement[:],
		},
		Context:            map[string]any{ContextFingerprint: &backing.fingerprint},
		UsageIdentifierKey: key,
	}, Decision{Outcome: Allow, Fingerprint: principal}, nil
}

// ContextFingerprint is the authorizer context key of the key fingerprint
// ($context.authorizer.keyFingerprint in API Gateway).
const ContextFingerprint = "keyFingerprint"

type allowBacking struct {
	statement   [1]events.IAMPolicyStatement
	resource    [1]string
	fingerprint string
}

// fingerprintPrefix marks a value as a key fingerprint wherever it shows up.
const fingerprintPrefix = "kf-"

// fingerprintLength is the length of a fingerprint: the prefix and 12 bytes
// of SHA-256 in hex.
const fingerprintLength = len(fingerprintPrefix) + 2*12

// Fingerprint names a key in logs and as principalId
// ($context.authorizer.principalId in the access log) without revealing it:
// "kf-" and the first 12 bytes of its SHA-256, in hex. The same key always
// has the same fingerprint, so one client's requests can be followed
// across logs and to its usage plan, while the key itself, which is the
// client's credential, stays out of every log. 96 bits keep collisions
// between a gateway's keys out of reach; API Gateway keys are random, at
// least 20 characters, so the hash cannot be turned back into a key.
func Fingerprint(key string) string {
	var fingerprint [fingerprintLength]byte
	writeFingerprint(&fingerprint, key)
	return string(fingerprint[:])
}

func writeFingerprint(dst *[fingerprintLength]byte, key string) {
	// Hash from a stack copy: []byte(key) would allocate for keys longer
	// than 32 bytes. Parse guarantees len(key) <= MaxKeyLength; a longer
	// key would be truncated, and Authorize never passes one.
	var buf [bearer.MaxKeyLength]byte
	sum := sha256.Sum256(buf[:copy(buf[:], key)])
	copy(dst[:], fingerprintPrefix)
	hex.Encode(dst[len(fingerprintPrefix):], sum[:12])
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
	stage, ok := stagePrefix(methodARN)
	if !ok {
		return "", false
	}
	return stage + stageWildcard, true
}

// stagePrefix returns methodARN through "<api-id>/<stage>/", after checking
// every part of it: API Gateway always sends a well-formed method ARN, so
// anything else is a fault to report, never a policy to guess.
func stagePrefix(methodARN string) (string, bool) {
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
	if !isMethod(method) {
		return "", false
	}
	return methodARN[:len(methodARN)-len(rest)], true
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

// isMethod checks the HTTP method of a method ARN: upper-case letters, as
// API Gateway sends them (an ANY method arrives as the request's method).
// A "*" would mean the ARN is a pattern, not a request.
func isMethod(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}
