// Package rie runs a Lambda function's bootstrap binary under the AWS Lambda
// Runtime Interface Emulator (pinned in go.mod as a tool) and invokes it
// through the emulator's HTTP API, the Runtime API protocol the function
// speaks in AWS. The emulator runs one invocation at a time, so Function
// keeps a small pool of emulators and hands each invocation a free one.
package rie

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Locate returns the path of the pinned aws-lambda-rie binary: `go tool -n`
// builds it once into the build cache and names it.
func Locate(moduleDir string) (string, error) {
	cmd := exec.Command("go", "tool", "-n", "aws-lambda-rie")
	cmd.Dir = moduleDir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go tool -n aws-lambda-rie (the emulator pinned in go.mod): %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// Options say what to run.
type Options struct {
	// Emulator is the aws-lambda-rie binary (see Locate).
	Emulator string
	// Bootstrap is the function's executable, built for this host.
	Bootstrap string
	// Instances is how many emulators run side by side (default 2).
	Instances int
	// Output receives the emulators' and the function's stdout and stderr.
	Output io.Writer
	// Env is added to the function's environment (AWS_LAMBDA_FUNCTION_NAME…).
	Env []string
	// Timeout bounds one invocation (default 10 s, API Gateway's limit for
	// an authorizer).
	Timeout time.Duration
}

// Function is a running function.
type Function struct {
	pool        chan *instance
	instances   []*instance
	client      *http.Client
	timeout     time.Duration
	invocations atomic.Int64
}

type instance struct {
	url    string
	cmd    *exec.Cmd
	exited chan struct{}
}

// Start starts the emulators and waits until each accepts connections.
func Start(ctx context.Context, opts Options) (*Function, error) {
	n := opts.Instances
	if n <= 0 {
		n = 2
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	output := opts.Output
	if output == nil {
		output = io.Discard
	}
	// One writer for all instances: exec copies each pipe from its own
	// goroutine.
	output = &lockedWriter{w: output}
	f := &Function{
		pool:    make(chan *instance, n),
		client:  &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}},
		timeout: timeout,
	}
	for range n {
		inst, err := startInstance(opts, output)
		if err != nil {
			f.Close()
			return nil, err
		}
		f.instances = append(f.instances, inst)
	}
	for _, inst := range f.instances {
		if err := inst.waitReady(ctx); err != nil {
			f.Close()
			return nil, err
		}
		f.pool <- inst
	}
	return f, nil
}

func startInstance(opts Options, output io.Writer) (*instance, error) {
	address, err := freeLoopbackAddress()
	if err != nil {
		return nil, err
	}
	// The Runtime API the function polls defaults to 127.0.0.1:9001 in every
	// emulator: a port of its own lets several run side by side (and beside
	// other emulators on the machine).
	runtimeAPI, err := freeLoopbackAddress()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(opts.Emulator, "--runtime-interface-emulator-address", address, "--runtime-api-address", runtimeAPI, opts.Bootstrap)
	cmd.Env = append(cmd.Environ(), opts.Env...)
	cmd.Stdout, cmd.Stderr = output, output
	// On SIGTERM the emulator stops the function (in a process group of its
	// own) and exits; WaitDelay bounds the wait for its pipes.
	cmd.WaitDelay = 3 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the Lambda Runtime Interface Emulator: %w", err)
	}
	inst := &instance{url: "http://" + address + "/2015-03-31/functions/function/invocations", cmd: cmd, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(inst.exited)
	}()
	return inst, nil
}

func (inst *instance) waitReady(ctx context.Context) error {
	host := strings.TrimPrefix(inst.url, "http://")
	host, _, _ = strings.Cut(host, "/")
	deadline := time.Now().Add(15 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", host, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-inst.exited:
			return fmt.Errorf("the Lambda Runtime Interface Emulator exited before listening: %v", inst.cmd.ProcessState)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the Lambda Runtime Interface Emulator did not listen on %s within 15 s", host)
		}
	}
}

func freeLoopbackAddress() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// Invoke sends one event and returns the function's raw response. A handler
// error comes back from the emulator as HTTP 200 with errorMessage and
// errorType in the body: the caller reads them.
func (f *Function) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var inst *instance
	select {
	case inst = <-f.pool:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { f.pool <- inst }()
	f.invocations.Add(1)
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, inst.url, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoking the function: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the emulator answered %s", resp.Status)
	}
	return body, nil
}

// Invocations counts the events sent so far.
func (f *Function) Invocations() int64 { return f.invocations.Load() }

// Close stops every emulator (and with it the function) and waits for them.
func (f *Function) Close() error {
	var errs []error
	for _, inst := range f.instances {
		if err := inst.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
			select {
			case <-inst.exited:
				continue
			default:
			}
			errs = append(errs, err)
		}
	}
	for _, inst := range f.instances {
		select {
		case <-inst.exited:
		case <-time.After(5 * time.Second):
			inst.cmd.Process.Kill()
			<-inst.exited
		}
	}
	f.instances = nil
	return errors.Join(errs...)
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
