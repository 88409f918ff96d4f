package scheduler

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/rsvpbot/rsvpbot/recurrence"
)

// Job is periodic work. It returns a short summary of what it did ("purged
// 120 ledger rows") for the log.
type Job func(ctx context.Context) (string, error)

// Jobs runs named jobs on cron schedules. Each run is logged with what it
// did; a failing or panicking job is logged and never stops the others, and
// a job still running when its next tick comes is skipped, not stacked.
type Jobs struct {
	cron *cron.Cron
	log  *slog.Logger
	ctx  context.Context
	mu   sync.Mutex
	wg   sync.WaitGroup
}

// NewJobs makes an empty job runner. loc is the zone of the cron specs.
func NewJobs(log *slog.Logger, loc *time.Location) *Jobs {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if loc == nil {
		loc = time.UTC
	}
	return &Jobs{cron: cron.New(cron.WithLocation(loc), cron.WithChain(cron.SkipIfStillRunning(cron.DiscardLogger))), log: log}
}

// Add schedules job under name with a cron spec ("@every 1m", "0 3 * * *").
// The spec is ours, not a user's, but it is still checked: robfig/cron
// panics on some malformed specs.
func (j *Jobs) Add(name, spec string, job Job) error {
	if _, err := recurrence.ParseSpec(spec); err != nil {
		return fmt.Errorf("job %s: %w", name, err)
	}
	_, err := j.cron.AddFunc(spec, func() { j.RunNow(name, job) })
	return err
}

// RunNow runs job once, synchronously, logged like a scheduled run. Start
// calls it for jobs that should also run at start (catch-up).
func (j *Jobs) RunNow(name string, job Job) {
	j.mu.Lock()
	ctx := j.ctx
	j.mu.Unlock()
	if ctx == nil || ctx.Err() != nil {
		return
	}
	j.wg.Add(1)
	defer j.wg.Done()
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			j.log.Error("job panicked", "job", name, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		}
	}()
	summary, err := job(ctx)
	took := time.Since(start).Round(time.Millisecond)
	switch {
	case err != nil && ctx.Err() != nil:
		j.log.Info("job interrupted by shutdown", "job", name)
	case err != nil:
		j.log.Error("job failed", "job", name, "err", err, "took", took.String())
	case summary != "":
		j.log.Info("job done", "job", name, "result", summary, "took", took.String())
	default:
		j.log.Debug("job done", "job", name, "took", took.String())
	}
}

// Run starts ticking and blocks until ctx is cancelled, then waits for jobs
// in flight.
func (j *Jobs) Run(ctx context.Context) error {
	j.mu.Lock()
	j.ctx = ctx
	j.mu.Unlock()
	j.cron.Start()
	<-ctx.Done()
	<-j.cron.Stop().Done()
	j.wg.Wait()
	return nil
}
