package local

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// shared holds what several tests of this process build once: the
// keygate binary (one go build and link instead of one per test).
var shared struct {
	dir    string // removed when the tests end
	mu     sync.Mutex
	binary string
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "keygate-local-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shared.dir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// keygateBinary builds cmd/keygate once per test process. A failed build
// fails the calling test and leaves the next caller to try again.
func keygateBinary(t *testing.T) string {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.binary == "" {
		binary := filepath.Join(shared.dir, "keygate")
		if out, err := exec.Command("go", "build", "-o", binary, "../../cmd/keygate").CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		shared.binary = binary
	}
	return shared.binary
}
