package handlers

// Date polls: "/poll Board games | fri 19:00 | sat 15:00 | sun 11:00 |
// Cafe | until thu 12:00" (2–10 dates in every form /event understands,
// an optional place, an optional deadline after poll_deadline_word in any
// language), or "/poll" alone for the "poll_create" conversation.
//
// The poll card (one per poll, in its chat) has one toggle button per
// date; several may be chosen. It shows the counts and who voted, and is
// kept current the way event cards are: edits through the outbox's Edit
// lane with one coalescing key per message, rendered inside the
// transaction that changed the votes, so a burst of clicks costs a few
// edits. The organizer or a chat admin (mayOrganize) closes it from the
// card, or the "poll-deadlines" job does at its deadline: the date with
// the most votes wins; a tie moves the poll to 'tie' and the card asks the
// organizer to pick. Closing creates the event as /event does and posts
// its card, and sends each voter of the winning date a private copy of
// the card (its RSVP buttons); nobody is marked as going. The poll's
// status changes in that same transaction, so it closes exactly once.
//
// Buttons ("poll:<id>:<action>", at most 30 bytes):
//
//	v<n>    toggle the presser's vote for option n
//	close   close the poll (organizer, chat admins, bot admins)
//	p<n>    pick option n of a tie (the same people)
//
// A poll belongs to its chat: its buttons act only when pressed in that
// chat on its card (rule 1 of visibility.go).

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/bot/tgtext"
	"github.com/rsvpbot/rsvpbot/locales"
	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/store"
)

// Limits of a poll.
const (
	minPollOptions = 2
	maxPollOptions = 10
	// pollMaxNames is the most voters an option lists on the card.
	pollMaxNames = 15
)

// Why a poll line was refused.
var (
	errPollFewOptions   = errors.New("fewer than two dates")
	errPollManyOptions  = errors.New("more than ten dates")
	errPollDuplicate    = errors.New("the same date twice")
	errPollDeadline     = errors.New("deadline not understood")
	errPollDeadlineLate = errors.New("deadline not before the first date")
	errPollTwoDeadlines = errors.New("two deadlines")
)

// pollOptionError is a field that is neither a date nor the place.
type pollOptionError struct {
	N    int // 1-based field number after the title
	Text string
	Err  error
}

func (e *pollOptionError) Error() string { return fmt.Sprintf("date %d %q: %v", e.N, e.Text, e.Err) }
func (e *pollOptionError) Unwrap() error { return e.Err }

// pollLine is a parsed one-line /poll.
type pollLine struct {
	Title    string
	Options  []time.Time
	Place    string
	Deadline time.Time // zero: none
}

// parsePollLine reads "title | date | date ... [| place] [| <deadline
// word> date]". Every field after the title is a date, except a last one
// (before the deadline) that is none, which is the place; deadlineWords
// are the words that start the deadline field.
func parsePollLine(w *whenParser, s string, now time.Time, loc *time.Location, lang string, deadlineWords []string) (pollLine, error) {
	parts := strings.Split(s, "|")
	if len(parts) > maxPollOptions+3 {
		return pollLine{}, errPollManyOptions
	}
	var l pollLine
	var err error
	if l.Title, err = checkTitle(parts[0]); err != nil {
		return pollLine{}, err
	}
	var fields []string
	for _, p := range parts[1:] {
		if p = oneLine(p); p != "" {
			fields = append(fields, p)
		}
	}
	// The deadline, wherever it is.
	for i := 0; i < len(fields); i++ {
		rest, ok := cutDeadlineWord(fields[i], deadlineWords)
		if !ok {
			continue
		}
		if !l.Deadline.IsZero() {
			return pollLine{}, errPollTwoDeadlines
		}
		if l.Deadline, err = w.parse(rest, now, loc, lang); err != nil {
			return pollLine{}, fmt.Errorf("%w: %w", errPollDeadline, err)
		}
		fields = slices.Delete(fields, i, i+1)
		i--
	}
	for i, f := range fields {
		t, err := w.parse(f, now, loc, lang)
		if err != nil {
			if i == len(fields)-1 && i >= minPollOptions && !errors.Is(err, errRecurring) {
				if l.Place, err = checkPlace(f); err != nil {
					return pollLine{}, err
				}
				break
			}
			return pollLine{}, &pollOptionError{N: i + 1, Text: f, Err: err}
		}
		if slices.ContainsFunc(l.Options, t.Equal) {
			return pollLine{}, errPollDuplicate
		}
		l.Options = append(l.Options, t)
	}
	switch {
	case len(l.Options) < minPollOptions:
		return pollLine{}, errPollFewOptions
	case len(l.Options) > maxPollOptions:
		return pollLine{}, errPollManyOptions
	}
	if !l.Deadline.IsZero() && !l.Deadline.Before(slices.MinFunc(l.Options, time.Time.Compare)) {
		return pollLine{}, errPollDeadlineLate
	}
	return l, nil
}

