package logtest

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// Loggers on many goroutines write whole lines, and String sees them all.
func TestBufferConcurrentWriters(t *testing.T) {
	var b Buffer
	log := slog.New(slog.NewTextHandler(&b, nil))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				log.Info("line", "g", g, "i", i)
				_ = b.String()
			}
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 8*50 {
		t.Fatalf("%d lines, want %d", len(lines), 8*50)
	}
	for g := range 8 {
		if want := fmt.Sprintf("msg=line g=%d i=49", g); !strings.Contains(b.String(), want) {
			t.Errorf("missing %q", want)
		}
	}
}
