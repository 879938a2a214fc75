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
	// Console receives one line whenever an emulator exits unexpectedly,
	// is restarted or cannot be (nil: dropped). No payload or token ever
	// goes there.
	Console io.Writer
	// Env is added to the function's environment (AWS_LAMBDA_FUNCTION_NAME…).
	Env []string
	// Timeout bounds one invocation (default 10 s, API Gateway's limit for
	// an authorizer), waiting for a restarting emulator included.
	Timeout time.Duration
	// After is the clock of the restart backoff (time.After when nil).
	After func(time.Duration) <-chan time.Time
}

// Restart backoff: a dead emulator is restarted after MinBackoff, doubling
// with each start in a row that fails, up to MaxBackoff; after
// MaxFailedStarts failed starts in a row the function is given up (Failed).
const (
	MinBackoff      = 100 * time.Millisecond
	MaxBackoff      = 5 * time.Second
	MaxFailedStarts = 5
)

// Function is a running function.
type Function struct {
	opts        Options
	output      io.Writer
	pool        chan *instance
	instances   []*instance
	client      *http.Client
	timeout     time.Duration
	invocations atomic.Int64
	closing     chan struct{}
	closeOnce   sync.Once
	supervisors sync.WaitGroup
	failed      chan error
}

// instance is one slot of the pool; its process is replaced when it dies.
type instance struct {
	index int
	mu    sync.Mutex
	proc  *process
	// replaced is closed (and renewed) each time proc is replaced.
	replaced chan struct{}
}

type process struct {
	url    string
	cmd    *exec.Cmd
	exited chan struct{}
}

func (inst *instance) current() (*process, chan struct{}) {
	inst.mu.Lock()
	defer inst.mu.Unlock()
	return inst.proc, inst.replaced
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
	if opts.Console == nil {
		opts.Console = io.Discard
	}
	if opts.After == nil {
		opts.After = time.After
	}
	f := &Function{
		opts:    opts,
		output:  processOutput(opts.Output),
		pool:    make(chan *instance, n),
		client:  &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}},
		timeout: timeout,
		closing: make(chan struct{}),
		failed:  make(chan error, 1),
	}
	for i := range n {
		p, err := f.startProcess()
		if err != nil {
			f.Close()
			return nil, err
		}
		f.instances = append(f.instances, &instance{index: i + 1, proc: p, replaced: make(chan struct{})})
	}
	for _, inst := range f.instances {
		if err := inst.proc.waitReady(ctx); err != nil {
			f.Close()
			return nil, err
		}
	}
	for _, inst := range f.instances {
		f.supervisors.Add(1)
		go f.supervise(inst)
		f.pool <- inst
	}
	return f, nil
}

// processOutput is what the emulators write to. A file is handed to them
// as it is: with a pipe, exec's Wait would also wait for the function (the
// emulator's child, which inherits it) to close it, and a killed emulator
// would be noticed only WaitDelay later. Another writer gets one lock for
// all instances (exec copies each pipe from its own goroutine).
func processOutput(w io.Writer) io.Writer {
	switch w := w.(type) {
	case nil:
		return nil // /dev/null
	case *os.File:
		return w
	default:
		return &lockedWriter{w: w}
	}
}