// cutDeadlineWord reports whether field starts with one of words (any
// case) followed by a space or a colon, and returns what follows.
func cutDeadlineWord(field string, words []string) (string, bool) {
	lower := strings.ToLower(field)
	for _, w := range words {
		w = strings.ToLower(strings.TrimSpace(w))
		if w == "" || !strings.HasPrefix(lower, w) {
			continue
		}
		rest := field[len(w):]
		if rest == "" {
			continue
		}
		if r := rune(rest[0]); r == ':' || unicode.IsSpace(r) {
			return strings.TrimSpace(strings.TrimPrefix(rest, ":")), true
		}
	}
	return "", false
}

// registerPolls registers /poll, its buttons and its conversation.
func (a *App) registerPolls(e *events) {
	a.router.Command("poll", e.poll)
	a.router.Callback("poll", e.pollButton)
	a.registerFlow(&flow{name: "poll_create", steps: map[string]stepFunc{
		"title":    e.pollDraftTitle,
		"option":   e.pollDraftOption,
		"place":    e.pollDraftPlace,
		"deadline": e.pollDraftDeadline,
	}})
}

// words is one catalog id's text in every language.
func (a *App) words(id string) []string {
	var out []string
	for _, l := range a.Catalog.Languages() {
		out = append(out, a.Catalog.T(l, id))
	}
	return out
}

// pollError explains a refused poll line or answer.
func (e *events) pollError(ctx context.Context, lang string, err error, loc *time.Location) string {
	var oe *pollOptionError
	switch {
	case errors.As(err, &oe):
		return e.tr(lang, "poll_err_option", locales.Args{"N": oe.N, "Text": tgtext.Shorten(oe.Text, 60)}) + "\n" +
			e.fieldError(ctx, lang, oe.Err, loc)
	case errors.Is(err, errPollFewOptions):
		return e.tr(lang, "poll_usage", locales.Args{"Deadline": e.Catalog.T(lang, "poll_deadline_word")})
	case errors.Is(err, errPollManyOptions):
		return e.tr(lang, "poll_err_many", locales.Args{"Max": maxPollOptions})
	case errors.Is(err, errPollDuplicate):
		return e.tr(lang, "poll_err_duplicate")
	case errors.Is(err, errPollDeadlineLate):
		return e.tr(lang, "poll_err_deadline_late")
	case errors.Is(err, errPollTwoDeadlines):
		return e.tr(lang, "poll_err_two_deadlines")
	case errors.Is(err, errPollDeadline):
		return e.tr(lang, "poll_err_deadline") + "\n" + e.fieldError(ctx, lang, errors.Unwrap(err), loc)
	}
	return e.fieldError(ctx, lang, err, loc)
}

// poll creates a poll from one line, or starts the conversation.
func (e *events) poll(ctx context.Context, u *bot.Update) error {
	lang := e.userLang(ctx, u)
	loc := e.chatTZ(ctx, e.DB.R, u.ChatID)
	if strings.TrimSpace(u.Args) == "" {
		return e.startConversation(ctx, u, "poll_create", "title", map[string]string{"tz": loc.String()},
			e.tr(lang, "poll_intro")+"\n\n"+e.tr(lang, "poll_ask_title"), nil)
	}
	line, err := parsePollLine(e.when, u.Args, e.now(ctx), loc, lang, e.words("poll_deadline_word"))
	if err != nil {
		msg := e.pollError(ctx, lang, err, loc)
		return e.commit(ctx, u, func(tx *sql.Tx) error { return e.reply(ctx, tx, u, msg, nil) })
	}
	p := store.Poll{ChatID: u.ChatID, CreatorID: u.UserID, Title: line.Title, Place: line.Place,
		Timezone: loc.String(), Lang: e.chatLang(ctx, u), Deadline: line.Deadline}
	return e.commit(ctx, u, func(tx *sql.Tx) error { return e.createPoll(ctx, tx, p, line.Options) })
}

