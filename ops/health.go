package ops

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	tg "github.com/go-telegram/bot"

	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/store"
)

// HealthConfig tunes NewHealth.
type HealthConfig struct {
	// DB is checked for writability and migrations.
	DB *store.DB
	// Backups, if set, adds a "backup" line to /readyz: a warning while
	// the last scheduled backup is too old, never a failure.
	Backups *Backups
	// Probe makes a cheap Telegram call (getMe). Run calls it when no call
	// has succeeded for ProbeIdle; nil disables probing (and readiness then
	// depends on the traffic alone).
	Probe func(ctx context.Context) error
	// StaleAfter is how old the last successful Telegram call may be for
	// the bot to count as ready (default 3 min).
	StaleAfter time.Duration
	// ProbeIdle is how long without a successful call before Run probes
	// (default 1 min; keep it well under StaleAfter).
	ProbeIdle time.Duration
	// ProbeEvery is how often Run looks at the last success (default
	// ProbeIdle/4).
	ProbeEvery time.Duration
	// Replicas, if set, adds a "replicas" line to /readyz (several
	// replicas on PostgreSQL): which replica holds which lease and how
	// many chats each handles. It informs; it never fails.
	Replicas func(ctx context.Context) (string, error)
	// CheckTimeout bounds the database checks of one /readyz (default 3 s).
	CheckTimeout time.Duration
	Logger       *slog.Logger
	Now          func() time.Time
}

// Health knows whether the bot can work: it records Telegram calls (from
// the intake's OnCall, the outbox's attempts and its own probes) and checks
// the database on demand. See the package doc for what readiness means.
type Health struct {
	cfg HealthConfig
	outbox.NopObserver

	mu        sync.Mutex
	lastOK    time.Time
	lastErr   string
	lastErrAt time.Time
	// conflictSince is when getUpdates began answering 409 Conflict (zero
	// while it does not); conflictErr is its latest answer.
	conflictSince time.Time
	conflictErr   string
	// pausedSince is when the outbox sender paused because Telegram was
	// unreachable (zero while it sends).
	pausedSince time.Time
}

// NewHealth makes a Health. Until a call is reported (TelegramCall), the
// bot is not ready.
func NewHealth(cfg HealthConfig) *Health {
	if cfg.StaleAfter <= 0 {
		cfg.StaleAfter = 3 * time.Minute
	}
	if cfg.ProbeIdle <= 0 {
		cfg.ProbeIdle = time.Minute
	}
	if cfg.ProbeEvery <= 0 {
		cfg.ProbeEvery = cfg.ProbeIdle / 4
	}
	if cfg.CheckTimeout <= 0 {
		cfg.CheckTimeout = 3 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Health{cfg: cfg}
}

// TelegramCall records the outcome of a call to Telegram: nil means
// Telegram answered. It is bot.IntakeConfig.OnCall.
func (h *Health) TelegramCall(err error) {
	now := h.cfg.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil {
		h.lastOK = now
		return
	}
	h.lastErr, h.lastErrAt = err.Error(), now
}

// Polled records the outcome of a getUpdates call (wired with TelegramCall
// as bot.IntakeConfig.OnCall). While Telegram answers 409 Conflict, another
// process is polling with this bot's token (or a webhook is set for it):
// Telegram splits the updates between the two, and this bot is not ready
// until a poll succeeds again. Other errors say nothing about a conflict
// and leave it as it was.
func (h *Health) Polled(err error) {
	now := h.cfg.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case err == nil:
		h.conflictSince, h.conflictErr = time.Time{}, ""
	case errors.Is(err, tg.ErrorConflict):
		if h.conflictSince.IsZero() {
			h.conflictSince = now
		}
		h.conflictErr = err.Error()
	}
}

// Attempt implements outbox.Observer: a call Telegram answered, whatever
// it said (a 400, a 429), proves the API is reachable; no answer, or a
// rejected token, does not.
func (h *Health) Attempt(method string, class outbox.Class, _ time.Duration) {
	if !class.Reachable() {
		h.TelegramCall(errors.New(method + ": " + string(class)))
		return
	}
	h.TelegramCall(nil)
}

// Reachability implements outbox.Observer: while the sender is paused
// because Telegram is unreachable, the bot is not ready.
func (h *Health) Reachability(reachable bool, since time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if reachable {
		h.pausedSince = time.Time{}
		return
	}
	h.pausedSince = since
}

// LastTelegramSuccess is when Telegram last answered (zero if never).
func (h *Health) LastTelegramSuccess() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lastOK
}

// Run probes Telegram with Probe whenever no call has succeeded for
// ProbeIdle, until ctx is cancelled (then it returns nil). Without a Probe
// it just waits.
func (h *Health) Run(ctx context.Context) error {
	if h.cfg.Probe == nil {
		<-ctx.Done()
		return nil
	}
	tick := time.NewTicker(h.cfg.ProbeEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if h.cfg.Now().Sub(h.LastTelegramSuccess()) < h.cfg.ProbeIdle {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, max(h.cfg.StaleAfter/4, time.Second))
		err := h.cfg.Probe(pctx)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			h.cfg.Logger.Warn("Telegram probe (getMe) failed", "err", err)
		}
		h.TelegramCall(err)
	}
}

