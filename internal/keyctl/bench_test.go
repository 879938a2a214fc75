package keyctl_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/controlplane"
	"github.com/keygate/keygate/internal/keyctl"
)

// BenchmarkSyncFromEmpty syncs KEYGATE_BENCH_KEYS keys (default 500) into an
// empty environment against the local control plane with API Gateway's
// limits on, then runs the same sync again (the no-op). The limits and the
// client's pace are both multiplied by KEYGATE_BENCH_SPEEDUP (default 10, so
// that `make bench` stays short); KEYGATE_BENCH_SPEEDUP=1 is AWS's own
// limits. KEYGATE_BENCH_NO_IMPORT=1 creates keys with CreateApiKey.
//
//	KEYGATE_BENCH_KEYS=10000 KEYGATE_BENCH_SPEEDUP=1 go test ./internal/keyctl -run '^$' -bench SyncFromEmpty -benchtime 1x -timeout 2h
func BenchmarkSyncFromEmpty(b *testing.B) {
	n := envInt("KEYGATE_BENCH_KEYS", 500)
	speedup := float64(envInt("KEYGATE_BENCH_SPEEDUP", 10))
	noImport := os.Getenv("KEYGATE_BENCH_NO_IMPORT") == "1"
	limits := controlplane.AWSLimits
	limits.CreateAPIKeyPerSecond *= speedup
	limits.TotalPerSecond *= speedup
	pace := keyctl.Pace{CreateAPIKeyPerSecond: keyctl.AWSPace.CreateAPIKeyPerSecond * speedup, TotalPerSecond: keyctl.AWSPace.TotalPerSecond * speedup}
	desired := rows(n, alternate)

	var calls, retries, noopCalls, noopWrites int
	var noop time.Duration
	var server *controlplane.Server
	for b.Loop() {
		b.StopTimer()
		e := newEnv(b, limits)
		server = e.server
		c := e.client(b, pace, 0)
		b.StartTimer()
		if _, err := c.Sync(context.Background(), keyctl.SyncOptions{Desired: desired, NoImport: noImport}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		calls, retries = c.Metrics.TotalCalls(), c.Metrics.TotalRetries()
		again := e.client(b, pace, 0)
		start := time.Now()
		if _, err := again.Sync(context.Background(), keyctl.SyncOptions{Desired: desired, NoImport: noImport}); err != nil {
			b.Fatal(err)
		}
		noop = time.Since(start)
		noopCalls, noopWrites = again.Metrics.TotalCalls(), again.Metrics.WriteCalls()
		b.StartTimer()
	}
	b.ReportMetric(float64(n), "keys")
	b.ReportMetric(float64(calls), "calls/op")
	b.ReportMetric(float64(retries), "retries/op")
	b.ReportMetric(float64(server.Stats.Throttled.Load()), "throttled/op")
	b.ReportMetric(noop.Seconds(), "noop-s")
	b.ReportMetric(float64(noopCalls), "noop-calls")
	b.ReportMetric(float64(noopWrites), "noop-writes")
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
