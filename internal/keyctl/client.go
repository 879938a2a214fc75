// Package keyctl runs `keygate keys`: it reads an environment's usage plans
// and keys from API Gateway with the AWS SDK for Go v2, applies the changes
// internal/keyplan decides, and does the everyday operations (list, show,
// rotate, disable, move, usage), within API Gateway's control-plane limits.
package keyctl

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/time/rate"
)

// Pace is how fast the client calls the control plane. Every attempt,
// retries included, waits for its turn.
type Pace struct {
	// CreateAPIKeyPerSecond paces CreateApiKey and DeleteApiKey: 5 requests
	// per second per account, not adjustable.
	CreateAPIKeyPerSecond float64
	// TotalPerSecond paces every call: API Gateway allows 10 requests per
	// second per account for all control-plane operations together, burst
	// 40 ("Amazon API Gateway quotas", "Total operations";
	// https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html).
	TotalPerSecond float64
}

// totalBurstSeconds is the client's burst as seconds of its rate: 2 s at 10
// requests per second is 20, half of API Gateway's burst of 40.
const totalBurstSeconds = 2

// AWSPace stays within API Gateway's published control-plane limits.
var AWSPace = Pace{CreateAPIKeyPerSecond: 5, TotalPerSecond: 10}

// Metrics count the calls a run made.
type Metrics struct {
	mu       sync.Mutex
	calls    map[string]int
	retries  map[string]int
	attempts atomic.Int64
}

func newMetrics() *Metrics { return &Metrics{calls: map[string]int{}, retries: map[string]int{}} }

func (m *Metrics) call(op string) {
	m.mu.Lock()
	m.calls[op]++
	m.mu.Unlock()
	m.attempts.Add(1)
}

func (m *Metrics) retry(code string) {
	m.mu.Lock()
	m.retries[code]++
	m.mu.Unlock()
}

// Calls is the number of HTTP requests per operation, retries included.
func (m *Metrics) Calls() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]int{}
	for k, v := range m.calls {
		out[k] = v
	}
	return out
}

// Retries is the number of retried attempts per error code.
func (m *Metrics) Retries() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]int{}
	for k, v := range m.retries {
		out[k] = v
	}
	return out
}

// TotalCalls is the number of requests sent.
func (m *Metrics) TotalCalls() int { return int(m.attempts.Load()) }

// TotalRetries is the number of retried attempts.
func (m *Metrics) TotalRetries() int {
	n := 0
	for _, v := range m.Retries() {
		n += v
	}
	return n
}

// WriteCalls is the number of requests that change something.
func (m *Metrics) WriteCalls() int {
	n := 0
	for op, v := range m.Calls() {
		if !strings.HasPrefix(op, "Get") {
			n += v
		}
	}
	return n
}

// Client talks to one environment's keys in API Gateway.
type Client struct {
	api     *apigateway.Client
	env     string
	region  string
	Metrics *Metrics
}

// ClientOptions configure NewClient.
type ClientOptions struct {
	Env  string
	Pace Pace
	// MaxAttempts per call (default 12: with Retry-After of 1 s and backoff
	// up to 20 s, several minutes of contention before giving up).
	MaxAttempts int
	// HTTPClient replaces the SDK's default (tests).
	HTTPClient aws.HTTPClient
	// ConfigOptions are passed to config.LoadDefaultConfig.
	ConfigOptions []func(*config.LoadOptions) error
}

// NewClient loads the AWS configuration the standard way (credential chain,
// region, and endpoint resolution: AWS_ENDPOINT_URL_API_GATEWAY or
// AWS_ENDPOINT_URL point the client at a local control plane) and returns a
// client that paces and retries as API Gateway's limits require.
func NewClient(ctx context.Context, opts ClientOptions) (*Client, error) {
	if opts.Env == "" {
		return nil, errors.New("keyctl: an environment name is required")
	}
	metrics := newMetrics()
	pacer := &pacer{metrics: metrics}
	if opts.Pace.TotalPerSecond > 0 {
		// Half the account's burst of 40: the bucket is shared with
		// everything else calling API Gateway in the account and region.
		pacer.total = rate.NewLimiter(rate.Limit(opts.Pace.TotalPerSecond), max(1, int(opts.Pace.TotalPerSecond*totalBurstSeconds)))
	}
	if opts.Pace.CreateAPIKeyPerSecond > 0 {
		pacer.create = rate.NewLimiter(rate.Limit(opts.Pace.CreateAPIKeyPerSecond), 1)
	}
	attempts := opts.MaxAttempts
	if attempts == 0 {
		attempts = 12
	}
	loadOpts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer { return newRetryer(attempts, metrics) }),
		config.WithAPIOptions([]func(*middleware.Stack) error{pacer.add}),
	}
	if opts.HTTPClient != nil {
		loadOpts = append(loadOpts, config.WithHTTPClient(opts.HTTPClient))
	}
	loadOpts = append(loadOpts, opts.ConfigOptions...)
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, errors.New("no AWS region: set AWS_REGION (or a region in your AWS profile)")
	}
	return &Client{api: apigateway.NewFromConfig(cfg), env: opts.Env, region: cfg.Region, Metrics: metrics}, nil
}

