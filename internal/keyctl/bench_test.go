package keyctl_test

import (
	"context"
	"net/http/httptest"
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
	limits.TotalBurst = int(float64(limits.TotalBurst) * speedup) // the same seconds of burst
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

// BenchmarkSyncNoOp is the second run: KEYGATE_BENCH_KEYS keys (default
// 10,000, API Gateway's quota) already in sync, read back with API
// Gateway's limits on (10 calls per second, burst 40) and nothing to do.
func BenchmarkSyncNoOp(b *testing.B) {
	n := envInt("KEYGATE_BENCH_KEYS", 10_000)
	desired := rows(n, alternate)
	e := newEnv(b, noLimits)
	if _, err := e.client(b, fast, 0).Sync(context.Background(), keyctl.SyncOptions{Desired: desired}); err != nil {
		b.Fatal(err)
	}
	limited := controlplane.New(e.store, controlplane.Options{Limits: controlplane.AWSLimits})
	srv := httptest.NewServer(limited)
	defer srv.Close()
	b.Setenv("AWS_ENDPOINT_URL_API_GATEWAY", srv.URL)
	var calls, writes int
	for b.Loop() {
		// Runs of a tool are minutes apart, not back to back: let the
		// account's bucket (40 calls) fill up again between them.
		b.StopTimer()
		time.Sleep(4 * time.Second)
		b.StartTimer()
		c := e.client(b, keyctl.AWSPace, 0)
		res, err := c.Sync(context.Background(), keyctl.SyncOptions{Desired: desired})
		if err != nil || len(res.Plan.Changes) != 0 {
			b.Fatalf("%v, %d changes", err, len(res.Plan.Changes))
		}
		calls, writes = c.Metrics.TotalCalls(), c.Metrics.WriteCalls()
	}
	b.ReportMetric(float64(n), "keys")
	b.ReportMetric(float64(calls), "calls/op")
	b.ReportMetric(float64(writes), "writes/op")
	b.ReportMetric(float64(limited.Stats.Throttled.Load()), "throttled")
}
