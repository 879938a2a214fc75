package accesslog

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestLinesAreAppendedWholeAndFlushedOnClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	os.WriteFile(path, []byte("earlier\n"), 0o600)
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			buf := []byte{}
			for i := range 500 {
				buf = fmt.Appendf(buf[:0], `{"w":%d,"i":%d}`, w, i)
				f.Write(buf) // the caller reuses its buffer at once
			}
		})
	}
	wg.Wait()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 2001 || lines[0] != "earlier" {
		t.Fatalf("%d lines, first %q", len(lines), lines[0])
	}
	seen := map[string]bool{}
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l, `{"w":`) || !strings.HasSuffix(l, "}") || seen[l] {
			t.Fatalf("line %q torn or repeated", l)
		}
		seen[l] = true
	}
}
