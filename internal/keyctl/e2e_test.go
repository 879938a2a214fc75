package keyctl_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/keygate/keygate/internal/apistore"
	"github.com/keygate/keygate/internal/controlplane"
	"github.com/keygate/keygate/internal/keyctl"
	"github.com/keygate/keygate/internal/keyplan"
)

const (
	apiID = "abcdef1234"
	stage = "dev"
)

// env is a local API Gateway control plane with the dev environment's two
// plans, and the environment variables that point the SDK's standard
// configuration at it.
type env struct {
	store  *apistore.Store
	server *controlplane.Server
	plans  map[string]string // cdk.json plan name → id
}

func newEnv(t testing.TB, limits controlplane.Limits, opts ...func(*controlplane.Options)) *env {
	t.Helper()
	store := apistore.New()
	e := &env{store: store, plans: map[string]string{}}
	for _, name := range []string{"standard", "internal"} {
		p, err := store.CreatePlan(apistore.Plan{Name: keyctl.PlanName("dev", name), APIStages: []apistore.APIStage{{APIID: apiID, Stage: stage}}})
		if err != nil {
			t.Fatal(err)
		}
		e.plans[name] = p.ID
	}
	// Another environment's plan in the same account and region.
	if _, err := store.CreatePlan(apistore.Plan{Name: "keygate-prod-standard", APIStages: []apistore.APIStage{{APIID: "prodapi123", Stage: "prod"}}}); err != nil {
		t.Fatal(err)
	}
	o := controlplane.Options{Limits: limits}
	for _, f := range opts {
		f(&o)
	}
	e.server = controlplane.New(store, o)
	srv := httptest.NewServer(e.server)
	t.Cleanup(srv.Close)
	// The standard chain, pointed at the local control plane the way a user
	// would: the service-specific endpoint variable.
	dir := t.TempDir()
	t.Setenv("AWS_ENDPOINT_URL_API_GATEWAY", srv.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDLOCAL")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_PROFILE", "")
	return e
}

