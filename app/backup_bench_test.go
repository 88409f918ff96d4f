package app_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/app"
	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/store"
)

// The large database of BenchmarkBackupStall, seeded with plain SQL:
// users, and a year's worth of a busy bot's finished outbox rows and
// ledger attempts (the bulk of a real file).
const (
	stallUsers    = 100_000
	stallOutbox   = 500_000
	stallLedger   = 1_000_000
	stallRate     = 50 // updates offered per second
	stallWindow   = 8 * time.Second
	stallChats    = 100
	stallBackupAt = 500 * time.Millisecond // into the window
)

// seedLarge builds the large database once per process (both
// sub-benchmarks and every -count use it); TestMain removes it.
var large struct {
	once sync.Once
	path string
	err  error
}

func seedLarge() (string, error) {
	large.once.Do(func() { large.path, large.err = seed() })
	return large.path, large.err
}

func seed() (string, error) {
	dir, err := os.MkdirTemp("", "rsvpbot-backup-bench")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "large.db")
	ctx := context.Background()
	db, err := store.Open(ctx, path, outbox.WithSchema(store.Options{}))
	if err != nil {
		return "", err
	}
	defer db.Close()
	now := time.Now().UnixMilli()
	for _, q := range []string{
		fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < %d)
			INSERT INTO users(id, first_name, username, language, started, first_seen, last_seen)
			SELECT 1000000 + i, 'User ' || i, 'user' || i, 'en', 1, %d, %d FROM n`, stallUsers, now, now),
		fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < %d)
			INSERT INTO outbox(chat_id, lane, method, params, state, attempts, next_attempt_at, created_at, sent_at, done_at, tg_message_id)
			SELECT 1000000 + i %% %d, i %% 3, 'sendMessage',
				'{"chat_id":' || (1000000 + i %% %d) || ',"text":"Reply number ' || i || ': ' || hex(randomblob(60)) || '","parse_mode":"HTML"}',
				'sent', 1, %d - i, %d - i * 10, %d - i * 10 + 50, %d - i * 10 + 50, i FROM n`,
			stallOutbox, stallUsers, stallUsers, now, now, now, now),
		fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < %d)
			INSERT INTO ledger(outbox_id, chat_id, method, attempt, outcome, http_status, tg_message_id, latency_ms, response, created_at)
			SELECT 1 + i %% %d, 1000000 + i %% %d, 'sendMessage', 1, 'ok', 200, i, 40 + i %% 60,
				'{"ok":true,"result":{"message_id":' || i || ',"text":"' || hex(randomblob(40)) || '"}}', %d - i * 5 FROM n`,
			stallLedger, stallOutbox, stallUsers, now),
	} {
		if _, err := db.W.ExecContext(ctx, q); err != nil {
			return "", err
		}
	}
	if _, err := db.W.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return "", err
	}
	return path, nil
}

// BenchmarkBackupStall measures what a backup costs the updates a bot
// handles meanwhile, on a large database (seedLarge: 100k users, 500k
// outbox rows, 1M ledger rows): the real App (intake polling the fake
// Bot API, dispatcher, handlers, outbox sender) is offered 50 /help
// updates a second from 100 private chats for 8 s; in "backup=on" a
// store.Backup (what `rsvpbot backup` and the scheduled job run) starts
// 0.5 s in, and the window lasts until it ends. It reports the
// received→handled latency of those updates (inbox received_at to
// done_at: the handler's transaction committed), and the backup's time
// and size. Run with -benchtime=1x -count=6.
func BenchmarkBackupStall(b *testing.B) {
	path, err := seedLarge()
	if err != nil {
		b.Fatal(err)
	}
	if fi, err := os.Stat(path); err == nil {
		b.Logf("large database: %s, %.0f MB", path, float64(fi.Size())/1e6)
	}
	b.Run("backup=off", func(b *testing.B) { benchStall(b, path, false) })
	b.Run("backup=on", func(b *testing.B) { benchStall(b, path, true) })
}

func benchStall(b *testing.B, path string, backup bool) {
	ctx := context.Background()
	// Each run has a fresh fake, whose update ids start at 1 again: the
	// inbox of the previous run goes, or its ids would make the new
	// updates duplicates (and the offset would skip them).
	db0, err := store.Open(ctx, path, outbox.WithSchema(store.Options{}))
	if err != nil {
		b.Fatal(err)
	}
	_, err = db0.W.ExecContext(ctx, `DELETE FROM inbox`)
	db0.Close()
	if err != nil {
		b.Fatal(err)
	}
	fake := bottest.NewServer()
	defer fake.Close()
	a, err := app.New(ctx, app.Config{Token: fake.Token, APIURL: fake.URL, DB: path, ManualJobs: true, LedgerRetention: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	rctx, cancel := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- a.Run(rctx) }()
	defer func() { cancel(); <-ran }()
	db := a.DB()
	// Warm-up, not measured: the first updates after a start read cold
	// pages and prepare statements.
	for k := range stallRate {
		pushHelp(fake, k)
		time.Sleep(time.Second / stallRate)
	}
	waitHandled(b, db, fake)

	var lat []float64
	var took []float64
	var size int64
	dir := b.TempDir()
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		done := make(chan struct{})
		if backup {
			go func() {
				defer close(done)
				time.Sleep(stallBackupAt)
				res, err := store.Backup(ctx, path, filepath.Join(dir, fmt.Sprintf("copy-%d.db", i)), store.Options{})
				if err != nil {
					b.Error(err)
					return
				}
				took = append(took, res.Took.Seconds())
				size = res.Size
			}()
		} else {
			close(done)
		}
		var startID int64
		db.R.QueryRow(`SELECT coalesce(max(update_id), 0) FROM inbox`).Scan(&startID)
		for k := 0; ; k++ {
			at := start.Add(time.Duration(k) * time.Second / stallRate)
			if time.Since(start) > stallWindow {
				select {
				case <-done:
				default:
					time.Sleep(time.Until(at))
					pushHelp(fake, k)
					continue
				}
				break
			}
			time.Sleep(time.Until(at))
			pushHelp(fake, k)
		}
		<-done
		// Every update offered is handled before the next round.
		waitHandled(b, db, fake)
		rows, err := db.R.Query(`SELECT done_at - received_at FROM inbox WHERE update_id > ?`, startID)
		if err != nil {
			b.Fatal(err)
		}
		for rows.Next() {
			var d float64
			rows.Scan(&d)
			lat = append(lat, d)
		}
		rows.Close()
	}
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(lat[len(lat)/2], "p50-ms")
		b.ReportMetric(lat[len(lat)*99/100], "p99-ms")
		b.ReportMetric(lat[len(lat)-1], "max-ms")
		b.ReportMetric(float64(len(lat))/float64(b.N), "updates/op")
	}
	if len(took) > 0 {
		b.ReportMetric(slices.Max(took), "backup-s")
		b.ReportMetric(float64(size)/1e6, "backup-MB")
	}
}

// waitHandled waits until every update pushed is handled.
func waitHandled(b *testing.B, db *store.DB, fake *bottest.Server) {
	deadline := time.Now().Add(time.Minute)
	for {
		var n int
		db.R.QueryRow(`SELECT count(*) FROM inbox WHERE done_at IS NULL`).Scan(&n)
		if n == 0 && fake.PendingUpdates() == 0 {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d updates still pending after a minute", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if large.path != "" {
		os.RemoveAll(filepath.Dir(large.path))
	}
	os.Exit(code)
}

func pushHelp(fake *bottest.Server, k int) {
	u := models.User{ID: int64(5000 + k%stallChats), FirstName: "Bench", LanguageCode: "en"}
	fake.PushCommand(bottest.PrivateChat(u), u, "/help")
}
