package scheduler

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/store"
	"github.com/rsvpbot/rsvpbot/store/storetest"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// openDB opens the test database named after path (a fresh one if path is
// ""), on the test backend (storetest.DSN): the same path reopens it.
func openDB(t testing.TB, path string) *store.DB {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "sched.db")
	}
	db, err := store.Open(context.Background(), storetest.DSN(t, path), outbox.WithSchema(store.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func tx(t testing.TB, db *store.DB, fn func(tx *sql.Tx) error) {
	t.Helper()
	if err := db.Tx(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

// person makes a user; started users can be written to privately.
func person(t testing.TB, db *store.DB, id int64, name string, started bool, now time.Time) {
	t.Helper()
	ctx := context.Background()
	tx(t, db, func(tx *sql.Tx) error {
		if err := store.UpsertUser(ctx, tx, store.User{ID: id, FirstName: name, Language: "en"}, now); err != nil {
			return err
		}
		return store.SetUserStarted(ctx, tx, id, started)
	})
}

// event makes an active event in chat starting at start, with people
// going (in order).
func event(t testing.TB, db *store.DB, chat int64, start time.Time, offsets string, now time.Time, going ...int64) int64 {
	t.Helper()
	ctx := context.Background()
	var id int64
	tx(t, db, func(tx *sql.Tx) (err error) {
		if err := store.UpsertChat(ctx, tx, store.Chat{ID: chat, Type: "group", Title: "G"}, now); err != nil {
			return err
		}
		id, err = store.CreateEvent(ctx, tx, store.Event{ChatID: chat, CreatorID: 1, Title: "Run <club>", Place: "Park",
			StartsAt: start, Timezone: "Europe/Berlin", ReminderOffsets: offsets}, now)
		if err != nil {
			return err
		}
		for _, u := range going {
			if _, err := store.ApplyRSVP(ctx, tx, id, u, store.ActGoing, now); err != nil {
				return err
			}
		}
		return nil
	})
	return id
}

// textRenderer renders notices as plain, checkable text.
type textRenderer struct{}

func (textRenderer) RenderReminder(_ context.Context, _ store.Querier, n Notice) (string, *models.InlineKeyboardMarkup, error) {
	var who []string
	for _, p := range n.People {
		s := p.User.FirstName
		if p.WaitlistRank > 0 {
			s += fmt.Sprintf("#%d", p.WaitlistRank)
		}
		who = append(who, s)
	}
	kind := "group"
	if n.Private {
		kind = "private"
	}
	if n.Undelivered {
		kind = "undelivered"
	}
	return fmt.Sprintf("%s ev%d left=%s to=%s", kind, n.Event.ID, n.Left.Round(time.Minute), strings.Join(who, ",")), nil, nil
}

// outboxRow is an enqueued message.
type outboxRow struct {
	ID     int64
	Chat   int64
	Lane   int
	Text   string
	Dedup  string
	State  string
	Method string
}

func outboxRows(t testing.TB, db *store.DB) []outboxRow {
	t.Helper()
	// The text is read from the params JSON here, not with SQLite's
	// json_extract, so that this reads both backends.
	rows, err := db.R.Query(`SELECT id, chat_id, lane, params, coalesce(dedup_key, ''), state, method
FROM outbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []outboxRow
	for rows.Next() {
		var r outboxRow
		var params []byte
		if err := rows.Scan(&r.ID, &r.Chat, &r.Lane, &params, &r.Dedup, &r.State, &r.Method); err != nil {
			t.Fatal(err)
		}
		var p struct{ Text string }
		if err := json.Unmarshal(params, &p); err != nil {
			t.Fatalf("outbox row %d params: %v", r.ID, err)
		}
		r.Text = p.Text
		out = append(out, r)
	}
	return out
}

func texts(rows []outboxRow) []string {
	var out []string
	for _, r := range rows {
		out = append(out, fmt.Sprintf("%d: %s", r.Chat, r.Text))
	}
	return out
}

func count(t testing.TB, db *store.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.R.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
