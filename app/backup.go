package app

import (
	"context"
	"fmt"
	"time"

	"github.com/rsvpbot/rsvpbot/ops"
	"github.com/rsvpbot/rsvpbot/scheduler"
	"github.com/rsvpbot/rsvpbot/store"
)

// The scheduled backups' policy (Config.BackupDir).
const (
	// DefaultBackupEvery is the period when only the directory is set.
	DefaultBackupEvery = 24 * time.Hour
	// BackupKeep is how many scheduled backups the directory keeps (a
	// week of daily ones); older ones are removed after each success.
	BackupKeep = 7
	// BackupCheck is how often the "backup" job looks whether one is due.
	BackupCheck = time.Minute
	// BackupRetry bounds the wait before a failed backup is tried again
	// (the period, if shorter).
	BackupRetry = 15 * time.Minute
)

// newBackups starts watching the scheduled backups, if configured: the
// newest file a previous run left counts as the last success, so neither
// the schedule nor the warning starts over at each restart.
func (a *App) newBackups() *ops.Backups {
	if a.cfg.BackupDir == "" {
		return nil
	}
	if a.cfg.BackupEvery <= 0 {
		a.cfg.BackupEvery = DefaultBackupEvery
	}
	b := ops.NewBackups(a.cfg.BackupEvery, a.cfg.Now)
	if files, err := store.BackupsIn(a.cfg.BackupDir); err == nil && len(files) > 0 {
		if at, ok := store.BackupTime(files[len(files)-1]); ok {
			b.Seed(at)
		}
	}
	return b
}

// backupJob is the "backup" job: every BackupCheck it takes a backup into
// BackupDir if the newest is a period old (store.BackupToDir, keeping
// BackupKeep), after a failure not before BackupRetry. The copy runs
// beside the writer (store.Backup), so updates go on meanwhile. A failure
// is the job's error (logged by the scheduler); once the last success is
// older than twice the period it is also logged as a warning, as
// /readyz and rsvpbot_backup_warning show it.
func (a *App) backupJob() scheduler.Job {
	return func(ctx context.Context) (string, error) {
		now := a.cfg.Now()
		every := a.cfg.BackupEvery
		if last := a.backups.LastSuccess(); !last.IsZero() && now.Sub(last) < every {
			return "", nil
		}
		if failedAt := a.backups.LastFailure(); !failedAt.IsZero() && now.Sub(failedAt) < min(every, BackupRetry) {
			return "", nil
		}
		res, removed, err := store.BackupToDir(ctx, a.db.Path(), a.cfg.BackupDir, now, BackupKeep, a.db.Options())
		if res.Size > 0 {
			a.backups.Done(nil)
			if err != nil {
				a.log.Warn("backup written, but an old one could not be removed", "dir", a.cfg.BackupDir, "err", err)
			}
			return fmt.Sprintf("backup %s written and checked: %d bytes, schema version %d, took %s; %d old backup(s) removed",
				res.Path, res.Size, res.SchemaVersion, res.Took.Round(time.Millisecond), len(removed)), nil
		}
		a.backups.Done(err)
		if stale, detail := a.backups.Stale(); stale {
			a.log.Warn("scheduled backups are failing", "dir", a.cfg.BackupDir, "detail", detail)
		}
		return "", fmt.Errorf("backup into %s (RSVPBOT_BACKUP_DIR): %w", a.cfg.BackupDir, err)
	}
}

// addBackupJob registers the "backup" job when backups are configured.
func (a *App) addBackupJob() error {
	if a.backups == nil {
		return nil
	}
	return a.add("backup", fmt.Sprintf("@every %s", BackupCheck), a.backupJob())
}
