// Package server runs one environment of a synthesized cloud assembly on
// this machine: it loads the stack's model, gives its keys local values,
// seeds the shared key store, starts the authorizer Lambda under the
// Runtime Interface Emulator and serves the stage over HTTP (and, when
// asked, a control plane over the same store on a second address).
package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/keygate/keygate/internal/apimodel"
	"github.com/keygate/keygate/internal/apistore"
	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gobuild"
	"github.com/keygate/keygate/internal/local/accesslog"
	"github.com/keygate/keygate/internal/local/gateway"
	"github.com/keygate/keygate/internal/local/localkeys"
	"github.com/keygate/keygate/internal/local/rie"
	"github.com/keygate/keygate/internal/local/tokenauth"
)

// AuthorizerPackage is the Go package of the authorizer function, built for
// this host to run under the emulator.
const AuthorizerPackage = "./lambda/authorizer"

// Options say what to serve and where.
type Options struct {
	// AssemblyDir is the cloud assembly (cdk.out).
	AssemblyDir string
	// Env is the environment name; the stack is keygate-<Env>.
	Env string
	// Addr is the gateway's listen address (127.0.0.1:8787; port 0 picks one).
	Addr string
	// KeysFile optionally gives key values, {"<key name>": "<value>"}.
	KeysFile string
	// ModuleDir is the keygate module, where the authorizer is built from.
	ModuleDir string
	// LambdaURLs forward Lambda proxy routes (see gateway.Options).
	LambdaURLs map[string]string
	// ControlAddr and Controls start a control plane over the same store;
	// both must be set for it to run.
	ControlAddr string
	Controls    func(*apistore.Store) http.Handler
	// Store replaces the fresh store Start would make (tests use one with a
	// fake clock).
	Store *apistore.Store
	// Now is the gateway's clock (see gateway.Options).
	Now func() time.Time
	// EmulatorInstances is the authorizer emulator pool size (default 2).
	EmulatorInstances int
	// Console receives notices while serving, such as an authorizer
	// emulator restarted (os.Stderr when nil).
	Console io.Writer
}

// Server is a running local gateway.
type Server struct {
	// URL is the stage's base URL, http://<addr>/<stage>.
	URL string
	// ControlURL is the control plane's base URL, "" without one.
	ControlURL string
	// API is the served model; Store the keys and plans it reads.
	API   *apimodel.API
	Store *apistore.Store
	// KeysFile is where generated key values are kept.
	KeysFile string
	// AccessLogFile and AuthorizerLogFile are the log files.
	AccessLogFile, AuthorizerLogFile string

	authorizer *rie.Function
	servers    []*http.Server
	accessLog  *accesslog.File
	authLog    *os.File
	serveErr   chan error
	// handlers counts requests being served, for Close.
	handlers sync.WaitGroup
}

// Start loads, prepares and starts serving; it returns once listening.
func Start(ctx context.Context, opts Options) (_ *Server, err error) {
	stack := config.Environment{Name: opts.Env}.StackName()
	api, err := apimodel.Load(opts.AssemblyDir, stack)
	if err != nil {
		return nil, err
	}
	localDir := filepath.Join(opts.AssemblyDir, "local")
	if err := os.MkdirAll(localDir, 0o700); err != nil {
		return nil, err
	}
	s := &Server{
		API:               api,
		KeysFile:          filepath.Join(localDir, opts.Env+".keys.json"),
		AccessLogFile:     filepath.Join(localDir, opts.Env+".access.log"),
		AuthorizerLogFile: filepath.Join(localDir, opts.Env+".authorizer.log"),
		serveErr:          make(chan error, 2),
	}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	values, err := localkeys.Resolve(api, opts.KeysFile, s.KeysFile)
	if err != nil {
		return nil, err
	}
	s.Store = opts.Store
	if s.Store == nil {
		s.Store = apistore.New()
	}
	if _, err := localkeys.Seed(s.Store, api, values); err != nil {
		return nil, err
	}

	invokers := map[string]tokenauth.Invoker{}
	if used := usedAuthorizers(api); len(used) > 0 {
		if len(used) > 1 {
			return nil, fmt.Errorf("stack %s has %d authorizers in use; the local gateway runs one", stack, len(used))
		}
		bootstrap, err := authorizerBinary(opts.ModuleDir, localDir, used[0])
		if err != nil {
			return nil, err
		}
		emulator, err := rie.Locate(opts.ModuleDir)
		if err != nil {
			return nil, err
		}
		console := opts.Console
		if console == nil {
			console = os.Stderr
		}
		s.authLog, err = os.OpenFile(s.AuthorizerLogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, err
		}
		s.authorizer, err = rie.Start(ctx, rie.Options{
			Emulator:  emulator,
			Bootstrap: bootstrap,
			Instances: opts.EmulatorInstances,
			Output:    s.authLog,
			Console:   console,
			Env:       []string{"AWS_LAMBDA_FUNCTION_NAME=" + stack + "-authorizer", "AWS_REGION=" + api.Region},
		})
		if err != nil {
			return nil, err
		}
		invokers[used[0].LogicalID] = s.authorizer.Invoke
	}

	s.accessLog, err = accesslog.Open(s.AccessLogFile)
	if err != nil {
		return nil, err
	}
	gw, err := gateway.New(gateway.Options{
		API:         api,
		Store:       s.Store,
		Authorizers: invokers,
		Now:         opts.Now,
		AccessLog:   s.accessLog.Write,
		LambdaURLs:  opts.LambdaURLs,
	})
	if err != nil {
		return nil, err
	}
	addr, err := s.listen(opts.Addr, gw)
	if err != nil {
		return nil, err
	}
	s.URL = "http://" + addr + "/" + api.Stage.Name
	if opts.ControlAddr != "" && opts.Controls != nil {
		controlAddr, err := s.listen(opts.ControlAddr, opts.Controls(s.Store))
		if err != nil {
			return nil, fmt.Errorf("control plane: %w", err)
		}
		s.ControlURL = "http://" + controlAddr
	}
	return s, nil
}

