package controlplane

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/apistore"
)

func setup(t *testing.T, limits Limits, now func() time.Time) (*apistore.Store, *Server, *httptest.Server, []string) {
	t.Helper()
	store := apistore.New()
	var plans []string
	for _, name := range []string{"a", "b"} {
		p, err := store.CreatePlan(apistore.Plan{Name: name, APIStages: []apistore.APIStage{{APIID: "api", Stage: "dev"}}})
		if err != nil {
			t.Fatal(err)
		}
		plans = append(plans, p.ID)
	}
	s := New(store, Options{Limits: limits, Now: now})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return store, s, srv, plans
}

func do(t *testing.T, method, url, contentType, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	json.Unmarshal(data, &out)
	return resp, out
}

func TestImportFollowsTheFileFormat(t *testing.T) {
	store, _, srv, plans := setup(t, Limits{}, nil)
	value1 := strings.Repeat("v", 30)
	file := "Key,NAME,Enabled,usageplanIds,colour,Description\n" +
		value1 + ",first,FALSE,\"" + plans[0] + "\",blue,one\n" +
		strings.Repeat("w", 30) + ",second,,,red,\"two, with a comma\"\n"
	resp, out := do(t, "POST", srv.URL+"/apikeys?mode=import&format=csv&failonwarnings=true", "text/csv", file)
	if resp.StatusCode != 201 || len(out["ids"].([]any)) != 2 {
		t.Fatalf("import: %d %v", resp.StatusCode, out)
	}
	first, ok := store.KeyByValue(value1)
	if !ok || first.Name != "first" || first.Enabled || first.Description != "one" {
		t.Fatalf("first = %+v", first)
	}
	if p, _ := store.KeyPlans(first.ID); len(p) != 1 || p[0].ID != plans[0] {
		t.Errorf("first is in %v", p)
	}
	second, _ := store.KeyByValue(strings.Repeat("w", 30))
	if !second.Enabled || second.Description != "two, with a comma" {
		t.Errorf("second = %+v (Enabled defaults to true)", second)
	}
	// The same value again overwrites the key, keeping its id.
	resp, out = do(t, "POST", srv.URL+"/apikeys?mode=import&format=csv", "text/csv", "name,key\nrenamed,"+value1+"\n")
	again, _ := store.KeyByValue(value1)
	if resp.StatusCode != 201 || again.ID != first.ID || again.Name != "renamed" || len(store.Keys()) != 2 {
		t.Errorf("re-import: %d %v, key %+v, %d keys", resp.StatusCode, out, again, len(store.Keys()))
	}
	// failonwarnings: one bad row rolls the whole file back.
	resp, out = do(t, "POST", srv.URL+"/apikeys?mode=import&format=csv&failonwarnings=true", "text/csv",
		"name,key\nok,"+strings.Repeat("x", 30)+"\nshort,tooshort\n")
	if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-ErrorType") != "BadRequestException"+exceptionNamespace || len(store.Keys()) != 2 {
		t.Errorf("failonwarnings: %d %v, %d keys", resp.StatusCode, out, len(store.Keys()))
	}
	// Without it, the good rows are imported and the bad ones are warnings.
	resp, out = do(t, "POST", srv.URL+"/apikeys?mode=import&format=csv", "text/csv",
		"name,key\nok,"+strings.Repeat("x", 30)+"\nshort,tooshort\n")
	if resp.StatusCode != 201 || len(out["warnings"].([]any)) != 1 || !strings.HasPrefix(out["warnings"].([]any)[0].(string), "Line 3:") || len(store.Keys()) != 3 {
		t.Errorf("warnings: %d %v", resp.StatusCode, out)
	}
	resp, _ = do(t, "POST", srv.URL+"/apikeys?mode=import&format=csv", "text/csv", "name,description\nx,y\n")
	if resp.StatusCode != 400 {
		t.Errorf("a file without Key: %d", resp.StatusCode)
	}
}

