package handlers

// Attendee export: the organizer's spreadsheet of everyone who answered.
//
//	/export            the events this user may export, with their numbers
//	/export <event>    the list as a CSV file, in the private chat
//
// The Manage menu's "📋 Export (CSV)" button ("evm:<event>:export") does the
// same, and "evx_<share code>" is the deep link the bot offers in a group
// to someone who has not started a private chat with it yet (it cannot
// write first: Telegram answers 403 "bot can't initiate conversation"), so
// one tap opens the chat and the file follows.
//
// Who may export: whoever may manage the event (canManage: its organizer,
// the chat's Telegram admins, bot admins) and may see it (visibility.go).
// Everyone else, with a guessed number or a forwarded link, gets exactly
// the answer given for an event that does not exist; the file never goes
// to a group, only to the requester's private chat.
//
// The file: UTF-8 with a byte order mark (so spreadsheet programs read
// Cyrillic and emoji right), comma-separated with RFC 4180 quoting, one
// row per answer in the order of the card (going, waitlist, maybe, can't
// go; each in the order people gave their current answer), headers in
// the requester's language.
// Times are those of each person's current answer, in the event chat's
// time zone (the header names it). Every cell that begins with =, +, -, @,
// a tab or a carriage return is prefixed with a single quote (OWASP's
// advice against CSV formula injection): names are typed by strangers.
// The columns are one list (exportColumns), the answer to the event's
// sign-up question last (empty for those who gave none).

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"strconv"
	"strings"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot"
	"github.com/rsvpbot/rsvpbot/locales"
	"github.com/rsvpbot/rsvpbot/store"
)

// csvBOM is UTF-8's byte order mark, which spreadsheet programs take as
// "this file is UTF-8".
const csvBOM = "\uFEFF"

// exportTimeLayout is how answer times are written: sortable, and read as
// a date and time by spreadsheet programs in every locale.
const exportTimeLayout = "2006-01-02 15:04"

// exportRow is one answer as the export sees it.
type exportRow struct {
	store.Attendee
	rank   int    // place on the waitlist, 0 if not waiting
	answer string // the answer to the event's sign-up question, if any
}

// exportColumn is one column of the file: its header (a catalog id; the
// time zone is {{.Zone}}) and its cell for a row.
type exportColumn struct {
	header string
	cell   func(r exportRow) string
}

// exportColumns are the file's columns, in order, for lang and times in
// tz; the last is the answer to the event's sign-up question (signup.go).
func (e *events) exportColumns(lang string, tz *time.Location) []exportColumn {
	return []exportColumn{
		{"export_col_name", func(r exportRow) string { return strings.TrimSpace(r.User.FirstName + " " + r.User.LastName) }},
		{"export_col_username", func(r exportRow) string { return r.User.Username }},
		{"export_col_status", func(r exportRow) string { return e.Catalog.T(lang, exportStatusID(r.Status)) }},
		{"export_col_guests", func(r exportRow) string { return strconv.Itoa(r.Guests) }},
		{"export_col_waitlist", func(r exportRow) string {
			if r.rank == 0 {
				return ""
			}
			return strconv.Itoa(r.rank)
		}},
		{"export_col_answered", func(r exportRow) string { return r.UpdatedAt.In(tz).Format(exportTimeLayout) }},
		{"signup_col_answer", func(r exportRow) string { return r.answer }},
	}
}

// exportStatusID is the catalog id of a status as the file writes it.
func exportStatusID(s store.RSVPStatus) string {
	switch s {
	case store.RSVPGoing:
		return "export_status_going"
	case store.RSVPWaitlist:
		return "export_status_waitlist"
	case store.RSVPMaybe:
		return "export_status_maybe"
	}
	return "export_status_declined"
}

