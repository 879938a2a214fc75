package keyctl

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
)

type zeroBackoff struct{}

func (zeroBackoff) BackoffDelay(int, error) (time.Duration, error) { return 0, nil }

type fixedBackoff time.Duration

func (f fixedBackoff) BackoffDelay(int, error) (time.Duration, error) { return time.Duration(f), nil }

func TestBackoffHonoursRetryAfter(t *testing.T) {
	tooMany := &types.TooManyRequestsException{Message: aws.String("Too Many Requests"), RetryAfterSeconds: aws.String("3")}
	if d, _ := (retryAfterBackoff{zeroBackoff{}}).BackoffDelay(1, tooMany); d < 3*time.Second {
		t.Errorf("delay %s; want at least Retry-After (3s)", d)
	}
	// A longer backoff wins over a shorter Retry-After.
	if d, _ := (retryAfterBackoff{fixedBackoff(8 * time.Second)}).BackoffDelay(4, tooMany); d != 8*time.Second {
		t.Errorf("delay %s; want the backoff's 8s", d)
	}
	// Without Retry-After, the exponential backoff alone.
	plain := &types.ConflictException{Message: aws.String(concurrentModification)}
	if d, _ := (retryAfterBackoff{fixedBackoff(time.Second)}).BackoffDelay(1, plain); d != time.Second {
		t.Errorf("delay %s", d)
	}
	// A silly Retry-After is capped.
	silly := &types.TooManyRequestsException{RetryAfterSeconds: aws.String("86400")}
	if d, _ := (retryAfterBackoff{zeroBackoff{}}).BackoffDelay(1, silly); d > time.Minute {
		t.Errorf("delay %s; want at most a minute", d)
	}
}

const concurrentModification = "Unable to complete operation due to concurrent modification. Please try again later."

func TestWhatIsRetried(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&types.TooManyRequestsException{Message: aws.String("Too Many Requests")}, true},
		{&types.ConflictException{Message: aws.String(concurrentModification)}, true},
		{&types.ConflictException{Message: aws.String("Usage Plan x cannot be added because API Key y cannot reference multiple Usage Plans with the same API Stage")}, false},
		{&types.LimitExceededException{Message: aws.String("API keys: the account limit of 10000 keys is reached")}, false},
		{&types.LimitExceededException{Message: aws.String("Rate exceeded"), RetryAfterSeconds: aws.String("2")}, true},
		{&types.BadRequestException{Message: aws.String("bad")}, false},
		{&types.NotFoundException{Message: aws.String("no")}, false},
	} {
		if got := newRetryer(3, newMetrics()).IsErrorRetryable(tc.err); got != tc.want {
			t.Errorf("retry %T %q = %v; want %v", tc.err, tc.err.Error(), got, tc.want)
		}
	}
}

func TestGeneratedValues(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		v := GenerateValue()
		if !IsGeneratedValue(v) || len(v) != 44 || seen[v] {
			t.Fatalf("value of length %d, generated %v, repeated %v", len(v), IsGeneratedValue(v), seen[v])
		}
		seen[v] = true
	}
	for _, v := range []string{"", "kgk_", "kgk_short", "xyz_" + GenerateValue()[4:], GenerateValue() + "A", "kgk_" + string(make([]byte, 40))} {
		if IsGeneratedValue(v) {
			t.Errorf("IsGeneratedValue(%q) = true", v)
		}
	}
}