func (e *env) client(t testing.TB, pace keyctl.Pace, attempts int) *keyctl.Client {
	t.Helper()
	c, err := keyctl.NewClient(context.Background(), keyctl.ClientOptions{Env: "dev", Pace: pace, MaxAttempts: attempts})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// loseFirstResponse points the SDK at a proxy of the control plane that
// does the first request matching match but loses its answer (a 502
// reaches the client, which retries). The counter it returns counts every
// matching request, the lost one included.
func (e *env) loseFirstResponse(t testing.TB, match func(*http.Request) bool) *atomic.Int32 {
	t.Helper()
	var seen atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if match(r) && seen.Add(1) == 1 {
			e.server.ServeHTTP(httptest.NewRecorder(), r) // done, answer lost
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		e.server.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ENDPOINT_URL_API_GATEWAY", srv.URL)
	return &seen
}

// fast turns the limits off where pacing is not what a test is about.
var (
	fast     = keyctl.Pace{}
	noLimits = controlplane.Limits{SerializeUsagePlanKeys: true}
)

func rows(n int, plan func(i int) string) []keyplan.Desired {
	out := make([]keyplan.Desired, n)
	for i := range out {
		out[i] = keyplan.Desired{Name: fmt.Sprintf("customer-%05d", i), Plan: plan(i), Enabled: true, Description: fmt.Sprintf("customer %d, signed up", i), Line: i + 2}
	}
	return out
}

func alternate(i int) string {
	if i%3 == 0 {
		return "internal"
	}
	return "standard"
}

// onDataPlane checks, the way the local gateway resolves a request's key,
// that the key with this value is enabled and in this plan of the stage.
func (e *env) onDataPlane(t *testing.T, value, plan string, enabled bool) {
	t.Helper()
	sk, ok := e.store.ForStage(value, apiID, stage)
	if !ok {
		t.Fatalf("the data plane does not know the key")
	}
	if sk.Key.Enabled != enabled {
		t.Errorf("key %s enabled = %v on the data plane; want %v", sk.Key.Name, sk.Key.Enabled, enabled)
	}
	if got := ""; sk.Plan != nil {
		got = sk.Plan.ID
		if got != e.plans[plan] {
			t.Errorf("key %s is in plan %s on the data plane; want %s (%s)", sk.Key.Name, got, e.plans[plan], plan)
		}
	} else if plan != "" {
		t.Errorf("key %s is in no plan on the data plane; want %s", sk.Key.Name, plan)
	}
}

// managedKeys are the store's keys tagged for dev, by name.
func (e *env) managedKeys(t *testing.T) map[string][]apistore.Key {
	out := map[string][]apistore.Key{}
	for _, k := range e.store.Keys() {
		if k.Tags[keyplan.TagManagedBy] == keyplan.ManagedByValue && k.Tags[keyplan.TagEnv] == "dev" {
			out[k.Name] = append(out[k.Name], k)
		}
	}
	return out
}

func (e *env) assertInSync(t *testing.T, desired []keyplan.Desired) {
	t.Helper()
	keys := e.managedKeys(t)
	if len(keys) != len(desired) {
		t.Errorf("%d managed names; want %d", len(keys), len(desired))
	}
	for _, d := range desired {
		ks := keys[d.Name]
		if len(ks) != 1 {
			t.Fatalf("%d keys named %s; want exactly 1", len(ks), d.Name)
		}
		plans, _ := e.store.KeyPlans(ks[0].ID)
		if len(plans) != 1 || plans[0].ID != e.plans[d.Plan] || ks[0].Enabled != d.Enabled || ks[0].Description != d.Description {
			t.Fatalf("key %s: plans %v enabled %v description %q; want %s %v %q", d.Name, plans, ks[0].Enabled, ks[0].Description, d.Plan, d.Enabled, d.Description)
		}
	}
}

func TestSyncThousandsThenNoWritesThenUsedOnTheDataPlane(t *testing.T) {
	n := 2000
	if testing.Short() {
		n = 300
	}
	e := newEnv(t, noLimits)
	ctx := context.Background()
	desired := rows(n, alternate)
	desired[7].Enabled = false

	var out bytes.Buffer
	c := e.client(t, fast, 0)
	res, err := c.Sync(ctx, keyctl.SyncOptions{Desired: desired, Out: &out, ImportBatch: 500})
	if err != nil {
		t.Fatal(err)
	}
	if res.Plan.Count(keyplan.Create) != n || !strings.Contains(out.String(), fmt.Sprintf("%d create", n)) {
		t.Errorf("plan = %d creates; output:\n%s", res.Plan.Count(keyplan.Create), out.String())
	}
	e.assertInSync(t, desired)
	// Bulk creation went through ImportApiKeys, which also attached the keys.
	if got := e.server.Stats.Count("ImportApiKeys"); got != int64((n+499)/500) {
		t.Errorf("ImportApiKeys calls = %d", got)
	}
	if got := e.server.Stats.Count("CreateUsagePlanKey") + e.server.Stats.Count("CreateApiKey"); got != 0 {
		t.Errorf("CreateApiKey + CreateUsagePlanKey calls = %d; want 0 with import", got)
	}

	// A key works on the data plane at once, with the value show -reveal gives.
	for _, i := range []int{0, 7, n - 1} {
		family, _, err := c.Family(ctx, desired[i].Name)
		if err != nil {
			t.Fatal(err)
		}
		value, err := c.Value(ctx, family[0].ID)
		if err != nil || !keyctl.IsGeneratedValue(value) {
			t.Fatalf("value of %s: generated %v, %v", desired[i].Name, keyctl.IsGeneratedValue(value), err)
		}
		e.onDataPlane(t, value, desired[i].Plan, desired[i].Enabled)
	}

	// Every key answers requests on the local gateway at once: 200 with
	// Bearer <value> through the authorizer and the usage plan, 403 for the
	// disabled one; and resolves to its row's plan.
	url := e.localGateway(t)
	byName := map[string]keyplan.Desired{}
	for _, d := range desired {
		byName[d.Name] = d
	}
	for _, k := range e.store.Keys() {
		d := byName[k.Name]
		e.onDataPlane(t, k.Value, d.Plan, d.Enabled)
		want := 200
		if !d.Enabled {
			want = 403
		}
		if got := get(t, url, k.Value); got != want {
			t.Fatalf("GET /health with key %s: %d; want %d", k.Name, got, want)
		}
	}
	if got := get(t, url, keyctl.GenerateValue()); got != 403 {
		t.Errorf("an unknown key: %d; want 403", got)
	}

	// Second run: zero writes.
	c2 := e.client(t, fast, 0)
	out.Reset()
	res, err = c2.Sync(ctx, keyctl.SyncOptions{Desired: desired, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if w := c2.Metrics.WriteCalls(); w != 0 || len(res.Plan.Changes) != 0 || res.Plan.Unchanged != n {
		t.Errorf("second run: %d write calls, %d changes, %d unchanged; calls %v", w, len(res.Plan.Changes), res.Plan.Unchanged, c2.Metrics.Calls())
	}
	if !strings.Contains(out.String(), "no changes") {
		t.Errorf("second run output: %s", out.String())
	}
	// No key value is ever printed.
	for _, k := range e.store.Keys() {
		if strings.Contains(out.String(), k.Value) {
			t.Fatal("a key value was printed")
		}
	}
}

func TestSyncKilledAndResumedMakesNoDuplicates(t *testing.T) {
	for _, tc := range []struct {
		name     string
		noImport bool
		killAt   func(*http.Request) bool // the calls counted towards the kill
		n        int64
	}{
		// Killed after an import succeeded and before its keys were tagged:
		// the resumed run adopts them by their generated values.
		{"import, killed while tagging", false, func(r *http.Request) bool { return r.Method == "PUT" }, 40},
		// Killed between CreateApiKey and CreateUsagePlanKey calls.
		{"create, killed midway", true, func(r *http.Request) bool { return r.Method == "POST" && r.URL.Path == "/apikeys" }, 25},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, noLimits)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// Kill the run from the wire: the n-th matching call cancels the
			// run's context before it is served.
			var seen atomic.Int64
			killer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.killAt(r) && seen.Add(1) == tc.n {
					cancel()
				}
				e.server.ServeHTTP(w, r)
			})
			srv := httptest.NewServer(killer)
			defer srv.Close()
			t.Setenv("AWS_ENDPOINT_URL_API_GATEWAY", srv.URL)
			desired := rows(120, alternate)
			c := e.client(t, fast, 0)
			_, err := c.Sync(ctx, keyctl.SyncOptions{Desired: desired, NoImport: tc.noImport, ImportBatch: 100, Workers: 2})
			if err == nil {
				t.Fatal("the interrupted run succeeded; the test did not interrupt it")
			}
			if got := len(e.managedKeys(t)); got >= len(desired) {
				t.Fatalf("%d of %d keys are tagged after the kill; the run was not interrupted midway", got, len(desired))
			}

			c2 := e.client(t, fast, 0)
			res, err := c2.Sync(context.Background(), keyctl.SyncOptions{Desired: desired, NoImport: tc.noImport, ImportBatch: 100})
			if err != nil {
				t.Fatal(err)
			}
			if !tc.noImport && res.Plan.Count(keyplan.Adopt) == 0 {
				t.Errorf("resumed run adopted nothing: %+v", res.Plan.Changes[:min(5, len(res.Plan.Changes))])
			}
			e.assertInSync(t, desired)
			if got := len(e.store.Keys()); got != len(desired) {
				t.Errorf("%d keys in the account; want %d (no duplicates, no strays)", got, len(desired))
			}
			c3 := e.client(t, fast, 0)
			if _, err := c3.Sync(context.Background(), keyctl.SyncOptions{Desired: desired}); err != nil || c3.Metrics.WriteCalls() != 0 {
				t.Errorf("third run: %d writes, %v", c3.Metrics.WriteCalls(), err)
			}
		})
	}
}

