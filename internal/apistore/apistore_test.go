package apistore

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newStore(t *testing.T, opts ...Option) (*Store, *fakeClock) {
	t.Helper()
	// A Wednesday.
	clock := &fakeClock{t: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	return New(append([]Option{WithClock(clock.Now)}, opts...)...), clock
}

func mustKey(t *testing.T, s *Store, k Key) Key {
	t.Helper()
	out, err := s.CreateKey(k)
	if err != nil {
		t.Fatalf("CreateKey(%q): %v", k.Name, err)
	}
	return out
}

func mustPlan(t *testing.T, s *Store, p Plan) Plan {
	t.Helper()
	out, err := s.CreatePlan(p)
	if err != nil {
		t.Fatalf("CreatePlan(%q): %v", p.Name, err)
	}
	return out
}

func stage(api, name string) []APIStage { return []APIStage{{APIID: api, Stage: name}} }

func TestCreateKeyGeneratesIDAndValueAndDates(t *testing.T) {
	s, clock := newStore(t)
	k := mustKey(t, s, Key{Name: "alice", Enabled: true})
	if len(k.ID) != 10 || strings.Trim(k.ID, idAlphabet) != "" {
		t.Errorf("id %q: want 10 lowercase alphanumerics", k.ID)
	}
	if len(k.Value) != GeneratedKeyValueLength || strings.Trim(k.Value, valueAlphabet) != "" {
		t.Errorf("generated value has length %d or a character outside the alphabet", len(k.Value))
	}
	if !k.CreatedDate.Equal(clock.Now()) || !k.LastUpdatedDate.Equal(clock.Now()) {
		t.Errorf("dates %v/%v, want %v", k.CreatedDate, k.LastUpdatedDate, clock.Now())
	}
	other := mustKey(t, s, Key{Name: "bob"})
	if other.ID == k.ID || other.Value == k.Value {
		t.Error("two generated keys share an id or a value")
	}
	got, ok := s.KeyByValue(k.Value)
	if !ok || got.ID != k.ID {
		t.Errorf("KeyByValue found %v, %v; want key %s", got.ID, ok, k.ID)
	}
}

func TestCreateKeyRefuses(t *testing.T) {
	s, _ := newStore(t)
	mustKey(t, s, Key{ID: "fixedid001", Name: "first", Value: strings.Repeat("a", 20)})
	for _, tc := range []struct {
		name string
		key  Key
		kind Kind
		want string
	}{
		{"short value", Key{Value: strings.Repeat("v", 19)}, BadRequest, "value: must be 20 to 128 characters, is 19"},
		{"long value", Key{Value: strings.Repeat("v", 129)}, BadRequest, "is 129"},
		{"duplicate value", Key{Value: strings.Repeat("a", 20)}, Conflict, "API Key already exists"},
		{"duplicate id", Key{ID: "fixedid001"}, Conflict, "fixedid001 already exists"},
		{"reserved tag", Key{Tags: map[string]string{"aws:x": "1"}}, BadRequest, "aws: prefix is reserved"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.CreateKey(tc.key)
			if KindOf(err) != tc.kind || !strings.Contains(fmt.Sprint(err), tc.want) {
				t.Fatalf("err = %v (kind %v), want kind %v containing %q", err, KindOf(err), tc.kind, tc.want)
			}
			if strings.Contains(err.Error(), strings.Repeat("a", 20)) {
				t.Error("the error message carries the key value")
			}
		})
	}
}

func TestKeyLimit(t *testing.T) {
	s, _ := newStore(t, WithLimits(Limits{Keys: 3, Plans: 1, PlansPerKey: 1}))
	for i := range 3 {
		mustKey(t, s, Key{Name: fmt.Sprint(i)})
	}
	_, err := s.CreateKey(Key{Name: "fourth"})
	if !errors.Is(err, ErrLimitExceeded) {
		t.Fatalf("fourth key: err = %v, want LimitExceeded", err)
	}
	if got := len(s.Keys()); got != 3 {
		t.Errorf("%d keys after a refused create, want 3", got)
	}
	if DefaultLimits.Keys != 10_000 {
		t.Errorf("default key limit %d, want API Gateway's 10,000", DefaultLimits.Keys)
	}
}

