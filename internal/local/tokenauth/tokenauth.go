// Package tokenauth is API Gateway's side of a TOKEN Lambda authorizer: the
// identity validation expression checked before any invocation, the event
// sent to the function, the results cached per token for the authorizer's
// TTL, and the returned policy evaluated against each request's method ARN.
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-use-lambda-authorizer.html)
package tokenauth

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/keygate/keygate/internal/apimodel"
)

// Invoker sends an event to the authorizer function.
type Invoker func(ctx context.Context, payload []byte) ([]byte, error)

// Result is what the function returned for a token.
type Result struct {
	PrincipalID        string
	Policy             Policy
	Context            map[string]any
	UsageIdentifierKey string
}

// Outcome is the gateway's decision.
type Outcome int

// Outcomes and the gateway responses they lead to.
const (
	Allowed      Outcome = iota
	Unauthorized         // 401 UNAUTHORIZED, "Unauthorized"
	Denied               // 403 ACCESS_DENIED
	Failed               // 500 AUTHORIZER_CONFIGURATION_ERROR
)

// Decision is the authorizer step of one request.
type Decision struct {
	Outcome Outcome
	// Result is set for Allowed and Denied.
	Result *Result
	// Message is the gateway response's $context.error.message.
	Message string
	// ImplicitDeny marks a Denied outcome whose policy neither allowed nor
	// denied the method, which a resource policy's Allow can still turn
	// into an Allow (authorization flow, table A).
	ImplicitDeny bool
	// Error is $context.authorizer.error.
	Error string
	// Invoked says the function ran for this request; Latency is how long
	// that took ($context.authorizer.integrationLatency).
	Invoked bool
	Latency time.Duration
}

// Authorizer applies one TOKEN authorizer.
type Authorizer struct {
	model      *apimodel.Authorizer
	validation *regexp.Regexp
	invoke     Invoker
	now        func() time.Time

	cache   sync.Map // token → *entry
	entries atomic.Int64
	flight  singleflight.Group
}

type entry struct {
	result  *Result
	expires time.Time
}

// New prepares an authorizer. The validation expression is compiled with Go's
// regexp (RE2); one that RE2 cannot read is refused, since it would be
// applied differently from API Gateway's Java regex.
func New(model *apimodel.Authorizer, invoke Invoker, now func() time.Time) (*Authorizer, error) {
	if model.Type != "TOKEN" {
		return nil, fmt.Errorf("authorizer %s is of type %s; only TOKEN authorizers are emulated", model.Name, model.Type)
	}
	a := &Authorizer{model: model, invoke: invoke, now: now}
	if a.now == nil {
		a.now = time.Now
	}
	if model.ValidationExpression != "" {
		re, err := regexp.Compile(model.ValidationExpression)
		if err != nil {
			return nil, fmt.Errorf("authorizer %s: IdentityValidationExpression cannot be compiled locally: %v", model.Name, err)
		}
		a.validation = re
	}
	return a, nil
}

// Header is the request header the token comes from.
func (a *Authorizer) Header() string { return a.model.IdentityHeader }

// Messages of API Gateway's authorizer gateway responses.
const (
	MessageUnauthorized = "Unauthorized"
	MessageExplicitDeny = "User is not authorized to access this resource with an explicit deny"
	MessageImplicitDeny = "User is not authorized to access this resource"
)

// Authorize decides a request carrying token (the identity header's value)
// for methodARN. A missing token, or one the token validation expression
// does not validate, is a 401 "returned by API Gateway without calling the
// authorizer Lambda function"
// (https://repost.aws/knowledge-center/api-gateway-401-error-lambda-authorizer).
// Results are cached per token for authorizerResultTtlInSeconds: "If it
// equals 0, authorization caching is disabled ... the default value is 300"
// (https://docs.aws.amazon.com/apigateway/latest/api/API_Authorizer.html).
func (a *Authorizer) Authorize(ctx context.Context, token, methodARN string) Decision {
	if token == "" {
		return Decision{Outcome: Unauthorized, Message: MessageUnauthorized}
	}
	// Only tokens that matched the expression are cached, and the match
	// depends on the token alone: a cache hit skips the regular expression,
	// the most expensive step of a cached request.
	if v, ok := a.cache.Load(token); ok {
		e := v.(*entry)
		if a.now().Before(e.expires) {
			return decide(e.result, methodARN, Decision{})
		}
		if a.cache.CompareAndDelete(token, v) {
			a.entries.Add(-1)
		}
	}
	if a.validation != nil && !a.validation.MatchString(token) {
		return Decision{Outcome: Unauthorized, Message: MessageUnauthorized}
	}
	type flightResult struct {
		result   *Result
		decision Decision
	}
	// Concurrent requests with one uncached token share one invocation.
	v, _, shared := a.flight.Do(token, func() (any, error) {
		start := time.Now()
		// Shared by every request waiting on this token: one client going
		// away must not fail the others.
		result, failure := a.call(context.WithoutCancel(ctx), token, methodARN)
		d := Decision{Invoked: true, Latency: time.Since(start)}
		if failure != nil {
			failure.Invoked, failure.Latency = true, d.Latency
			return flightResult{decision: *failure}, nil
		}
		if a.model.TTL > 0 {
			a.store(token, &entry{result: result, expires: a.now().Add(a.model.TTL)})
		}
		return flightResult{result: result, decision: d}, nil
	})
	fr := v.(flightResult)
	if fr.result == nil {
		return fr.decision
	}
	d := fr.decision
	if shared {
		d.Invoked = false
	}
	return decide(fr.result, methodARN, d)
}