func (s *Server) listen(addr string, h http.Handler) (string, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", listenError(err)
	}
	counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.handlers.Add(1)
		defer s.handlers.Done()
		h.ServeHTTP(w, r)
	})
	srv := &http.Server{Handler: counted, ReadHeaderTimeout: 10 * time.Second}
	s.servers = append(s.servers, srv)
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.serveErr <- err
		}
	}()
	return l.Addr().String(), nil
}

// listenError explains a failed listen; only an address in use gets the
// hint about another keygate local.
func listenError(err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("%w (is another keygate local running? choose another address with ADDR=host:port)", err)
	}
	return fmt.Errorf("%w (choose another address with ADDR=host:port)", err)
}

// Wait blocks until ctx ends, a server fails or the authorizer's emulator
// cannot be restarted.
func (s *Server) Wait(ctx context.Context) error {
	var authorizerFailed <-chan error
	if s.authorizer != nil {
		authorizerFailed = s.authorizer.Failed()
	}
	select {
	case <-ctx.Done():
		return nil
	case err := <-s.serveErr:
		return err
	case err := <-authorizerFailed:
		return err
	}
}

// Close stops serving (letting requests in flight finish for up to 3 s),
// stops the authorizer and flushes the logs.
func (s *Server) Close() error {
	var errs []error
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	for _, srv := range s.servers {
		if err := srv.Shutdown(ctx); err != nil {
			srv.Close()
		}
	}
	// http.Server.Close does not wait for handlers: those still running
	// (their requests now canceled) finish, and write their access log
	// line, before the log is closed under them.
	handlersDone := make(chan struct{})
	go func() { s.handlers.Wait(); close(handlersDone) }()
	select {
	case <-handlersDone:
	case <-time.After(5 * time.Second):
		errs = append(errs, errors.New("requests still running 5 s after the listeners closed"))
	}
	if s.authorizer != nil {
		errs = append(errs, s.authorizer.Close())
	}
	if s.accessLog != nil {
		errs = append(errs, s.accessLog.Close())
	}
	if s.authLog != nil {
		errs = append(errs, s.authLog.Close())
	}
	return errors.Join(errs...)
}

// AuthorizerInvocations counts the authorizer function's invocations.
func (s *Server) AuthorizerInvocations() int64 {
	if s.authorizer == nil {
		return 0
	}
	return s.authorizer.Invocations()
}

func usedAuthorizers(api *apimodel.API) []*apimodel.Authorizer {
	var out []*apimodel.Authorizer
	for _, m := range api.Methods() {
		if m.Authorizer != nil && !contains(out, m.Authorizer) {
			out = append(out, m.Authorizer)
		}
	}
	return out
}

func contains(list []*apimodel.Authorizer, a *apimodel.Authorizer) bool {
	for _, e := range list {
		if e == a {
			return true
		}
	}
	return false
}

// authorizerBinary builds the authorizer for this host, once per asset: the
// cloud assembly's function code is built for Lambda (linux/arm64), which
// this machine may not run. Before the host build, the function is built as
// it is deployed and compared byte for byte with the assembly's bootstrap
// (the build is reproducible), so the binary that runs locally comes from
// the same source as the one that would be deployed; the asset hash then
// names the host build for later starts.
func authorizerBinary(moduleDir, localDir string, a *apimodel.Authorizer) (string, error) {
	if a.AssetHash == "" || a.AssetDir == "" {
		return "", fmt.Errorf("authorizer %s: its function %s has no code asset in the cloud assembly", a.Name, a.FunctionLogicalID)
	}
	dir := filepath.Join(localDir, "authorizer-"+a.AssetHash[:16]+"-"+runtime.GOOS+"-"+runtime.GOARCH)
	bootstrap := filepath.Join(dir, "bootstrap")
	if _, err := os.Stat(bootstrap); err == nil {
		return bootstrap, nil
	}
	deployedBinary, err := os.ReadFile(filepath.Join(a.AssetDir, "bootstrap"))
	if err != nil {
		return "", fmt.Errorf("authorizer %s: %w", a.Name, err)
	}
	tmp, err := os.MkdirTemp(localDir, ".authorizer-build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	deployed := gobuild.Target{ModuleDir: moduleDir, Package: AuthorizerPackage, GOARCH: "arm64"}
	if err := deployed.Build(tmp); err != nil {
		return "", err
	}
	rebuilt, err := os.ReadFile(filepath.Join(tmp, "bootstrap"))
	if err != nil {
		return "", err
	}
	if !bytes.Equal(rebuilt, deployedBinary) {
		return "", fmt.Errorf("the authorizer's source (or the Go toolchain) has changed since %s was synthesized (%s is not what %s builds to now): run make synth, or make local, which does",
			filepath.Dir(localDir), filepath.Join(filepath.Base(a.AssetDir), "bootstrap"), AuthorizerPackage)
	}
	host := gobuild.Target{ModuleDir: moduleDir, Package: AuthorizerPackage, GOARCH: runtime.GOARCH, GOOS: runtime.GOOS}
	if err := host.Build(tmp); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		// Another keygate local built it meanwhile.
		if _, statErr := os.Stat(bootstrap); statErr != nil {
			return "", err
		}
	}
	// Builds for assets this assembly no longer has are dead weight.
	old, _ := filepath.Glob(filepath.Join(localDir, "authorizer-*"))
	for _, o := range old {
		if o != dir {
			os.RemoveAll(o)
		}
	}
	return bootstrap, nil
}
