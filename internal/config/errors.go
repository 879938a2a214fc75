package config

import (
	"strconv"
	"strings"
)

// FieldError is one problem with the configuration: the key path it is at
// (as written in cdk.json, below "keygate") and what is wrong and how to fix it.
type FieldError struct {
	Path string
	Msg  string
}

func (e FieldError) Error() string { return e.Path + ": " + e.Msg }

// Errors is every problem found in one configuration, in a stable order.
type Errors []FieldError

func (errs Errors) Error() string {
	lines := make([]string, len(errs))
	for i, e := range errs {
		lines[i] = e.Error()
	}
	return "invalid keygate configuration (" + plural(len(errs), "problem") + "):\n  " + strings.Join(lines, "\n  ")
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
