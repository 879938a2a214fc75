// Package apistore is an in-memory, concurrency-safe model of API Gateway's
// API keys, usage plans, the attachments between them and the usage counted
// against them. It is the state the local gateway's data plane (which reads
// it on every request) and a local control plane (which changes it) share:
// a key created or disabled through one is seen by the other at once.
//
// Values handed out (Key, Plan) are copies whose maps and slices the store
// never mutates afterwards: an update replaces the stored record (copy on
// write), so readers may keep them without a lock and must not modify them.
package apistore

import (
	"crypto/rand"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/keygate/keygate/internal/bearer"
)

// Key is an API key (API Gateway's ApiKey resource).
type Key struct {
	ID          string
	Name        string
	Value       string
	Description string
	// CustomerID is the AWS Marketplace customer id; kept, never used.
	CustomerID      string
	Enabled         bool
	Tags            map[string]string
	CreatedDate     time.Time
	LastUpdatedDate time.Time
}

// Throttle is a token bucket: RateLimit requests per second on average,
// BurstLimit at once.
type Throttle struct {
	RateLimit  float64
	BurstLimit int
}

// Period is a quota's time period.
type Period string

// The periods API Gateway accepts
// (https://docs.aws.amazon.com/apigateway/latest/api/API_QuotaSettings.html).
const (
	Day   Period = "DAY"
	Week  Period = "WEEK"
	Month Period = "MONTH"
)

// Quota is a usage plan's request quota per period.
type Quota struct {
	Limit int64
	// Offset is "the number of requests subtracted from the given limit in
	// the initial time period" (API_QuotaSettings), i.e. the period in which
	// the plan was created.
	Offset int64
	Period Period
}

// APIStage is a stage a usage plan applies to.
type APIStage struct {
	APIID string
	Stage string
	// Throttle holds per-method limits keyed "<resource path>/<HTTP method>",
	// e.g. "/pets/GET", as API Gateway's ApiStage.throttle does.
	Throttle map[string]Throttle
}

// Plan is a usage plan (API Gateway's UsagePlan resource).
type Plan struct {
	ID          string
	Name        string
	Description string
	APIStages   []APIStage
	Throttle    *Throttle
	Quota       *Quota
	ProductCode string
	Tags        map[string]string
}

// Stage is the plan's entry for this API stage, if it has one.
func (p *Plan) Stage(apiID, stage string) (APIStage, bool) {
	for _, s := range p.APIStages {
		if s.APIID == apiID && s.Stage == stage {
			return s, true
		}
	}
	return APIStage{}, false
}

// Limits are the account quotas the store enforces.
type Limits struct {
	// Keys per account and region: 10,000, not adjustable ("Amazon API
	// Gateway quotas", https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html).
	Keys int
	// Plans per account and region: 300 (adjustable).
	Plans int
	// PlansPerKey: 10 (adjustable).
	PlansPerKey int
}

// DefaultLimits are API Gateway's default quotas.
var DefaultLimits = Limits{Keys: 10_000, Plans: 300, PlansPerKey: 10}

// Store holds the keys, plans, attachments and usage. The zero value is not
// usable: call New.
type Store struct {
	now    func() time.Time
	limits Limits

	mu       sync.RWMutex
	keys     map[string]*Key // by id
	byValue  map[string]*Key
	plans    map[string]*planRecord
	planKeys map[string]map[string]struct{} // plan id → key ids
	keyPlans map[string]map[string]struct{} // key id → plan ids

	usageMu sync.Mutex
	usage   map[usageID]*usage
}

type planRecord struct {
	plan    Plan
	created time.Time
}

// Option configures a Store.
type Option func(*Store)

// WithClock makes the store read the time from now (tests pass a fake).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithLimits replaces DefaultLimits.
func WithLimits(l Limits) Option { return func(s *Store) { s.limits = l } }

