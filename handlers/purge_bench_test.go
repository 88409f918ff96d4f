package handlers_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/handlers"
	"github.com/rsvpbot/rsvpbot/locales"
	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/store"
)

// BenchmarkPurgeDuringUpdates runs the ledger retention purge over a
// million old ledger rows (and 100k recent ones it keeps) while /help
// updates go through the real pipeline at 200 a second (as
// BenchmarkUpdatePipeline's), and reports:
//
//   - max-hold-ms: the longest any write transaction held the writer
//     while the purge ran (store.Options.ObserveHold), and holds>50ms how
//     many held it longer than 50 ms;
//   - p99-ms / p50-ms: offered→handled of the updates offered meanwhile
//     (waiting to be stored counts: the intake needs the writer too);
//   - purge-s: how long the purge took;
//   - file-MB-before / file-MB-after: the database file before and after
//     the purge (after a WAL checkpoint).
//
// "no-purge" is the same stream on the same database for 20 s without a
// purge: what the machine itself costs. "single-delete" is the purge as
// it was before batching: one
// transaction with one DELETE per table, on a file without auto_vacuum.
// "batched" is outbox.PurgeLedger: store.DB.PurgeBatched, then the freed
// pages given back. Run with -benchtime=1x (one purge per round).
func BenchmarkPurgeDuringUpdates(b *testing.B) {
	b.Run("no-purge", func(b *testing.B) { benchPurge(b, noPurge) })
	b.Run("single-delete", func(b *testing.B) { benchPurge(b, singleDelete) })
	b.Run("batched", func(b *testing.B) { benchPurge(b, batched) })
}

type purgeMode int

const (
	noPurge purgeMode = iota
	singleDelete
	batched
)

const (
	purgeOld    = 1_000_000
	purgeRecent = 100_000
)

func benchPurge(b *testing.B, mode purgeMode) {
	for range b.N {
		benchPurgeOnce(b, mode)
	}
}

func benchPurgeOnce(b *testing.B, mode purgeMode) {
	b.StopTimer()
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "purge.db")
	var maxHold, longHolds atomic.Int64
	var measuring atomic.Bool
	db, err := store.Open(ctx, path, outbox.WithSchema(store.Options{ObserveHold: func(d time.Duration) {
		if measuring.Load() {
			if d > 50*time.Millisecond {
				longHolds.Add(1)
			}
			for {
				cur := maxHold.Load()
				if int64(d) <= cur || maxHold.CompareAndSwap(cur, int64(d)) {
					break
				}
			}
		}
	}}))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	exec := func(q string, args ...any) {
		if _, err := db.W.Exec(q, args...); err != nil {
			b.Fatal(err)
		}
	}
	if mode == singleDelete {
		exec(`PRAGMA auto_vacuum = NONE`) // as databases were before
		exec(`VACUUM`)
	}
	now := time.Now()
	old, recent := store.Millis(now.Add(-120*24*time.Hour)), store.Millis(now.Add(-time.Hour))
	// A ledger row as the sender writes it: a call's outcome and the
	// start of its response.
	seed := `WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ?)
INSERT INTO ledger (outbox_id, chat_id, method, attempt, outcome, http_status, tg_message_id, latency_ms, response, created_at)
SELECT i, 10000 + i % 20000, 'sendMessage', 1, 'ok', 200, i, 40,
       '{"ok":true,"result":{"message_id":' || i || ',"from":{"id":1,"is_bot":true,"first_name":"RSVP"},"chat":{"id":' || (10000 + i % 20000) || ',"type":"private"},"date":1700000000,"text":"…"}}',
       ? + i
FROM c`
	exec(seed, purgeOld, old)
	exec(seed, purgeRecent, recent)
	exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	sizeBefore := fileMB(b, path)

	cat, _ := locales.New()
	app := handlers.New(handlers.Deps{DB: db, Catalog: cat})
	disp := bot.NewDispatcher(db, app, bot.DispatcherConfig{})
	in := bot.NewIntake(db, nil, bot.IntakeConfig{Stored: disp.Add})
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go disp.Run(rctx)

	// Updates: 10 every 50 ms until the purge is over. Each one's latency
	// runs from when it was offered, so that time spent waiting to be
	// stored (the intake needs the writer too) counts.
	var offeredMu sync.Mutex
	offered := map[int64]time.Time{}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		id := 0
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			raws := make([]json.RawMessage, 0, 10)
			for range 10 {
				id++
				chat := int64(10_000 + id%200)
				up := models.Update{ID: int64(id), Message: &models.Message{ID: id, Date: 1,
					Chat: models.Chat{ID: chat, Type: "private"},
					From: &models.User{ID: chat, FirstName: fmt.Sprint("U", chat), LanguageCode: "en"},
					Text: "/help", Entities: []models.MessageEntity{{Type: "bot_command", Offset: 0, Length: 5}}}}
				raw, _ := json.Marshal(up)
				raws = append(raws, raw)
			}
			offeredMu.Lock()
			for k := id - 9; k <= id; k++ {
				offered[int64(k)] = time.Now()
			}
			offeredMu.Unlock()
			if _, err := in.Save(ctx, raws); err != nil {
				b.Error(err)
				return
			}
		}
	}()
	time.Sleep(500 * time.Millisecond) // the stream is flowing

	measuring.Store(true)
	from := time.Now()
	b.StartTimer()
	var n int64
	cutoff := now.Add(-90 * 24 * time.Hour)
	switch mode {
	case noPurge:
		// The same stream for as long as a batched purge takes.
		time.Sleep(20 * time.Second)
		n = purgeOld
	case batched:
		n, err = outbox.PurgeLedger(ctx, db, cutoff)
	case singleDelete:
		err = db.Tx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `DELETE FROM ledger WHERE created_at < ?`, store.Millis(cutoff))
			if err != nil {
				return err
			}
			n, _ = res.RowsAffected()
			_, err = tx.ExecContext(ctx, `DELETE FROM outbox WHERE done_at < ? AND state IN ('sent', 'dropped', 'replaced')`, store.Millis(cutoff))
			return err
		})
	}
	b.StopTimer()
	took := time.Since(from)
	measuring.Store(false)
	if err != nil || n != purgeOld {
		b.Fatalf("purged %d, %v; want %d", n, err, purgeOld)
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	for {
		var pending int
		db.R.QueryRow(`SELECT count(*) FROM inbox WHERE done_at IS NULL`).Scan(&pending)
		if pending == 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()

	rows, err := db.R.Query(`SELECT update_id, done_at FROM inbox`)
	if err != nil {
		b.Fatal(err)
	}
	var lat []int64
	for rows.Next() {
		var id, done int64
		rows.Scan(&id, &done)
		if at, ok := offered[id]; ok && !at.Before(from) && !at.After(from.Add(took)) {
			lat = append(lat, done-store.Millis(at))
		}
	}
	rows.Close()
	slices.Sort(lat)
	exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	b.ReportMetric(float64(maxHold.Load())/1e6, "max-hold-ms")
	b.ReportMetric(float64(longHolds.Load()), "holds>50ms")
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2]), "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100]), "p99-ms")
	}
	b.ReportMetric(took.Seconds(), "purge-s")
	b.ReportMetric(sizeBefore, "file-MB-before")
	b.ReportMetric(fileMB(b, path), "file-MB-after")
}

func fileMB(b *testing.B, path string) float64 {
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return float64(fi.Size()) / (1 << 20)
}
