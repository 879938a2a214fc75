package tokenauth

import (
	"encoding/json"
	"strings"
)

// Policy is an authorizer's IAM policy document, decoded leniently: Action
// and Resource may be a string or a list, as in IAM.
type Policy struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one policy statement.
type Statement struct {
	Effect    string          `json:"Effect"`
	Action    stringList      `json:"Action"`
	Resource  stringList      `json:"Resource"`
	Condition json.RawMessage `json:"Condition,omitempty"`
}

type stringList []string

func (s *stringList) UnmarshalJSON(data []byte) error {
	var one string
	if json.Unmarshal(data, &one) == nil {
		*s = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(data, &many); err != nil {
		return err
	}
	*s = many
	return nil
}

// Effect of evaluating a policy for one request.
type Effect int

// The outcomes of IAM evaluation: an explicit Deny wins over any Allow; with
// neither, the request is implicitly denied.
const (
	ImplicitDeny Effect = iota
	Allow
	ExplicitDeny
)

// Evaluate decides execute-api:Invoke on methodARN. A statement with a
// Condition never allows (conditions are not emulated) but still denies.
func (p *Policy) Evaluate(methodARN string) Effect {
	allowed := false
	for _, st := range p.Statement {
		if !matchAny(st.Action, "execute-api:Invoke", true) || !matchAny(st.Resource, methodARN, false) {
			continue
		}
		switch {
		case strings.EqualFold(st.Effect, "Deny"):
			return ExplicitDeny
		case strings.EqualFold(st.Effect, "Allow") && len(st.Condition) == 0:
			allowed = true
		}
	}
	if allowed {
		return Allow
	}
	return ImplicitDeny
}

// matchAny reports whether a pattern matches value; actions compare without
// regard to case (IAM's are case-insensitive), resources exactly.
func matchAny(patterns []string, value string, foldCase bool) bool {
	for _, p := range patterns {
		if wildcard(p, value, foldCase) {
			return true
		}
	}
	return false
}

// wildcard matches IAM's * (any run of characters, "/" included) and ?
// (one character).
func wildcard(pattern, s string, foldCase bool) bool {
	same := func(a, b byte) bool {
		if a == b {
			return true
		}
		return foldCase && lower(a) == lower(b)
	}
	// Iterative glob with backtracking to the last *.
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || same(pattern[p], s[i])):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
