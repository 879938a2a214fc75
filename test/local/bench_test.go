package local

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keygate/keygate/test/synth"
)

// TestLoadWithVegeta measures the local gateway as a user runs it: the
// keygate binary in a process of its own, serving a synthesized assembly,
// loaded by vegeta (pinned in go.mod as a tool) in another. It reports
// (t.Log, no assertions on time) the cold start from exec to the
// "listening" line, the cost of a first, uncached request (one authorizer
// invocation under the emulator) against a cached one, and requests per
// second with p50/p99 latency through the cached-authorizer path to a mock.
// It runs only with KEYGATE_BENCH=1 (make bench-local).
func TestLoadWithVegeta(t *testing.T) {
	if os.Getenv("KEYGATE_BENCH") == "" {
		t.Skip("set KEYGATE_BENCH=1 (make bench-local) to run the load test")
	}
	duration := envOr("KEYGATE_BENCH_DURATION", "10s")
	workers := envOr("KEYGATE_BENCH_WORKERS", "32")
	runs, _ := strconv.Atoi(envOr("KEYGATE_BENCH_COLD_RUNS", "5"))

	dir := filepath.Join(t.TempDir(), "cdk.out")
	context := synth.CDKJSONContext(t)
	// Limits far above the load, so every request takes the whole pipeline
	// to the mock instead of a 429.
	context["keygate"] = map[string]any{"environments": map[string]any{"bench": map[string]any{
		"stageName":  "bench",
		"throttle":   map[string]any{"rateLimit": 1_000_000, "burstLimit": 1_000_000},
		"logging":    map[string]any{"level": "INFO", "dataTrace": false, "retentionDays": 7, "removalPolicy": "destroy"},
		"usagePlans": []any{map[string]any{"name": "load", "throttle": map[string]any{"rateLimit": 1_000_000, "burstLimit": 1_000_000}}},
		"apiKeys":    []any{map[string]any{"name": "loader", "plan": "load"}, map[string]any{"name": "fresh", "plan": "load"}},
		"routes":     []any{map[string]any{"path": "/health", "methods": []any{"GET"}, "integration": map[string]any{"type": "mock", "statusCode": 200, "body": `{"status":"ok"}`}}},
	}}}
	synth.Synthesize(t, dir, context, synth.Checks{})
	binary := keygateBinary(t)
	vegeta, err := exec.Command("go", "tool", "-n", "vegeta").Output()
	if err != nil {
		t.Fatal(err)
	}

	// Cold start: exec → "listening" (the first run also builds the host
	// authorizer; later runs find it built, as make local does after a
	// first start).
	var colds []time.Duration
	var addr string
	var keep *exec.Cmd
	for i := range runs + 1 {
		cmd, url, elapsed := startLocal(t, binary, dir, "bench")
		if i > 0 {
			colds = append(colds, elapsed)
		} else {
			t.Logf("first start (builds the host authorizer): %v", elapsed.Round(time.Millisecond))
		}
		if i < runs {
			stopLocal(t, cmd)
			continue
		}
		keep, addr = cmd, url
	}
	defer stopLocal(t, keep)
	sort.Slice(colds, func(i, j int) bool { return colds[i] < colds[j] })
	t.Logf("cold start, exec to listening, %d runs: median %v (min %v, max %v)", len(colds), colds[len(colds)/2].Round(time.Millisecond), colds[0].Round(time.Millisecond), colds[len(colds)-1].Round(time.Millisecond))

	var keys map[string]string
	data, _ := os.ReadFile(filepath.Join(dir, "local", "bench.keys.json"))
	json.Unmarshal(data, &keys)
	target := addr + "/health"
	get := func(key string) time.Duration {
		req, _ := http.NewRequest("GET", target, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		return time.Since(start)
	}
	// The first request after the start pays the function's init under the
	// emulator (and the connection); a new token later, an invocation only.
	first := get(keys["loader"])
	uncached := get(keys["fresh"])
	var cached []time.Duration
	for range 21 {
		cached = append(cached, get(keys["fresh"]))
	}
	sort.Slice(cached, func(i, j int) bool { return cached[i] < cached[j] })
	t.Logf("first request after start: %v (function init and invocation under the emulator); a new token later: %v (one invocation); a cached token: median %v",
		first.Round(10*time.Microsecond), uncached.Round(10*time.Microsecond), cached[len(cached)/2].Round(10*time.Microsecond))

	// The baseline, in the same sitting: a bare net/http server in a
	// process of its own answering the same body, under the same load.
	baseline := exec.Command(os.Args[0], "-test.run=^TestBaselineServer$")
	baseline.Env = append(os.Environ(), "KEYGATE_BASELINE_SERVER=1")
	baseOut, _ := baseline.StdoutPipe()
	if err := baseline.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { baseline.Process.Kill(); baseline.Wait() }()
	lines := bufio.NewScanner(baseOut)
	var baseURL string
	for lines.Scan() {
		if u, ok := strings.CutPrefix(lines.Text(), "baseline listening on "); ok {
			baseURL = u
			break
		}
	}
	go io.Copy(io.Discard, baseOut)
	base := attack(t, strings.TrimSpace(string(vegeta)), baseURL+"/health", "", duration, workers)
	t.Logf("baseline, bare net/http in its own process: %.0f req/s, p50 %v, p90 %v, p99 %v", base.Throughput, base.Latencies.P50, base.Latencies.P90, base.Latencies.P99)

	r := attack(t, strings.TrimSpace(string(vegeta)), target, keys["loader"], duration, workers)
	t.Logf("vegeta, %s, %s workers, cached authorizer → mock: %d requests, %.0f req/s, success %.4f, status %v, p50 %v, p90 %v, p99 %v, max %v",
		duration, workers, r.Requests, r.Throughput, r.Success, r.StatusCodes, r.Latencies.P50, r.Latencies.P90, r.Latencies.P99, r.Latencies.Max)
	if r.Success < 1 {
		t.Errorf("not every request succeeded: %v", r.StatusCodes)
	}
}

// TestBaselineServer is the baseline's process (see TestLoadWithVegeta).
func TestBaselineServer(t *testing.T) {
	if os.Getenv("KEYGATE_BASELINE_SERVER") == "" {
		t.Skip("the baseline server of TestLoadWithVegeta")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("baseline listening on http://%s\n", l.Addr())
	http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"ok"}`))
	}))
}

type vegetaReport struct {
	Requests    int            `json:"requests"`
	Throughput  float64        `json:"throughput"`
	Success     float64        `json:"success"`
	StatusCodes map[string]int `json:"status_codes"`
	Latencies   struct {
		P50 time.Duration `json:"50th"`
		P90 time.Duration `json:"90th"`
		P99 time.Duration `json:"99th"`
		Max time.Duration `json:"max"`
	} `json:"latencies"`
}

// attack runs vegeta against url as fast as workers connections allow.
func attack(t *testing.T, vegeta, url, key, duration, workers string) vegetaReport {
	t.Helper()
	cmd := exec.Command(vegeta, "attack", "-rate=0", "-max-workers="+workers, "-duration="+duration, "-keepalive=true")
	target := "GET " + url + "\n"
	if key != "" {
		target += "Authorization: Bearer " + key + "\n"
	}
	cmd.Stdin = strings.NewReader(target)
	results, err := cmd.Output()
	if err != nil {
		t.Fatalf("vegeta attack: %v", err)
	}
	report := exec.Command(vegeta, "report", "-type=json")
	report.Stdin = bytes.NewReader(results)
	out, err := report.Output()
	if err != nil {
		t.Fatalf("vegeta report: %v", err)
	}
	var r vegetaReport
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

// startLocal runs keygate local and returns when it prints its listening
// line, with the stage URL and the time from exec.
func startLocal(t *testing.T, binary, dir, env string, args ...string) (*exec.Cmd, string, time.Duration) {
	t.Helper()
	// No control plane: its default address, 127.0.0.1:8788, would collide
	// with a keygate local running beside the tests (or another test).
	cmd := exec.Command(binary, append([]string{"local", "-env", env, "-addr", "127.0.0.1:0", "-control-addr", "", "-assembly", dir}, args...)...)
	cmd.Dir = synth.ModuleDir
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		if url, ok := strings.CutPrefix(lines.Text(), "keygate local: "+env+" listening on "); ok {
			elapsed := time.Since(start)
			go io.Copy(io.Discard, stdout)
			return cmd, url, elapsed
		}
	}
	cmd.Wait()
	t.Fatalf("keygate local exited before listening: %s", stderr.String())
	return nil, "", 0
}

func stopLocal(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("keygate local did not stop cleanly on SIGTERM: %v", err)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Error("keygate local did not stop within 10 s of SIGTERM")
	}
}