// Check is the result of one readiness check.
type Check struct {
	Name string // database, migrations, telegram, polling, backup
	OK   bool
	// Warn marks a check that passes but wants an operator's attention
	// (a stale backup); it does not make the bot unready.
	Warn   bool
	Detail string
}

// Ready runs the readiness checks; ok is true if all passed.
func (h *Health) Ready(ctx context.Context) (ok bool, checks []Check) {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.CheckTimeout)
	defer cancel()
	checks = []Check{h.checkDatabase(ctx), h.checkMigrations(ctx), h.checkTelegram(), h.checkPolling()}
	if h.cfg.Backups != nil {
		checks = append(checks, h.cfg.Backups.check())
	}
	if h.cfg.Replicas != nil {
		c := Check{Name: "replicas", OK: true}
		detail, err := h.cfg.Replicas(ctx)
		if err != nil {
			c.Warn, detail = true, "cannot read the leases: "+err.Error()
		}
		c.Detail = detail
		checks = append(checks, c)
	}
	ok = true
	for _, c := range checks {
		ok = ok && c.OK
	}
	return ok, checks
}

// errProbeDone rolls back the write probe.
var errProbeDone = errors.New("write probe done")

// checkDatabase begins a write transaction, as every handler does, and
// makes a change that is rolled back: it fails if the writer's lock
// cannot be had in time (another process holds it, a write is stuck) or
// the connection cannot write (closed, read-only). A rolled-back change
// needs no disk space, so it cannot see a full disk: it fails too while
// the latest real write failed (store.DB.WriteState), which is checked
// again with a real one-page commit (ProbeWrite), so that readiness turns
// back as soon as the disk takes writes again, traffic or not.
func (h *Health) checkDatabase(ctx context.Context) Check {
	c := Check{Name: "database"}
	if h.cfg.DB == nil {
		c.OK, c.Detail = true, "not configured"
		return c
	}
	start := time.Now()
	if h.cfg.DB.WriteState().Err != nil {
		if h.cfg.DB.ProbeWrite(ctx) != nil {
			if st := h.cfg.DB.WriteState(); st.Err != nil {
				c.Detail = fmt.Sprintf("not writable: commits fail since %s ago: %v",
					time.Since(st.FailingSince).Round(time.Second), st.Err)
				return c
			}
		}
	}
	err := h.cfg.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE _ops_ready_probe(x INTEGER)`); err != nil {
			return err
		}
		return errProbeDone
	})
	if err != nil && !errors.Is(err, errProbeDone) {
		c.Detail = "not writable: " + err.Error()
		return c
	}
	c.OK, c.Detail = true, fmt.Sprintf("writable (%s)", time.Since(start).Round(time.Microsecond))
	return c
}

func (h *Health) checkMigrations(ctx context.Context) Check {
	c := Check{Name: "migrations"}
	if h.cfg.DB == nil {
		c.OK, c.Detail = true, "not configured"
		return c
	}
	cur, latest, err := h.cfg.DB.SchemaVersion(ctx)
	switch {
	case err != nil:
		c.Detail = "cannot read the schema version: " + err.Error()
	case cur < latest:
		c.Detail = fmt.Sprintf("not applied: database at version %d, this binary needs %d (run rsvpbot migrate)", cur, latest)
	case cur > latest:
		c.Detail = fmt.Sprintf("database at version %d is newer than this binary (%d)", cur, latest)
	default:
		c.OK, c.Detail = true, fmt.Sprintf("applied (version %d)", cur)
	}
	return c
}

func (h *Health) checkTelegram() Check {
	c := Check{Name: "telegram"}
	now := h.cfg.Now()
	h.mu.Lock()
	last, lastErr, lastErrAt, paused := h.lastOK, h.lastErr, h.lastErrAt, h.pausedSince
	h.mu.Unlock()
	if !paused.IsZero() {
		c.Detail = fmt.Sprintf("Telegram unreachable for %s (outbox sending paused, probing)", max(now.Sub(paused), 0).Round(time.Second))
	} else if last.IsZero() {
		c.Detail = "no successful call yet"
	} else if age := now.Sub(last); age > h.cfg.StaleAfter {
		c.Detail = fmt.Sprintf("no successful call for %s", age.Round(time.Second))
	} else {
		c.OK, c.Detail = true, fmt.Sprintf("last successful call %s ago", age.Round(time.Second))
		return c
	}
	if lastErr != "" {
		c.Detail += fmt.Sprintf(" (last error %s ago: %s)", now.Sub(lastErrAt).Round(time.Second), lastErr)
	}
	return c
}

// checkPolling fails while getUpdates answers 409 Conflict (see Polled).
func (h *Health) checkPolling() Check {
	c := Check{Name: "polling"}
	h.mu.Lock()
	since, lastErr := h.conflictSince, h.conflictErr
	h.mu.Unlock()
	if since.IsZero() {
		c.OK, c.Detail = true, "no conflict"
		return c
	}
	who := "another process is polling this bot token (409 Conflict)"
	if strings.Contains(lastErr, "webhook") {
		who = "a webhook is set for this bot token (409 Conflict)"
	}
	c.Detail = fmt.Sprintf("%s for %s; stop the other instance: %s", who, h.cfg.Now().Sub(since).Round(time.Second), lastErr)
	return c
}
