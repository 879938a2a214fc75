package rie

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The test binary doubles as a fake emulator: with KEYGATE_FAKE_RIE set it
// serves the invocations URL on --runtime-interface-emulator-address and
// answers every event with {"ok":true}; it exits at once, without
// listening, while the file named by KEYGATE_FAKE_RIE_FAIL exists.
func TestMain(m *testing.M) {
	if os.Getenv("KEYGATE_FAKE_RIE") != "" {
		fakeEmulator(os.Args[1:])
		return
	}
	os.Exit(m.Run())
}

func fakeEmulator(args []string) {
	if fail := os.Getenv("KEYGATE_FAKE_RIE_FAIL"); fail != "" {
		if _, err := os.Stat(fail); err == nil {
			os.Exit(3)
		}
	}
	var addr string
	for i, a := range args {
		if a == "--runtime-interface-emulator-address" && i+1 < len(args) {
			addr = args[i+1]
		}
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		os.Exit(4)
	}
	http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"ok":true}`)) }))
}

// syncBuffer is the console, written by supervisors.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// fakeAfter is the backoff clock: it records each wait and fires at once.
type fakeAfter struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (f *fakeAfter) After(d time.Duration) <-chan time.Time {
	f.mu.Lock()
	f.waits = append(f.waits, d)
	f.mu.Unlock()
	c := make(chan time.Time, 1)
	c <- time.Time{}
	return c
}

func (f *fakeAfter) Waits() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.waits...)
}

func start(t *testing.T, failFile string) (*Function, *syncBuffer, *fakeAfter) {
	t.Helper()
	console, clock := &syncBuffer{}, &fakeAfter{}
	f, err := Start(context.Background(), Options{Emulator: os.Args[0], Bootstrap: "bootstrap", Instances: 1, Console: console, After: clock.After,
		Env: []string{"KEYGATE_FAKE_RIE=1", "KEYGATE_FAKE_RIE_FAIL=" + failFile}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, console, clock
}

const secretPayload = `{"authorizationToken":"Bearer sEcReTtOkEnVaLuE0123456789"}`

func TestAKilledEmulatorIsRestarted(t *testing.T) {
	f, console, clock := start(t, filepath.Join(t.TempDir(), "absent"))
	if _, err := f.Invoke(context.Background(), []byte(secretPayload)); err != nil {
		t.Fatal(err)
	}
	first, _ := f.instances[0].current()
	first.cmd.Process.Kill()
	<-first.exited
	// The next invocation waits for the restarted emulator.
	out, err := f.Invoke(context.Background(), []byte(secretPayload))
	if err != nil || string(out) != `{"ok":true}` {
		t.Fatalf("after the kill: %s %v", out, err)
	}
	if p, _ := f.instances[0].current(); p == first {
		t.Error("the instance still has the killed process")
	}
	log := console.String()
	if !strings.Contains(log, "emulator 1 exited unexpectedly (signal: killed)") || !strings.Contains(log, "emulator 1 is running again") {
		t.Errorf("console: %q", log)
	}
	if strings.Contains(log, "sEcReT") {
		t.Error("the console shows the token")
	}
	if w := clock.Waits(); len(w) != 1 || w[0] != MinBackoff {
		t.Errorf("backoff waits %v, want [%v]", w, MinBackoff)
	}
}

func TestAnEmulatorThatCannotRestartIsReportedAfterBackingOff(t *testing.T) {
	failFile := filepath.Join(t.TempDir(), "fail")
	f, console, clock := start(t, failFile)
	os.WriteFile(failFile, nil, 0o600)
	p, _ := f.instances[0].current()
	p.cmd.Process.Kill()
	err := <-f.Failed()
	if err == nil || !strings.Contains(err.Error(), "could not be restarted") {
		t.Fatalf("Failed: %v", err)
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond}
	if got := clock.Waits(); len(got) != len(want) || got[0] != want[0] || got[4] != want[4] {
		t.Errorf("backoff waits %v, want %v", got, want)
	}
	if n := strings.Count(console.String(), "restarting the authorizer's emulator 1 failed"); n != MaxFailedStarts {
		t.Errorf("%d failed restarts on the console, want %d: %s", n, MaxFailedStarts, console.String())
	}
}

func TestCloseDoesNotRestart(t *testing.T) {
	f, console, _ := start(t, filepath.Join(t.TempDir(), "absent"))
	p, _ := f.instances[0].current()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	<-p.exited
	if strings.Contains(console.String(), "unexpectedly") {
		t.Errorf("a stop by Close was reported as a crash: %s", console.String())
	}
}

// An event sent while the emulator is dying but not yet noticed (its kept-
// alive connection is dead) goes to the restarted emulator, not to an error.
func TestAnEventRacingTheCrashGoesToTheRestartedEmulator(t *testing.T) {
	f, _, _ := start(t, filepath.Join(t.TempDir(), "absent"))
	for range 3 {
		if _, err := f.Invoke(context.Background(), []byte(secretPayload)); err != nil {
			t.Fatal(err)
		}
		p, _ := f.instances[0].current()
		p.cmd.Process.Kill()
		// No wait for the exit: the next event races its discovery.
		if out, err := f.Invoke(context.Background(), []byte(secretPayload)); err != nil || string(out) != `{"ok":true}` {
			t.Fatalf("right after the kill: %s %v", out, err)
		}
	}
}
