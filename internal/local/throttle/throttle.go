// Package throttle holds the local gateway's token buckets: one per usage
// plan and API key (and per method where a plan sets method limits), one
// per stage method. API Gateway "throttles requests to your API using the
// token bucket algorithm, where a token counts for a request"
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html);
// golang.org/x/time/rate is that algorithm.
package throttle

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limits is a bucket's refill rate (requests per second) and size.
type Limits struct {
	Rate  float64
	Burst int
}

// Buckets are token buckets by key, created on first use. A bucket whose
// limits change (a plan updated through the control plane) starts afresh
// with the new limits. Safe for concurrent use; Allow takes no lock held
// across anything but a map lookup.
type Buckets struct {
	now func() time.Time
	m   sync.Map // key → *bucket
}

type bucket struct {
	limits  Limits
	limiter *rate.Limiter
}

// New returns empty buckets reading the time from now (time.Now when nil).
func New(now func() time.Time) *Buckets {
	if now == nil {
		now = time.Now
	}
	return &Buckets{now: now}
}

// Allow takes a token from the bucket of key with these limits, reporting
// false when the bucket is empty (API Gateway's 429 THROTTLED).
func (b *Buckets) Allow(key string, limits Limits) bool {
	v, ok := b.m.Load(key)
	if !ok || v.(*bucket).limits != limits {
		fresh := &bucket{limits: limits, limiter: rate.NewLimiter(rate.Limit(limits.Rate), limits.Burst)}
		if !ok {
			v, _ = b.m.LoadOrStore(key, fresh)
		} else {
			b.m.Store(key, fresh)
			v = fresh
		}
	}
	return v.(*bucket).limiter.AllowN(b.now(), 1)
}
