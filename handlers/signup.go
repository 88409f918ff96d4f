package handlers

// The sign-up question: an event may ask its attendees one thing ("What
// will you bring?"). The organizer sets it in the /event conversation (an
// optional step), with "/editevent <number> question <text>" ("question
// off" removes it) or from the Manage menu.
//
// Whoever answers Going (or joins the waitlist), the organizer aside, is
// asked privately; the RSVP commits at once and never waits for the
// answer. The question is a
// "signup" conversation in the private chat, and the signup_answers row
// (state asked) is the pending question itself: both are rows, so a
// question half-answered survives a restart. Someone the bot may not write
// to (they never started it, or the private message bounces: OnFate hears
// it) gets a message in the event's chat with a button that opens the
// private chat: t.me/<bot>?start=q_<share code>, which asks there.
//
// The answer (at most maxAnswerLen characters) is shown to the people who
// may manage the event in "Who's going" and exported by /export. Leaving
// Going keeps the answer: coming back shows it again and does not ask
// twice. The question's button (the same link) asks again, to change an
// answer or to answer after the conversation timed out.

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/bot/tgtext"
	"github.com/rsvpbot/rsvpbot/locales"
	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/store"
)

// Limits of the sign-up question and its answers, in characters.
const (
	maxQuestionLen = 200
	maxAnswerLen   = 500
	// whoAnswerRunes is how much of an answer "Who's going" shows.
	whoAnswerRunes = 200
)

// signupRef is the outbox reference of a private question: OnFate hears
// whether it reached the user.
const signupRef = "signup:"

func (e *events) registerSignup() {
	e.registerFlow(&flow{name: "signup", steps: map[string]stepFunc{"answer": e.signupAnswer}})
	e.deepLinks["q"] = e.signupLink
}

// checkQuestion validates a question as typed: one line, not empty, not
// too long. ok is false when it is not acceptable.
func checkQuestion(s string) (string, bool) {
	s = oneLine(s)
	if invisible(s) || utf8.RuneCountInString(s) > maxQuestionLen {
		return "", false
	}
	return s, true
}

// isQuestionOff reports whether an answer removes the question: the skip
// word, "-", or "off".
func (a *App) isQuestionOff(s string) bool {
	return a.isSkip(s) || strings.EqualFold(strings.TrimSpace(s), "off")
}

// parseQuestion reads an organizer's answer to "the sign-up question?":
// the question, "" for none (skip or off), or the error message to send.
func (a *App) parseQuestion(lang, text string) (question, problem string) {
	if a.isQuestionOff(text) {
		return "", ""
	}
	if q, ok := checkQuestion(text); ok {
		return q, ""
	}
	return "", a.tr(lang, "signup_err_question", locales.Args{"Max": maxQuestionLen})
}

// askSignup asks the question of ev, if it has one, of the user who just
// answered Going or joined its waitlist in u (in tx, after the RSVP).
// Nobody is asked twice: an answer given is kept, and a question pending
// is put again only when they come back to Going.
func (e *events) askSignup(ctx context.Context, tx *sql.Tx, u *bot.Update, ev store.Event, ch store.RSVPChange) error {
	after := ch.After.Status
	if ch.Refused != store.RefusedNone || (after != store.RSVPGoing && after != store.RSVPWaitlist) ||
		ch.Before.Status == store.RSVPGoing || ch.Before.Status == store.RSVPWaitlist || u.UserID == ev.CreatorID {
		return nil // not newly in, or the organizer, who asks rather than answers
	}
	question, err := store.SignupQuestion(ctx, tx, ev.ID)
	if err != nil || question == "" {
		return err
	}
	prev, had, err := store.GetSignupAnswer(ctx, tx, ev.ID, u.UserID)
	if err != nil || (had && prev.State == store.SignupAnswered) {
		return err
	}
	if _, err := store.MarkSignupAsked(ctx, tx, ev.ID, u.UserID, e.now(ctx)); err != nil {
		return err
	}
	su, _, err := store.GetUser(ctx, tx, u.UserID)
	if err != nil {
		return err
	}
	if isPrivate(u) || reachable(su) {
		return e.putQuestion(ctx, tx, su, ev, question)
	}
	return e.offerSignupLink(ctx, tx, su, ev)
}

