// Package controlplane serves the part of API Gateway's REST control-plane
// API that `keygate keys` calls (API keys, their import, usage plans and
// their keys, usage, tags) on an apistore.Store, the state the local
// gateway's data plane reads: a key created here answers requests there at
// once.
//
// It enforces the control-plane limits AWS publishes, with the exceptions
// and headers AWS sends, so that the AWS SDK for Go v2 parses them into the
// same typed errors and retries them as it would against AWS:
//
//   - CreateApiKey and DeleteApiKey: 5 requests per second per account, not
//     adjustable; every operation together: 10 per second with a burst of 40
//     ("Amazon API Gateway quotas",
//     https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html).
//     Over it: 429 TooManyRequestsException with Retry-After.
//   - CreateUsagePlanKey: one at a time per account and region; a concurrent
//     call gets 409 ConflictException "Unable to complete operation due to
//     concurrent modification" (AWS support, quoted in serverless/serverless#12065).
//   - 10,000 API keys per account and region: LimitExceededException.
//   - A key in two usage plans of one stage: 409 ConflictException
//     (aws/aws-cdk#11876).
package controlplane

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/keygate/keygate/internal/apistore"
)

// Limits are the request limits the control plane enforces. Zero values
// turn a limit off.
type Limits struct {
	CreateAPIKeyPerSecond float64 // CreateApiKey and DeleteApiKey
	TotalPerSecond        float64 // every operation
	TotalBurst            int
	// SerializeUsagePlanKeys answers a CreateUsagePlanKey that arrives while
	// another is in progress with 409 ConflictException.
	SerializeUsagePlanKeys bool
}

// AWSLimits are API Gateway's published control-plane limits.
var AWSLimits = Limits{CreateAPIKeyPerSecond: 5, TotalPerSecond: 10, TotalBurst: 40, SerializeUsagePlanKeys: true}

// Options configure a Server.
type Options struct {
	Limits Limits
	// Region appears in the keys' ARNs (tags; API Gateway ARNs carry no
	// account). Default: us-east-1.
	Region string
	// Now is the clock the rate limits read (tests pass a fake one).
	Now func() time.Time
	// AttachHook, if set, runs while a CreateUsagePlanKey holds the
	// account's attachment slot: the time AWS takes to make the change.
	// Tests use it to hold the slot, or to learn the slot is taken, and
	// prove a concurrent call is refused.
	AttachHook func()
	// AttachHold is how long a CreateUsagePlanKey holds the account's
	// attachment slot: the time AWS takes to make the change. AWS takes
	// long enough that a client attaching keys in parallel gets 409s, so
	// `make local` holds it 100 ms by default (cmd/keygate, -attach-hold);
	// zero (unit tests) answers at once.
	AttachHold time.Duration
}

// Stats count what the server saw, for tests and benchmarks.
type Stats struct {
	Requests          atomic.Int64
	Throttled         atomic.Int64 // 429 TooManyRequestsException
	AttachConflicts   atomic.Int64 // 409 for concurrent CreateUsagePlanKey
	MaxAttachInFlight atomic.Int64 // CreateUsagePlanKey calls in progress at once, refused ones included
	ByOperation       sync.Map     // operation name → *atomic.Int64
}

// Count is the number of requests of one operation.
func (s *Stats) Count(op string) int64 {
	v, ok := s.ByOperation.Load(op)
	if !ok {
		return 0
	}
	return v.(*atomic.Int64).Load()
}

// Server is the control plane's http.Handler.
type Server struct {
	store    *apistore.Store
	opts     Options
	mux      *http.ServeMux
	create   *rate.Limiter
	total    *rate.Limiter
	attach   sync.Mutex
	inFlight atomic.Int64
	Stats    Stats
}

// New returns a control plane serving store.
func New(store *apistore.Store, opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	s := &Server{store: store, opts: opts, mux: http.NewServeMux()}
	if l := opts.Limits.CreateAPIKeyPerSecond; l > 0 {
		s.create = rate.NewLimiter(rate.Limit(l), int(math.Max(1, math.Ceil(l))))
	}
	if l := opts.Limits.TotalPerSecond; l > 0 {
		s.total = rate.NewLimiter(rate.Limit(l), max(opts.Limits.TotalBurst, 1))
	}
	s.routes()
	return s
}