func (a *Authorizer) store(token string, e *entry) {
	// Bound the cache: past 100,000 tokens, every 10,000th new one sweeps
	// the expired ones out.
	if n := a.entries.Add(1); n > 100_000 && n%10_000 == 0 {
		now := a.now()
		a.cache.Range(func(k, v any) bool {
			if !now.Before(v.(*entry).expires) && a.cache.CompareAndDelete(k, v) {
				a.entries.Add(-1)
			}
			return true
		})
	}
	if _, loaded := a.cache.Swap(token, e); loaded {
		a.entries.Add(-1)
	}
}

func decide(r *Result, methodARN string, d Decision) Decision {
	d.Result = r
	switch r.Policy.Evaluate(methodARN) {
	case Allow:
		d.Outcome = Allowed
	case ExplicitDeny:
		d.Outcome, d.Message = Denied, MessageExplicitDeny
	default:
		d.Outcome, d.Message, d.ImplicitDeny = Denied, MessageImplicitDeny, true
	}
	return d
}

type event struct {
	Type               string `json:"type"`
	AuthorizationToken string `json:"authorizationToken"`
	MethodArn          string `json:"methodArn"`
}

type response struct {
	PrincipalID        *string        `json:"principalId"`
	PolicyDocument     *Policy        `json:"policyDocument"`
	Context            map[string]any `json:"context"`
	UsageIdentifierKey string         `json:"usageIdentifierKey"`
	ErrorMessage       *string        `json:"errorMessage"`
	ErrorType          string         `json:"errorType"`
}

// call invokes the function; a non-nil Decision is a failure to answer with.
func (a *Authorizer) call(ctx context.Context, token, methodARN string) (*Result, *Decision) {
	payload, _ := json.Marshal(event{Type: "TOKEN", AuthorizationToken: token, MethodArn: methodARN})
	raw, err := a.invoke(ctx, payload)
	if err != nil {
		return nil, &Decision{Outcome: Failed, Error: "authorizer invocation failed: " + err.Error()}
	}
	var resp response
	if err := json.Unmarshal(raw, &resp); err != nil {
		return nil, &Decision{Outcome: Failed, Error: "the authorizer's response is not JSON"}
	}
	if resp.ErrorMessage != nil {
		// The function's "Unauthorized" error is the documented way to
		// answer 401; any other error is a 500.
		if *resp.ErrorMessage == "Unauthorized" {
			return nil, &Decision{Outcome: Unauthorized, Message: MessageUnauthorized, Error: "Unauthorized"}
		}
		return nil, &Decision{Outcome: Failed, Error: "authorizer error: " + resp.ErrorType}
	}
	if resp.PrincipalID == nil || resp.PolicyDocument == nil {
		return nil, &Decision{Outcome: Failed, Error: "the authorizer's response has no principalId or policyDocument"}
	}
	for k, v := range resp.Context {
		// "You can't set a JSON object or array as a valid value of any key
		// in the context map": only strings, numbers and booleans.
		switch v.(type) {
		case string, float64, bool:
		default:
			return nil, &Decision{Outcome: Failed, Error: "the authorizer's context value of " + k + " is not a string, number or boolean"}
		}
	}
	return &Result{PrincipalID: *resp.PrincipalID, Policy: *resp.PolicyDocument, Context: resp.Context, UsageIdentifierKey: resp.UsageIdentifierKey}, nil
}
