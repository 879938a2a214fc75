package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/keygate/keygate/internal/gobuild"
	"github.com/keygate/keygate/internal/local/server"
)

// lambdaFlag collects -lambda 'METHOD /path=URL' mappings.
type lambdaFlag map[string]string

func (l lambdaFlag) String() string { return "" }

func (l lambdaFlag) Set(v string) error {
	route, target, ok := strings.Cut(v, "=")
	if !ok || !strings.Contains(route, "/") || target == "" {
		return fmt.Errorf("want 'METHOD /resource/path=URL' or '/resource/path=URL', got %q", v)
	}
	l[strings.TrimSpace(route)] = strings.TrimSpace(target)
	return nil
}

func runLocal(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("keygate local", flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := fs.String("env", "dev", "environment to serve (stack keygate-<env>)")
	addr := fs.String("addr", "127.0.0.1:8787", "address to listen on")
	keys := fs.String("keys", "", `JSON file of key values, {"<key name>": "<value>"}; other keys get generated values`)
	assembly := fs.String("assembly", "cdk.out", "the synthesized cloud assembly")
	controlAddr := fs.String("control-addr", envOr("CONTROL_ADDR", defaultControlAddr), "address of the local control plane (API keys, usage plans, usage, tags; default $CONTROL_ADDR, else "+defaultControlAddr+"); empty: none")
	hold := fs.String("attach-hold", envOr("KEYGATE_ATTACH_HOLD", defaultAttachHold.String()), "time each CreateUsagePlanKey holds the control plane's attachment slot, as on AWS (concurrent ones get 409; default $KEYGATE_ATTACH_HOLD, else "+defaultAttachHold.String()+")")
	lambdas := lambdaFlag{}
	fs.Var(lambdas, "lambda", "forward a Lambda proxy route to a local URL: 'METHOD /resource/path=URL' (repeatable)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: keygate local [flags]\n\nServes one environment of the synthesized cloud assembly on this machine: the bearer\nauthorizer (the real Lambda under the Runtime Interface Emulator), usage plans and keys,\nthrottling, quotas, integrations, gateway responses and the access log.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "keygate local: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if d, err := parseAttachHold(*hold); err != nil {
		fmt.Fprintf(stderr, "keygate local: %v\n", err)
		return 2
	} else {
		attachHold = d
	}
	moduleDir, err := gobuild.FindModuleRoot(".")
	if err != nil {
		fmt.Fprintf(stderr, "keygate local: %v\n", err)
		return 1
	}
	// SIGHUP too: a closed terminal must stop the emulators with keygate.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	started := time.Now()
	srv, err := server.Start(ctx, server.Options{
		AssemblyDir: *assembly,
		Env:         *env,
		Addr:        *addr,
		KeysFile:    *keys,
		ModuleDir:   moduleDir,
		LambdaURLs:  lambdas,
		ControlAddr: *controlAddr,
		Controls:    newControlPlane,
	})
	if err != nil {
		fmt.Fprintf(stderr, "keygate local: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "keygate local: %s listening on %s\n", *env, srv.URL)
	fmt.Fprintf(stdout, "keygate local: ready in %d ms; key values in %s, access log %s, authorizer log %s\n",
		time.Since(started).Milliseconds(), srv.KeysFile, srv.AccessLogFile, srv.AuthorizerLogFile)
	if srv.ControlURL != "" {
		fmt.Fprintf(stdout, "keygate local: control plane on %s\n", srv.ControlURL)
	}
	waitErr := srv.Wait(ctx)
	stop()
	closeErr := srv.Close()
	if waitErr != nil {
		fmt.Fprintf(stderr, "keygate local: %v\n", waitErr)
		return 1
	}
	if closeErr != nil {
		fmt.Fprintf(stderr, "keygate local: stopping: %v\n", closeErr)
		return 1
	}
	fmt.Fprintln(stdout, "keygate local: stopped")
	return 0
}
