package handlers

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/internal/seed"
	"github.com/rsvpbot/rsvpbot/locales"
	"github.com/rsvpbot/rsvpbot/store"
)

// The large-database benchmarks run the hot paths on a database seeded at
// scale 0 (the fixtures alone: the "empty" database) and on one seeded at
// full scale (package internal/seed: 100k users, 100k events, ~1M RSVPs,
// 2M ledger rows...), in one run, so that their figures compare.
//
// The seeded files are cached in os.TempDir (keyed by scale, schema and
// seed version; the first run seeds, in about two minutes at full scale)
// and copied for each run. RSVPBOT_BENCH_SCALE sets the large scale
// (default 1), e.g. 0.05 for a quick look.

// seedAt is the instant the benchmark databases are seeded around; the
// handlers' clock starts there.
var seedAt = seed.BenchConfig(0).Now

func benchScale(b *testing.B) float64 {
	s, err := seed.BenchScale()
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// seededCopy returns a private copy of the cached database seeded at scale.
func seededCopy(b *testing.B, scale float64) string {
	b.Helper()
	path, err := seed.BenchCopy(context.Background(), scale, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	return path
}

// benchDB is one database with the intake, the dispatcher and the
// handlers running on it (no sender: replies stay in the outbox).
type benchDB struct {
	db      *store.DB
	app     *App
	in      *bot.Intake
	done    chan time.Duration
	nextID  int64
	fx      seed.Fixtures
	cancel  context.CancelFunc
	stopped chan struct{}
}

func openBenchDB(b testing.TB, path string) *benchDB {
	b.Helper()
	ctx := context.Background()
	db, err := seed.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	next, err := store.NextUpdateOffset(ctx, db.R)
	if err != nil {
		b.Fatal(err)
	}
	began := time.Now()
	now := func() time.Time { return seedAt.Add(time.Since(began)) }
	fx := seed.FixturesAt(seedAt)
	cat, _ := locales.New()
	app := New(Deps{DB: db, Catalog: cat, Now: now, Admins: []int64{fx.BusyUser}, BotUsername: "rsvp_bench_bot"})
	app.EnableStats(StatsInfo{Version: "bench", Started: seedAt})
	e := &benchDB{db: db, app: app, done: make(chan time.Duration, 1), nextID: max(next, 1), fx: fx, stopped: make(chan struct{})}
	disp := bot.NewDispatcher(db, app, bot.DispatcherConfig{Now: now, Observe: func(u *bot.Update, took time.Duration, err error) {
		if err != nil {
			b.Errorf("update %d (%s): %v", u.ID, u.Kind, err)
		}
		e.done <- took
	}})
	e.in = bot.NewIntake(db, nil, bot.IntakeConfig{Stored: disp.Add})
	rctx, cancel := context.WithCancel(ctx)
	e.cancel = cancel
	go func() { defer close(e.stopped); disp.Run(rctx) }()
	return e
}

func (e *benchDB) close() {
	e.cancel()
	<-e.stopped
	e.db.Close()
}

// handle stores one update as the intake does and waits until the
// dispatcher has handled it (its effects and replies committed); it
// returns the time from before the store to then.
func (e *benchDB) handle(b testing.TB, up models.Update) time.Duration {
	up.ID = e.nextID
	e.nextID++
	raw, err := json.Marshal(up)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if _, err := e.in.Save(context.Background(), []json.RawMessage{raw}); err != nil {
		b.Fatal(err)
	}
	select {
	case <-e.done:
	case <-time.After(30 * time.Second):
		b.Fatalf("update %d not handled after 30 s", up.ID)
	}
	return time.Since(start)
}

func benchMessage(chat models.Chat, from int64, text string) models.Update {
	m := &models.Message{ID: 1, Date: int(seedAt.Unix()), Chat: chat, Text: text,
		From: &models.User{ID: from, FirstName: "P" + strconv.FormatInt(from%1000, 10), LanguageCode: "en"}}
	if len(text) > 0 && text[0] == '/' {
		n := len(text)
		for i, r := range text {
			if r == ' ' {
				n = i
				break
			}
		}
		m.Entities = []models.MessageEntity{{Type: models.MessageEntityTypeBotCommand, Offset: 0, Length: n}}
	}
	return models.Update{Message: m}
}

// benchOp is one hot path: the update of its i-th run.
type benchOp struct {
	name   string
	update func(fx seed.Fixtures, i int) models.Update
}

var benchOps = []benchOp{
	{"help", func(fx seed.Fixtures, i int) models.Update {
		u := fx.Members[i%len(fx.Members)]
		return benchMessage(models.Chat{ID: u, Type: models.ChatTypePrivate}, u, "/help")
	}},
	{"rsvp", func(fx seed.Fixtures, i int) models.Update {
		// Members press on the big event's card in turn: the going ones
		// answer Maybe, the others Going, and on the next round back, so
		// every press changes an answer and enqueues the card's edit.
		u := fx.Members[i%len(fx.Members)]
		going := i%len(fx.Members) < seed.HotAttendees
		if (i/len(fx.Members))%2 == 1 {
			going = !going
		}
		action := "go"
		if going {
			action = "maybe"
		}
		chat := models.Chat{ID: fx.HotChat, Type: models.ChatTypeSupergroup, Title: "Hot"}
		data := "rsvp:" + strconv.FormatInt(fx.BigEvent, 10) + ":" + action
		return models.Update{CallbackQuery: &models.CallbackQuery{ID: "cq" + strconv.Itoa(i),
			From:    models.User{ID: u, FirstName: "P", LanguageCode: "en"},
			Message: models.MaybeInaccessibleMessage{Type: models.MaybeInaccessibleMessageTypeMessage, Message: &models.Message{ID: fx.BigEventCard, Chat: chat}},
			Data:    data}}
	}},
	{"events", func(fx seed.Fixtures, i int) models.Update {
		return benchMessage(models.Chat{ID: fx.HotChat, Type: models.ChatTypeSupergroup, Title: "Hot"}, fx.Members[i%len(fx.Members)], "/events")
	}},
	{"myevents", func(fx seed.Fixtures, i int) models.Update {
		return benchMessage(models.Chat{ID: fx.BusyUser, Type: models.ChatTypePrivate}, fx.BusyUser, "/myevents")
	}},
	{"stats", func(fx seed.Fixtures, i int) models.Update {
		return benchMessage(models.Chat{ID: fx.BusyUser, Type: models.ChatTypePrivate}, fx.BusyUser, "/stats")
	}},
}

// reportLatency reports the p50 and p99 of lat, in ms.
func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[min(len(lat)-1, len(lat)*99/100)]), "p99-ms")
}

