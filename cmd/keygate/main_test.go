package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestSubcommands(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		status int
		stderr string
	}{
		{nil, 2, "usage: keygate <command>"},
		{[]string{"help"}, 0, "local    serve an environment's synthesized API"},
		{[]string{"deploy"}, 2, `unknown command "deploy"`},
		{[]string{"local", "-nope"}, 2, "flag provided but not defined: -nope"},
		{[]string{"local", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"local", "-lambda", "no-equals"}, 2, "want 'METHOD /resource/path=URL'"},
		{[]string{"local", "-assembly", "/nonexistent", "-env", "dev"}, 1, "is not a synthesized cloud assembly; run make synth"},
	} {
		var stdout, stderr bytes.Buffer
		if status := run(tc.args, &stdout, &stderr); status != tc.status || !strings.Contains(stderr.String(), tc.stderr) {
			t.Errorf("keygate %v: status %d, stderr %q; want %d and %q", tc.args, status, stderr.String(), tc.status, tc.stderr)
		}
	}
}
