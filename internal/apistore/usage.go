package apistore

import (
	"maps"
	"slices"
	"time"
)

type usageID struct{ plan, key string }

// usage is one key's request count in one plan.
type usage struct {
	// period is the start of the quota period that used counts.
	period time.Time
	used   int64
	// adjust moves the period's remaining quota (UpdateUsage).
	adjust int64
	// days counts requests per UTC day (days since the Unix epoch), what
	// GetUsage reports.
	days map[int64]int64
}

// PeriodStart is the start of the quota period holding t. Periods are UTC
// calendar periods: a day from midnight, a week from Sunday midnight (the
// older API reference: "with a time period of WEEK, an offset of 0 starts on
// Sunday"), a month from its first day. API Gateway does not document where
// its windows start; these are the local gateway's choice.
func PeriodStart(p Period, t time.Time) time.Time {
	t = t.UTC()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	switch p {
	case Week:
		return day.AddDate(0, 0, -int(day.Weekday()))
	case Month:
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return day
}

// PeriodEnd is the end (exclusive) of the period starting at start.
func PeriodEnd(p Period, start time.Time) time.Time {
	switch p {
	case Week:
		return start.AddDate(0, 0, 7)
	case Month:
		return start.AddDate(0, 1, 0)
	}
	return start.AddDate(0, 0, 1)
}

func dayNumber(t time.Time) int64 {
	u := t.UTC().Unix()
	d := u / 86400
	if u < 0 && u%86400 != 0 {
		d--
	}
	return d
}

// QuotaDecision is the outcome of counting one request.
type QuotaDecision struct {
	// Allowed is false when the plan's quota for the period is used up;
	// the request was then not counted.
	Allowed bool
	// Remaining is the quota left in the period after this request, -1 for
	// a plan without a quota.
	Remaining int64
	// Reset is when the period ends (zero without a quota).
	Reset time.Time
}

// Consume counts one request by the key in the plan at the store's current
// time, unless the plan's quota for the period is used up. Requests in a plan
// without a quota are counted too (GetUsage reports them).
func (s *Store) Consume(planID, keyID string) (QuotaDecision, error) {
	s.mu.RLock()
	r, ok := s.plans[planID]
	s.mu.RUnlock()
	if !ok {
		return QuotaDecision{}, errorf(NotFound, "Invalid Usage Plan ID specified: %s", planID)
	}
	now := s.now()
	quota := r.plan.Quota

	s.usageMu.Lock()
	defer s.usageMu.Unlock()
	u := s.usageOf(planID, keyID)
	decision := QuotaDecision{Allowed: true, Remaining: -1}
	if quota != nil {
		start := PeriodStart(quota.Period, now)
		if !u.period.Equal(start) {
			u.period, u.used, u.adjust = start, 0, 0
		}
		limit := quota.Limit - u.adjust
		if start.Equal(PeriodStart(quota.Period, r.created)) {
			limit -= quota.Offset
		}
		decision.Reset = PeriodEnd(quota.Period, start)
		if u.used >= limit {
			decision.Allowed, decision.Remaining = false, 0
			return decision, nil
		}
		decision.Remaining = limit - u.used - 1
	}
	u.used++
	u.days[dayNumber(now)]++
	return decision, nil
}

// usageOf is called with usageMu held.
func (s *Store) usageOf(planID, keyID string) *usage {
	id := usageID{planID, keyID}
	u, ok := s.usage[id]
	if !ok {
		u = &usage{days: map[int64]int64{}}
		s.usage[id] = u
	}
	return u
}

// Usage is a usage plan's daily usage per key (API Gateway's Usage).
type Usage struct {
	PlanID     string
	Start, End time.Time
	// Items maps a key id to one [used, remaining] pair per day from Start
	// to End inclusive ("daily logs of used and remaining quotas",
	// https://docs.aws.amazon.com/apigateway/latest/api/API_GetUsage.html).
	// Without a quota, remaining is 0.
	Items map[string][][2]int64
}

// GetUsage reports the plan's usage between the days holding start and end,
// for keyID only if it is not empty, else for every key attached to the plan
// or with requests counted in it.
func (s *Store) GetUsage(planID, keyID string, start, end time.Time) (Usage, error) {
	first, last := dayNumber(start), dayNumber(end)
	if last < first {
		return Usage{}, errorf(BadRequest, "endDate: must not be before startDate")
	}
	s.mu.RLock()
	r, ok := s.plans[planID]
	var keyIDs []string
	if ok {
		keyIDs = slices.Collect(maps.Keys(s.planKeys[planID]))
	}
	_, keyExists := s.keys[keyID]
	s.mu.RUnlock()
	if !ok {
		return Usage{}, errorf(NotFound, "Invalid Usage Plan ID specified: %s", planID)
	}
	if keyID != "" && !keyExists {
		return Usage{}, errorf(NotFound, "Invalid API Key identifier specified: %s", keyID)
	}

	s.usageMu.Lock()
	defer s.usageMu.Unlock()
	if keyID != "" {
		keyIDs = []string{keyID}
	} else {
		for id := range s.usage {
			if id.plan == planID && !slices.Contains(keyIDs, id.key) {
				keyIDs = append(keyIDs, id.key)
			}
		}
	}
	out := Usage{PlanID: planID, Start: dayStart(first), End: dayStart(last), Items: map[string][][2]int64{}}
	for _, id := range keyIDs {
		u := s.usage[usageID{planID, id}]
		rows := make([][2]int64, 0, last-first+1)
		for d := first; d <= last; d++ {
			var used int64
			if u != nil {
				used = u.days[d]
			}
			rows = append(rows, [2]int64{used, s.remainingAt(&r.plan, r.created, u, d)})
		}
		out.Items[id] = rows
	}
	return out, nil
}

// remainingAt is the quota left at the end of day d. Called with usageMu held.
func (s *Store) remainingAt(p *Plan, created time.Time, u *usage, d int64) int64 {
	q := p.Quota
	if q == nil {
		return 0
	}
	start := PeriodStart(q.Period, dayStart(d))
	left := q.Limit
	if start.Equal(PeriodStart(q.Period, created)) {
		left -= q.Offset
	}
	if u != nil {
		for day := dayNumber(start); day <= d; day++ {
			left -= u.days[day]
		}
		if u.period.Equal(start) {
			left -= u.adjust
		}
	}
	return max(left, 0)
}

func dayStart(d int64) time.Time { return time.Unix(d*86400, 0).UTC() }

// UpdateUsage sets the quota the key has left in the plan's current period
// (UpdateUsage with "replace /remaining": "grants a temporary extension to
// the remaining quota"). The plan must have a quota and the key be in it.
func (s *Store) UpdateUsage(planID, keyID string, remaining int64) error {
	if remaining < 0 {
		return errorf(BadRequest, "remaining: must be >= 0")
	}
	s.mu.RLock()
	r, ok := s.plans[planID]
	_, attached := s.planKeys[planID][keyID]
	s.mu.RUnlock()
	if !ok {
		return errorf(NotFound, "Invalid Usage Plan ID specified: %s", planID)
	}
	if !attached {
		return errorf(NotFound, "Invalid API Key identifier specified: %s is not in usage plan %s", keyID, planID)
	}
	q := r.plan.Quota
	if q == nil {
		return errorf(BadRequest, "usage plan %s has no quota to update", planID)
	}
	now := s.now()
	start := PeriodStart(q.Period, now)
	s.usageMu.Lock()
	defer s.usageMu.Unlock()
	u := s.usageOf(planID, keyID)
	if !u.period.Equal(start) {
		u.period, u.used = start, 0
	}
	limit := q.Limit
	if start.Equal(PeriodStart(q.Period, r.created)) {
		limit -= q.Offset
	}
	u.adjust = limit - u.used - remaining
	return nil
}
