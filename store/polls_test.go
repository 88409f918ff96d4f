package store

import (
	"context"
	"database/sql"
	"testing"
	"time"
)

// Votes toggle only on an open poll, and a poll closes once: the second
// ClosePoll reports that it did nothing, so its caller's effects roll back.
func TestPollVotesAndCloseOnce(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var id int64
	tx := func(fn func(tx *sql.Tx) error) {
		t.Helper()
		if err := db.Tx(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	tx(func(tx *sql.Tx) (err error) {
		id, err = CreatePoll(ctx, tx, Poll{ChatID: -1, CreatorID: 1, Title: "T", Timezone: "UTC", Lang: "en",
			Deadline: now.Add(time.Hour)}, []time.Time{now.Add(24 * time.Hour), now.Add(48 * time.Hour)}, now)
		return err
	})
	toggle := func(idx int, user int64) (voted, ok bool) {
		tx(func(tx *sql.Tx) (err error) {
			voted, ok, err = TogglePollVote(ctx, tx, id, idx, user, now)
			return err
		})
		return voted, ok
	}
	if voted, ok := toggle(0, 2); !voted || !ok {
		t.Errorf("first vote: voted %v ok %v", voted, ok)
	}
	if voted, ok := toggle(0, 2); voted || !ok {
		t.Errorf("second press: voted %v ok %v, want taken back", voted, ok)
	}
	if _, ok := toggle(7, 2); ok {
		t.Error("a vote for an option the poll does not have")
	}
	toggle(1, 3)
	due, err := DuePolls(ctx, db.R, now.Add(time.Hour), 10)
	if err != nil || len(due) != 1 || due[0] != id {
		t.Fatalf("due %v, %v", due, err)
	}
	tx(func(tx *sql.Tx) error {
		if ok, err := ClosePoll(ctx, tx, id, 1, 0); err != nil || !ok {
			t.Errorf("close: %v %v", ok, err)
		}
		if ok, err := ClosePoll(ctx, tx, id, 0, 0); err != nil || ok {
			t.Errorf("second close: %v %v", ok, err)
		}
		return nil
	})
	if _, ok := toggle(1, 4); ok {
		t.Error("a vote on a closed poll")
	}
	if due, _ := DuePolls(ctx, db.R, now.Add(time.Hour), 10); len(due) != 0 {
		t.Errorf("a closed poll is due: %v", due)
	}
	p, ok, err := GetPoll(ctx, db.R, id)
	if err != nil || !ok || p.Status != PollClosed || p.Winner != 1 || p.EventID != 0 || !p.Deadline.Equal(now.Add(time.Hour)) {
		t.Errorf("poll %+v %v %v", p, ok, err)
	}
	votes, err := PollVotes(ctx, db.R, id)
	if err != nil || len(votes) != 1 || votes[0].User.ID != 3 || votes[0].Idx != 1 {
		t.Errorf("votes %+v %v", votes, err)
	}
}
