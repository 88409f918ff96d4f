package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/handlers"
	"github.com/rsvpbot/rsvpbot/locales"
	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/store"
)

// BenchmarkUpdatePipeline measures the intake path end to end on a real
// SQLite file: inbox insert (batches, as getUpdates delivers) → per-chat
// dispatch → handler (/help: reads the user, renders the command list) →
// outbox insert → update marked done, the last three in one transaction.
//
// "saturated" stores all updates at once (batches of 100) and reports the
// throughput; its p50/p99 of received→done are mostly time spent queued
// behind the rest of the burst. "paced" offers 1,000 updates/s (batches of
// 10 every 10 ms), well under capacity, so its p50/p99 are the path's own
// latency.
func BenchmarkUpdatePipeline(b *testing.B) {
	b.Run("saturated", func(b *testing.B) { benchPipeline(b, 100, 0) })
	b.Run("paced", func(b *testing.B) { benchPipeline(b, 10, 10*time.Millisecond) })
}

func benchPipeline(b *testing.B, batch int, every time.Duration) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), outbox.WithSchema(store.Options{}))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	cat, _ := locales.New()
	app := handlers.New(handlers.Deps{DB: db, Catalog: cat})
	disp := bot.NewDispatcher(db, app, bot.DispatcherConfig{})
	in := bot.NewIntake(db, nil, bot.IntakeConfig{Stored: disp.Add})
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go disp.Run(rctx)

	const chats = 200
	raws := make([]json.RawMessage, 0, b.N)
	for i := range b.N {
		chat := int64(10_000 + i%chats)
		up := models.Update{ID: int64(i + 1), Message: &models.Message{ID: i + 1, Date: 1,
			Chat: models.Chat{ID: chat, Type: "private"},
			From: &models.User{ID: chat, FirstName: fmt.Sprint("U", chat), LanguageCode: "en"},
			Text: "/help", Entities: []models.MessageEntity{{Type: "bot_command", Offset: 0, Length: 5}}}}
		raw, _ := json.Marshal(up)
		raws = append(raws, raw)
	}
	b.ResetTimer()
	start := time.Now()
	for i, k := 0, 0; i < len(raws); i, k = i+batch, k+1 {
		if every > 0 {
			time.Sleep(time.Until(start.Add(time.Duration(k) * every)))
		}
		if _, err := in.Save(ctx, raws[i:min(i+batch, len(raws))]); err != nil {
			b.Fatal(err)
		}
	}
	for {
		// The pending rows are a small partial index: cheap to count.
		var n int
		db.R.QueryRow(`SELECT count(*) FROM inbox WHERE done_at IS NULL`).Scan(&n)
		if n == 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if every == 0 {
		b.ReportMetric(float64(b.N)/elapsed.Seconds(), "updates/s")
	}
	rows, _ := db.R.Query(`SELECT done_at - received_at FROM inbox`)
	var lat []int64
	for rows.Next() {
		var d int64
		rows.Scan(&d)
		lat = append(lat, d)
	}
	rows.Close()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2]), "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100]), "p99-ms")
	}
	// Nothing sends here, so a chat's identical /help answers stay pending
	// and coalesce into one (the flood rule): one reply row per chat.
	var replies int
	db.R.QueryRow(`SELECT count(*) FROM outbox`).Scan(&replies)
	if want := min(b.N, chats); replies != want {
		b.Fatalf("%d replies for %d updates in %d chats, want %d", replies, b.N, chats, want)
	}
}
