package apistore

import (
	"errors"
	"testing"
	"time"
)

func TestPeriodStart(t *testing.T) {
	wed := time.Date(2026, 11, 25, 23, 59, 0, 0, time.UTC)
	for _, tc := range []struct {
		period     Period
		start, end time.Time
	}{
		{Day, time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)},
		{Week, time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)},
		{Month, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
	} {
		start := PeriodStart(tc.period, wed)
		if !start.Equal(tc.start) || !PeriodEnd(tc.period, start).Equal(tc.end) {
			t.Errorf("%s: [%v, %v), want [%v, %v)", tc.period, start, PeriodEnd(tc.period, start), tc.start, tc.end)
		}
	}
}

func TestQuotaPerDayResetsAtMidnightUTC(t *testing.T) {
	s, clock := newStore(t)
	p := mustPlan(t, s, Plan{Name: "p", APIStages: stage("a", "s"), Quota: &Quota{Limit: 2, Period: Day}})
	k := mustKey(t, s, Key{Name: "k"})
	if err := s.AttachKey(p.ID, k.ID); err != nil {
		t.Fatal(err)
	}
	want := []QuotaDecision{{true, 1, time.Time{}}, {true, 0, time.Time{}}, {false, 0, time.Time{}}}
	for i, w := range want {
		d, err := s.Consume(p.ID, k.ID)
		if err != nil || d.Allowed != w.Allowed || d.Remaining != w.Remaining {
			t.Fatalf("request %d: %+v, %v; want allowed=%v remaining=%d", i+1, d, err, w.Allowed, w.Remaining)
		}
		if !d.Reset.Equal(time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("reset %v", d.Reset)
		}
	}
	clock.Advance(14 * time.Hour) // 00:00 next day
	if d, _ := s.Consume(p.ID, k.ID); !d.Allowed || d.Remaining != 1 {
		t.Errorf("next day: %+v", d)
	}

	u, err := s.GetUsage(p.ID, "", time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC), clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	// The refused third request is not counted.
	wantRows := [][2]int64{{0, 2}, {2, 0}, {1, 1}}
	if got := u.Items[k.ID]; len(got) != 3 || got[0] != wantRows[0] || got[1] != wantRows[1] || got[2] != wantRows[2] {
		t.Errorf("usage %v, want %v", got, wantRows)
	}
}

func TestQuotaPerWeekAndMonth(t *testing.T) {
	for _, tc := range []struct {
		period Period
		// still in the period, then in the next one
		within, next time.Duration
	}{
		{Week, 3*24*time.Hour + 13*time.Hour, 24 * time.Hour},  // Wed 10:00 → Sat 23:00 → Sun 23:00
		{Month, 5*24*time.Hour + 13*time.Hour, 24 * time.Hour}, // → Nov 30 23:00 → Dec 1 23:00
		{Day, 13*time.Hour + 59*time.Minute, time.Minute},      // → 23:59 → 00:00
	} {
		t.Run(string(tc.period), func(t *testing.T) {
			s, clock := newStore(t)
			p := mustPlan(t, s, Plan{Name: "p", APIStages: stage("a", "s"), Quota: &Quota{Limit: 1, Period: tc.period}})
			k := mustKey(t, s, Key{Name: "k"})
			if d, _ := s.Consume(p.ID, k.ID); !d.Allowed {
				t.Fatal("first request refused")
			}
			clock.Advance(tc.within)
			if d, _ := s.Consume(p.ID, k.ID); d.Allowed {
				t.Errorf("a second request in the same %s was allowed at %v", tc.period, clock.Now())
			}
			clock.Advance(tc.next)
			if d, _ := s.Consume(p.ID, k.ID); !d.Allowed {
				t.Errorf("the next %s's first request was refused at %v", tc.period, clock.Now())
			}
		})
	}
}

func TestQuotaOffsetAppliesToTheInitialPeriodOnly(t *testing.T) {
	s, clock := newStore(t)
	p := mustPlan(t, s, Plan{Name: "p", APIStages: stage("a", "s"), Quota: &Quota{Limit: 3, Offset: 2, Period: Day}})
	k := mustKey(t, s, Key{Name: "k"})
	allowed := 0
	for range 5 {
		if d, _ := s.Consume(p.ID, k.ID); d.Allowed {
			allowed++
		}
	}
	if allowed != 1 {
		t.Errorf("initial day: %d allowed, want limit 3 - offset 2 = 1", allowed)
	}
	clock.Advance(24 * time.Hour)
	allowed = 0
	for range 5 {
		if d, _ := s.Consume(p.ID, k.ID); d.Allowed {
			allowed++
		}
	}
	if allowed != 3 {
		t.Errorf("second day: %d allowed, want 3", allowed)
	}
}

func TestUpdateUsageExtendsRemaining(t *testing.T) {
	s, _ := newStore(t)
	p := mustPlan(t, s, Plan{Name: "p", APIStages: stage("a", "s"), Quota: &Quota{Limit: 1, Period: Month}})
	k := mustKey(t, s, Key{Name: "k"})
	if err := s.UpdateUsage(p.ID, k.ID, 5); !errors.Is(err, ErrNotFound) {
		t.Errorf("a key not in the plan: %v", err)
	}
	if err := s.AttachKey(p.ID, k.ID); err != nil {
		t.Fatal(err)
	}
	s.Consume(p.ID, k.ID)
	if d, _ := s.Consume(p.ID, k.ID); d.Allowed {
		t.Fatal("quota of 1 allowed a second request")
	}
	if err := s.UpdateUsage(p.ID, k.ID, 2); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if d, _ := s.Consume(p.ID, k.ID); !d.Allowed || d.Remaining != int64(1-i) {
			t.Errorf("after extension, request %d: %+v", i+1, d)
		}
	}
	if d, _ := s.Consume(p.ID, k.ID); d.Allowed {
		t.Error("the extension allowed more than 2")
	}
}

func TestConsumeWithoutQuotaCounts(t *testing.T) {
	s, clock := newStore(t)
	p := mustPlan(t, s, Plan{Name: "p", APIStages: stage("a", "s")})
	k := mustKey(t, s, Key{Name: "k"})
	for range 3 {
		if d, _ := s.Consume(p.ID, k.ID); !d.Allowed || d.Remaining != -1 {
			t.Fatalf("%+v", d)
		}
	}
	u, _ := s.GetUsage(p.ID, k.ID, clock.Now(), clock.Now())
	if got := u.Items[k.ID]; len(got) != 1 || got[0][0] != 3 {
		t.Errorf("usage %v, want 3 used today", got)
	}
	if _, err := s.GetUsage(p.ID, "", clock.Now(), clock.Now().Add(-48*time.Hour)); !errors.Is(err, ErrBadRequest) {
		t.Errorf("end before start: %v", err)
	}
}
