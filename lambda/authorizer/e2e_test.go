package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keygate/keygate/lambda/authorizer/authorize"
)

// TestBinaryUnderTheRuntimeInterfaceEmulator builds the authorizer as Lambda
// would run it (a static bootstrap, lambda.norpc) and drives it through the
// AWS Lambda Runtime Interface Emulator, the real Runtime API protocol, with
// TOKEN events as API Gateway sends them.
func TestBinaryUnderTheRuntimeInterfaceEmulator(t *testing.T) {
	bootstrap := filepath.Join(t.TempDir(), "bootstrap")
	goBuild(t, "CGO_ENABLED=0", "build", "-trimpath", "-tags", "lambda.norpc", "-o", bootstrap, ".")
	// Pinned in go.mod as a tool dependency; go tool -n builds it once and
	// names the cached binary.
	rieOutput, err := exec.Command("go", "tool", "-n", "aws-lambda-rie").Output()
	if err != nil {
		t.Fatalf("go tool -n aws-lambda-rie: %v", err)
	}
	rie := strings.TrimSpace(string(rieOutput))

	address := freeLoopbackAddress(t)
	output := &lockedBuffer{}
	ctx, stop := context.WithCancel(context.Background())
	// Its Runtime API on a free port too: the default, 127.0.0.1:9001, is
	// taken by any other emulator running at the same time (go test runs
	// packages in parallel, and the local gateway's tests start emulators).
	cmd := exec.CommandContext(ctx, rie, "--runtime-interface-emulator-address", address,
		"--runtime-api-address", freeLoopbackAddress(t), bootstrap)
	cmd.Stdout, cmd.Stderr = output, output
	// On SIGTERM the emulator kills the function's process (which it runs in
	// a process group of its own) and exits; SIGKILL would leave that
	// process behind. WaitDelay bounds the wait, then kills.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		stop()
		<-exited
	})
	url := "http://" + address + "/2015-03-31/functions/function/invocations"

	invoke := func(token, methodARN string) map[string]any {
		t.Helper()
		payload, _ := json.Marshal(events.APIGatewayCustomAuthorizerRequest{Type: "TOKEN", AuthorizationToken: token, MethodArn: methodARN})
		var response *http.Response
		var err error
		// The emulator needs a moment to listen: retry a failed connection
		// until a deadline generous enough for a loaded machine.
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			response, err = http.Post(url, "application/json", bytes.NewReader(payload))
			if err == nil || time.Now().After(deadline) {
				break
			}
			select {
			case <-exited:
				t.Fatalf("the emulator exited: %v\n%s", cmd.ProcessState, output.String())
			default:
			}
		}
		if err != nil {
			t.Fatalf("emulator never answered: %v\n%s", err, output.String())
		}
		defer response.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(response.Body).Decode(&body); err != nil {
			t.Fatalf("response is not JSON: %v", err)
		}
		return body
	}

	const methodARN = "arn:aws:execute-api:eu-west-1:123456789012:abc123def4/prod/GET/orders/42"
	allowed := invoke("Bearer "+testKey, methodARN)
	if allowed["usageIdentifierKey"] != testKey || allowed["principalId"] != authorize.Fingerprint(testKey) {
		t.Errorf("allow response: principalId %v, usage identifier key present: %v", allowed["principalId"], allowed["usageIdentifierKey"] == testKey)
	}
	var statements []events.IAMPolicyStatement
	if encoded, err := json.Marshal(at(allowed, "policyDocument", "Statement")); err != nil || json.Unmarshal(encoded, &statements) != nil {
		t.Fatalf("allow response has no policy statements: %v", at(allowed, "policyDocument"))
	}
	const stageWildcard = "arn:aws:execute-api:eu-west-1:123456789012:abc123def4/prod/*/*"
	if len(statements) != 1 || statements[0].Effect != "Allow" || fmt.Sprint(statements[0].Action) != "[execute-api:Invoke]" || fmt.Sprint(statements[0].Resource) != "["+stageWildcard+"]" {
		t.Errorf("policy statements = %+v, want one Allow of execute-api:Invoke on %s", statements, stageWildcard)
	}
	if at(allowed, "context", "keyFingerprint") != authorize.Fingerprint(testKey) {
		t.Errorf("context = %v", allowed["context"])
	}

	// Refusals: the emulator reports a handler error as HTTP 200 with errorMessage.
	for _, token := range []string{"", "Basic " + testKey, "Bearer " + testKey + " " + testKey, "Bearer tooshort"} {
		refused := invoke(token, methodARN)
		if refused["errorMessage"] != "Unauthorized" || refused["principalId"] != nil {
			t.Errorf("token of %d bytes: response %v, want errorMessage Unauthorized", len(token), refused)
		}
	}
	broken := invoke("Bearer "+testKey, "arn:aws:s3:::not-an-api")
	if broken["errorMessage"] != authorize.ErrBadEvent.Error() {
		t.Errorf("bad method ARN: %v", broken)
	}

	// The decisions are in the logs, one JSON line each, and the key is nowhere.
	var decisions []map[string]any
	deadline := time.Now().Add(5 * time.Second)
	for len(decisions) < 6 && time.Now().Before(deadline) {
		decisions = decisions[:0]
		for _, line := range strings.Split(output.String(), "\n") {
			var entry map[string]any
			if json.Unmarshal([]byte(line), &entry) == nil && entry["msg"] == "decision" {
				decisions = append(decisions, entry)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	var outcomes []string
	for _, d := range decisions {
		outcomes = append(outcomes, fmt.Sprintf("%v/%v", d["decision"], d["reason"]))
		if d["requestId"] == "" || d["requestId"] == nil {
			t.Errorf("decision without request id: %v", d)
		}
		wantFingerprint := authorize.Fingerprint(testKey) // allow, and error with a well-formed key
		if d["decision"] == authorize.Deny {
			wantFingerprint = ""
		}
		if d["fingerprint"] != wantFingerprint {
			t.Errorf("decision %v/%v: fingerprint %v, want %q", d["decision"], d["reason"], d["fingerprint"], wantFingerprint)
		}
	}
	if want := "allow/ deny/missing deny/scheme deny/extra-token deny/length error/bad-method-arn"; strings.Join(outcomes, " ") != want {
		t.Errorf("decisions = %q, want %q", strings.Join(outcomes, " "), want)
	}
	if strings.Contains(output.String(), testKey) {
		t.Error("the key appears in the function's or the emulator's output")
	}
}

func goBuild(t *testing.T, env string, args ...string) {
	t.Helper()
	cmd := exec.Command("go", args...)
	if env != "" {
		cmd.Env = append(cmd.Environ(), env)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %v: %v\n%s", args, err, out)
	}
}

func freeLoopbackAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func at(v any, keys ...string) any {
	for _, k := range keys {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}

// lockedBuffer collects the emulator's output while it is still writing.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
