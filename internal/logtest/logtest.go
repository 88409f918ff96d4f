// Package logtest captures log output in tests: a [Buffer] is an
// io.Writer that the goroutines of the code under test may write to while
// the test reads what was logged so far.
package logtest

import (
	"bytes"
	"sync"
)

// Buffer collects what is written to it, safe for concurrent use. The zero
// value is ready to use.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String is everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
