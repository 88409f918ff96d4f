package ops_test

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rsvpbot/rsvpbot/ops"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// The last success is a metric; older than twice the period it is a
// warning on /readyz and in rsvpbot_backup_warning, and the bot stays
// ready. A success clears it.
func TestBackupWarning(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)}
	b := ops.NewBackups(time.Hour, clock.now)
	e := newEnv(t, envOptions{health: &ops.HealthConfig{DB: openDB(t), Backups: b}, noAPI: true})
	e.metrics.Registry().MustRegister(b.Collectors()...)

	readyz := func() string {
		t.Helper()
		r := e.do(http.MethodGet, "/readyz", "", nil)
		if r.status != 200 {
			t.Fatalf("a backup's age made the bot unready: %d %s", r.status, r.body)
		}
		return string(r.body)
	}

	// None yet, within two periods of the start: no warning.
	clock.add(90 * time.Minute)
	if body := readyz(); !strings.Contains(body, "backup: ok: no backup yet") {
		t.Fatalf("readyz: %s", body)
	}
	if m := e.scrape(); m.value("rsvpbot_backup_warning") != 0 || m.value("rsvpbot_backup_last_success_timestamp_seconds") != 0 {
		t.Fatalf("metrics before any backup:\n%s", m.raw)
	}

	clock.add(time.Hour) // 2h30m with none
	if body := readyz(); !strings.Contains(body, "backup: WARN: older than twice RSVPBOT_BACKUP_EVERY: no backup yet") {
		t.Fatalf("readyz: %s", body)
	}
	if m := e.scrape(); m.value("rsvpbot_backup_warning") != 1 {
		t.Fatalf("no warning metric:\n%s", m.raw)
	}

	b.Done(nil)
	okAt := clock.now()
	if body := readyz(); !strings.Contains(body, "backup: ok: last successful backup 0s ago (every 1h0m0s)") {
		t.Fatalf("readyz: %s", body)
	}
	m := e.scrape()
	if m.value("rsvpbot_backup_warning") != 0 || m.value("rsvpbot_backup_last_success_timestamp_seconds") != float64(okAt.Unix()) ||
		m.value("rsvpbot_backups_total", "result", "ok") != 1 {
		t.Fatalf("metrics after a backup:\n%s", m.raw)
	}

	// Failures: the reason shows; the warning comes at twice the period.
	clock.add(time.Hour)
	b.Done(errors.New("disk full"))
	if body := readyz(); !strings.Contains(body, "backup: ok: last successful backup 1h0m0s ago (every 1h0m0s); the latest failed 0s ago: disk full") {
		t.Fatalf("readyz: %s", body)
	}
	clock.add(61 * time.Minute)
	b.Done(errors.New("disk full"))
	if body := readyz(); !strings.Contains(body, "backup: WARN: older than twice") || !strings.Contains(body, "disk full") {
		t.Fatalf("readyz: %s", body)
	}
	if m := e.scrape(); m.value("rsvpbot_backup_warning") != 1 || m.value("rsvpbot_backups_total", "result", "error") != 2 {
		t.Fatalf("metrics after failures:\n%s", m.raw)
	}
}