// BenchmarkLargeDB: update → reply (committed) for /help, an RSVP press
// on the 500-attendee event's card (its edit enqueued), /events in the
// group with 130 events, /myevents of a person going to 30 events, and
// /stats, each on the empty and on the large database; and the rendering
// of the big event's card (read and render, as every edit does). Updates
// go one at a time through the real intake, dispatcher and handlers, so
// the latency is the path's own, without queueing.
func BenchmarkLargeDB(b *testing.B) {
	for _, kind := range []struct {
		name  string
		scale float64
	}{{"empty", 0}, {"large", benchScale(b)}} {
		e := openBenchDB(b, seededCopy(b, kind.scale))
		for _, op := range benchOps {
			b.Run(op.name+"/db="+kind.name, func(b *testing.B) {
				// Warm the path (statement cache, pages) before timing it.
				for i := range 20 {
					e.handle(b, op.update(e.fx, i))
				}
				lat := make([]time.Duration, 0, b.N)
				b.ResetTimer()
				for i := range b.N {
					lat = append(lat, e.handle(b, op.update(e.fx, 20+i)))
				}
				b.StopTimer()
				reportLatency(b, lat)
			})
		}
		b.Run("card500/db="+kind.name, func(b *testing.B) {
			ctx := context.Background()
			lat := make([]time.Duration, 0, b.N)
			for i := range b.N + 10 {
				if i == 10 {
					b.ResetTimer()
				}
				start := time.Now()
				d, ok, err := e.app.loadCard(ctx, e.db.R, e.fx.BigEvent)
				if err != nil || !ok {
					b.Fatalf("loading the big card: %v %v", ok, err)
				}
				text := e.app.renderCard("en", d)
				if i >= 10 {
					lat = append(lat, time.Since(start))
				}
				if len(d.going) < seed.HotAttendees-len(e.fx.Members) || text == "" {
					b.Fatalf("big card: %d going", len(d.going))
				}
			}
			b.StopTimer()
			reportLatency(b, lat)
		})
		e.close()
	}
}