// createPoll stores a poll and posts its card in its chat.
func (a *App) createPoll(ctx context.Context, tx *sql.Tx, p store.Poll, options []time.Time) error {
	id, err := store.CreatePoll(ctx, tx, p, options, a.now(ctx))
	if err != nil {
		return err
	}
	d, ok, err := a.loadPoll(ctx, tx, id)
	if err != nil || !ok {
		return err
	}
	lang := a.chatLangOr(ctx, tx, d.poll.ChatID, d.poll.Lang)
	params := htmlMessage(p.ChatID, a.renderPoll(lang, d), a.pollKeyboard(lang, d))
	if err := store.SetPollCardVersion(ctx, tx, id, d.poll.Version); err != nil {
		return err
	}
	_, err = outbox.Enqueue(ctx, tx, outbox.Message{ChatID: p.ChatID, Method: "sendMessage", Params: params,
		Lane: outbox.Interactive, Ref: "poll:" + strconv.FormatInt(id, 10)})
	return err
}

// The conversation. Its data: tz, title, n (dates so far), o<i> (Unix ms),
// place.

func (e *events) pollDraftTitle(ctx context.Context, u *bot.Update, c *convo, text string) (stepResult, error) {
	title, err := checkTitle(text)
	if err != nil {
		return stepResult{Next: "title", Reply: e.fieldError(ctx, c.lang, err, time.UTC)}, nil
	}
	c.Data["title"] = title
	c.Data["n"] = "0"
	return stepResult{Next: "option", Reply: e.pollAskOption(ctx, c)}, nil
}

func (e *events) pollAskOption(ctx context.Context, c *convo) string {
	n, _ := strconv.Atoi(c.Data["n"])
	return e.tr(c.lang, "poll_ask_option", locales.Args{"N": n + 1, "Example": e.exampleWhen(ctx, e.draftZone(c)),
		"Done": e.Catalog.T(c.lang, "poll_done_word"), "Min": minPollOptions})
}

// pollDraftOptions are the dates a poll conversation collected.
func pollDraftOptions(c *convo) []time.Time {
	n, _ := strconv.Atoi(c.Data["n"])
	var out []time.Time
	for i := range n {
		ms, _ := strconv.ParseInt(c.Data["o"+strconv.Itoa(i)], 10, 64)
		out = append(out, store.FromMillis(ms))
	}
	return out
}

// isDone reports whether an answer ends the list of dates.
func (a *App) isDone(s string) bool {
	s = strings.ToLower(strings.TrimSpace(s))
	for _, w := range a.words("poll_done_word") {
		if s == strings.ToLower(w) {
			return true
		}
	}
	return a.isSkip(s)
}

func (e *events) pollDraftOption(ctx context.Context, u *bot.Update, c *convo, text string) (stepResult, error) {
	opts := pollDraftOptions(c)
	if e.isDone(text) {
		if len(opts) < minPollOptions {
			return stepResult{Next: "option", Reply: e.tr(c.lang, "poll_need_more", locales.Args{"Min": minPollOptions}) +
				"\n" + e.pollAskOption(ctx, c)}, nil
		}
		return stepResult{Next: "place", Reply: e.tr(c.lang, "poll_ask_place", locales.Args{"Skip": e.Catalog.T(c.lang, "event_skip_word")})}, nil
	}
	loc := e.draftZone(c)
	t, err := e.when.parse(text, e.now(ctx), loc, c.lang)
	if err == nil && slices.ContainsFunc(opts, t.Equal) {
		err = errPollDuplicate
	}
	if err != nil {
		return stepResult{Next: "option", Reply: e.pollError(ctx, c.lang, err, loc)}, nil
	}
	c.Data["o"+strconv.Itoa(len(opts))] = strconv.FormatInt(store.Millis(t), 10)
	c.Data["n"] = strconv.Itoa(len(opts) + 1)
	added := e.tr(c.lang, "poll_option_added", locales.Args{"When": e.Catalog.FormatDateTime(c.lang, t.In(loc))})
	if len(opts)+1 >= maxPollOptions {
		return stepResult{Next: "place", Reply: added + "\n\n" +
			e.tr(c.lang, "poll_ask_place", locales.Args{"Skip": e.Catalog.T(c.lang, "event_skip_word")})}, nil
	}
	return stepResult{Next: "option", Reply: added + "\n" + e.pollAskOption(ctx, c)}, nil
}