func (s *Server) routes() {
	handle := func(pattern, op string, limiter *rate.Limiter, h func(http.ResponseWriter, *http.Request) error) {
		s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			s.serve(w, r, op, limiter, h)
		})
	}
	handle("POST /apikeys", "CreateApiKey", nil, s.createOrImportAPIKeys)
	handle("GET /apikeys", "GetApiKeys", nil, s.getAPIKeys)
	handle("GET /apikeys/{id}", "GetApiKey", nil, s.getAPIKey)
	handle("PATCH /apikeys/{id}", "UpdateApiKey", nil, s.updateAPIKey)
	handle("DELETE /apikeys/{id}", "DeleteApiKey", s.create, s.deleteAPIKey)
	handle("GET /usageplans", "GetUsagePlans", nil, s.getUsagePlans)
	handle("GET /usageplans/{id}", "GetUsagePlan", nil, s.getUsagePlan)
	handle("GET /usageplans/{id}/keys", "GetUsagePlanKeys", nil, s.getUsagePlanKeys)
	handle("POST /usageplans/{id}/keys", "CreateUsagePlanKey", nil, s.createUsagePlanKey)
	handle("GET /usageplans/{id}/keys/{keyId}", "GetUsagePlanKey", nil, s.getUsagePlanKey)
	handle("DELETE /usageplans/{id}/keys/{keyId}", "DeleteUsagePlanKey", nil, s.deleteUsagePlanKey)
	handle("GET /usageplans/{id}/usage", "GetUsage", nil, s.getUsage)
	handle("GET /tags/{arn}", "GetTags", nil, s.getTags)
	handle("PUT /tags/{arn}", "TagResource", nil, s.tagResource)
	handle("DELETE /tags/{arn}", "UntagResource", nil, s.untagResource)
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.Stats.Requests.Add(1)
	s.mux.ServeHTTP(&notFoundAsAWS{ResponseWriter: w}, r)
}

func (s *Server) count(op string) {
	v, _ := s.Stats.ByOperation.LoadOrStore(op, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, op string, limiter *rate.Limiter, h func(http.ResponseWriter, *http.Request) error) {
	if op == "CreateApiKey" && r.URL.Query().Get("mode") == "import" {
		op = "ImportApiKeys"
	} else if op == "CreateApiKey" {
		limiter = s.create
	}
	s.count(op)
	now := s.opts.Now()
	for _, l := range []*rate.Limiter{s.total, limiter} {
		if l == nil {
			continue
		}
		if !l.AllowN(now, 1) {
			s.Stats.Throttled.Add(1)
			// The next token arrives within 1/limit seconds; Retry-After
			// takes whole seconds (RFC 9110 §10.2.3).
			retry := max(1, int(math.Ceil(1/float64(l.Limit()))))
			w.Header().Set("Retry-After", strconv.Itoa(retry))
			writeError(w, http.StatusTooManyRequests, "TooManyRequestsException", "Too Many Requests")
			return
		}
	}
	if err := h(w, r); err != nil {
		writeStoreError(w, err)
	}
}

// exceptionNamespace is what API Gateway appends to x-amzn-ErrorType (its
// error types read "NotFoundException:http://internal.amazon.com/coral/
// com.amazonaws.backplane.controlplane/"); the SDK keeps what precedes the
// colon (restjson.SanitizeErrorCode).
const exceptionNamespace = ":http://internal.amazon.com/coral/com.amazonaws.backplane.controlplane/"

func writeError(w http.ResponseWriter, status int, exception, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", exception+exceptionNamespace)
	w.Header().Set("X-Amzn-RequestId", requestID())
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"message": message})
}

func writeStoreError(w http.ResponseWriter, err error) {
	var se *apistore.Error
	if errors.As(err, &se) {
		writeError(w, se.Kind.HTTPStatus(), se.Kind.Exception(), se.Message)
		return
	}
	var bad badRequest
	if errors.As(err, &bad) {
		writeError(w, http.StatusBadRequest, "BadRequestException", bad.Error())
		return
	}
	// AWS's common error for its own failures (CommonErrors.html:
	// InternalFailure, 500; seen from API Gateway in serverless/serverless#6690).
	writeError(w, http.StatusInternalServerError, "InternalFailure", err.Error())
}

type badRequest struct{ msg string }

func (b badRequest) Error() string { return b.msg }

func badRequestf(format string, args ...any) error { return badRequest{fmt.Sprintf(format, args...)} }

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-RequestId", requestID())
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

var requestCounter atomic.Int64

func requestID() string {
	n := requestCounter.Add(1)
	return fmt.Sprintf("00000000-0000-4000-8000-%012x", n)
}

// notFoundAsAWS turns the mux's own 404/405 into API Gateway's answer to an
// unknown path.
type notFoundAsAWS struct {
	http.ResponseWriter
	replaced bool
}

func (n *notFoundAsAWS) WriteHeader(status int) {
	if (status == http.StatusNotFound || status == http.StatusMethodNotAllowed) && n.Header().Get("X-Amzn-ErrorType") == "" && n.Header().Get("X-Amzn-RequestId") == "" {
		n.replaced = true
		writeError(n.ResponseWriter, http.StatusNotFound, "NotFoundException", "Invalid request path or method")
		return
	}
	n.ResponseWriter.WriteHeader(status)
}

func (n *notFoundAsAWS) Write(b []byte) (int, error) {
	if n.replaced {
		return len(b), nil
	}
	return n.ResponseWriter.Write(b)
}
