package keyctl

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Progress reports how far a run is.
type Progress interface {
	Start(label string, total int)
	Add(n int)
	Done()
}

// NewProgress draws a bar when terminal is true and prints a plain line at
// every tenth otherwise (logs of CI jobs).
func NewProgress(w io.Writer, terminal bool) Progress {
	if terminal {
		return &bar{w: w}
	}
	return &lines{w: w}
}

type bar struct {
	mu          sync.Mutex
	w           io.Writer
	label       string
	total, done int
	start, last time.Time
}

func (b *bar) Start(label string, total int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.label, b.total, b.done, b.start = label, total, 0, time.Now()
	b.draw()
}

func (b *bar) Add(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done += n
	// At most ten redraws a second: a redraw per key would cost more than
	// the key.
	if time.Since(b.last) > 100*time.Millisecond || b.done >= b.total {
		b.draw()
	}
}

func (b *bar) draw() {
	b.last = time.Now()
	const width = 30
	filled := width
	if b.total > 0 {
		filled = width * b.done / b.total
	}
	rate := ""
	if el := time.Since(b.start).Seconds(); el > 0.5 {
		rate = fmt.Sprintf(" %.1f/s", float64(b.done)/el)
	}
	fmt.Fprintf(b.w, "\r%-10s [%s%s] %d/%d%s   ", b.label, strings.Repeat("=", filled), strings.Repeat(" ", width-filled), b.done, b.total, rate)
}

func (b *bar) Done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.draw()
	if b.done < b.total {
		fmt.Fprintf(b.w, "\n%s\n", stoppedLine(b.label, b.done, b.total))
		return
	}
	fmt.Fprintln(b.w)
}

// stoppedLine is what the progress says when a run ends before its last
// change (an error, Ctrl-C): never "done".
func stoppedLine(label string, done, total int) string {
	return fmt.Sprintf("%s: interrupted after %d of %d changes; run the same command again to finish the rest (it resumes, without duplicates)", label, done, total)
}

type lines struct {
	mu          sync.Mutex
	w           io.Writer
	label       string
	total, done int
	next        int
	start       time.Time
}

func (l *lines) Start(label string, total int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.label, l.total, l.done, l.start = label, total, 0, time.Now()
	l.next = max(1, total/10)
}

func (l *lines) Add(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done += n
	if l.done >= l.next && l.done < l.total {
		fmt.Fprintf(l.w, "%s: %d/%d (%s)\n", l.label, l.done, l.total, time.Since(l.start).Round(time.Second))
		for l.next <= l.done {
			l.next += max(1, l.total/10)
		}
	}
}

func (l *lines) Done() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done < l.total {
		fmt.Fprintln(l.w, stoppedLine(l.label, l.done, l.total))
		return
	}
	fmt.Fprintf(l.w, "%s: %d/%d done in %s\n", l.label, l.done, l.total, time.Since(l.start).Round(time.Millisecond))
}

// quiet discards progress.
type quiet struct{}

func (quiet) Start(string, int) {}
func (quiet) Add(int)           {}
func (quiet) Done()             {}