// putQuestion asks su privately and makes their next message there the
// answer. If they are in the middle of another conversation there, that
// one is left alone: the question comes with the button that starts
// answering it (the button comes with every question).
func (e *events) putQuestion(ctx context.Context, tx *sql.Tx, su store.User, ev store.Event, question string) error {
	lang := e.userLangOf(su)
	text := e.tr(lang, "signup_ask", locales.Args{"Title": ev.Title, "Question": question})
	// The button asks again whenever pressed: after the conversation timed
	// out, or was replaced by another one.
	markup := e.privateChatButton(lang, "signup_btn_answer", "q_"+ev.ShareCode)
	cur, busy, err := store.GetConversation(ctx, tx, su.ID, su.ID)
	if err != nil {
		return err
	}
	if busy && cur.Flow != "signup" && !e.now(ctx).After(cur.ExpiresAt) {
		text = e.tr(lang, "signup_ask_later", locales.Args{"Title": ev.Title, "Question": question})
	} else {
		if err := e.saveConvoIn(ctx, tx, su.ID, su.ID, "signup", "answer", map[string]string{"event": strconv.FormatInt(ev.ID, 10)}); err != nil {
			return err
		}
		text += "\n" + e.tr(lang, "signup_ask_hint")
	}
	_, err = outbox.Enqueue(ctx, tx, outbox.Message{ChatID: su.ID, Method: "sendMessage", Params: htmlMessage(su.ID, text, markup),
		Lane: outbox.Interactive, Ref: signupRef + strconv.FormatInt(ev.ID, 10)})
	return err
}

// offerSignupLink tells su, in the event's chat, that the organizer asks
// something, with a button that opens the private chat and asks there.
// Without a bot username there is no link, and nothing to offer.
func (e *App) offerSignupLink(ctx context.Context, tx *sql.Tx, su store.User, ev store.Event) error {
	if e.deepLink("") == "" || ev.ChatID > 0 {
		return nil
	}
	lang := e.sharedLang(ctx, tx, ev)
	text := mention(su) + ", " + e.tr(lang, "signup_start_me", locales.Args{"Title": ev.Title})
	return e.sendBulk(ctx, tx, ev.ChatID, text, e.privateChatButton(lang, "signup_btn_answer", "q_"+ev.ShareCode))
}

