package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// BenchmarkStartToFirstResponse measures what a cold start costs the
// binary itself: from exec of bootstrap to its first response, through a
// minimal Runtime API on loopback that hands out one TOKEN event (the
// emulator's own start-up would dominate the number otherwise). Run with
// make bench; it is not part of make test.
func BenchmarkStartToFirstResponse(b *testing.B) {
	bootstrap := filepath.Join(b.TempDir(), "bootstrap")
	build := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc", "-ldflags=-s -w -buildid=", "-o", bootstrap, ".")
	build.Env = append(build.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("%v\n%s", err, out)
	}
	event, _ := json.Marshal(events.APIGatewayCustomAuthorizerRequest{Type: "TOKEN", AuthorizationToken: "Bearer " + testKey, MethodArn: methodARN})

	responded := make(chan struct{}, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Lambda-Runtime-Aws-Request-Id", "bench")
		w.Header().Set("Lambda-Runtime-Deadline-Ms", "4102444800000")
		w.Write(event)
	})
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/bench/response", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
		responded <- struct{}{}
	})
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	server := &http.Server{Handler: mux}
	go server.Serve(listener)
	b.Cleanup(func() { server.Close() })

	for b.Loop() {
		cmd := exec.Command(bootstrap)
		cmd.Env = []string{"AWS_LAMBDA_RUNTIME_API=" + listener.Addr().String(), "AWS_LAMBDA_FUNCTION_NAME=bench"}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		select {
		case <-responded:
		case <-time.After(10 * time.Second):
			b.Fatal("no response within 10 s")
		}
		b.StopTimer()
		cmd.Process.Kill()
		cmd.Wait()
		select { // a second response that raced the kill
		case <-responded:
		default:
		}
		b.StartTimer()
	}
}
