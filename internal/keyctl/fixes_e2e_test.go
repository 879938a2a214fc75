package keyctl_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/apistore"
	"github.com/keygate/keygate/internal/keyctl"
	"github.com/keygate/keygate/internal/keyplan"
)

// GIVEN cust1 rotated once (cust1~r1)
// WHEN the rotation's own name is rotated
// THEN it is refused, naming the row to rotate, and no key is created
// (cust1~r1~r2 would be an orphan outside the family -prune deletes).
func TestRotateRefusesARotationsName(t *testing.T) {
	e := newEnv(t, noLimits)
	ctx := context.Background()
	c := e.client(t, fast, 0)
	if _, err := c.Sync(ctx, keyctl.SyncOptions{Desired: []keyplan.Desired{{Name: "cust1", Plan: "standard", Enabled: true}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Rotate(ctx, "cust1"); err != nil {
		t.Fatal(err)
	}
	before := len(e.store.Keys())
	_, err := c.Rotate(ctx, "cust1~r1")
	if err == nil || !strings.Contains(err.Error(), "cust1~r1 is rotation 1 of cust1") || !strings.Contains(err.Error(), "keygate keys rotate cust1 -env dev (it creates cust1~r2)") {
		t.Fatalf("rotate cust1~r1: %v", err)
	}
	if after := len(e.store.Keys()); after != before {
		t.Errorf("%d keys after the refused rotation; want %d", after, before)
	}
	// The row's second rotation names the key in use before it: cust1~r1.
	r, err := c.Rotate(ctx, "cust1")
	if err != nil || r.Key.Name != "cust1~r2" || r.Replaces.Name != "cust1~r1" {
		t.Fatalf("second rotation = %s replacing %s, %v", r.Key.Name, r.Replaces.Name, err)
	}
}

// GIVEN the documented flow: sync, rotate, disable the old key
// WHEN list's rows (list -csv) are written, read back and synced
// THEN the sync makes no write call, and the new key stays enabled.
func TestListCSVRoundTripAfterRotateAndDisableWritesNothing(t *testing.T) {
	e := newEnv(t, noLimits)
	ctx := context.Background()
	c := e.client(t, fast, 0)
	desired := rows(6, alternate)
	if _, err := c.Sync(ctx, keyctl.SyncOptions{Desired: desired}); err != nil {
		t.Fatal(err)
	}
	name := desired[1].Name
	r1, err := c.Rotate(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetEnabled(ctx, name, false); err != nil {
		t.Fatal(err)
	}
	// And a second rotation of another row, its first rotation retired.
	other := desired[2].Name
	c.Rotate(ctx, other)
	r2, _ := c.Rotate(ctx, other)
	c.SetEnabled(ctx, other, false)
	c.SetEnabled(ctx, keyplan.RotatedName(other, 1), false)

	keys, err := c.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var actual []keyplan.Actual
	for _, k := range keys {
		actual = append(actual, k.Actual)
	}
	var file bytes.Buffer
	if err := keyplan.FormatCSV(&file, keyplan.FamilyRows("dev", actual)); err != nil {
		t.Fatal(err)
	}
	back, err := keyplan.ParseCSV(&file, []string{"internal", "standard"})
	if err != nil {
		t.Fatal(err)
	}
	fresh := e.client(t, fast, 0)
	res, err := fresh.Sync(ctx, keyctl.SyncOptions{Desired: back, Prune: true})
	if err != nil || len(res.Plan.Changes) != 0 || fresh.Metrics.WriteCalls() != 0 {
		t.Fatalf("sync of list -csv: changes %v, %d writes, %v", res.Plan.Changes, fresh.Metrics.WriteCalls(), err)
	}
	for _, id := range []string{r1.Key.ID, r2.Key.ID} {
		if k, _ := e.store.Key(id); !k.Enabled {
			t.Errorf("the key in use %s was disabled", k.Name)
		}
	}
}

// GIVEN a CreateUsagePlanKey that API Gateway applied but whose response
// was lost (the SDK retries it)
// WHEN the retry gets 409 "already in usage plan"
// THEN the attach succeeds: the key is in the plan, as asked.
func TestAttachAfterALostResponseSucceeds(t *testing.T) {
	e := newEnv(t, noLimits)
	lost := e.loseFirstResponse(t, func(r *http.Request) bool { return r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/keys") })
	c := e.client(t, fast, 0)
	desired := rows(3, alternate)
	if _, err := c.Sync(context.Background(), keyctl.SyncOptions{Desired: desired, NoImport: true, Workers: 1}); err != nil {
		t.Fatalf("sync with a lost attach response: %v", err)
	}
	if lost.Load() < 2 {
		t.Fatal("no attach response was lost: the test tested nothing")
	}
	e.assertInSync(t, desired)

	// A 409 that is not about this plan still fails: the key goes into the
	// other plan of its stage.
	id := e.managedKeys(t)[desired[0].Name][0].ID
	otherPlan := map[string]string{"standard": "internal", "internal": "standard"}[desired[0].Plan]
	err := keyctl.AttachForTest(context.Background(), c, e.plans[otherPlan], id)
	if err == nil || !strings.Contains(err.Error(), "cannot reference multiple Usage Plans") {
		t.Errorf("a key into a second plan of its stage: %v", err)
	}
}

// Two plans named keygate-dev-standard (an old stack's, left behind):
// every command refuses, naming both, instead of picking one.
func TestDuplicatePlanNamesAreRefused(t *testing.T) {
	e := newEnv(t, noLimits)
	old, err := e.store.CreatePlan(apistore.Plan{Name: keyctl.PlanName("dev", "standard"), APIStages: []apistore.APIStage{{APIID: "oldapi0001", Stage: "dev"}}})
	if err != nil {
		t.Fatal(err)
	}
	c := e.client(t, fast, 0)
	_, err = c.Sync(context.Background(), keyctl.SyncOptions{Desired: rows(2, alternate)})
	if err == nil || !strings.Contains(err.Error(), "keygate-dev-standard: ") || !strings.Contains(err.Error(), old.ID) || !strings.Contains(err.Error(), e.plans["standard"]) {
		t.Fatalf("sync with two plans of one name: %v", err)
	}
	if len(e.store.Keys()) != 0 {
		t.Errorf("keys were created")
	}
	if _, err := c.List(context.Background()); err == nil {
		t.Errorf("list with two plans of one name: no error")
	}
}

// -prune deletes at most MaxDelete keys (default 10) unless told more; the
// refusal comes before any change and names the count and the flag.
func TestPruneRefusesAMassDeletion(t *testing.T) {
	e := newEnv(t, noLimits)
	ctx := context.Background()
	c := e.client(t, fast, 0)
	desired := rows(30, alternate)
	if _, err := c.Sync(ctx, keyctl.SyncOptions{Desired: desired}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	_, err := c.Sync(ctx, keyctl.SyncOptions{Desired: desired[:5], Prune: true, Out: &out})
	if err == nil || !strings.Contains(err.Error(), "the plan deletes 25 keys (of 30 keygate keys manages in keygate-dev, all listed above), more than -max-delete 10 allows") || !strings.Contains(err.Error(), "-max-delete 25") {
		t.Fatalf("mass prune: %v", err)
	}
	if n := len(e.managedKeys(t)); n != 30 {
		t.Fatalf("%d keys left after the refusal; want 30", n)
	}
	if got := strings.Count(out.String(), "  delete "); got != 25 {
		t.Errorf("the plan lists %d deletes; want all 25:\n%s", got, out.String())
	}
	if _, err := c.Sync(ctx, keyctl.SyncOptions{Desired: desired[:5], Prune: true, MaxDelete: 25}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.managedKeys(t)); n != 5 {
		t.Errorf("%d keys after -max-delete 25; want 5", n)
	}
}
