package local

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/keygate/keygate/test/synth"
)

// emulators are the aws-lambda-rie children of pid, read from /proc: their
// invocation addresses and process ids.
func emulators(t *testing.T, pid int) (addrs []string, pids []int) {
	t.Helper()
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, stat := range stats {
		data, err := os.ReadFile(stat)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		text := string(data)
		fields := strings.Fields(text[strings.LastIndexByte(text, ')')+1:])
		if len(fields) < 2 || fields[1] != strconv.Itoa(pid) {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join(filepath.Dir(stat), "cmdline"))
		args := strings.Split(string(cmdline), "\x00")
		for i, a := range args {
			if a == "--runtime-interface-emulator-address" && i+1 < len(args) {
				addrs = append(addrs, args[i+1])
				child, _ := strconv.Atoi(filepath.Base(filepath.Dir(stat)))
				pids = append(pids, child)
			}
		}
	}
	return addrs, pids
}

// waitClosed waits until nothing listens on addr (bounded, so that a
// failure ends the test instead of hanging it).
func waitClosed(t *testing.T, addr string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			return
		}
		conn.Close()
	}
	t.Errorf("an emulator still listens on %s after keygate local ended", addr)
}

// smallAssembly synthesizes one small environment, "small" (stage s, one
// mock route, one key "k"), once per test process, and builds keygate.
func smallAssembly(t *testing.T) (binary, dir string) {
	t.Helper()
	small.mu.Lock()
	defer small.mu.Unlock()
	if small.dir != "" {
		return keygateBinary(t), small.dir
	}
	dir = filepath.Join(shared.dir, "small", "cdk.out")
	context := synth.CDKJSONContext(t)
	context["keygate"] = map[string]any{"environments": map[string]any{"small": map[string]any{
		"stageName":  "s",
		"throttle":   map[string]any{"rateLimit": 100, "burstLimit": 100},
		"logging":    map[string]any{"level": "INFO", "dataTrace": false, "retentionDays": 7, "removalPolicy": "destroy"},
		"usagePlans": []any{map[string]any{"name": "p", "throttle": map[string]any{"rateLimit": 100, "burstLimit": 100}}},
		"apiKeys":    []any{map[string]any{"name": "k", "plan": "p"}},
		"routes":     []any{map[string]any{"path": "/health", "methods": []any{"GET"}, "integration": map[string]any{"type": "mock", "statusCode": 200, "body": `{"status":"ok"}`}}},
	}}}
	synth.Synthesize(t, dir, context, synth.Checks{})
	small.dir = dir
	return keygateBinary(t), dir
}

// small is the assembly smallAssembly synthesized; a failed synth leaves
// it empty for the next caller to try again.
var small struct {
	mu  sync.Mutex
	dir string
}

// TestNoEmulatorOutlivesKeygateLocal kills keygate local with SIGKILL (no
// chance to clean up) and stops another with SIGHUP (a closed terminal):
// either way no authorizer emulator is left listening.
func TestNoEmulatorOutlivesKeygateLocal(t *testing.T) {
	binary, dir := smallAssembly(t)
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd, _, _ := startLocal(t, binary, dir, "small")
			addrs, _ := emulators(t, cmd.Process.Pid)
			if len(addrs) == 0 {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatal("found no emulator child of keygate local")
			}
			cmd.Process.Signal(sig)
			err := cmd.Wait()
			if sig == syscall.SIGHUP && err != nil {
				t.Errorf("keygate local did not stop cleanly on SIGHUP: %v", err)
			}
			for _, addr := range addrs {
				waitClosed(t, addr)
			}
		})
	}
}

// TestKilledEmulatorsAreRestarted kills every authorizer emulator of a
// running keygate local with SIGKILL: it says so on the console, restarts
// them, and the first request with a key (an invocation: nothing is cached
// yet) is answered 200, not 500.
func TestKilledEmulatorsAreRestarted(t *testing.T) {
	binary, dir := smallAssembly(t)
	cmd := exec.Command(binary, "local", "-env", "small", "-addr", "127.0.0.1:0", "-control-addr", "", "-assembly", dir)
	cmd.Dir = synth.ModuleDir
	stdout, _ := cmd.StdoutPipe()
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer stopLocal(t, cmd)
	var url string
	lines := bufio.NewScanner(stdout)
	for url == "" && lines.Scan() {
		url, _ = strings.CutPrefix(lines.Text(), "keygate local: small listening on ")
	}
	go io.Copy(io.Discard, stdout)
	if url == "" {
		t.Fatalf("keygate local did not start: %s", stderr.String())
	}
	_, pids := emulators(t, cmd.Process.Pid)
	if len(pids) == 0 {
		t.Fatal("found no emulator child of keygate local")
	}
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	var keys map[string]string
	data, _ := os.ReadFile(filepath.Join(dir, "local", "small.keys.json"))
	json.Unmarshal(data, &keys)
	c := client{t: t, base: url}
	if r := c.do("GET", "/health", "", bearer(keys["k"])...); r.status != 200 {
		t.Errorf("after the emulators were killed: %d %s", r.status, r.body)
	}
	console := stderr.String()
	if !strings.Contains(console, "exited unexpectedly (signal: killed)") || !strings.Contains(console, "is running again") {
		t.Errorf("console: %s", console)
	}
	if keys["k"] == "" || strings.Contains(console, keys["k"]) {
		t.Error("no key value, or the console shows it")
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }
