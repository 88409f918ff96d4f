package main

import (
	"strings"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
)

// TestPollSurvivesSIGKILL: a date poll and its votes live in the database,
// so the real binary killed with SIGKILL and started again keeps counting
// on the same card, and closing it then creates the event once.
func TestPollSurvivesSIGKILL(t *testing.T) {
	fake, dbPath, p := killableBot(t)
	group := bottest.Group(-7100, "Friends")
	user := func(id int64, name string) models.User {
		return models.User{ID: id, FirstName: name, Username: strings.ToLower(name), LanguageCode: "en"}
	}
	ann, bob, cat := user(7101, "Ann"), user(7102, "Bob"), user(7103, "Cat")
	day := func(n int) string { return time.Now().UTC().AddDate(0, 0, n).Format("2006-01-02") + " 19:00" }

	card := func() (models.Message, bool) {
		for _, m := range fake.Messages(group.ID) {
			if strings.HasPrefix(m.Text, "📊") {
				return m, true
			}
		}
		return models.Message{}, false
	}
	cardSays := func(s string) func() bool {
		return func() bool { m, ok := card(); return ok && strings.Contains(m.Text, s) }
	}

	p.start()
	fake.PushMessage(group, ann, "/poll Board games | "+day(10)+" | "+day(11)+" | Cafe")
	waitUntil(t, 20*time.Second, "the poll card", cardSays("0 votes"))
	m, _ := card()
	fake.PushCallback(group, bob, m.ID, "poll:1:v0")
	waitUntil(t, 20*time.Second, "Bob's vote on the card", cardSays("1 vote\nBob"))
	p.kill()

	p.start()
	fake.PushCallback(group, cat, m.ID, "poll:1:v0")
	waitUntil(t, 20*time.Second, "Cat's vote after the kill", cardSays("2 votes\nBob, Cat"))
	fake.PushCallback(group, ann, m.ID, "poll:1:close")
	waitUntil(t, 20*time.Second, "the poll closed", cardSays("Closed"))
	waitUntil(t, 20*time.Second, "the event card", func() bool {
		return strings.Contains(strings.Join(textsOf(fake, group.ID), "\n"), "📅 Board games")
	})
	if code := p.stop(); code != 0 {
		t.Fatalf("exit %d\n%s", code, p.log())
	}
	rdb := readDB(t, dbPath)
	defer rdb.Close()
	var events, rsvps, votes int
	var status string
	if err := rdb.R.QueryRow(`SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM rsvps),
(SELECT count(*) FROM poll_votes), (SELECT status FROM polls WHERE id = 1)`).Scan(&events, &rsvps, &votes, &status); err != nil {
		t.Fatal(err)
	}
	if events != 1 || rsvps != 0 || votes != 2 || status != "closed" {
		t.Errorf("events %d (want 1), answers %d (want 0), votes %d (want 2), poll %s (want closed)", events, rsvps, votes, status)
	}
}
