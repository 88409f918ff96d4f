package handlers_test

// The sign-up question: set by the organizer, asked privately of whoever
// answers Going, answered in the private chat (or after a start link),
// shown to the organizer in "Who's going".

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/handlers/handlerstest"
	"github.com/rsvpbot/rsvpbot/store"
)

// signupEvent creates an event in the group, run by alice, with question.
func signupEvent(t *testing.T, h *evHarness, question string) (int64, models.Message) {
	t.Helper()
	h.startPrivately(alice)
	h.Send(party, alice, "/event Picnic | 2026-12-12 12:00 | Park")
	id := h.lastEventID()
	before, _, _ := store.GetEvent(context.Background(), h.DB.R, id)
	edits := len(h.Fake.CallsTo("editMessageText"))
	h.Send(party, alice, "/editevent "+itoa(id)+" question "+question)
	mustContain(t, "question saved", h.LastText(party.ID), "Saved")
	// No card shows the question: the event keeps its version, no card
	// is edited.
	if after, _, _ := store.GetEvent(context.Background(), h.DB.R, id); after.Version != before.Version || len(h.Fake.CallsTo("editMessageText")) != edits {
		t.Fatalf("setting the question: version %d → %d, %d card edit(s)", before.Version, after.Version, len(h.Fake.CallsTo("editMessageText"))-edits)
	}
	return id, h.card(party.ID)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func (h *evHarness) answer(eventID, userID int64) store.SignupAnswer {
	h.T.Helper()
	a, _, err := store.GetSignupAnswer(context.Background(), h.DB.R, eventID, userID)
	if err != nil {
		h.T.Fatal(err)
	}
	return a
}

func TestSignupQuestionAskedOnGoing(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	id, card := signupEvent(t, h, "What will you bring?")
	h.startPrivately(bob, oleg)

	h.press(party, bob, card, "Going")
	mustContain(t, "toast", h.lastToast(), "going")
	mustContain(t, "private question", h.LastText(bob.ID), "Picnic", "What will you bring?", "Send your answer here")
	if link := urlOf(t, h.Last(bob.ID)); !strings.Contains(link, "start=q_") {
		t.Fatalf("question's button opens %q", link)
	}
	if a := h.answer(id, bob.ID); a.State != store.SignupAsked {
		t.Fatalf("pending answer %+v", a)
	}
	h.Send(bottest.PrivateChat(bob), bob, "  Chips and <salsa>  ")
	mustContain(t, "thanks", h.LastText(bob.ID), "Thanks", "Chips and <salsa>")
	if a := h.answer(id, bob.ID); a.State != store.SignupAnswered || a.Answer != "Chips and <salsa>" {
		t.Fatalf("answer %+v", a)
	}
	if n := h.Count(`SELECT count(*) FROM conversations WHERE user_id = ?`, bob.ID); n != 0 {
		t.Fatalf("%d conversations left", n)
	}

	// Leaving and coming back keeps the answer and does not ask again.
	before := len(h.Texts(bob.ID))
	h.press(party, bob, card, "Can't go")
	h.press(party, bob, card, "Going")
	if got := len(h.Texts(bob.ID)); got != before {
		t.Fatalf("asked again: %q", h.Texts(bob.ID)[before:])
	}
	if a := h.answer(id, bob.ID); a.Answer != "Chips and <salsa>" {
		t.Fatalf("answer after leaving and coming back: %+v", a)
	}

	// The organizer is not asked their own question.
	h.press(party, alice, card, "Going")
	if got := h.LastText(alice.ID); strings.Contains(got, "What will you bring?") {
		t.Fatalf("the organizer was asked: %q", got)
	}

	// Maybe asks nothing; the question comes in the user's language.
	h.press(party, carol, card, "Maybe")
	if len(h.Texts(carol.ID)) != 0 {
		t.Fatalf("maybe was asked: %q", h.Texts(carol.ID))
	}
	h.press(party, oleg, card, "Going")
	mustContain(t, "russian", h.LastText(oleg.ID), "организатор спрашивает", "What will you bring?")

	// An empty or overlong answer is asked for again.
	h.Send(bottest.PrivateChat(oleg), oleg, strings.Repeat("я", 501))
	mustContain(t, "too long", h.LastText(oleg.ID), "500")
	h.Send(bottest.PrivateChat(oleg), oleg, "Пирог")
	if a := h.answer(id, oleg.ID); a.Answer != "Пирог" {
		t.Fatalf("oleg's answer %+v", a)
	}
}

func TestSignupAnswerShownToOrganizer(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	_, card := signupEvent(t, h, "What will you bring?")
	h.startPrivately(bob, carol)
	h.press(party, bob, card, "Going")
	h.Send(bottest.PrivateChat(bob), bob, "Lemonade")
	h.press(party, carol, card, "Going") // asked, never answers

	h.press(party, alice, card, "Who's going")
	who := h.LastText(alice.ID)
	mustContain(t, "organizer's list", who, "Question for attendees: What will you bring?", "Bob — Lemonade", "Carol")
	if strings.Contains(who, "Carol —") {
		t.Fatalf("an unanswered question shows an answer: %q", who)
	}
	// Attendees see who goes, not what others answered.
	h.press(party, carol, card, "Who's going")
	if got := h.LastText(carol.ID); !strings.Contains(got, "Bob") || strings.Contains(got, "Lemonade") {
		t.Fatalf("attendee's list: %q", got)
	}
}

func TestSignupWithoutPrivateChatGetsStartLink(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	id, card := signupEvent(t, h, "What will you bring?")
	h.Fake.SetNotStarted(dave.ID)

	h.press(party, dave, card, "Going")
	if h.rsvp(id, dave.ID).Status != store.RSVPGoing {
		t.Fatal("the RSVP waited for the answer")
	}
	offer := h.Last(party.ID)
	mustContain(t, "offer", offer.Text, "Dave", "asks you one question")
	link := urlOf(t, offer)
	want := "https://t.me/" + h.Fake.Bot().Username + "?start=q_"
	if !strings.HasPrefix(link, want) {
		t.Fatalf("button opens %q, want %s...", link, want)
	}

	// The link opens the private chat and asks there.
	payload := link[strings.Index(link, "start=")+len("start="):]
	h.Send(bottest.PrivateChat(dave), dave, "/start "+payload)
	mustContain(t, "asked after start", h.LastText(dave.ID), "What will you bring?")
	h.Send(bottest.PrivateChat(dave), dave, "Guitar")
	if a := h.answer(id, dave.ID); a.Answer != "Guitar" {
		t.Fatalf("dave's answer %+v", a)
	}
	// Someone not going who opens the link is told to press Going first.
	h.Send(bottest.PrivateChat(eve), eve, "/start "+payload)
	mustContain(t, "not going", h.LastText(eve.ID), "Going")

	// The bot thinks it may write to Carol, but she blocked it: the
	// bounced question (the outbox's fate hook) becomes the link.
	h.startPrivately(carol)
	h.Fake.BlockUser(carol.ID)
	h.press(party, carol, card, "Going")
	mustContain(t, "offer after bounce", h.LastText(party.ID), "Carol", "asks you one question")
	urlOf(t, h.Last(party.ID))
}

func urlOf(t *testing.T, m models.Message) string {
	t.Helper()
	if m.ReplyMarkup != nil {
		for _, row := range m.ReplyMarkup.InlineKeyboard {
			for _, b := range row {
				if b.URL != "" {
					return b.URL
				}
			}
		}
	}
	t.Fatalf("no URL button on %q", m.Text)
	return ""
}

func TestSignupSurvivesRestart(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	id, card := signupEvent(t, h, "Dietary needs?")
	h.startPrivately(bob)
	h.press(party, bob, card, "Going")
	mustContain(t, "asked", h.LastText(bob.ID), "Dietary needs?")

	h = h.restart()
	h.Send(bottest.PrivateChat(bob), bob, "Vegetarian")
	mustContain(t, "thanks after restart", h.LastText(bob.ID), "Vegetarian")
	if a := h.answer(id, bob.ID); a.State != store.SignupAnswered || a.Answer != "Vegetarian" {
		t.Fatalf("answer after restart %+v", a)
	}
}

// Someone in the middle of another conversation privately keeps it; the
// question comes with the button that asks it when they like.
func TestSignupWaitsForAnotherConversation(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	id, card := signupEvent(t, h, "What will you bring?")
	h.startPrivately(bob)
	h.Send(bottest.PrivateChat(bob), bob, "/event")
	h.press(party, bob, card, "Going")
	q := h.Last(bob.ID)
	mustContain(t, "question later", q.Text, "What will you bring?", "Press the button")
	h.Send(bottest.PrivateChat(bob), bob, "Bob's party")
	mustContain(t, "own conversation goes on", h.LastText(bob.ID), "When does it start")
	link := urlOf(t, q)
	h.Send(bottest.PrivateChat(bob), bob, "/start "+link[strings.Index(link, "start=")+len("start="):])
	h.Send(bottest.PrivateChat(bob), bob, "Cake")
	if a := h.answer(id, bob.ID); a.Answer != "Cake" {
		t.Fatalf("answer %+v", a)
	}
}

// Two questions pending: answering one asks the next.
func TestSignupQuestionsQueue(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	first, card1 := signupEvent(t, h, "What will you bring?")
	h.Send(party, alice, "/event Hike | 2026-12-13 09:00 | Hills")
	second := h.lastEventID()
	h.Send(party, alice, "/editevent "+itoa(second)+" question Shoe size?")
	card2 := h.card(party.ID)
	h.startPrivately(bob)
	h.press(party, bob, card1, "Going")
	h.press(party, bob, card2, "Going")
	mustContain(t, "second asked", h.LastText(bob.ID), "Shoe size?")
	h.Send(bottest.PrivateChat(bob), bob, "44")
	mustContain(t, "first asked again", h.LastText(bob.ID), "Thanks", "44", "What will you bring?")
	h.Send(bottest.PrivateChat(bob), bob, "Bread")
	if a, b := h.answer(second, bob.ID), h.answer(first, bob.ID); a.Answer != "44" || b.Answer != "Bread" {
		t.Fatalf("answers %+v %+v", a, b)
	}
}

func TestGoingNeverWaits(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	id, card := signupEvent(t, h, "What will you bring?")
	h.startPrivately(bob)
	h.press(party, bob, card, "Going")
	// Going is committed and shown before any answer.
	if h.rsvp(id, bob.ID).Status != store.RSVPGoing {
		t.Fatal("not going before answering")
	}
	mustContain(t, "card", h.cardText(party.ID, card.ID), "Bob")
	// Skipping the question leaves the RSVP as it is.
	h.Send(bottest.PrivateChat(bob), bob, "/cancel")
	if h.rsvp(id, bob.ID).Status != store.RSVPGoing {
		t.Fatal("cancelling the question changed the RSVP")
	}
	if a := h.answer(id, bob.ID); a.State != store.SignupAsked {
		t.Fatalf("skipped question %+v", a)
	}

	// Without a question, Going asks nothing.
	h.Send(party, alice, "/event Plain | 2026-12-14 12:00")
	n := len(h.Texts(bob.ID))
	h.press(party, bob, h.card(party.ID), "Going")
	if got := h.Texts(bob.ID); len(got) != n {
		t.Fatalf("asked without a question: %q", got[n:])
	}
}

// The organizer sets the question in the step-by-step /event, changes it
// from the Manage menu and removes it with "question off".
func TestSignupQuestionSetAndRemoved(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	chat := bottest.PrivateChat(alice)
	h.Send(chat, alice, "/event")
	h.Send(chat, alice, "Potluck")
	h.Send(chat, alice, "tomorrow 19:00")
	h.Send(chat, alice, "skip")
	h.Send(chat, alice, "skip")
	h.Send(chat, alice, "skip")
	mustContain(t, "asks for a question", h.LastText(chat.ID), "What will you bring?", "skip")
	h.Send(chat, alice, strings.Repeat("q", 201))
	mustContain(t, "too long", h.LastText(chat.ID), "200")
	h.Send(chat, alice, "Which dish?")
	preview := h.Last(chat.ID)
	mustContain(t, "preview", preview.Text, "Question for attendees: Which dish?")
	h.press(chat, alice, preview, "Post")
	id := h.lastEventID()
	q, err := store.SignupQuestion(context.Background(), h.DB.R, id)
	if err != nil || q != "Which dish?" {
		t.Fatalf("question %q, %v", q, err)
	}

	card := h.card(chat.ID)
	h.press(chat, alice, card, "Manage")
	menu := h.Last(chat.ID)
	h.press(chat, alice, menu, "Question")
	mustContain(t, "edit asks", h.LastText(chat.ID), "Currently: Which dish?")
	h.Send(chat, alice, "Which dessert?")
	if q, _ := store.SignupQuestion(context.Background(), h.DB.R, id); q != "Which dessert?" {
		t.Fatalf("after the menu: %q", q)
	}
	h.Send(chat, alice, "/editevent "+itoa(id)+" question off")
	if q, _ := store.SignupQuestion(context.Background(), h.DB.R, id); q != "" {
		t.Fatalf("after off: %q", q)
	}
	// Someone else may not change the question.
	h.Send(party, bob, "/editevent "+itoa(id)+" question Mine?")
	if q, _ := store.SignupQuestion(context.Background(), h.DB.R, id); q != "" {
		t.Fatalf("a stranger set the question: %q", q)
	}
}

// TestSignupAnswersExported: /export carries each answer in its last
// column, neutralised like every other cell a stranger typed.
func TestSignupAnswersExported(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	id, card := signupEvent(t, h, "What will you bring?")
	h.startPrivately(bob, oleg)
	h.press(party, bob, card, "Going")
	h.Send(bottest.PrivateChat(bob), bob, "=1+1 lemonade")
	h.press(party, oleg, card, "Going") // asked, never answers

	h.Send(bottest.PrivateChat(alice), alice, "/export "+itoa(id))
	recs := h.lastExport(alice.ID)
	if got := recs[0][len(recs[0])-1]; got != "Sign-up answer" {
		t.Fatalf("last header %q", got)
	}
	answers := map[string]string{}
	for _, r := range recs[1:] {
		answers[r[0]] = r[len(r)-1]
	}
	if answers["Bob"] != "'=1+1 lemonade" || answers["Oleg"] != "" {
		t.Fatalf("answers in the file: %q", answers)
	}
}

// TestCopyKeepsTheSignupQuestion: a copy starts with the original's
// question (place.go's copyDraft, saved on Post).
func TestCopyKeepsTheSignupQuestion(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	id, _ := signupEvent(t, h, "What will you bring?")
	h.Send(party, alice, "/event copy "+itoa(id))
	h.Send(party, alice, "2026-12-19 12:00")
	h.press(party, alice, h.Last(party.ID), "Post")
	copied := h.lastEventID()
	if copied == id {
		t.Fatal("no copy posted")
	}
	q, err := store.SignupQuestion(context.Background(), h.DB.R, copied)
	if err != nil || q != "What will you bring?" {
		t.Fatalf("copy's question %q, %v", q, err)
	}
}
