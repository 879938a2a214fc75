// Package accesslog appends access log lines to a file without making the
// request that produced a line wait for the disk: lines go through a
// buffered channel to one writer goroutine, which flushes whenever it has
// caught up.
package accesslog

import (
	"bufio"
	"os"
	"sync"
)

// File is an access log file open for appending.
type File struct {
	lines  chan []byte
	done   chan struct{}
	file   *os.File
	once   sync.Once
	err    error
	copies sync.Pool
}

// Open opens (creating if needed) path for appending.
func Open(path string) (*File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	l := &File{lines: make(chan []byte, 8192), done: make(chan struct{}), file: f}
	l.copies.New = func() any { b := make([]byte, 0, 1024); return &b }
	go l.run()
	return l, nil
}

// Write queues one line (a newline is added). It copies line.
func (l *File) Write(line []byte) {
	buf := l.copies.Get().(*[]byte)
	*buf = append(append((*buf)[:0], line...), '\n')
	l.lines <- *buf
}

func (l *File) run() {
	defer close(l.done)
	w := bufio.NewWriterSize(l.file, 64<<10)
	for line := range l.lines {
		w.Write(line)
		b := line
		l.copies.Put(&b)
		if len(l.lines) == 0 {
			if err := w.Flush(); err != nil && l.err == nil {
				l.err = err
			}
		}
	}
	if err := w.Flush(); err != nil && l.err == nil {
		l.err = err
	}
}

// Close writes what is queued and closes the file. No Write may follow.
func (l *File) Close() error {
	l.once.Do(func() {
		close(l.lines)
		<-l.done
		if err := l.file.Close(); err != nil && l.err == nil {
			l.err = err
		}
	})
	return l.err
}
