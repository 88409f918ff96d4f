package main

import (
	"strings"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
)

// TestSignupQuestionSurvivesSIGKILL: a question asked of someone who
// pressed Going waits in the database, so the real binary killed with
// SIGKILL and started again takes their private answer as the answer.
func TestSignupQuestionSurvivesSIGKILL(t *testing.T) {
	fake, dbPath, p := killableBot(t)
	group := bottest.Group(-7200, "Friends")
	ann := models.User{ID: 7201, FirstName: "Ann", Username: "ann", LanguageCode: "en"}
	bob := models.User{ID: 7202, FirstName: "Bob", Username: "bob", LanguageCode: "en"}
	says := func(chat int64, s string) func() bool {
		return func() bool { return strings.Contains(strings.Join(textsOf(fake, chat), "\n"), s) }
	}

	p.start()
	fake.PushMessage(bottest.PrivateChat(bob), bob, "/start")
	waitUntil(t, 20*time.Second, "Bob greeted", func() bool { return len(textsOf(fake, bob.ID)) > 0 })
	day := time.Now().UTC().AddDate(0, 0, 7).Format("2006-01-02")
	fake.PushMessage(group, ann, "/event Picnic | "+day+" 12:00 | Park")
	waitUntil(t, 20*time.Second, "the card", says(group.ID, "📅 Picnic"))
	fake.PushMessage(group, ann, "/editevent 1 question What will you bring?")
	waitUntil(t, 20*time.Second, "the question saved", says(group.ID, "Saved"))
	var card models.Message
	for _, m := range fake.Messages(group.ID) {
		if strings.HasPrefix(m.Text, "📅 Picnic") {
			card = m
		}
	}
	fake.PushCallback(group, bob, card.ID, "rsvp:1:go")
	waitUntil(t, 20*time.Second, "Bob asked privately", says(bob.ID, "What will you bring?"))
	p.kill()

	p.start()
	fake.PushMessage(bottest.PrivateChat(bob), bob, "Lemonade")
	waitUntil(t, 20*time.Second, "Bob thanked", says(bob.ID, "Thanks"))
	if code := p.stop(); code != 0 {
		t.Fatalf("exit %d\n%s", code, p.log())
	}
	rdb := readDB(t, dbPath)
	defer rdb.Close()
	var state, answer string
	if err := rdb.R.QueryRow(`SELECT state, answer FROM signup_answers WHERE event_id = 1 AND user_id = ?`, bob.ID).Scan(&state, &answer); err != nil {
		t.Fatal(err)
	}
	if state != "answered" || answer != "Lemonade" {
		t.Fatalf("answer after the kill: %s %q", state, answer)
	}
}
