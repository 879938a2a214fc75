package local

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/local/server"
	"github.com/keygate/keygate/test/synth"
)

// TestShutdownWithARequestInFlight stops keygate local while an HTTP route's
// backend has not answered: the request's access log line says what
// happened — no response (status "-") — instead of a 504 nobody received,
// and it is written before the log closes.
func TestShutdownWithARequestInFlight(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
	}))
	defer backend.Close()
	defer close(release)
	dir := filepath.Join(t.TempDir(), "cdk.out")
	context := synth.CDKJSONContext(t)
	context["keygate"] = map[string]any{"environments": map[string]any{"stopping": map[string]any{
		"stageName":  "s",
		"throttle":   map[string]any{"rateLimit": 100, "burstLimit": 100},
		"logging":    map[string]any{"level": "INFO", "dataTrace": false, "retentionDays": 7, "removalPolicy": "destroy"},
		"usagePlans": []any{map[string]any{"name": "p", "throttle": map[string]any{"rateLimit": 100, "burstLimit": 100}}},
		"apiKeys":    []any{map[string]any{"name": "k", "plan": "p"}},
		"routes":     []any{map[string]any{"path": "/slow", "methods": []any{"GET"}, "integration": map[string]any{"type": "http", "url": backend.URL + "/slow"}}},
	}}}
	synth.Synthesize(t, dir, context, synth.Checks{})
	srv, err := server.Start(t.Context(), server.Options{AssemblyDir: dir, Env: "stopping", Addr: "127.0.0.1:0", ModuleDir: synth.ModuleDir, EmulatorInstances: 1})
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]string
	data, _ := os.ReadFile(srv.KeysFile)
	json.Unmarshal(data, &keys)
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest("GET", srv.URL+"/slow", nil)
		req.Header.Set("Authorization", "Bearer "+keys["k"])
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	<-entered
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil {
		t.Error("the client got a response from a stopped keygate local")
	}
	data, _ = os.ReadFile(srv.AccessLogFile)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	var line map[string]string
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &line); err != nil {
		t.Fatalf("access log %q: %v", data, err)
	}
	if line["status"] != "-" || line["errorResponseType"] != "-" || line["resourcePath"] != "/slow" {
		t.Errorf("the in-flight request is logged as %v", line)
	}
}
