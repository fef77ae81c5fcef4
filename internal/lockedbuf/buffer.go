// Package lockedbuf holds the one output sink tests share for child
// processes and servers: a bytes.Buffer safe to write from the goroutines
// that copy a process's output while the test reads it.
package lockedbuf

import (
	"bytes"
	"sync"
)

// Buffer collects output written concurrently. The zero value is ready to
// use and keeps everything.
type Buffer struct {
	// Max, when positive, is the size past which further writes are
	// dropped (still reported as written, so a child never blocks on its
	// output): enough for an error message from a long-running server.
	Max int

	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p, or drops it once the buffer holds Max bytes.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.Max > 0 && b.buf.Len() > b.Max {
		return len(p), nil
	}
	return b.buf.Write(p)
}

// String returns everything kept so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