func (e *events) pollDraftPlace(ctx context.Context, u *bot.Update, c *convo, text string) (stepResult, error) {
	place := ""
	if !e.isSkip(text) {
		var err error
		if place, err = checkPlace(text); err != nil {
			return stepResult{Next: "place", Reply: e.fieldError(ctx, c.lang, err, time.UTC)}, nil
		}
	}
	c.Data["place"] = place
	return stepResult{Next: "deadline", Reply: e.tr(c.lang, "poll_ask_deadline", locales.Args{
		"Skip": e.Catalog.T(c.lang, "event_skip_word"), "Example": e.exampleWhen(ctx, e.draftZone(c))})}, nil
}

func (e *events) pollDraftDeadline(ctx context.Context, u *bot.Update, c *convo, text string) (stepResult, error) {
	loc := e.draftZone(c)
	opts := pollDraftOptions(c)
	var deadline time.Time
	if !e.isSkip(text) {
		var err error
		deadline, err = e.when.parse(text, e.now(ctx), loc, c.lang)
		if err == nil && !deadline.Before(slices.MinFunc(opts, time.Time.Compare)) {
			err = errPollDeadlineLate
		}
		if err != nil {
			return stepResult{Next: "deadline", Reply: e.pollError(ctx, c.lang, err, loc)}, nil
		}
	}
	p := store.Poll{ChatID: u.ChatID, CreatorID: u.UserID, Title: c.Data["title"], Place: c.Data["place"],
		Timezone: loc.String(), Lang: e.chatLang(ctx, u), Deadline: deadline}
	return stepResult{Effects: func(tx *sql.Tx) error { return e.createPoll(ctx, tx, p, opts) }}, nil
}

// pollData is everything a poll card shows.
type pollData struct {
	poll      store.Poll
	options   []store.PollOption
	voters    map[int][]store.User // by option
	organizer store.User
	now       time.Time // dates not after it can no longer win
}

func (a *App) loadPoll(ctx context.Context, q store.Querier, id int64) (pollData, bool, error) {
	p, ok, err := store.GetPoll(ctx, q, id)
	if err != nil || !ok {
		return pollData{}, ok, err
	}
	d := pollData{poll: p, voters: map[int][]store.User{}, now: a.now(ctx)}
	if d.options, err = store.PollOptions(ctx, q, id); err != nil {
		return pollData{}, false, err
	}
	votes, err := store.PollVotes(ctx, q, id)
	if err != nil {
		return pollData{}, false, err
	}
	for _, v := range votes {
		d.voters[v.Idx] = append(d.voters[v.Idx], v.User)
	}
	if d.organizer, _, err = store.GetUser(ctx, q, p.CreatorID); err != nil {
		return pollData{}, false, err
	}
	d.organizer.ID = p.CreatorID
	return d, true, nil
}

// leaders are the dates still ahead with the most votes (all of them if
// nobody voted for any); none when every date has passed.
func (d pollData) leaders() []int {
	most := 0
	for _, o := range d.options {
		if o.StartsAt.After(d.now) {
			most = max(most, len(d.voters[o.Idx]))
		}
	}
	var out []int
	for _, o := range d.options {
		if o.StartsAt.After(d.now) && len(d.voters[o.Idx]) == most {
			out = append(out, o.Idx)
		}
	}
	return out
}

func (d pollData) option(idx int) (store.PollOption, bool) {
	for _, o := range d.options {
		if o.Idx == idx {
			return o, true
		}
	}
	return store.PollOption{}, false
}

