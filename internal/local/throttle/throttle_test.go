package throttle

import (
	"testing"
	"time"
)

func TestBucketsRefillAtTheRateUpToTheBurst(t *testing.T) {
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	b := New(func() time.Time { return now })
	limits := Limits{Rate: 2, Burst: 3}
	allowed := func(n int) int {
		count := 0
		for range n {
			if b.Allow("plan/key", limits) {
				count++
			}
		}
		return count
	}
	if got := allowed(10); got != 3 {
		t.Fatalf("a full bucket allowed %d of 10, want the burst of 3", got)
	}
	now = now.Add(500 * time.Millisecond) // one token at 2/s
	if got := allowed(10); got != 1 {
		t.Errorf("after 0.5 s: %d allowed, want 1", got)
	}
	now = now.Add(time.Hour) // refilled, but never beyond the burst
	if got := allowed(10); got != 3 {
		t.Errorf("after an hour: %d allowed, want 3", got)
	}
	if !b.Allow("other/key", limits) {
		t.Error("another key shares the bucket")
	}
}

func TestBucketsFollowChangedLimits(t *testing.T) {
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	b := New(func() time.Time { return now })
	b.Allow("k", Limits{Rate: 1, Burst: 1})
	if b.Allow("k", Limits{Rate: 1, Burst: 1}) {
		t.Fatal("an empty bucket allowed a request")
	}
	if !b.Allow("k", Limits{Rate: 10, Burst: 5}) {
		t.Error("new limits did not take effect")
	}
	if b.Allow("zero", Limits{Rate: 0, Burst: 0}) {
		t.Error("rate 0, burst 0 allowed a request; API Gateway blocks every request")
	}
}
