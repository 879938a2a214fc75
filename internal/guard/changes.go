package guard

import (
	"fmt"
	"reflect"
	"slices"
)

// ChangeKind is what happens to one resource between two syntheses.
type ChangeKind string

// The kinds of change Summarize counts.
const (
	Added    ChangeKind = "added"
	Modified ChangeKind = "modified"
	Removed  ChangeKind = "removed"
	Replaced ChangeKind = "replaced"
)

// Change is one resource that differs between two syntheses of a stack.
type Change struct {
	Kind      ChangeKind `json:"kind"`
	Type      string     `json:"type"`
	LogicalID string     `json:"logicalId"`
	Stack     string     `json:"stack,omitempty"` // "" for the root stack, else the nested stack's logical ID
}

func (c Change) String() string {
	where := ""
	if c.Stack != rootStack {
		where = " (nested " + c.Stack + ")"
	}
	return fmt.Sprintf("%-8s %s %s%s", c.Kind, c.Type, c.LogicalID, where)
}

// Summary is every resource change of a stack, nested stacks included, as
// make diff prints it. cdk diff --template compares root templates only, so
// without this the API keys, which live in nested stacks, would not show.
type Summary struct {
	Changes []Change
}

// Count is the number of changes of a kind.
func (s Summary) Count(kind ChangeKind) int {
	n := 0
	for _, c := range s.Changes {
		if c.Kind == kind {
			n++
		}
	}
	return n
}

func (s Summary) String() string {
	return fmt.Sprintf("%d added, %d modified, %d removed, %d replaced", s.Count(Added), s.Count(Modified), s.Count(Removed), s.Count(Replaced))
}

// Summarize lists the resources of stack, in two cdk.out directories, that
// are added, removed, modified (any property differs) or replaced (what the
// guard reports as replaced; for unguarded types a replacement shows as
// modified, as only guarded types have their replacement rules here).
func Summarize(baseDir, headDir, stack string) (Summary, error) {
	base, err := loadAssembly(baseDir, stack)
	if err != nil {
		return Summary{}, fmt.Errorf("base: %w", err)
	}
	head, err := loadAssembly(headDir, stack)
	if err != nil {
		return Summary{}, fmt.Errorf("head: %w", err)
	}
	normalizeKeyIDs(base)
	normalizeKeyIDs(head)
	replaced := map[place]bool{}
	for _, f := range compare(base, head) {
		if f.Action == Replace {
			replaced[place{f.Stack, f.LogicalID}] = true
		}
	}
	headAt := map[place]placed{}
	for _, h := range head {
		headAt[h.place] = h
	}
	var s Summary
	inBase := map[place]bool{}
	for _, b := range base {
		inBase[b.place] = true
		h, stays := headAt[b.place]
		switch {
		case !stays:
			// Gone from its stack, whatever the guard calls it (a rename
			// or a move is a deletion here and an addition there): the
			// summary counts it as removed, as the README says deleted
			// keys are reported.
			s.Changes = append(s.Changes, Change{Removed, b.Type, b.id, b.stack})
		case replaced[b.place]:
			s.Changes = append(s.Changes, Change{Replaced, b.Type, b.id, b.stack})
		case h.Type != b.Type || !reflect.DeepEqual(h.Properties, b.Properties):
			s.Changes = append(s.Changes, Change{Modified, b.Type, b.id, b.stack})
		}
	}
	for _, h := range head {
		if !inBase[h.place] {
			s.Changes = append(s.Changes, Change{Added, h.Type, h.id, h.stack})
		}
	}
	slices.SortFunc(s.Changes, func(a, b Change) int {
		return comparePlaces(place{a.Stack, a.LogicalID}, place{b.Stack, b.LogicalID})
	})
	return s, nil
}