// csvCell neutralises a cell a spreadsheet program would read as a
// formula: one that begins with =, +, -, @, a tab or a carriage return
// gets a leading single quote, which shows the text as typed. Invalid
// UTF-8 is dropped.
func csvCell(s string) string {
	s = strings.ToValidUTF8(s, "")
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// writeCSV is the file: the byte order mark, then every record, each
// cell neutralised (csvCell).
func writeCSV(records [][]string) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(csvBOM)
	// Lines end in \n, which every spreadsheet program reads: with
	// UseCRLF encoding/csv would drop a lone \r inside a name.
	w := csv.NewWriter(&b)
	for _, rec := range records {
		safe := make([]string, len(rec))
		for i, c := range rec {
			safe[i] = csvCell(c)
		}
		if err := w.Write(safe); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return b.Bytes(), w.Error()
}

// attendeesCSV is the file of ev's answers, headers in lang, times in the
// time zone of the event's chat.
func (e *events) attendeesCSV(ctx context.Context, q store.Querier, lang string, ev store.Event) ([]byte, error) {
	all, err := store.ListAttendees(ctx, q, ev.ID)
	if err != nil {
		return nil, err
	}
	answers, err := store.SignupAnswers(ctx, q, ev.ID)
	if err != nil {
		return nil, err
	}
	tz := e.chatTZ(ctx, q, ev.ChatID)
	cols := e.exportColumns(lang, tz)
	header := make([]string, len(cols))
	for i, c := range cols {
		header[i] = e.Catalog.T(lang, c.header, locales.Args{"Zone": tz.String()})
	}
	records := [][]string{header}
	rank := 0
	for _, at := range all {
		r := exportRow{Attendee: at, answer: answers[at.User.ID]}
		if at.Status == store.RSVPWaitlist {
			rank++ // ListAttendees lists the waitlist in its order
			r.rank = rank
		}
		rec := make([]string, len(cols))
		for i, c := range cols {
			rec[i] = c.cell(r)
		}
		records = append(records, rec)
	}
	return writeCSV(records)
}

// exportable reads event id for the requester of u: ok only if they may
// both see and manage it. Every other case is the same "no such event".
// Visibility comes first: it never asks Telegram for someone else's
// chat, so a stranger's guess cannot tell an event from none by an error
// (permissions.go: a failed admin lookup is an error, the apology).
func (e *events) exportable(ctx context.Context, u *bot.Update, id int64) (store.Event, bool, error) {
	ev, refusal, err := e.manageable(ctx, u, id)
	if err != nil || refusal != "" {
		return store.Event{}, false, err
	}
	return ev, true, nil
}

// exportCommand is /export [event].
func (e *events) exportCommand(ctx context.Context, u *bot.Update) error {
	lang := e.userLang(ctx, u)
	replyText := func(text string) error {
		return e.commit(ctx, u, func(tx *sql.Tx) error { return e.reply(ctx, tx, u, text, nil) })
	}
	args := strings.Fields(u.Args)
	if len(args) == 0 {
		text, err := e.exportList(ctx, u, lang)
		if err != nil {
			return err
		}
		return replyText(text)
	}
	id, err := parseEventID(args[0])
	if err != nil || len(args) > 1 {
		return replyText(e.exportUsage(lang))
	}
	ev, ok, err := e.exportable(ctx, u, id)
	if err != nil {
		return err
	}
	if !ok {
		return replyText(e.tr(lang, "export_no_event", locales.Args{"ID": id}))
	}
	return e.exportTo(ctx, u, lang, ev)
}

// exportUsage explains /export.
func (e *events) exportUsage(lang string) string {
	return e.tr(lang, "export_usage", locales.Args{"Desc": e.Catalog.T(lang, "cmd_export_desc")})
}

// exportList is /export without an argument, as /remind lists events: in
// a group, its upcoming events the user may export; in the private chat,
// the upcoming events they organize, wherever they are. Then how to ask.
func (e *events) exportList(ctx context.Context, u *bot.Update, lang string) (string, error) {
	header, none := "export_list_header", "export_list_none"
	var evs []store.Event
	var err error
	if isPrivate(u) {
		header, none = "export_list_header_private", "export_list_none_private"
		evs, err = store.UpcomingEventsOrganizedBy(ctx, e.DB.R, u.UserID, e.now(ctx), listLimit)
	} else {
		evs, err = store.UpcomingChatEvents(ctx, e.DB.R, u.ChatID, e.now(ctx), listLimit)
	}
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, ev := range evs {
		if ok, err := e.canManage(ctx, ev, u.UserID); err != nil {
			return "", err
		} else if !ok {
			continue
		}
		if b.Len() == 0 {
			b.WriteString(e.tr(lang, header) + "\n")
		}
		b.WriteString("• " + e.eventRef(ev) + " — /export " + strconv.FormatInt(ev.ID, 10) + "\n")
	}
	if b.Len() == 0 {
		b.WriteString(e.tr(lang, none) + "\n")
	}
	return b.String() + "\n" + e.exportUsage(lang), nil
}

// exportTo answers a command or a deep link that named an event the user
// may export: the file in the private chat; from a group, there too if the
// bot may write to them (and a word in the group), else a button that
// opens the private chat, where the file follows.
func (e *events) exportTo(ctx context.Context, u *bot.Update, lang string, ev store.Event) error {
	data, err := e.attendeesCSV(ctx, e.DB.R, lang, ev)
	if err != nil {
		return err
	}
	su, _, err := store.GetUser(ctx, e.DB.R, u.UserID)
	if err != nil {
		return err
	}
	return e.commit(ctx, u, func(tx *sql.Tx) error {
		switch {
		case isPrivate(u):
			return e.sendExport(ctx, tx, u.ChatID, lang, ev, data)
		case reachable(su):
			if err := e.sendExport(ctx, tx, u.UserID, lang, ev, data); err != nil {
				return err
			}
			return e.reply(ctx, tx, u, e.tr(lang, "event_sent_privately"), nil)
		case e.deepLink("") != "":
			kb := &models.InlineKeyboardMarkup{InlineKeyboard: [][]models.InlineKeyboardButton{{
				{Text: e.Catalog.T(lang, "export_btn_open"), URL: e.deepLink("evx_" + ev.ShareCode)},
			}}}
			return e.reply(ctx, tx, u, e.tr(lang, "export_open_private"), kb)
		}
		return e.reply(ctx, tx, u, e.tr(lang, "event_start_me_first"), nil)
	})
}

// exportButton handles the Manage menu's "evm:<id>:export". A refusal is
// the toast of a press on an event that does not exist.
func (e *events) exportButton(ctx context.Context, u *bot.Update, id int64) error {
	lang := e.userLang(ctx, u)
	ev, ok, err := e.exportable(ctx, u, id)
	if err != nil {
		return err
	}
	if !ok {
		return e.answerToast(ctx, u, lang, "event_gone", false)
	}
	data, err := e.attendeesCSV(ctx, e.DB.R, lang, ev)
	if err != nil {
		return err
	}
	su, _, err := store.GetUser(ctx, e.DB.R, u.UserID)
	if err != nil {
		return err
	}
	private := isPrivate(u)
	return e.commit(ctx, u, func(tx *sql.Tx) error {
		switch {
		case private || reachable(su):
			return e.privately(ctx, tx, u, lang, private, func() error { return e.sendExport(ctx, tx, u.UserID, lang, ev, data) })
		case e.deepLink("") != "":
			return e.answerWithURL(ctx, tx, u, e.deepLink("evx_"+ev.ShareCode))
		}
		return e.toast(ctx, tx, u, e.Catalog.T(lang, "event_start_me_first"), true)
	})
}

// exportLink is "evx_<code>": the file, for someone who may export the
// event; anyone else gets the answer of a dead link.
func (e *events) exportLink(ctx context.Context, u *bot.Update, payload string) error {
	ev, ok, err := e.linkedEventFor(ctx, u, payload)
	if err != nil {
		return err
	}
	if ok {
		// A share code opens its event for anyone; the export needs more.
		ev, ok, err = e.exportable(ctx, u, ev.ID)
		if err != nil {
			return err
		}
	}
	if !ok {
		return e.linkGone(ctx, u)
	}
	return e.exportTo(ctx, u, e.userLang(ctx, u), ev)
}

// sendExport sends the file to chatID (a private chat) with a caption.
func (a *App) sendExport(ctx context.Context, tx *sql.Tx, chatID int64, lang string, ev store.Event, data []byte) error {
	return a.sendEventFile(ctx, tx, chatID, lang, "export_caption", ev,
		"event-"+strconv.FormatInt(ev.ID, 10)+"-answers.csv", data)
}