// pacer waits for the pace before every attempt (it runs after the
// retry middleware, so retries are paced too) and counts attempts by
// operation.
type pacer struct {
	total, create *rate.Limiter
	metrics       *Metrics
}

func (p *pacer) add(stack *middleware.Stack) error {
	return stack.Finalize.Insert(middleware.FinalizeMiddlewareFunc("keygatePace", p.handle), "Retry", middleware.After)
}

func (p *pacer) handle(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	op := awsmiddleware.GetOperationName(ctx)
	if p.create != nil && (op == "CreateApiKey" || op == "DeleteApiKey") {
		if err := p.create.Wait(ctx); err != nil {
			return middleware.FinalizeOutput{}, middleware.Metadata{}, err
		}
	}
	if p.total != nil {
		if err := p.total.Wait(ctx); err != nil {
			return middleware.FinalizeOutput{}, middleware.Metadata{}, err
		}
	}
	p.metrics.call(op)
	return next.HandleFinalize(ctx, in)
}

// newRetryer is the SDK's standard retryer, told what API Gateway means:
//
//   - TooManyRequestsException (429) is retried (a default throttle code),
//     after at least the Retry-After the response carries: the SDK models
//     it as RetryAfterSeconds but its backoff reads only x-amz-retry-after.
//   - ConflictException is retried when it is the concurrent-modification
//     refusal of CreateUsagePlanKey (serverless/serverless#12065), never when
//     it says the key is already in a plan of the stage.
//   - LimitExceededException is a throttle code for the SDK; API Gateway
//     uses it with Retry-After for rates, and without one for quotas such as
//     10,000 keys per region, which no retry fixes.
//
// The retry token bucket is off: keygate paces itself and a long sync of
// thousands of keys must not fail because earlier calls were retried.
func newRetryer(attempts int, metrics *Metrics) aws.Retryer {
	standard := retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = attempts
		o.MaxBackoff = 20 * time.Second
		o.RateLimiter = ratelimit.None
		o.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(apiGatewayRetryable)}, o.Retryables...)
		o.Backoff = retryAfterBackoff{retry.NewExponentialJitterBackoff(o.MaxBackoff)}
	})
	return &countingRetryer{RetryerV2: standard, metrics: metrics}
}

func apiGatewayRetryable(err error) aws.Ternary {
	var conflict *types.ConflictException
	if errors.As(err, &conflict) {
		return aws.BoolTernary(isConcurrentModification(conflict))
	}
	var limit *types.LimitExceededException
	if errors.As(err, &limit) {
		return aws.BoolTernary(limit.RetryAfterSeconds != nil)
	}
	return aws.UnknownTernary
}

// isConcurrentModification tells API Gateway's "Unable to complete
// operation due to concurrent modification" 409 (retried) from its other
// ConflictExceptions.
func isConcurrentModification(conflict *types.ConflictException) bool {
	return strings.Contains(conflict.ErrorMessage(), "concurrent modification")
}

type retryAfterBackoff struct{ next retry.BackoffDelayer }

func (b retryAfterBackoff) BackoffDelay(attempt int, err error) (time.Duration, error) {
	d, berr := b.next.BackoffDelay(attempt, err)
	if after, ok := retryAfter(err); ok && after > d {
		// Honour Retry-After, plus the jitter so that waiting callers
		// do not all come back in the same instant.
		d = after + d/4
	}
	return d, berr
}

func retryAfter(err error) (time.Duration, bool) {
	var seconds *string
	var tooMany *types.TooManyRequestsException
	var limit *types.LimitExceededException
	var unavailable *types.ServiceUnavailableException
	switch {
	case errors.As(err, &tooMany):
		seconds = tooMany.RetryAfterSeconds
	case errors.As(err, &limit):
		seconds = limit.RetryAfterSeconds
	case errors.As(err, &unavailable):
		seconds = unavailable.RetryAfterSeconds
	}
	if seconds == nil {
		return 0, false
	}
	n, perr := strconv.Atoi(*seconds)
	if perr != nil || n < 0 {
		return 0, false
	}
	return time.Duration(min(n, 60)) * time.Second, true
}

type countingRetryer struct {
	aws.RetryerV2
	metrics *Metrics
}

func (c *countingRetryer) RetryDelay(attempt int, err error) (time.Duration, error) {
	code := "other"
	var api smithy.APIError
	if errors.As(err, &api) {
		code = api.ErrorCode()
	}
	c.metrics.retry(code)
	return c.RetryerV2.RetryDelay(attempt, err)
}
