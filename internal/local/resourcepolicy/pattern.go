package resourcepolicy

import (
	"strings"
	"unicode/utf8"
)

// pattern is an IAM wildcard pattern: * matches any run of characters ("/"
// included), ? any one character; everything else matches itself, case
// sensitively (resources are case-sensitive in IAM). It is split on * once,
// so that a request costs a prefix, a suffix and an ordered search for the
// parts between, without backtracking.
type pattern struct {
	raw   string
	parts []string // the literals between *s; len 1 without a *
	qmark bool     // has a ?: matched by glob
}

func newPattern(s string) pattern {
	return pattern{raw: s, parts: strings.Split(s, "*"), qmark: strings.Contains(s, "?")}
}

func (p *pattern) match(s string) bool {
	if p.qmark {
		return glob(p.raw, s)
	}
	parts := p.parts
	if len(parts) == 1 {
		return s == parts[0]
	}
	first, last := parts[0], parts[len(parts)-1]
	if len(s) < len(first)+len(last) || !strings.HasPrefix(s, first) || !strings.HasSuffix(s, last) {
		return false
	}
	// The leftmost occurrence of each middle part leaves the most room
	// for the rest: for * alone that is enough.
	s = s[len(first) : len(s)-len(last)]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return true
}

// glob matches a pattern with ? (one character) and * by backtracking to
// the last *.
func glob(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		if p < len(pattern) {
			switch c := pattern[p]; {
			case c == '*':
				star, mark = p, i
				p++
				continue
			case c == '?':
				_, size := utf8.DecodeRuneInString(s[i:])
				p++
				i += size
				continue
			case c == s[i]:
				p++
				i++
				continue
			}
		}
		if star < 0 {
			return false
		}
		// Let the last * take one more character.
		p = star + 1
		_, size := utf8.DecodeRuneInString(s[mark:])
		mark += size
		i = mark
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
