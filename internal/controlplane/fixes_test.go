package controlplane

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/apistore"
)

// GIVEN a key already in plan a, and a file whose first row is a new key
// for plan a and whose second row overwrites the existing key and puts it
// in plan b of the same stage (refused only when it is applied)
// WHEN it is imported with failonwarnings=true
// THEN the answer is 400 BadRequestException with the warning, and nothing
// of the file stays: no new key, the existing key keeps its name and plan.
func TestImportFailOnWarningsRollsBackChangesMadeBeforeTheFailingRow(t *testing.T) {
	store, _, srv, plans := setup(t, Limits{}, nil)
	existingValue := strings.Repeat("e", 30)
	existing, err := store.CreateKey(apistore.Key{Name: "existing", Value: existingValue, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.AttachKey(plans[0], existing.ID); err != nil {
		t.Fatal(err)
	}
	file := "name,key,enabled,usageplanIds\n" +
		"new," + strings.Repeat("n", 30) + ",true," + plans[0] + "\n" +
		"renamed," + existingValue + ",false," + plans[1] + "\n"
	resp, out := do(t, "POST", srv.URL+"/apikeys?mode=import&format=csv&failonwarnings=true", "text/csv", file)
	if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-ErrorType") != "BadRequestException"+exceptionNamespace {
		t.Fatalf("import: %d %v; want 400 BadRequestException", resp.StatusCode, out)
	}
	if msg, _ := out["message"].(string); !strings.Contains(msg, "Line 3:") || !strings.Contains(msg, "cannot reference multiple Usage Plans") {
		t.Errorf("message %q does not carry the warning", msg)
	}
	if _, ok := store.KeyByValue(strings.Repeat("n", 30)); ok || len(store.Keys()) != 1 {
		t.Errorf("the new key of line 2 stayed: %d keys", len(store.Keys()))
	}
	after, _ := store.Key(existing.ID)
	if after.Name != "existing" || !after.Enabled {
		t.Errorf("the existing key was left changed: %+v", after)
	}
	if p, _ := store.KeyPlans(existing.ID); len(p) != 1 || p[0].ID != plans[0] {
		t.Errorf("the existing key is in %v; want only plan a", p)
	}
	// Two rows of one value are a warning too, before any change.
	dup := "name,key\nx," + strings.Repeat("d", 30) + "\ny," + strings.Repeat("d", 30) + "\n"
	resp, out = do(t, "POST", srv.URL+"/apikeys?mode=import&format=csv&failonwarnings=true", "text/csv", dup)
	if resp.StatusCode != 400 || len(store.Keys()) != 1 {
		t.Errorf("duplicate values: %d %v, %d keys", resp.StatusCode, out, len(store.Keys()))
	}
}

// A duplicate value is refused with API Gateway's words, never naming the
// key that holds the value; a failure of the server itself is AWS's
// InternalFailure, not an exception API Gateway does not have.
func TestErrorsDoNotRevealOtherKeysAndUseAWSTypes(t *testing.T) {
	store, _, srv, _ := setup(t, Limits{}, nil)
	value := strings.Repeat("s", 30)
	other, _ := store.CreateKey(apistore.Key{Name: "other", Value: value})
	resp, out := do(t, "POST", srv.URL+"/apikeys", "application/json", `{"name":"mine","value":"`+value+`"}`)
	msg, _ := out["message"].(string)
	if resp.StatusCode != 409 || msg != "API Key already exists" || strings.Contains(msg, other.ID) {
		t.Errorf("duplicate value: %d %q", resp.StatusCode, msg)
	}
	rec := httptest.NewRecorder()
	writeStoreError(rec, errors.New("disk on fire"))
	if rec.Code != 500 || rec.Header().Get("X-Amzn-ErrorType") != "InternalFailure"+exceptionNamespace {
		t.Errorf("500: %d %s", rec.Code, rec.Header().Get("X-Amzn-ErrorType"))
	}
}

// GIVEN a control plane whose attachments take time, as AWS's do
// WHEN a second CreateUsagePlanKey arrives while the first holds the slot
// THEN it gets 409 concurrent modification, and the first succeeds.
func TestAttachHoldMakesParallelAttachesConflict(t *testing.T) {
	store := apistore.New()
	var plans []string
	for _, name := range []string{"a", "b"} {
		p, _ := store.CreatePlan(apistore.Plan{Name: name, APIStages: []apistore.APIStage{{APIID: "api" + name, Stage: "dev"}}})
		plans = append(plans, p.ID)
	}
	k1, _ := store.CreateKey(apistore.Key{Name: "one"})
	k2, _ := store.CreateKey(apistore.Key{Name: "two"})
	held := make(chan struct{}, 2)
	srv := httptest.NewServer(New(store, Options{Limits: Limits{SerializeUsagePlanKeys: true}, AttachHold: time.Second, AttachHook: func() { held <- struct{}{} }}))
	defer srv.Close()

	var wg sync.WaitGroup
	var first *http.Response
	wg.Add(1)
	go func() {
		defer wg.Done()
		first, _ = do(t, "POST", srv.URL+"/usageplans/"+plans[0]+"/keys", "application/json", `{"keyId":"`+k1.ID+`","keyType":"API_KEY"}`)
	}()
	<-held // the first call holds the slot now
	second, out := do(t, "POST", srv.URL+"/usageplans/"+plans[1]+"/keys", "application/json", `{"keyId":"`+k2.ID+`","keyType":"API_KEY"}`)
	wg.Wait()
	if second.StatusCode != 409 || out["message"] != ConcurrentModification {
		t.Errorf("the parallel attach: %d %v; want 409 %q", second.StatusCode, out, ConcurrentModification)
	}
	if first == nil || first.StatusCode != 201 {
		t.Errorf("the first attach: %v", first)
	}
	if p, _ := store.KeyPlans(k2.ID); len(p) != 0 {
		t.Errorf("the refused key was attached")
	}
}