func (a *App) pollWhen(lang string, p store.Poll, t time.Time) string {
	return a.Catalog.FormatDateTime(lang, t.In(p.Zone()))
}

// renderPoll writes the poll card's HTML. Each option lists at most
// pollMaxNames voters and its share of cardBudget, then "and N more".
func (a *App) renderPoll(lang string, d pollData) string {
	p := d.poll
	var b strings.Builder
	b.WriteString("📊 <b>" + a.tr(lang, "poll_card_title", locales.Args{"Title": p.Title}) + "</b>\n")
	if p.Place != "" {
		b.WriteString(a.tr(lang, "event_card_where", locales.Args{"Place": p.Place}) + "\n")
	}
	if !p.Deadline.IsZero() && p.Status == store.PollOpen {
		b.WriteString(a.tr(lang, "poll_card_deadline", locales.Args{"Time": a.pollWhen(lang, p, p.Deadline)}) + "\n")
	}
	b.WriteString(a.tr(lang, "event_card_organizer", locales.Args{"Name": d.organizer.DisplayName()}) + "\n\n")
	head := b.String()
	var tail string
	switch p.Status {
	case store.PollOpen:
		tail = "\n" + a.tr(lang, "poll_card_hint")
	case store.PollTie:
		tail = "\n" + a.tr(lang, "poll_card_tie", locales.Args{"Name": d.organizer.DisplayName()})
	case store.PollClosed:
		if o, ok := d.option(p.Winner); ok {
			tail = "\n" + a.tr(lang, "poll_card_closed", locales.Args{"When": a.pollWhen(lang, p, o.StartsAt)})
		} else {
			tail = "\n" + a.tr(lang, "poll_card_expired")
		}
	}
	budget := (cardBudget - tgtext.UTF16Len(head) - tgtext.UTF16Len(tail)) / max(len(d.options), 1)
	more := func(n int) string { return a.tr(lang, "event_card_and_more", locales.Args{"Count": n}) }
	var opts strings.Builder
	for _, o := range d.options {
		voters := d.voters[o.Idx]
		mark := ""
		if p.Status == store.PollClosed && o.Idx == p.Winner {
			mark = "✅ "
		}
		line := fmt.Sprintf("%s<b>%d.</b> %s — %s", mark, o.Idx+1, esc(a.pollWhen(lang, p, o.StartsAt)),
			a.tr(lang, "poll_card_votes", locales.Args{"Count": len(voters)}))
		if len(voters) > 0 {
			room := budget - tgtext.UTF16Len(line) - tgtext.UTF16Len(", "+more(len(voters))) - 1
			var names []string
			used := 0
			for i, v := range voters {
				n := personName(v, 0)
				cost := tgtext.UTF16Len(n) + 2
				if i >= pollMaxNames || used+cost > room {
					break
				}
				names = append(names, n)
				used += cost
			}
			list := strings.Join(names, ", ")
			if rest := len(voters) - len(names); rest > 0 {
				list = strings.TrimSpace(list + " " + more(rest))
			}
			line += "\n" + list
		}
		opts.WriteString(line + "\n")
	}
	return head + opts.String() + tail
}

// pollKeyboard is the card's buttons: the dates and Close while open, the
// tied dates while tied, none once closed.
func (a *App) pollKeyboard(lang string, d pollData) *models.InlineKeyboardMarkup {
	p := d.poll
	id := strconv.FormatInt(p.ID, 10)
	label := func(o store.PollOption) string {
		t := o.StartsAt.In(p.Zone())
		return fmt.Sprintf("%d. %s %s", o.Idx+1, a.Catalog.FormatDate(lang, t), a.Catalog.FormatTime(lang, t))
	}
	var rows [][]models.InlineKeyboardButton
	switch p.Status {
	case store.PollOpen:
		for _, o := range d.options {
			rows = append(rows, []models.InlineKeyboardButton{{
				Text:         label(o) + " · " + strconv.Itoa(len(d.voters[o.Idx])),
				CallbackData: "poll:" + id + ":v" + strconv.Itoa(o.Idx)}})
		}
		rows = append(rows, []models.InlineKeyboardButton{{Text: a.Catalog.T(lang, "poll_btn_close"), CallbackData: "poll:" + id + ":close"}})
	case store.PollTie:
		for _, idx := range d.leaders() {
			o, _ := d.option(idx)
			rows = append(rows, []models.InlineKeyboardButton{{
				Text:         a.Catalog.T(lang, "poll_btn_pick", locales.Args{"Option": label(o)}),
				CallbackData: "poll:" + id + ":p" + strconv.Itoa(idx)}})
		}
	default:
		return nil
	}
	return &models.InlineKeyboardMarkup{InlineKeyboard: rows}
}

