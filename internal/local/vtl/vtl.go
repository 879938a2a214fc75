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

// Render appends the template to dst with each variable's value.
func (t *Template) Render(dst []byte, value func(id int) string) []byte {
	for _, p := range t.parts {
		if p.id < 0 {
			dst = append(dst, p.literal...)
		} else {
			dst = append(dst, value(p.id)...)
		}
	}
	return dst
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
