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
