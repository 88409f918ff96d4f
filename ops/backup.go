package ops

import (
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Backups watches the scheduled backups (RSVPBOT_BACKUP_DIR,
// RSVPBOT_BACKUP_EVERY): the job reports each outcome with Done; the
// metrics and /readyz read when the last one succeeded, and warn when
// that is more than twice the period ago (counted from when watching
// began while none has succeeded yet). A stale backup is a warning, not
// unreadiness: the bot serves its users as well without one.
type Backups struct {
	every time.Duration
	now   func() time.Time
	since time.Time

	mu      sync.Mutex
	lastOK  time.Time
	lastErr string
	errAt   time.Time

	runs *prometheus.CounterVec // result
}

// NewBackups watches backups taken every period; now is the clock (nil:
// time.Now).
func NewBackups(every time.Duration, now func() time.Time) *Backups {
	if now == nil {
		now = time.Now
	}
	b := &Backups{every: every, now: now, since: now(),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "backups_total",
			Help: "Scheduled backups by result (ok or error)."}, []string{"result"})}
	for _, r := range []string{"ok", "error"} {
		b.runs.WithLabelValues(r)
	}
	return b
}

// Done records the outcome of one backup: nil is a checked copy written.
func (b *Backups) Done(err error) {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if err != nil {
		b.lastErr, b.errAt = err.Error(), now
		b.runs.WithLabelValues("error").Inc()
		return
	}
	b.lastOK, b.lastErr = now, ""
	b.runs.WithLabelValues("ok").Inc()
}

// Seed records a success from before watching began (the newest backup
// file a previous run left), so the age survives restarts.
func (b *Backups) Seed(at time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if at.After(b.lastOK) {
		b.lastOK = at
	}
}

// LastSuccess is when a backup last succeeded (zero if none has).
func (b *Backups) LastSuccess() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lastOK
}

// LastFailure is when the latest backup failed, zero if it succeeded (or
// none has run).
func (b *Backups) LastFailure() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.lastErr == "" {
		return time.Time{}
	}
	return b.errAt
}

// Stale reports whether the last success is older than twice the period,
// with a line saying how old it is and, if the latest backup failed, why.
func (b *Backups) Stale() (bool, string) {
	now := b.now()
	b.mu.Lock()
	last, lastErr, errAt := b.lastOK, b.lastErr, b.errAt
	b.mu.Unlock()
	var detail string
	age := now.Sub(last)
	if last.IsZero() {
		age = now.Sub(b.since)
		detail = fmt.Sprintf("no backup yet (every %s; watching for %s)", b.every, age.Round(time.Second))
	} else {
		detail = fmt.Sprintf("last successful backup %s ago (every %s)", age.Round(time.Second), b.every)
	}
	if lastErr != "" {
		detail += fmt.Sprintf("; the latest failed %s ago: %s", now.Sub(errAt).Round(time.Second), lastErr)
	}
	stale := age > 2*b.every
	if stale {
		detail = "older than twice RSVPBOT_BACKUP_EVERY: " + detail
	}
	return stale, detail
}

// check is the backup line of /readyz: a warning, never a failure.
func (b *Backups) check() Check {
	stale, detail := b.Stale()
	return Check{Name: "backup", OK: true, Warn: stale, Detail: detail}
}

// Collectors are the backup metrics, for Metrics.Registry:
//
//	rsvpbot_backup_last_success_timestamp_seconds  when a backup last succeeded (0: none yet)
//	rsvpbot_backup_warning                         1 while the last success is older than twice the period
//	rsvpbot_backups_total{result}                  scheduled backups, ok or error
func (b *Backups) Collectors() []prometheus.Collector {
	last := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace, Name: "backup_last_success_timestamp_seconds",
		Help: "When a scheduled backup last succeeded (Unix time; 0 if none has since the process started)."},
		func() float64 {
			t := b.LastSuccess()
			if t.IsZero() {
				return 0
			}
			return float64(t.UnixNano()) / 1e9
		})
	warn := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace, Name: "backup_warning",
		Help: "1 while the last successful backup is older than twice RSVPBOT_BACKUP_EVERY."},
		func() float64 {
			if stale, _ := b.Stale(); stale {
				return 1
			}
			return 0
		})
	return []prometheus.Collector{last, warn, b.runs}
}