func TestMoveRotateDisablePrune(t *testing.T) {
	e := newEnv(t, noLimits)
	ctx := context.Background()
	desired := rows(20, func(int) string { return "standard" })
	c := e.client(t, fast, 0)
	if _, err := c.Sync(ctx, keyctl.SyncOptions{Desired: desired}); err != nil {
		t.Fatal(err)
	}
	name := desired[3].Name
	family, _, _ := c.Family(ctx, name)
	oldValue, _ := c.Value(ctx, family[0].ID)

	// move: detach, then attach; the window is reported.
	moves, err := c.Move(ctx, name, "internal")
	if err != nil || len(moves) != 1 || moves[0].From != "standard" || moves[0].Window <= 0 {
		t.Fatalf("move = %+v, %v", moves, err)
	}
	e.onDataPlane(t, oldValue, "internal", true)

	// rotate: a new key in the same plan; the old one stays enabled.
	rotation, err := c.Rotate(ctx, name)
	rotated := rotation.Key
	if err != nil || rotated.Name != name+"~r1" || rotated.Plan() != "internal" {
		t.Fatalf("rotate = %+v, %v", rotated, err)
	}
	newValue, _ := c.Value(ctx, rotated.ID)
	e.onDataPlane(t, newValue, "internal", true)
	e.onDataPlane(t, oldValue, "internal", true)

	url := e.localGateway(t)
	if get(t, url, oldValue) != 200 || get(t, url, newValue) != 200 {
		t.Fatal("after rotate, both keys should answer 200")
	}

	// disable the old key: the new one keeps working.
	if _, err := c.SetEnabled(ctx, name, false); err != nil {
		t.Fatal(err)
	}
	e.onDataPlane(t, oldValue, "internal", false)
	e.onDataPlane(t, newValue, "internal", true)
	if got := get(t, url, oldValue); got != 403 {
		t.Errorf("the disabled key: %d; want 403", got)
	}
	if got := get(t, url, newValue); got != 200 {
		t.Errorf("the rotated key: %d; want 200", got)
	}

	// usage: the requests each key made today, per key of the row.
	today := time.Now().UTC()
	usage, err := c.Usage(ctx, name, today.AddDate(0, 0, -1), today)
	if err != nil || len(usage) != 2 {
		t.Fatalf("usage = %+v, %v", usage, err)
	}
	for _, u := range usage {
		want := int64(1) // the 200 after rotate
		if u.Key.Name == rotated.Name {
			want = 2 // and the 200 after disable
		}
		if len(u.Days) != 2 || u.Days[1].Used != want || u.Days[0].Used != 0 || !u.Days[1].Day.Equal(today.Truncate(24*time.Hour)) {
			t.Errorf("usage of %s = %+v; want %d requests today", u.Key.Name, u.Days, want)
		}
	}

	// The CSV now says internal; a sync keeps the rotation and the retired
	// key as they are.
	desired[3].Plan = "internal"
	res, err := c.Sync(ctx, keyctl.SyncOptions{Desired: desired})
	if err != nil || len(res.Plan.Changes) != 0 {
		t.Fatalf("sync after rotate: %v, %v", res.Plan.Changes, err)
	}

	// prune: rows removed from the CSV are deleted only with -prune, and a
	// CloudFormation key is never touched.
	cfn, err := e.store.CreateKey(apistore.Key{Name: "example-partner", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	e.store.SetServiceTags(cfn.ID, map[string]string{keyplan.TagCloudFormationStack: "keygate-dev-ApiKeys03ABCD-1Q2W3E"})
	e.store.AttachKey(e.plans["standard"], cfn.ID)
	if _, err := c.Sync(ctx, keyctl.SyncOptions{Prune: true}); err == nil || !strings.Contains(err.Error(), "-allow-empty") {
		t.Fatalf("an empty file with -prune: %v", err)
	}
	short := desired[:10]
	res, err = c.Sync(ctx, keyctl.SyncOptions{Desired: short})
	if err != nil || len(res.Plan.Changes) != 0 || len(res.Plan.Kept) != 10 {
		t.Fatalf("without prune: changes %v kept %d, %v", res.Plan.Changes, len(res.Plan.Kept), err)
	}
	res, err = c.Sync(ctx, keyctl.SyncOptions{Desired: short, Prune: true})
	if err != nil || res.Plan.Count(keyplan.Delete) != 10 {
		t.Fatalf("prune: %d deletes, %v", res.Plan.Count(keyplan.Delete), err)
	}
	left := e.managedKeys(t)
	// The ten rows, and row 3's rotation: a rotation belongs to its row.
	if len(left) != 11 || len(left[name+"~r1"]) != 1 || len(left[desired[15].Name]) != 0 {
		t.Errorf("after prune: %d names", len(left))
	}
	if _, err := e.store.Key(cfn.ID); err != nil {
		t.Errorf("prune deleted the CloudFormation key: %v", err)
	}
}

func TestSyncRefusesANameCloudFormationManages(t *testing.T) {
	e := newEnv(t, noLimits)
	cfn, _ := e.store.CreateKey(apistore.Key{Name: "example-partner", Enabled: true})
	e.store.SetServiceTags(cfn.ID, map[string]string{keyplan.TagCloudFormationStack: "keygate-dev-ApiKeys03ABCD-1Q2W3E"})
	e.store.AttachKey(e.plans["standard"], cfn.ID)
	before := len(e.store.Keys())

	c := e.client(t, fast, 0)
	desired := append(rows(5, alternate), keyplan.Desired{Name: "example-partner", Plan: "internal", Enabled: true, Line: 7})
	_, err := c.Sync(context.Background(), keyctl.SyncOptions{Desired: desired})
	var clash *keyplan.ClashError
	if !errors.As(err, &clash) || !strings.Contains(err.Error(), `line 7: "example-partner" is key `+cfn.ID+` of CloudFormation stack keygate-dev-ApiKeys03ABCD-1Q2W3E`) {
		t.Fatalf("err = %v", err)
	}
	if c.Metrics.WriteCalls() != 0 || len(e.store.Keys()) != before {
		t.Errorf("a refused sync wrote: %v", c.Metrics.Calls())
	}
	// A plan that would pass the account's key quota is refused before any change.
	_, err = c.Sync(context.Background(), keyctl.SyncOptions{Desired: rows(5, alternate), KeyQuota: 5})
	if err == nil || !strings.Contains(err.Error(), "the account would hold 6 API keys") || len(e.store.Keys()) != before {
		t.Errorf("over the quota: %v", err)
	}
	// A name only in cdk.json (not deployed yet) is refused too.
	_, err = c.Sync(context.Background(), keyctl.SyncOptions{Desired: rows(2, alternate), ConfigKeys: []string{"customer-00001"}})
	if !errors.As(err, &clash) {
		t.Errorf("cdk.json clash: %v", err)
	}
}

// TestPacingAndSerializationAgainstAWSLimits runs a sync through the
// CreateApiKey path against a control plane with AWS's limits on, with
// more workers than AWS would allow, and checks the server saw no 429 and
// no concurrent CreateUsagePlanKey. (It takes about six seconds: 30 keys at
// 5 per second.)
func TestPacingAndSerializationAgainstAWSLimits(t *testing.T) {
	e := newEnv(t, controlplane.AWSLimits, func(o *controlplane.Options) {
		// AWS takes time to attach; the time makes overlapping calls
		// visible to the server.
		o.AttachHook = func() { time.Sleep(5 * time.Millisecond) }
	})
	c := e.client(t, keyctl.AWSPace, 0)
	desired := rows(30, alternate)
	if _, err := c.Sync(context.Background(), keyctl.SyncOptions{Desired: desired, NoImport: true, Workers: 8}); err != nil {
		t.Fatal(err)
	}
	e.assertInSync(t, desired)
	s := &e.server.Stats
	if s.Throttled.Load() != 0 || s.AttachConflicts.Load() != 0 || s.MaxAttachInFlight.Load() != 1 {
		t.Errorf("server saw %d throttled, %d attach conflicts, %d attachments at once", s.Throttled.Load(), s.AttachConflicts.Load(), s.MaxAttachInFlight.Load())
	}
	if got := s.Count("CreateApiKey"); got != 30 {
		t.Errorf("CreateApiKey calls = %d", got)
	}
	if c.Metrics.TotalRetries() != 0 {
		t.Errorf("retries = %v", c.Metrics.Retries())
	}
}

// TestSDKSeesTypedErrors checks the control plane's error responses against
// the SDK's deserializers and the retryer's decisions.
func TestSDKSeesTypedErrors(t *testing.T) {
	frozen := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	hold := make(chan struct{})
	entered := make(chan struct{}, 1)
	e := newEnv(t, controlplane.AWSLimits, func(o *controlplane.Options) {
		o.Now = func() time.Time { return frozen } // no token ever comes back
		o.AttachHook = func() {
			select {
			case entered <- struct{}{}:
				<-hold
			default:
			}
		}
	})
	ctx := context.Background()
	c := e.client(t, fast, 1) // one attempt: see the error itself

	// 429 TooManyRequestsException with Retry-After, after 5 CreateApiKey.
	var created []string
	var tooMany *types.TooManyRequestsException
	for i := range 6 {
		k, err := c.API().CreateApiKey(ctx, keyctl.CreateInput(fmt.Sprintf("k%d", i), "dev"))
		if err == nil {
			created = append(created, aws.ToString(k.Id))
			continue
		}
		if !errors.As(err, &tooMany) || aws.ToString(tooMany.RetryAfterSeconds) != "1" {
			t.Fatalf("call %d: err = %v (%T)", i, err, err)
		}
	}
	if len(created) != 5 || tooMany == nil {
		t.Fatalf("created %d before the 429", len(created))
	}

	// 409 ConflictException for a CreateUsagePlanKey while another runs.
	done := make(chan error)
	go func() { done <- keyctl.AttachForTest(ctx, c, e.plans["standard"], created[0]) }()
	<-entered
	_, err := c.API().CreateUsagePlanKey(ctx, keyctl.AttachInput(e.plans["standard"], created[1]))
	var conflict *types.ConflictException
	if !errors.As(err, &conflict) || !strings.Contains(conflict.ErrorMessage(), "concurrent modification") {
		t.Fatalf("concurrent attach: %v (%T)", err, err)
	}
	close(hold)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := e.server.Stats.MaxAttachInFlight.Load(); got != 2 || e.server.Stats.AttachConflicts.Load() != 1 {
		t.Errorf("the server counted %d attachments at once and %d conflicts; want 2 and 1", got, e.server.Stats.AttachConflicts.Load())
	}
	if !keyctl.Retryable(err) {
		t.Error("the retryer would not retry a concurrent-modification conflict")
	}

	// 409 for a key in two plans of one stage; not retried.
	_, err = c.API().CreateUsagePlanKey(ctx, keyctl.AttachInput(e.plans["internal"], created[0]))
	if !errors.As(err, &conflict) || !strings.Contains(conflict.ErrorMessage(), "cannot reference multiple Usage Plans with the same API Stage") {
		t.Fatalf("second plan on the stage: %v (%T)", err, err)
	}
	if keyctl.Retryable(err) {
		t.Error("the retryer would retry a key in two plans of a stage")
	}
	if !keyctl.Retryable(tooMany) {
		t.Error("the retryer would not retry a 429")
	}

	// 404 NotFoundException.
	_, err = c.Value(ctx, "nosuchkey0")
	var notFound *types.NotFoundException
	if !errors.As(err, &notFound) {
		t.Errorf("unknown key: %v (%T)", err, err)
	}
}

func TestKeyLimitIsLimitExceededAndNotRetried(t *testing.T) {
	store := apistore.New(apistore.WithLimits(apistore.Limits{Keys: 3, Plans: 10, PlansPerKey: 10}))
	srv := httptest.NewServer(controlplane.New(store, controlplane.Options{}))
	defer srv.Close()
	e := newEnv(t, noLimits)
	t.Setenv("AWS_ENDPOINT_URL_API_GATEWAY", srv.URL)
	_ = e
	c, err := keyctl.NewClient(context.Background(), keyctl.ClientOptions{Env: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	var limit *types.LimitExceededException
	for i := range 4 {
		_, err = c.API().CreateApiKey(context.Background(), keyctl.CreateInput(fmt.Sprintf("k%d", i), "dev"))
	}
	if !errors.As(err, &limit) {
		t.Fatalf("4th key: %v (%T)", err, err)
	}
	if keyctl.Retryable(err) || c.Metrics.TotalRetries() != 0 {
		t.Errorf("the key quota was retried: %v", c.Metrics.Retries())
	}
}

// TestLostResponsesMakeNoDuplicates: the control plane does the first
// CreateApiKey or ImportApiKeys call of each kind and the response is lost
// (a 502 reaches the client, which retries). Keys carry values keygate
// generated, so the retry finds or overwrites the first attempt's key
// instead of making a second one.
func TestLostResponsesMakeNoDuplicates(t *testing.T) {
	for _, noImport := range []bool{true, false} {
		t.Run(fmt.Sprintf("no-import=%v", noImport), func(t *testing.T) {
			e := newEnv(t, noLimits)
			lost := e.loseFirstResponse(t, func(r *http.Request) bool { return r.Method == "POST" && r.URL.Path == "/apikeys" })
			c := e.client(t, fast, 0)
			desired := rows(12, alternate)
			if _, err := c.Sync(context.Background(), keyctl.SyncOptions{Desired: desired, NoImport: noImport, ImportBatch: 5, Workers: 1}); err != nil {
				t.Fatal(err)
			}
			if lost.Load() < 1 || c.Metrics.TotalRetries() < 1 {
				t.Fatalf("lost %d responses, %d retries: the test lost nothing", lost.Load(), c.Metrics.TotalRetries())
			}
			e.assertInSync(t, desired)
			if got := len(e.store.Keys()); got != len(desired) {
				t.Errorf("%d keys; want %d", got, len(desired))
			}
		})
	}
}