func TestImportRespectsTheKeyQuota(t *testing.T) {
	store := apistore.New(apistore.WithLimits(apistore.Limits{Keys: 2, Plans: 5, PlansPerKey: 5}))
	srv := httptest.NewServer(New(store, Options{}))
	defer srv.Close()
	var file strings.Builder
	file.WriteString("name,key\n")
	for _, c := range "abc" {
		file.WriteString(string(c) + "," + strings.Repeat(string(c), 20) + "\n")
	}
	resp, out := do(t, "POST", srv.URL+"/apikeys?mode=import&format=csv", "text/csv", file.String())
	if resp.StatusCode != 429 || resp.Header.Get("X-Amzn-ErrorType") != "LimitExceededException"+exceptionNamespace || resp.Header.Get("Retry-After") != "" || len(store.Keys()) != 0 {
		t.Errorf("over the quota: %d %v %v, %d keys", resp.StatusCode, resp.Header, out, len(store.Keys()))
	}
}

func TestErrorShapes(t *testing.T) {
	frozen := time.Unix(1_700_000_000, 0)
	_, s, srv, _ := setup(t, AWSLimits, func() time.Time { return frozen })
	for i := range 5 {
		if resp, _ := do(t, "POST", srv.URL+"/apikeys", "application/json", `{"name":"k","enabled":true}`); resp.StatusCode != 201 {
			t.Fatalf("create %d: %d", i, resp.StatusCode)
		}
	}
	resp, out := do(t, "POST", srv.URL+"/apikeys", "application/json", `{"name":"k"}`)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1" || out["message"] != "Too Many Requests" ||
		!strings.HasPrefix(resp.Header.Get("X-Amzn-ErrorType"), "TooManyRequestsException:") || resp.Header.Get("X-Amzn-RequestId") == "" {
		t.Errorf("6th create: %d %v %v", resp.StatusCode, resp.Header, out)
	}
	if s.Stats.Throttled.Load() != 1 {
		t.Errorf("throttled = %d", s.Stats.Throttled.Load())
	}
	// The total budget: 40 at once, then 429 (5 creates and 1 refusal already spent 6).
	var throttledAt int
	for i := range 40 {
		if resp, _ := do(t, "GET", srv.URL+"/usageplans", "", ""); resp.StatusCode == 429 {
			throttledAt = i
			break
		}
	}
	if throttledAt != 34 {
		t.Errorf("the total limit throttled the GET at %d; want 34 (burst 40)", throttledAt)
	}

	_, _, srv2, _ := setup(t, Limits{}, nil)
	resp, out = do(t, "GET", srv2.URL+"/apikeys/nosuchkey", "", "")
	if resp.StatusCode != 404 || !strings.HasPrefix(resp.Header.Get("X-Amzn-ErrorType"), "NotFoundException:") || out["message"] == "" {
		t.Errorf("unknown key: %d %v %v", resp.StatusCode, resp.Header, out)
	}
	resp, _ = do(t, "GET", srv2.URL+"/restapis", "", "")
	if resp.StatusCode != 404 || !strings.HasPrefix(resp.Header.Get("X-Amzn-ErrorType"), "NotFoundException:") {
		t.Errorf("unserved path: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = do(t, "PUT", srv2.URL+"/tags/"+url.PathEscape("arn:aws:apigateway:us-east-1::/restapis/abc"), "application/json", `{"tags":{"a":"b"}}`)
	if resp.StatusCode != 400 {
		t.Errorf("tagging something other than a key: %d", resp.StatusCode)
	}
}

func TestListsPage(t *testing.T) {
	store, _, srv, _ := setup(t, Limits{}, nil)
	for i := range 7 {
		store.CreateKey(apistore.Key{Name: string(rune('a' + i))})
	}
	var names []string
	position := ""
	for pages := 0; pages < 10; pages++ {
		_, out := do(t, "GET", srv.URL+"/apikeys?limit=3&position="+position, "", "")
		for _, item := range out["item"].([]any) {
			m := item.(map[string]any)
			names = append(names, m["name"].(string))
			if _, hasValue := m["value"]; hasValue {
				t.Error("GetApiKeys returned a value without includeValues")
			}
		}
		p, more := out["position"].(string)
		if !more {
			break
		}
		position = p
	}
	if strings.Join(names, "") != "abcdefg" {
		t.Errorf("pages gave %v", names)
	}
}
