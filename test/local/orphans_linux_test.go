package local

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keygate/keygate/test/synth"
)

// emulatorAddresses are the invocation addresses of the aws-lambda-rie
// children of pid, read from /proc.
func emulatorAddresses(t *testing.T, pid int) []string {
	t.Helper()
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var addrs []string
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
			}
		}
	}
	return addrs
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

// TestNoEmulatorOutlivesKeygateLocal kills keygate local with SIGKILL (no
// chance to clean up) and stops another with SIGHUP (a closed terminal):
// either way no authorizer emulator is left listening.
func TestNoEmulatorOutlivesKeygateLocal(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cdk.out")
	context := synth.CDKJSONContext(t)
	context["keygate"] = map[string]any{"environments": map[string]any{"orphans": map[string]any{
		"stageName":  "o",
		"throttle":   map[string]any{"rateLimit": 100, "burstLimit": 100},
		"logging":    map[string]any{"level": "INFO", "dataTrace": false, "retentionDays": 7, "removalPolicy": "destroy"},
		"usagePlans": []any{map[string]any{"name": "p", "throttle": map[string]any{"rateLimit": 100, "burstLimit": 100}}},
		"apiKeys":    []any{map[string]any{"name": "k", "plan": "p"}},
		"routes":     []any{map[string]any{"path": "/health", "methods": []any{"GET"}, "integration": map[string]any{"type": "mock", "statusCode": 200, "body": `{"status":"ok"}`}}},
	}}}
	synth.Synthesize(t, dir, context, synth.Checks{})
	binary := filepath.Join(t.TempDir(), "keygate")
	if out, err := exec.Command("go", "build", "-o", binary, "../../cmd/keygate").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd, _, _ := startLocal(t, binary, dir, "orphans")
			addrs := emulatorAddresses(t, cmd.Process.Pid)
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