// New returns an empty store.
func New(opts ...Option) *Store {
	s := &Store{
		now:      time.Now,
		limits:   DefaultLimits,
		keys:     map[string]*Key{},
		byValue:  map[string]*Key{},
		plans:    map[string]*planRecord{},
		planKeys: map[string]map[string]struct{}{},
		keyPlans: map[string]map[string]struct{}{},
		usage:    map[usageID]*usage{},
	}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// Now is the store's clock, for callers that count usage with it.
func (s *Store) Now() time.Time { return s.now() }

// ---- keys

// Key value bounds: "A Key value must be between 20 and 128 characters"
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-key-file-format.html),
// the limits internal/bearer holds.
const (
	MinKeyValueLength = bearer.MinKeyLength
	MaxKeyValueLength = bearer.MaxKeyLength
	// GeneratedKeyValueLength is the length of the values API Gateway
	// generates.
	GeneratedKeyValueLength = 40
	maxNameLength           = 1024
)

// CreateKey adds a key. An empty ID or Value is generated (a 10-character id,
// a 40-character value, as API Gateway does); CreatedDate and LastUpdatedDate
// are set to now. Errors: BadRequest for an invalid field, Conflict for an id
// or value already in use ("Two API keys are identical if they have the same
// key value", api-key-file-format.html), LimitExceeded past Limits.Keys.
func (s *Store) CreateKey(k Key) (Key, error) {
	k.Tags = maps.Clone(k.Tags)
	if k.Value == "" {
		k.Value = RandomValue(GeneratedKeyValueLength)
	}
	if err := validateKey(&k); err != nil {
		return Key{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.keys) >= s.limits.Keys {
		return Key{}, errorf(LimitExceeded, "API keys: the account limit of %d keys is reached; delete unused keys first", s.limits.Keys)
	}
	if k.ID == "" {
		k.ID = s.newID(func(id string) bool { _, taken := s.keys[id]; return taken })
	} else if _, taken := s.keys[k.ID]; taken {
		return Key{}, errorf(Conflict, "API key id %s already exists", k.ID)
	}
	if _, taken := s.byValue[k.Value]; taken {
		// API Gateway's answer (serverless/serverless#6458). Never echo the
		// value, nor the other key's id: whoever guesses a value must not
		// learn whose key it is.
		return Key{}, errorf(Conflict, "API Key already exists")
	}
	now := s.now().UTC()
	k.CreatedDate, k.LastUpdatedDate = now, now
	stored := k
	s.keys[k.ID] = &stored
	s.byValue[k.Value] = &stored
	k.Tags = maps.Clone(k.Tags) // the caller's copy, not the stored map
	return k, nil
}

// Key returns the key with this id.
func (s *Store) Key(id string) (Key, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	k, ok := s.keys[id]
	if !ok {
		return Key{}, errorf(NotFound, "Invalid API Key identifier specified: %s", id)
	}
	return *k, nil
}

// KeyByValue returns the key with this value, in O(1).
func (s *Store) KeyByValue(value string) (Key, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	k, ok := s.byValue[value]
	if !ok {
		return Key{}, false
	}
	return *k, true
}

// Keys returns every key, ordered by name, then id.
func (s *Store) Keys() []Key {
	s.mu.RLock()
	out := make([]Key, 0, len(s.keys))
	for _, k := range s.keys {
		out = append(out, *k)
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b Key) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// UpdateKey applies update to a copy of the key and stores it if update
// returns nil and the result is valid. The id and CreatedDate cannot change;
// LastUpdatedDate becomes now.
func (s *Store) UpdateKey(id string, update func(*Key) error) (Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.keys[id]
	if !ok {
		return Key{}, errorf(NotFound, "Invalid API Key identifier specified: %s", id)
	}
	k := *old
	k.Tags = maps.Clone(old.Tags)
	if err := update(&k); err != nil {
		return Key{}, err
	}
	if k.ID != old.ID {
		return Key{}, errorf(BadRequest, "id: an API key's id cannot change")
	}
	k.CreatedDate = old.CreatedDate
	if err := validateKey(&k); err != nil {
		return Key{}, err
	}
	if k.Value != old.Value {
		if _, taken := s.byValue[k.Value]; taken {
			return Key{}, errorf(Conflict, "API Key already exists")
		}
	}
	k.LastUpdatedDate = s.now().UTC()
	stored := k
	delete(s.byValue, old.Value)
	s.keys[id] = &stored
	s.byValue[k.Value] = &stored
	k.Tags = maps.Clone(k.Tags)
	return k, nil
}

// DeleteKey removes a key, its plan attachments and its usage records.
func (s *Store) DeleteKey(id string) error {
	s.mu.Lock()
	k, ok := s.keys[id]
	if !ok {
		s.mu.Unlock()
		return errorf(NotFound, "Invalid API Key identifier specified: %s", id)
	}
	delete(s.keys, id)
	delete(s.byValue, k.Value)
	for planID := range s.keyPlans[id] {
		delete(s.planKeys[planID], id)
	}
	delete(s.keyPlans, id)
	s.mu.Unlock()

	s.usageMu.Lock()
	for u := range s.usage {
		if u.key == id {
			delete(s.usage, u)
		}
	}
	s.usageMu.Unlock()
	return nil
}

func validateKey(k *Key) error {
	var problems []string
	if n := len(k.Value); n < MinKeyValueLength || n > MaxKeyValueLength {
		problems = append(problems, fmt.Sprintf("value: must be %d to %d characters, is %d", MinKeyValueLength, MaxKeyValueLength, n))
	}
	if len(k.Name) > maxNameLength {
		problems = append(problems, fmt.Sprintf("name: at most %d characters", maxNameLength))
	}
	problems = append(problems, validateTags(k.Tags)...)
	if len(problems) > 0 {
		return errorf(BadRequest, "%s", strings.Join(problems, "; "))
	}
	return nil
}

// validateTags follows CreateApiKey's tags field: keys up to 128
// characters, not starting with "aws:", values up to 256 characters.
func validateTags(tags map[string]string) []string {
	var problems []string
	for _, name := range slices.Sorted(maps.Keys(tags)) {
		switch {
		case name == "" || len(name) > 128:
			problems = append(problems, fmt.Sprintf("tags: key %q must be 1 to 128 characters", name))
		case strings.HasPrefix(strings.ToLower(name), "aws:"):
			problems = append(problems, fmt.Sprintf("tags: key %q: the aws: prefix is reserved", name))
		}
		if len(tags[name]) > 256 {
			problems = append(problems, fmt.Sprintf("tags: value of %q is longer than 256 characters", name))
		}
	}
	return problems
}

// ---- plans

// CreatePlan adds a usage plan; an empty ID is generated.
func (s *Store) CreatePlan(p Plan) (Plan, error) {
	p = clonePlan(p)
	if err := validatePlan(&p); err != nil {
		return Plan{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.plans) >= s.limits.Plans {
		return Plan{}, errorf(LimitExceeded, "usage plans: the account limit of %d plans is reached", s.limits.Plans)
	}
	if p.ID == "" {
		p.ID = s.newID(func(id string) bool { _, taken := s.plans[id]; return taken })
	} else if _, taken := s.plans[p.ID]; taken {
		return Plan{}, errorf(Conflict, "usage plan id %s already exists", p.ID)
	}
	s.plans[p.ID] = &planRecord{plan: p, created: s.now().UTC()}
	return clonePlan(p), nil
}

// Plan returns the usage plan with this id.
func (s *Store) Plan(id string) (Plan, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.plans[id]
	if !ok {
		return Plan{}, errorf(NotFound, "Invalid Usage Plan ID specified: %s", id)
	}
	return r.plan, nil
}

// Plans returns every plan, ordered by name, then id.
func (s *Store) Plans() []Plan {
	s.mu.RLock()
	out := make([]Plan, 0, len(s.plans))
	for _, r := range s.plans {
		out = append(out, r.plan)
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b Plan) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// UpdatePlan applies update to a deep copy of the plan and stores it if
// update returns nil and the result is valid. A stage added to a plan whose
// keys are already in another plan for that stage is refused (Conflict), as
// attaching them would be.
func (s *Store) UpdatePlan(id string, update func(*Plan) error) (Plan, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.plans[id]
	if !ok {
		return Plan{}, errorf(NotFound, "Invalid Usage Plan ID specified: %s", id)
	}
	p := clonePlan(r.plan)
	if err := update(&p); err != nil {
		return Plan{}, err
	}
	if p.ID != id {
		return Plan{}, errorf(BadRequest, "id: a usage plan's id cannot change")
	}
	p = clonePlan(p)
	if err := validatePlan(&p); err != nil {
		return Plan{}, err
	}
	for keyID := range s.planKeys[id] {
		if err := s.stageConflict(keyID, &p); err != nil {
			return Plan{}, err
		}
	}
	s.plans[id] = &planRecord{plan: p, created: r.created}
	return clonePlan(p), nil
}

// DeletePlan removes a plan and its key attachments. Usage records stay
// until the key is deleted, as they would be reported nowhere else.
func (s *Store) DeletePlan(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.plans[id]; !ok {
		return errorf(NotFound, "Invalid Usage Plan ID specified: %s", id)
	}
	for keyID := range s.planKeys[id] {
		delete(s.keyPlans[keyID], id)
	}
	delete(s.planKeys, id)
	delete(s.plans, id)
	return nil
}

func validatePlan(p *Plan) error {
	var problems []string
	if p.Name == "" {
		problems = append(problems, "name: required")
	}
	if t := p.Throttle; t != nil {
		problems = append(problems, validateThrottle("throttle", *t)...)
	}
	if q := p.Quota; q != nil {
		switch q.Period {
		case Day, Week, Month:
		default:
			problems = append(problems, fmt.Sprintf("quota.period: must be DAY, WEEK or MONTH, is %q", q.Period))
		}
		if q.Limit < 0 {
			problems = append(problems, "quota.limit: must be >= 0")
		}
		if q.Offset < 0 || q.Offset > q.Limit {
			problems = append(problems, "quota.offset: must be between 0 and quota.limit")
		}
	}
	seen := map[[2]string]bool{}
	for i, st := range p.APIStages {
		if st.APIID == "" || st.Stage == "" {
			problems = append(problems, fmt.Sprintf("apiStages[%d]: apiId and stage are required", i))
		}
		if seen[[2]string{st.APIID, st.Stage}] {
			problems = append(problems, fmt.Sprintf("apiStages[%d]: %s:%s is listed twice", i, st.APIID, st.Stage))
		}
		seen[[2]string{st.APIID, st.Stage}] = true
		for _, m := range slices.Sorted(maps.Keys(st.Throttle)) {
			problems = append(problems, validateThrottle(fmt.Sprintf("apiStages[%d].throttle[%s]", i, m), st.Throttle[m])...)
		}
	}
	problems = append(problems, validateTags(p.Tags)...)
	if len(problems) > 0 {
		return errorf(BadRequest, "%s", strings.Join(problems, "; "))
	}
	return nil
}

func validateThrottle(field string, t Throttle) []string {
	var problems []string
	if t.RateLimit < 0 {
		problems = append(problems, field+".rateLimit: must be >= 0")
	}
	if t.BurstLimit < 0 {
		problems = append(problems, field+".burstLimit: must be >= 0")
	}
	return problems
}

// ---- attachments

// AttachKey adds the key to the plan (CreateUsagePlanKey). API Gateway lets a
// key be in only one usage plan per API stage; a second is refused with a
// ConflictError (aws/aws-cdk#11876, "cannot reference multiple Usage Plans
// with the same API Stage").
func (s *Store) AttachKey(planID, keyID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.plans[planID]
	if !ok {
		return errorf(NotFound, "Invalid Usage Plan ID specified: %s", planID)
	}
	if _, ok := s.keys[keyID]; !ok {
		return errorf(NotFound, "Invalid API Key identifier specified: %s", keyID)
	}
	if _, in := s.planKeys[planID][keyID]; in {
		return errorf(Conflict, "API key %s is already in usage plan %s", keyID, planID)
	}
	if len(s.keyPlans[keyID]) >= s.limits.PlansPerKey {
		return errorf(LimitExceeded, "API key %s is already in %d usage plans, the limit", keyID, s.limits.PlansPerKey)
	}
	if err := s.stageConflict(keyID, &r.plan); err != nil {
		return err
	}
	if s.planKeys[planID] == nil {
		s.planKeys[planID] = map[string]struct{}{}
	}
	if s.keyPlans[keyID] == nil {
		s.keyPlans[keyID] = map[string]struct{}{}
	}
	s.planKeys[planID][keyID] = struct{}{}
	s.keyPlans[keyID][planID] = struct{}{}
	return nil
}

// stageConflict reports a stage of p that keyID already reaches through
// another plan. Called with s.mu held.
func (s *Store) stageConflict(keyID string, p *Plan) error {
	for otherID := range s.keyPlans[keyID] {
		if otherID == p.ID {
			continue
		}
		other := &s.plans[otherID].plan
		for _, st := range p.APIStages {
			if _, shared := other.Stage(st.APIID, st.Stage); shared {
				return &ConflictError{KeyID: keyID, PlanID: p.ID, OtherPlanID: otherID, APIID: st.APIID, Stage: st.Stage}
			}
		}
	}
	return nil
}

// DetachKey removes the key from the plan (DeleteUsagePlanKey).
func (s *Store) DetachKey(planID, keyID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.plans[planID]; !ok {
		return errorf(NotFound, "Invalid Usage Plan ID specified: %s", planID)
	}
	if _, in := s.planKeys[planID][keyID]; !in {
		return errorf(NotFound, "Invalid API Key identifier specified: %s is not in usage plan %s", keyID, planID)
	}
	delete(s.planKeys[planID], keyID)
	delete(s.keyPlans[keyID], planID)
	return nil
}

// PlanKeys returns the keys attached to the plan, ordered by name, then id.
func (s *Store) PlanKeys(planID string) ([]Key, error) {
	s.mu.RLock()
	if _, ok := s.plans[planID]; !ok {
		s.mu.RUnlock()
		return nil, errorf(NotFound, "Invalid Usage Plan ID specified: %s", planID)
	}
	out := make([]Key, 0, len(s.planKeys[planID]))
	for id := range s.planKeys[planID] {
		out = append(out, *s.keys[id])
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b Key) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// KeyPlans returns the plans the key is attached to, ordered by name.
func (s *Store) KeyPlans(keyID string) ([]Plan, error) {
	s.mu.RLock()
	if _, ok := s.keys[keyID]; !ok {
		s.mu.RUnlock()
		return nil, errorf(NotFound, "Invalid API Key identifier specified: %s", keyID)
	}
	out := make([]Plan, 0, len(s.keyPlans[keyID]))
	for id := range s.keyPlans[keyID] {
		out = append(out, s.plans[id].plan)
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b Plan) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// StageKey is what a request's API key resolves to on one stage.
type StageKey struct {
	Key Key
	// Plan is the key's usage plan on the stage; nil when it has none.
	Plan *Plan
}

// ForStage resolves a key value on an API stage for the data plane: the key
// (ok false if no key has this value) and its one plan on that stage. One
// read lock, no copies of maps: the hot path.
func (s *Store) ForStage(value, apiID, stage string) (StageKey, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	k, ok := s.byValue[value]
	if !ok {
		return StageKey{}, false
	}
	out := StageKey{Key: *k}
	for planID := range s.keyPlans[k.ID] {
		p := &s.plans[planID].plan
		if _, on := p.Stage(apiID, stage); on {
			out.Plan = p
			break
		}
	}
	return out, true
}

// ---- helpers

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
const valueAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// newID returns a fresh 10-character id, the shape of API Gateway's ids.
func (s *Store) newID(taken func(string) bool) string {
	for {
		id := randomString(idAlphabet, 10)
		if !taken(id) {
			return id
		}
	}
}

// RandomValue returns n random alphanumeric characters from crypto/rand,
// the alphabet of the key values API Gateway generates.
func RandomValue(n int) string { return randomString(valueAlphabet, n) }

func randomString(alphabet string, n int) string {
	// Rejection sampling keeps every character equally likely.
	limit := byte(256 - 256%len(alphabet))
	out := make([]byte, 0, n)
	buf := make([]byte, n*2)
	for len(out) < n {
		rand.Read(buf)
		for _, b := range buf {
			if b < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out)
}

func clonePlan(p Plan) Plan {
	p.Tags = maps.Clone(p.Tags)
	if p.Throttle != nil {
		t := *p.Throttle
		p.Throttle = &t
	}
	if p.Quota != nil {
		q := *p.Quota
		p.Quota = &q
	}
	stages := make([]APIStage, len(p.APIStages))
	for i, st := range p.APIStages {
		st.Throttle = maps.Clone(st.Throttle)
		stages[i] = st
	}
	if p.APIStages == nil {
		stages = nil
	}
	p.APIStages = stages
	return p
}