// refreshPoll queues an edit of the poll's card if it is behind, inside
// tx. Whoever changes what the card shows calls it in that transaction.
func (a *App) refreshPoll(ctx context.Context, tx *sql.Tx, id int64) error {
	d, ok, err := a.loadPoll(ctx, tx, id)
	if err != nil || !ok {
		return err
	}
	p := d.poll
	if p.MessageID == 0 || p.CardVersion >= p.Version {
		return nil // not sent yet (OnSent catches up), or up to date
	}
	lang := a.chatLangOr(ctx, tx, p.ChatID, p.Lang)
	params := &tg.EditMessageTextParams{ChatID: p.ChatID, MessageID: p.MessageID, Text: a.renderPoll(lang, d),
		ParseMode: models.ParseModeHTML, LinkPreviewOptions: &models.LinkPreviewOptions{IsDisabled: tg.True()}}
	if kb := a.pollKeyboard(lang, d); kb != nil {
		params.ReplyMarkup = kb
	} // an edit without a keyboard removes it (a closed poll has none)
	if _, err := outbox.Enqueue(ctx, tx, outbox.Message{ChatID: p.ChatID, Method: "editMessageText", Params: params,
		Lane: outbox.Edit, CoalesceKey: fmt.Sprintf("poll:%d:%d", p.ChatID, p.MessageID)}); err != nil {
		return err
	}
	return store.SetPollCardVersion(ctx, tx, id, p.Version)
}

// pollSent records a poll card's message id once sent (OnSent's
// "poll:<id>") and queues the edit it missed meanwhile.
func (a *App) pollSent(ctx context.Context, tx *sql.Tx, rest string, messageID int) error {
	id, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || messageID == 0 {
		return nil
	}
	if err := store.SetPollMessage(ctx, tx, id, messageID); err != nil {
		return err
	}
	return a.refreshPoll(ctx, tx, id)
}

// pollButton handles "poll:<id>:v<n>|close|p<n>".
func (e *events) pollButton(ctx context.Context, u *bot.Update) error {
	lang := e.userLang(ctx, u)
	id, action, ok := parseButton(u.CallbackQuery.Data)
	if !ok || action == "" {
		return e.answerToast(ctx, u, lang, "button_stale", false)
	}
	p, found, err := store.GetPoll(ctx, e.DB.R, id)
	if err != nil {
		return err
	}
	if !found || !e.pollPress(u, p) {
		return e.answerToast(ctx, u, lang, "poll_gone", false)
	}
	switch {
	case action == "close":
		return e.pollClose(ctx, u, lang, p)
	case strings.HasPrefix(action, "v"), strings.HasPrefix(action, "p"):
		idx, err := strconv.Atoi(action[1:])
		if err != nil || idx < 0 || idx >= maxPollOptions || action[1:] != strconv.Itoa(idx) {
			break
		}
		if action[0] == 'v' {
			return e.pollVote(ctx, u, lang, p, idx)
		}
		return e.pollPick(ctx, u, lang, p, idx)
	}
	return e.answerToast(ctx, u, lang, "button_stale", false)
}

// pollPress reports whether a press comes from the poll's card: in the
// poll's chat, on its message once that is known.
func (e *events) pollPress(u *bot.Update, p store.Poll) bool {
	cq := u.CallbackQuery
	chatID, msgID := u.ChatID, 0
	if m := cq.Message.Message; m != nil {
		chatID, msgID = m.Chat.ID, m.ID
	} else if im := cq.Message.InaccessibleMessage; im != nil {
		chatID, msgID = im.Chat.ID, im.MessageID
	}
	return chatID == p.ChatID && msgID != 0 && (p.MessageID == 0 || p.MessageID == msgID)
}

