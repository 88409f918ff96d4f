package store

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"
)

// TestCommunityCountsFollowTheRows changes users, chats, events and RSVPs
// every way the bot does (inserts, upserts, status changes, a chat
// migration, an event deleted with its RSVPs) and checks after each step
// that CountCommunity's kept totals equal a count of the rows.
func TestCommunityCountsFollowTheRows(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	check := func(step string) {
		t.Helper()
		// The windows slide: checked at now and at later instants, the
		// window's first day partial each time.
		for _, later := range []time.Duration{0, 5*time.Hour + 7*time.Minute, 3*24*time.Hour + 13*time.Hour, 9 * 24 * time.Hour} {
			checkCommunityAt(t, db, step, now.Add(later))
		}
	}
	tx := func(step string, fn func(tx *sql.Tx) error) {
		t.Helper()
		if err := db.Tx(ctx, fn); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		check(step)
	}
	check("nothing")
	var ev1, ev2 int64
	tx("people and chats", func(tx *sql.Tx) error {
		for id := int64(1); id <= 5; id++ {
			if err := UpsertUser(ctx, tx, User{ID: id, FirstName: "P"}, now.Add(-time.Duration(id)*10*24*time.Hour)); err != nil {
				return err
			}
			if err := UpsertChat(ctx, tx, Chat{ID: id, Type: "private"}, now); err != nil {
				return err
			}
		}
		if err := UpsertChat(ctx, tx, Chat{ID: -10, Type: "group", Title: "G"}, now); err != nil {
			return err
		}
		return UpsertUser(ctx, tx, User{ID: 1, FirstName: "Renamed"}, now)
	})
	tx("blocked, inactive", func(tx *sql.Tx) error {
		if err := SetUserBlocked(ctx, tx, 2, true); err != nil {
			return err
		}
		if err := SetChatActive(ctx, tx, 2, false, "blocked"); err != nil {
			return err
		}
		return SetChatActive(ctx, tx, 2, false, "blocked again")
	})
	tx("events and answers", func(tx *sql.Tx) error {
		var err error
		if ev1, err = CreateEvent(ctx, tx, Event{ChatID: -10, CreatorID: 1, Title: "A", StartsAt: now.Add(time.Hour)}, now); err != nil {
			return err
		}
		if ev2, err = CreateEvent(ctx, tx, Event{ChatID: -10, CreatorID: 1, Title: "B", StartsAt: now.Add(-time.Hour)}, now); err != nil {
			return err
		}
		for _, u := range []int64{1, 2, 3} {
			if _, err := ApplyRSVP(ctx, tx, ev1, u, ActGoing, now); err != nil {
				return err
			}
		}
		_, err = ApplyRSVP(ctx, tx, ev1, 4, ActMaybe, now)
		return err
	})
	tx("changed answers", func(tx *sql.Tx) error {
		if _, err := ApplyRSVP(ctx, tx, ev1, 1, ActDecline, now); err != nil {
			return err
		}
		_, err := ApplyRSVP(ctx, tx, ev1, 4, ActGoing, now)
		return err
	})
	tx("a cancelled event", func(tx *sql.Tx) error {
		_, err := CancelEvent(ctx, tx, ev2, now)
		return err
	})
	tx("a group migrated", func(tx *sql.Tx) error { return MigrateChat(ctx, tx, -10, -1000000000010, now) })
	tx("an event deleted with its answers", func(tx *sql.Tx) error {
		_, err := tx.Exec(`DELETE FROM events WHERE id = ?`, ev1)
		return err
	})
	tx("people seen again, on other days", func(tx *sql.Tx) error {
		for id, seen := range map[int64]time.Duration{1: -29*24*time.Hour - 3*time.Hour, 3: -26*24*time.Hour + 11*time.Hour, 4: -time.Minute} {
			if err := UpsertUser(ctx, tx, User{ID: id, FirstName: "P"}, now.Add(seen)); err != nil {
				return err
			}
		}
		return SetUserBlocked(ctx, tx, 2, false)
	})
	tx("events moved and added on other days", func(tx *sql.Tx) error {
		for _, start := range []time.Duration{2 * time.Hour, 30 * time.Hour, 4*24*time.Hour + 20*time.Hour, 12 * 24 * time.Hour} {
			if _, err := CreateEvent(ctx, tx, Event{ChatID: -1000000000010, CreatorID: 1, Title: "C", StartsAt: now.Add(start)}, now); err != nil {
				return err
			}
		}
		_, err := tx.Exec(`UPDATE events SET starts_at = starts_at + 3 * 86400000 WHERE title = 'C' AND starts_at < ?`, Millis(now.Add(2*24*time.Hour)))
		return err
	})
	tx("a user deleted", func(tx *sql.Tx) error {
		_, err := tx.Exec(`DELETE FROM users WHERE id = 5`)
		return err
	})
}

