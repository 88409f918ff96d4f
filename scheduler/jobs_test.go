package scheduler

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/internal/logtest"
)

// One job failing or panicking on every run never stops the others, nor
// its own next runs; each run is logged with what it did.
func TestJobFailureDoesNotStopOthers(t *testing.T) {
	var logs logtest.Buffer
	j := NewJobs(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), time.UTC)
	var failed, panicked, worked atomic.Int32
	if err := j.Add("failing", "@every 1s", func(context.Context) (string, error) {
		failed.Add(1)
		return "", errors.New("disk on fire")
	}); err != nil {
		t.Fatal(err)
	}
	if err := j.Add("panicking", "@every 1s", func(context.Context) (string, error) {
		panicked.Add(1)
		panic("boom")
	}); err != nil {
		t.Fatal(err)
	}
	if err := j.Add("working", "@every 1s", func(context.Context) (string, error) {
		worked.Add(1)
		return "did 1 thing", nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := j.Add("bad", "CRON_TZ=UTC", func(context.Context) (string, error) { return "", nil }); err == nil {
		t.Fatal("a spec that makes robfig/cron panic was accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { j.Run(ctx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for worked.Load() < 2 || failed.Load() < 2 || panicked.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("runs: worked %d failed %d panicked %d", worked.Load(), failed.Load(), panicked.Load())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	<-done
	out := logs.String()
	for _, want := range []string{"job failed", "disk on fire", "job panicked", "boom", "job done", "did 1 thing"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}