func (e *events) pollVote(ctx context.Context, u *bot.Update, lang string, p store.Poll, idx int) error {
	return e.commit(ctx, u, func(tx *sql.Tx) error {
		voted, ok, err := store.TogglePollVote(ctx, tx, p.ID, idx, u.UserID, e.now(ctx))
		if err != nil {
			return err
		}
		if !ok {
			return e.toast(ctx, tx, u, e.Catalog.T(lang, "poll_toast_closed"), false)
		}
		opts, err := store.PollOptions(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		when := ""
		for _, o := range opts {
			if o.Idx == idx {
				when = e.pollWhen(lang, p, o.StartsAt)
			}
		}
		msg := "poll_toast_unvoted"
		if voted {
			msg = "poll_toast_voted"
		}
		if err := e.toast(ctx, tx, u, e.Catalog.T(lang, msg, locales.Args{"When": when}), false); err != nil {
			return err
		}
		return e.refreshPoll(ctx, tx, p.ID)
	})
}

// mayClosePoll asks mayOrganize; a refusal is answered with a toast.
func (e *events) mayClosePoll(ctx context.Context, u *bot.Update, lang string, p store.Poll) (bool, error) {
	ok, err := e.mayOrganize(ctx, p.ChatID, p.CreatorID, u.UserID)
	if err != nil || ok {
		return ok, err
	}
	return false, e.answerToast(ctx, u, lang, "poll_toast_not_yours", true)
}

func (e *events) pollClose(ctx context.Context, u *bot.Update, lang string, p store.Poll) error {
	if ok, err := e.mayClosePoll(ctx, u, lang, p); err != nil || !ok {
		return err
	}
	return e.commit(ctx, u, func(tx *sql.Tx) error {
		outcome, err := e.settlePoll(ctx, tx, p.ID, false) // the toast tells the presser
		if err != nil {
			return err
		}
		msg := map[string]string{"done": "poll_toast_done", "tie": "poll_toast_tie", "expired": "poll_card_expired"}[outcome]
		if msg == "" {
			msg = "poll_toast_closed"
		}
		return e.toast(ctx, tx, u, e.Catalog.T(lang, msg), false)
	})
}

func (e *events) pollPick(ctx context.Context, u *bot.Update, lang string, p store.Poll, idx int) error {
	if ok, err := e.mayClosePoll(ctx, u, lang, p); err != nil || !ok {
		return err
	}
	return e.commit(ctx, u, func(tx *sql.Tx) error {
		d, ok, err := e.loadPoll(ctx, tx, p.ID)
		if err != nil || !ok {
			return err
		}
		if d.poll.Status != store.PollTie || !slices.Contains(d.leaders(), idx) {
			return e.toast(ctx, tx, u, e.Catalog.T(lang, "poll_toast_closed"), false)
		}
		if err := e.finishPoll(ctx, tx, d, idx); err != nil {
			return err
		}
		return e.toast(ctx, tx, u, e.Catalog.T(lang, "poll_toast_done"), false)
	})
}

// settlePoll closes an open poll inside tx: the leading date wins, or the
// poll waits for the organizer to pick among the tied ones. outcome is
// "done", "tie", "expired" (every date has passed: closed without an
// event), or "closed" (it was not open: nothing happened).
// tellTie sends a tie to the organizer privately as well.
func (a *App) settlePoll(ctx context.Context, tx *sql.Tx, id int64, tellTie bool) (outcome string, err error) {
	d, ok, err := a.loadPoll(ctx, tx, id)
	if err != nil || !ok || d.poll.Status != store.PollOpen {
		return "closed", err
	}
	leaders := d.leaders()
	switch len(leaders) {
	case 0: // every date has passed: closed without an event
		if _, err := store.ClosePoll(ctx, tx, id, -1, 0); err != nil {
			return "", err
		}
		return "expired", a.refreshPoll(ctx, tx, id)
	case 1:
		return "done", a.finishPoll(ctx, tx, d, leaders[0])
	}
	if tied, err := store.SetPollTie(ctx, tx, id); err != nil || !tied {
		return "closed", err
	}
	// The card asks the organizer; tell them privately too if possible.
	// loadPoll read the organizer in this transaction (zero if unknown:
	// not reachable).
	if su := d.organizer; tellTie && reachable(su) && su.ID != d.poll.ChatID {
		lang := a.userLangOf(su)
		if err := a.sendBulk(ctx, tx, su.ID, a.tr(lang, "poll_tie_private", locales.Args{"Title": d.poll.Title}), nil); err != nil {
			return "", err
		}
	}
	return "tie", a.refreshPoll(ctx, tx, id)
}

// finishPoll closes the poll with option idx inside tx: the event is
// created and its card posted in the poll's chat, as /event does, and the
// voters of idx get a private copy of the card. Nobody's answer is set.
func (a *App) finishPoll(ctx context.Context, tx *sql.Tx, d pollData, idx int) error {
	p := d.poll
	o, ok := d.option(idx)
	if !ok {
		return fmt.Errorf("poll %d has no option %d", p.ID, idx)
	}
	ev := store.Event{ChatID: p.ChatID, CreatorID: p.CreatorID, Title: p.Title, Place: p.Place,
		StartsAt: o.StartsAt, Timezone: p.Timezone}
	eventID, err := store.CreateEvent(ctx, tx, ev, a.now(ctx))
	if err != nil {
		return err
	}
	if closed, err := store.ClosePoll(ctx, tx, p.ID, idx, eventID); err != nil {
		return err
	} else if !closed {
		return fmt.Errorf("poll %d closed meanwhile", p.ID) // rolls the event back
	}
	lang := a.chatLangOr(ctx, tx, p.ChatID, p.Lang)
	if err := a.postCard(ctx, tx, eventID, p.ChatID, lang); err != nil {
		return err
	}
	var unreachable []string
	for _, v := range d.voters[idx] {
		su, ok, err := store.GetUser(ctx, tx, v.ID)
		if err != nil {
			return err
		}
		if !ok || v.ID == p.ChatID {
			continue // the poll's own private chat has the card already
		}
		if !reachable(su) {
			unreachable = append(unreachable, mention(su))
			continue
		}
		ul := a.userLangOf(su)
		if err := a.send(ctx, tx, su.ID, a.tr(ul, "poll_won_private", locales.Args{"Title": p.Title,
			"When": a.pollWhen(ul, p, o.StartsAt)}), nil); err != nil {
			return err
		}
		if err := a.postCard(ctx, tx, eventID, su.ID, ul); err != nil {
			return err
		}
	}
	for len(unreachable) > 0 && p.ChatID < 0 {
		n := min(len(unreachable), 30)
		msg := strings.Join(unreachable[:n], ", ") + "\n" + a.tr(lang, "poll_won_group")
		if err := a.send(ctx, tx, p.ChatID, msg, nil); err != nil {
			return err
		}
		unreachable = unreachable[n:]
	}
	return a.refreshPoll(ctx, tx, p.ID)
}

// ClosePollsDue closes every open poll whose deadline has passed: the
// "poll-deadlines" job. Each poll is settled in its own transaction, whose
// status change makes a second run (or a run after a restart) find it
// closed already.
func (a *App) ClosePollsDue(ctx context.Context) (string, error) {
	ctx = a.atInstant(ctx)
	ids, err := store.DuePolls(ctx, a.DB.R, a.now(ctx), 100)
	if err != nil || len(ids) == 0 {
		return "", err
	}
	// A poll that fails is logged and left for the next run; the others go
	// on. Only a committed close counts (a retried transaction runs its
	// function again).
	closed, ties := 0, 0
	var errs []error
	for _, id := range ids {
		var outcome string
		err := a.DB.Tx(ctx, func(tx *sql.Tx) (err error) {
			outcome, err = a.settlePoll(ctx, tx, id, true)
			return err
		})
		switch {
		case err != nil:
			a.Logger.Error("poll could not be closed; retrying at the next run", "poll", id, "err", err)
			errs = append(errs, fmt.Errorf("poll %d: %w", id, err))
		case outcome == "done" || outcome == "expired":
			closed++
		case outcome == "tie":
			ties++
		}
	}
	return fmt.Sprintf("closed %d poll(s), %d tie(s) waiting for their organizer", closed, ties), errors.Join(errs...)
}
