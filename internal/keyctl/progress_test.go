package keyctl

import (
	"bytes"
	"strings"
	"testing"
)

func TestProgressLinesForLogs(t *testing.T) {
	var out bytes.Buffer
	p := NewProgress(&out, false)
	p.Start("sync", 100)
	for range 100 {
		p.Add(1)
	}
	p.Done()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	// A line at every tenth (10 … 90), then the final one: no bar, no \r.
	if len(lines) != 10 || !strings.HasPrefix(lines[0], "sync: 10/100 (") || !strings.HasPrefix(lines[9], "sync: 100/100 done in ") || strings.Contains(out.String(), "\r") {
		t.Errorf("progress lines:\n%s", out.String())
	}
}

func TestProgressBarForTerminals(t *testing.T) {
	var out bytes.Buffer
	p := NewProgress(&out, true)
	p.Start("sync", 4)
	p.Add(4)
	p.Done()
	if !strings.Contains(out.String(), "\rsync       [==============================] 4/4") || !strings.HasSuffix(out.String(), "\n") {
		t.Errorf("bar: %q", out.String())
	}
}

// A run that stops before its last change says so and how to finish: it
// never reads "done".
func TestProgressSaysInterruptedNotDone(t *testing.T) {
	for _, terminal := range []bool{false, true} {
		var out bytes.Buffer
		p := NewProgress(&out, terminal)
		p.Start("sync", 200)
		p.Add(74)
		p.Done()
		if s := out.String(); strings.Contains(s, "done") || !strings.Contains(s, "sync: interrupted after 74 of 200 changes; run the same command again") {
			t.Errorf("terminal=%v: %q", terminal, s)
		}
	}
}
