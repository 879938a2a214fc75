// Package vtl compiles the small part of API Gateway's mapping-template
// language (Velocity) that keygate's templates use: literal text and
// $context variable references ($context.requestId, ${context.requestId}).
// Anything else — directives such as #set or #if, $input, $util,
// $stageVariables — is refused at compile time with a message naming it, so
// the local gateway never serves a template it would render differently
// from API Gateway.
package vtl

import (
	"fmt"
	"strings"
)

// Template is a compiled template.
type Template struct {
	parts []part
	// Source is the template as written.
	Source string
}

type part struct {
	literal string
	id      int // variable id when literal is ""; -1 for a literal part
	// inJSONString marks a variable inside a JSON string literal of a
	// template EscapeInJSONStrings was called on.
	inJSONString bool
}

// Resolver maps a $context variable name ("requestId", "error.message")
// to the id Render passes back to the value function; ok false refuses it.
type Resolver func(name string) (id int, ok bool)

// Compile parses src.
func Compile(src string, resolve Resolver) (*Template, error) {
	t := &Template{Source: src}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			t.parts = append(t.parts, part{literal: lit.String(), id: -1})
			lit.Reset()
		}
	}
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '#' && i+1 < len(src) && (isIdentStart(src[i+1]) || src[i+1] == '{' || src[i+1] == '#' || src[i+1] == '*'):
			word := src[i:min(len(src), i+1+identLen(src[i+1:]))]
			if len(word) == 1 {
				word = src[i : i+2]
			}
			return nil, fmt.Errorf("the Velocity directive %q is not supported locally; only literal text and $context variables are", word)
		case c == '$':
			name, n, isRef := reference(src[i:])
			if !isRef {
				lit.WriteByte(c)
				i++
				continue
			}
			root, rest, _ := strings.Cut(name, ".")
			if root != "context" || rest == "" {
				return nil, fmt.Errorf("the reference $%s is not supported locally; only $context variables are", name)
			}
			id, ok := resolve(rest)
			if !ok {
				return nil, fmt.Errorf("the variable $context.%s is not emulated locally", rest)
			}
			flush()
			t.parts = append(t.parts, part{id: id})
			i += n
		default:
			lit.WriteByte(c)
			i++
		}
	}
	flush()
	return t, nil
}

// reference reads "$name.path" or "${name.path}" (or "$!…" quiet references)
// at the start of s: the dotted name, the bytes consumed, and whether s
// starts with a reference at all.
func reference(s string) (name string, n int, ok bool) {
	i := 1
	if i < len(s) && s[i] == '!' {
		i++
	}
	braced := i < len(s) && s[i] == '{'
	if braced {
		i++
	}
	start := i
	for i < len(s) && (isIdentChar(s[i]) || s[i] == '.' && i+1 < len(s) && isIdentStart(s[i+1])) {
		i++
	}
	if i == start || !isIdentStart(s[start]) {
		return "", 0, false
	}
	name = s[start:i]
	if braced {
		if i >= len(s) || s[i] != '}' {
			return "", 0, false
		}
		i++
	}
	return name, i, true
}

func identLen(s string) int {
	n := 0
	for n < len(s) && isIdentChar(s[n]) {
		n++
	}
	return n
}

func isIdentStart(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isIdentChar(c byte) bool  { return isIdentStart(c) || c >= '0' && c <= '9' || c == '_' || c == '-' }

// EscapeInJSONStrings makes Render escape, as JSON string content, the
// values of variables that sit between the quotes of a JSON string in the
// template's literal text ("ua":"$context.identity.userAgent"), so that a
// value holding a quote, a backslash or a control character cannot break a
// JSON line. API Gateway itself substitutes values as they are. safe, when
// not nil, names variables whose values never need escaping (ids, numbers),
// which are then copied as they are.
func (t *Template) EscapeInJSONStrings(safe func(id int) bool) {
	inString, escaped := false, false
	for i := range t.parts {
		p := &t.parts[i]
		if p.id >= 0 {
			p.inJSONString = inString && (safe == nil || !safe(p.id))
			continue
		}
		for j := 0; j < len(p.literal); j++ {
			switch c := p.literal[j]; {
			case escaped:
				escaped = false
			case c == '\\' && inString:
				escaped = true
			case c == '"':
				inString = !inString
			}
		}
	}
}

// Render appends the template to dst with each variable's value.
func (t *Template) Render(dst []byte, value func(id int) string) []byte {
	for _, p := range t.parts {
		switch {
		case p.id < 0:
			dst = append(dst, p.literal...)
		case p.inJSONString:
			dst = appendJSONStringContent(dst, value(p.id))
		default:
			dst = append(dst, value(p.id)...)
		}
	}
	return dst
}

// appendJSONStringContent appends s escaped as the inside of a JSON string
// (RFC 8259 §7): quote, backslash and control characters.
func appendJSONStringContent(dst []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	return append(dst, s[start:]...)
}

// Literal reports whether the template has no variables, and its text.
func (t *Template) Literal() (string, bool) {
	var b strings.Builder
	for _, p := range t.parts {
		if p.id >= 0 {
			return "", false
		}
		b.WriteString(p.literal)
	}
	return b.String(), true
}