// checkCommunityAt checks that CountCommunity's kept totals equal a count
// of the rows, at now.
func checkCommunityAt(t *testing.T, db *DB, step string, now time.Time) {
	t.Helper()
	got, err := CountCommunity(context.Background(), db.R, now, 30*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var want Community
	nowMs := Millis(now)
	err = db.R.QueryRow(`SELECT
 (SELECT count(*) FROM users), (SELECT count(*) FROM users WHERE last_seen >= ? AND blocked = 0),
 (SELECT count(*) FROM chats WHERE type = 'private' AND active = 1), (SELECT count(*) FROM chats WHERE type = 'private' AND active = 0),
 (SELECT count(*) FROM chats WHERE type <> 'private' AND active = 1), (SELECT count(*) FROM chats WHERE type <> 'private' AND active = 0),
 (SELECT count(*) FROM events WHERE status = 'active' AND starts_at >= ?), (SELECT count(*) FROM events WHERE status = 'active' AND starts_at < ?),
 (SELECT count(*) FROM events WHERE status = 'cancelled'),
 (SELECT count(*) FROM rsvps), (SELECT count(*) FROM rsvps WHERE status = 'going')`,
		Millis(now.Add(-30*24*time.Hour)), nowMs, nowMs).Scan(&want.Users, &want.UsersActive, &want.PrivateActive, &want.PrivateBlocked,
		&want.GroupsActive, &want.GroupsInactive, &want.EventsUpcoming, &want.EventsPast, &want.EventsCancelled, &want.RSVPs, &want.RSVPsGoing)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("after %s, at %s:\n got %+v\nwant %+v", step, now.Format(time.RFC3339), got, want)
	}
}

// Many transactions at once (on PostgreSQL truly concurrent, on the pool:
// the counters are sharded there so that they do not queue on one row)
// add people, see them again on other days, block them and answer one
// event: no transaction fails (a deadlock would, after Tx's retries), and
// the totals equal the rows.
func TestCommunityCountsUnderConcurrentWriters(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	var ev int64
	mustTx(t, db, func(tx *sql.Tx) (err error) {
		ev, err = CreateEvent(ctx, tx, Event{ChatID: -10, CreatorID: 1, Title: "A", StartsAt: now.Add(48 * time.Hour), Capacity: 30}, now)
		return err
	})
	var wg sync.WaitGroup
	for g := range int64(8) {
		wg.Go(func() {
			for i := range int64(20) {
				id := g*1000 + i
				err := db.Tx(ctx, func(tx *sql.Tx) error {
					if err := UpsertUser(ctx, tx, User{ID: id, FirstName: "P"}, now.Add(-time.Duration(i%5)*24*time.Hour)); err != nil {
						return err
					}
					if err := UpsertChat(ctx, tx, Chat{ID: id, Type: "private"}, now); err != nil {
						return err
					}
					if i%3 == 0 { // someone seen again today
						if err := UpsertUser(ctx, tx, User{ID: g * 1000, FirstName: "P"}, now.Add(time.Duration(i)*time.Minute)); err != nil {
							return err
						}
					}
					if i%7 == 6 {
						if err := SetUserBlocked(ctx, tx, id, true); err != nil {
							return err
						}
					}
					act := ActGoing
					if i%2 == 1 {
						act = ActMaybe
					}
					_, err := ApplyRSVP(ctx, tx, ev, id, act, now)
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	checkCommunityAt(t, db, "concurrent writers", now)
	checkCommunityAt(t, db, "concurrent writers", now.Add(3*24*time.Hour))
}