func (f *Function) startProcess() (*process, error) {
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
	cmd := exec.Command(f.opts.Emulator, "--runtime-interface-emulator-address", address, "--runtime-api-address", runtimeAPI, f.opts.Bootstrap)
	cmd.Env = append(cmd.Environ(), f.opts.Env...)
	cmd.Stdout, cmd.Stderr = f.output, f.output
	// The emulator dies with keygate local, however that ends (SIGKILL
	// included), where the platform allows it (sysproc_*.go).
	cmd.SysProcAttr = dieWithParent()
	// On SIGTERM the emulator stops the function (in a process group of its
	// own) and exits; WaitDelay bounds the wait for its pipes.
	cmd.WaitDelay = 3 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the Lambda Runtime Interface Emulator: %w", err)
	}
	p := &process{url: "http://" + address + "/2015-03-31/functions/function/invocations", cmd: cmd, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// supervise restarts the instance's emulator whenever it exits while the
// function is not closing, with a doubling backoff between failed starts.
func (f *Function) supervise(inst *instance) {
	defer f.supervisors.Done()
	for {
		p, _ := inst.current()
		select {
		case <-p.exited:
		case <-f.closing:
			return
		}
		if f.isClosing() {
			return
		}
		fmt.Fprintf(f.opts.Console, "keygate local: the authorizer's emulator %d exited unexpectedly (%v); restarting it\n", inst.index, p.cmd.ProcessState)
		backoff := MinBackoff
		for failures := 0; ; failures++ {
			if failures == MaxFailedStarts {
				err := fmt.Errorf("the authorizer's emulator %d could not be restarted (%d attempts in a row failed; see %s for its output)", inst.index, failures, "the authorizer log")
				fmt.Fprintf(f.opts.Console, "keygate local: %v\n", err)
				select {
				case f.failed <- err:
				default:
				}
				return
			}
			select {
			case <-f.opts.After(backoff):
			case <-f.closing:
				return
			}
			next, err := f.startProcess()
			if err == nil {
				if err = next.waitReady(context.Background()); err != nil {
					next.stop()
				}
			}
			if err != nil {
				fmt.Fprintf(f.opts.Console, "keygate local: restarting the authorizer's emulator %d failed: %v\n", inst.index, err)
				backoff = min(2*backoff, MaxBackoff)
				continue
			}
			inst.mu.Lock()
			inst.proc = next
			close(inst.replaced)
			inst.replaced = make(chan struct{})
			inst.mu.Unlock()
			if f.isClosing() {
				next.stop()
				return
			}
			fmt.Fprintf(f.opts.Console, "keygate local: the authorizer's emulator %d is running again\n", inst.index)
			break
		}
	}
}

func (f *Function) isClosing() bool {
	select {
	case <-f.closing:
		return true
	default:
		return false
	}
}

// Failed delivers an error when an emulator could not be restarted: the
// authorizer can no longer run, and the server should stop with it.
func (f *Function) Failed() <-chan error { return f.failed }

func (p *process) waitReady(ctx context.Context) error {
	host := strings.TrimPrefix(p.url, "http://")
	host, _, _ = strings.Cut(host, "/")
	deadline := time.Now().Add(15 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", host, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("the Lambda Runtime Interface Emulator exited before listening: %v", p.cmd.ProcessState)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the Lambda Runtime Interface Emulator did not listen on %s within 15 s", host)
		}
	}
}

// stop ends the process: SIGTERM, then SIGKILL after 5 s.
func (p *process) stop() error {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		select {
		case <-p.exited:
			return nil
		default:
			return err
		}
	}
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
	return nil
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
// errorType in the body: the caller reads them. An emulator being restarted
// is waited for, within the invocation's timeout.
func (f *Function) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	var inst *instance
	select {
	case inst = <-f.pool:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { f.pool <- inst }()
	f.invocations.Add(1)
	var err error
	p, replaced := inst.current()
	select {
	case <-p.exited:
		if p, err = inst.next(ctx, replaced); err != nil {
			return nil, err
		}
	default:
	}
	resp, err := f.post(ctx, p.url, payload)
	if err != nil && connectionLost(err) {
		// The emulator died (its exit may not be noticed yet) before it
		// answered: once it has exited, the restarted one gets the event.
		// An authorizer decides from the event alone, so sending it again
		// cannot decide anything twice.
		select {
		case <-p.exited:
		case <-ctx.Done():
			return nil, fmt.Errorf("invoking the function: %w", err)
		}
		if p, err = inst.next(ctx, replaced); err != nil {
			return nil, err
		}
		resp, err = f.post(ctx, p.url, payload)
	}
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

// connectionLost reports a transport error of a peer that is gone: refused,
// reset or closed before answering.
func connectionLost(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial" || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

func (f *Function) post(ctx context.Context, url string, payload []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	return f.client.Do(req)
}

// next waits for the process that replaces a dead one (replaced is the
// channel current returned with it).
func (inst *instance) next(ctx context.Context, replaced chan struct{}) (*process, error) {
	select {
	case <-replaced:
		p, _ := inst.current()
		return p, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("the authorizer's emulator %d is not running: %w", inst.index, ctx.Err())
	}
}

// Invocations counts the events sent so far.
func (f *Function) Invocations() int64 { return f.invocations.Load() }

// Close stops every emulator (and with it the function) and waits for them.
func (f *Function) Close() error {
	f.closeOnce.Do(func() { close(f.closing) })
	// No supervisor replaces a process once they have all returned.
	f.supervisors.Wait()
	var errs []error
	for _, inst := range f.instances {
		p, _ := inst.current()
		errs = append(errs, p.stop())
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