// signupFate hears what became of a private question: one that could not
// be delivered (the user blocked the bot or never started it) becomes the
// link offered in the event's chat.
func (e *App) signupFate(ctx context.Context, tx *sql.Tx, f outbox.Fate) error {
	rest, ok := strings.CutPrefix(f.Ref, signupRef)
	if !ok || f.State == outbox.StateSent {
		return nil
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	if err != nil {
		return nil
	}
	ev, found, err := store.GetEvent(ctx, tx, id)
	if err != nil || !found || ev.Cancelled() {
		return err
	}
	su, found, err := store.GetUser(ctx, tx, f.ChatID)
	if err != nil || !found {
		return err
	}
	if a, had, err := store.GetSignupAnswer(ctx, tx, id, su.ID); err != nil || (had && a.State == store.SignupAnswered) {
		return err
	}
	return e.offerSignupLink(ctx, tx, su, ev)
}

// signupLink is "q_<share code>": ask the question here, in the private
// chat the link opened. Only someone going or waitlisted is asked.
func (e *events) signupLink(ctx context.Context, u *bot.Update, payload string) error {
	ev, ok, err := e.linkedEvent(ctx, u, payload)
	if err != nil || !ok {
		return err
	}
	lang := e.userLang(ctx, u)
	question, err := store.SignupQuestion(ctx, e.DB.R, ev.ID)
	if err != nil {
		return err
	}
	if question == "" {
		return e.answerText(ctx, u, lang, "signup_no_question")
	}
	r, ok, err := store.GetRSVP(ctx, e.DB.R, ev.ID, u.UserID)
	if err != nil {
		return err
	}
	if !ok || (r.Status != store.RSVPGoing && r.Status != store.RSVPWaitlist) {
		return e.commit(ctx, u, func(tx *sql.Tx) error {
			return e.reply(ctx, tx, u, e.tr(lang, "signup_not_going", locales.Args{"Title": ev.Title}), nil)
		})
	}
	prev, _, err := store.GetSignupAnswer(ctx, e.DB.R, ev.ID, u.UserID)
	if err != nil {
		return err
	}
	ask := e.tr(lang, "signup_ask", locales.Args{"Title": ev.Title, "Question": question}) + "\n" + e.tr(lang, "signup_ask_hint")
	if prev.State == store.SignupAnswered {
		ask += "\n" + e.tr(lang, "event_current_value", locales.Args{"Value": tgtext.Echo(prev.Answer)})
	}
	return e.commit(ctx, u, func(tx *sql.Tx) error {
		if _, err := store.MarkSignupAsked(ctx, tx, ev.ID, u.UserID, e.now(ctx)); err != nil {
			return err
		}
		if err := e.saveConvo(ctx, tx, u, "signup", "answer", map[string]string{"event": strconv.FormatInt(ev.ID, 10)}); err != nil {
			return err
		}
		return e.reply(ctx, tx, u, ask, nil)
	})
}

// signupAnswer is the "signup" conversation's one step: the answer. Then
// the next question the user still owes, if any, is asked.
func (e *events) signupAnswer(ctx context.Context, u *bot.Update, c *convo, text string) (stepResult, error) {
	id, _ := strconv.ParseInt(c.Data["event"], 10, 64)
	ev, ok, err := store.GetEvent(ctx, e.DB.R, id)
	if err != nil {
		return stepResult{}, err
	}
	if !ok || ev.Cancelled() {
		return stepResult{Reply: e.tr(c.lang, "event_link_gone")}, nil
	}
	question, err := store.SignupQuestion(ctx, e.DB.R, id)
	if err != nil {
		return stepResult{}, err
	}
	if question == "" {
		return stepResult{Reply: e.tr(c.lang, "signup_no_question")}, nil
	}
	answer := strings.TrimSpace(strings.ToValidUTF8(text, ""))
	switch {
	case invisible(answer):
		return stepResult{Next: "answer", Reply: e.tr(c.lang, "signup_ask", locales.Args{"Title": ev.Title, "Question": question}) +
			"\n" + e.tr(c.lang, "signup_ask_hint")}, nil
	case utf8.RuneCountInString(answer) > maxAnswerLen:
		return stepResult{Next: "answer", Reply: e.tr(c.lang, "signup_err_long", locales.Args{"Max": maxAnswerLen})}, nil
	}
	reply := e.tr(c.lang, "signup_thanks", locales.Args{"Title": ev.Title, "Answer": tgtext.Echo(answer)})
	res := stepResult{Reply: reply}
	next, more, err := store.NextPendingSignup(ctx, e.DB.R, u.UserID, id)
	if err != nil {
		return stepResult{}, err
	}
	if more {
		nev, ok, err := store.GetEvent(ctx, e.DB.R, next)
		if err != nil {
			return stepResult{}, err
		}
		nq, err := store.SignupQuestion(ctx, e.DB.R, next)
		if err != nil {
			return stepResult{}, err
		}
		if ok && nq != "" {
			c.Data = map[string]string{"event": strconv.FormatInt(next, 10)}
			res.Next = "answer"
			res.Reply += "\n\n" + e.tr(c.lang, "signup_ask", locales.Args{"Title": nev.Title, "Question": nq}) +
				"\n" + e.tr(c.lang, "signup_ask_hint")
		}
	}
	res.Effects = func(tx *sql.Tx) error {
		return store.SaveSignupAnswer(ctx, tx, id, u.UserID, answer, e.now(ctx))
	}
	return res, nil
}

// signupAnswersFor are the answers to ev's question for someone who may
// manage it (viewer), else nil: attendees see who goes, not what others
// answered.
func (e *events) signupAnswersFor(ctx context.Context, q store.Querier, ev store.Event, viewer int64) (question string, answers map[int64]string, err error) {
	question, err = store.SignupQuestion(ctx, q, ev.ID)
	if err != nil || question == "" {
		return "", nil, err
	}
	if ok, err := e.canManage(ctx, ev, viewer); err != nil || !ok {
		return "", nil, err
	}
	answers, err = store.SignupAnswers(ctx, q, ev.ID)
	return question, answers, err
}