func TestUpdateKeyReindexesValueAndKeepsReadersCopies(t *testing.T) {
	s, clock := newStore(t)
	k := mustKey(t, s, Key{Name: "k", Enabled: true, Tags: map[string]string{"team": "a"}})
	before, _ := s.Key(k.ID)
	clock.Advance(time.Minute)
	newValue := strings.Repeat("n", 30)
	updated, err := s.UpdateKey(k.ID, func(k *Key) error {
		k.Enabled = false
		k.Value = newValue
		k.Tags["team"] = "b"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if updated.Enabled || !updated.LastUpdatedDate.Equal(clock.Now()) || !updated.CreatedDate.Equal(k.CreatedDate) {
		t.Errorf("updated = %+v", updated)
	}
	if before.Tags["team"] != "a" {
		t.Error("an update changed a copy handed out earlier")
	}
	if _, ok := s.KeyByValue(k.Value); ok {
		t.Error("the old value still resolves")
	}
	if got, ok := s.KeyByValue(newValue); !ok || got.ID != k.ID {
		t.Error("the new value does not resolve")
	}
	if _, err := s.UpdateKey(k.ID, func(k *Key) error { k.ID = "other"; return nil }); !errors.Is(err, ErrBadRequest) {
		t.Errorf("changing the id: err = %v", err)
	}
	if _, err := s.UpdateKey("nope", func(*Key) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown id: err = %v", err)
	}
}

func TestOneUsagePlanPerStage(t *testing.T) {
	s, _ := newStore(t)
	k := mustKey(t, s, Key{Name: "k"})
	basic := mustPlan(t, s, Plan{Name: "basic", APIStages: stage("api1", "prod")})
	pro := mustPlan(t, s, Plan{Name: "pro", APIStages: stage("api1", "prod")})
	other := mustPlan(t, s, Plan{Name: "other", APIStages: stage("api1", "dev")})

	if err := s.AttachKey(basic.ID, k.ID); err != nil {
		t.Fatal(err)
	}
	err := s.AttachKey(pro.ID, k.ID)
	var conflict *ConflictError
	if !errors.As(err, &conflict) || !errors.Is(err, ErrConflict) || KindOf(err) != Conflict {
		t.Fatalf("second plan on the same stage: err = %v, want a ConflictError", err)
	}
	if conflict.OtherPlanID != basic.ID || conflict.Stage != "prod" || !strings.Contains(err.Error(), "cannot reference multiple Usage Plans with the same API Stage: api1:prod") {
		t.Errorf("conflict = %+v / %v", conflict, err)
	}
	if err := s.AttachKey(other.ID, k.ID); err != nil {
		t.Errorf("a plan on another stage: %v", err)
	}
	if err := s.AttachKey(basic.ID, k.ID); !errors.Is(err, ErrConflict) {
		t.Errorf("attaching twice: err = %v", err)
	}
	// Adding basic's stage to other would put the key in two plans on it.
	if _, err := s.UpdatePlan(other.ID, func(p *Plan) error {
		p.APIStages = append(p.APIStages, APIStage{APIID: "api1", Stage: "prod"})
		return nil
	}); !errors.Is(err, ErrConflict) {
		t.Errorf("UpdatePlan adding a shared stage: err = %v", err)
	}
	// Moving the key: detach first, then attach, as API Gateway needs.
	if err := s.DetachKey(basic.ID, k.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.AttachKey(pro.ID, k.ID); err != nil {
		t.Errorf("after detaching: %v", err)
	}
	got, ok := s.ForStage(k.Value, "api1", "prod")
	if !ok || got.Plan == nil || got.Plan.ID != pro.ID {
		t.Errorf("ForStage = %+v, %v; want plan pro", got, ok)
	}
	if got, _ := s.ForStage(k.Value, "api1", "test"); got.Plan != nil {
		t.Errorf("a stage no plan covers resolved to plan %s", got.Plan.ID)
	}
	plans, _ := s.KeyPlans(k.ID)
	if len(plans) != 2 || plans[0].Name != "other" || plans[1].Name != "pro" {
		t.Errorf("KeyPlans = %v", plans)
	}
}

func TestDeleteKeyDropsAttachmentsAndLookups(t *testing.T) {
	s, clock := newStore(t)
	k := mustKey(t, s, Key{Name: "k"})
	p := mustPlan(t, s, Plan{Name: "p", APIStages: stage("a", "s")})
	if err := s.AttachKey(p.ID, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Consume(p.ID, k.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteKey(k.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.KeyByValue(k.Value); ok {
		t.Error("deleted key still resolves by value")
	}
	if keys, _ := s.PlanKeys(p.ID); len(keys) != 0 {
		t.Errorf("plan still lists %v", keys)
	}
	u, err := s.GetUsage(p.ID, "", clock.Now(), clock.Now())
	if err != nil || len(u.Items) != 0 {
		t.Errorf("usage of a deleted key still reported: %v", u.Items)
	}
	if err := s.DeleteKey(k.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleting twice: %v", err)
	}
}

func TestPlanValidation(t *testing.T) {
	s, _ := newStore(t)
	_, err := s.CreatePlan(Plan{
		Throttle:  &Throttle{RateLimit: -1},
		Quota:     &Quota{Limit: 5, Offset: 6, Period: "YEAR"},
		APIStages: []APIStage{{APIID: "a", Stage: "s"}, {APIID: "a", Stage: "s"}},
	})
	for _, want := range []string{"name: required", "throttle.rateLimit", "quota.period", "quota.offset", "a:s is listed twice"} {
		if !strings.Contains(fmt.Sprint(err), want) {
			t.Errorf("err = %v, want it to mention %q", err, want)
		}
	}
	if !errors.Is(err, ErrBadRequest) {
		t.Errorf("kind %v, want BadRequest", KindOf(err))
	}
}

func TestConcurrentReadersAndWriters(t *testing.T) {
	s, _ := newStore(t)
	p := mustPlan(t, s, Plan{Name: "p", APIStages: stage("a", "s"), Quota: &Quota{Limit: 1 << 40, Period: Day}})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 50 {
				k := mustKey(t, s, Key{Name: fmt.Sprintf("w%d-%d", w, i), Enabled: true})
				if err := s.AttachKey(p.ID, k.ID); err != nil {
					t.Error(err)
					return
				}
				if got, ok := s.ForStage(k.Value, "a", "s"); !ok || got.Plan == nil {
					t.Errorf("a key just attached does not resolve on the stage")
				}
				if _, err := s.Consume(p.ID, k.ID); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	keys, _ := s.PlanKeys(p.ID)
	if len(keys) != 200 {
		t.Errorf("%d keys in the plan, want 200", len(keys))
	}
}
