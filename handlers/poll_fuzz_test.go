package handlers

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rsvpbot/rsvpbot/bot/tgtext"
	"github.com/rsvpbot/rsvpbot/store"
)

// FuzzParsePollLine: any /poll line is refused or gives a poll a card can
// show: a valid title, 2–10 distinct future dates, a deadline before them.
func FuzzParsePollLine(f *testing.F) {
	for _, s := range []string{
		"Board games | fri 19:00 | sat 15:00 | sun 11:00 | Cafe",
		"Board games | fri 19:00 | sat 15:00 | until thu 12:00",
		"Настолки | пт 19:00 | сб 15:00 | до чт 12:00",
		"x | 2026-12-05 19:00 | 5.12. 20:00 | every monday 19:00",
		"|||||||||||||||", "a | b | c", "t | fri 19:00 | fri 19:00", "t | until | until:",
	} {
		f.Add(s)
	}
	w := newWhenParser()
	now := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	words := []string{"until", "до", "bis", "hasta"}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := parsePollLine(w, s, now, time.UTC, "en", words)
		if err != nil {
			return
		}
		if l.Title == "" || !utf8.ValidString(l.Title) || !utf8.ValidString(l.Place) {
			t.Fatalf("%q: title %q place %q", s, l.Title, l.Place)
		}
		if len(l.Options) < minPollOptions || len(l.Options) > maxPollOptions {
			t.Fatalf("%q: %d options", s, len(l.Options))
		}
		for i, o := range l.Options {
			if !o.After(now) || slices.ContainsFunc(l.Options[:i], o.Equal) {
				t.Fatalf("%q: option %v past or repeated", s, o)
			}
		}
		if !l.Deadline.IsZero() && !l.Deadline.Before(slices.MinFunc(l.Options, time.Time.Compare)) {
			t.Fatalf("%q: deadline %v after the first date", s, l.Deadline)
		}
	})
}

// A poll card with many voters under every date lists a few names per
// date and "and N more", and stays within a card's budget.
func TestPollCardCollapsesNames(t *testing.T) {
	a := testApp(t)
	start := time.Date(2026, 12, 5, 19, 0, 0, 0, time.UTC)
	d := pollData{poll: store.Poll{ID: 1<<63 - 1, Title: strings.Repeat("T", maxTitleLen), Place: strings.Repeat("P", maxPlaceLen),
		Timezone: "UTC", Status: store.PollOpen, Deadline: start.Add(-time.Hour)}, voters: map[int][]store.User{}}
	for i := range maxPollOptions {
		d.options = append(d.options, store.PollOption{Idx: i, StartsAt: start.Add(time.Duration(i) * 24 * time.Hour)})
		for j := range 200 {
			d.voters[i] = append(d.voters[i], store.User{ID: int64(j + 1), FirstName: strings.Repeat("N", 30) + strconv.Itoa(j)})
		}
	}
	for _, lang := range []string{"en", "ru", "de", "es"} {
		text := a.renderPoll(lang, d)
		if n := tgtext.UTF16Len(text); n > cardBudget {
			t.Errorf("%s: card of %d UTF-16 units, budget %d", lang, n, cardBudget)
		}
		if strings.Contains(text, "N199") {
			t.Errorf("%s: every name listed", lang)
		}
	}
	if text := a.renderPoll("en", d); !strings.Contains(text, "more") || !strings.Contains(text, "200 votes") {
		t.Errorf("no \"and N more\" or count:\n%s", text)
	}
	kb := a.pollKeyboard("en", d)
	for _, row := range kb.InlineKeyboard {
		for _, b := range row {
			if len(b.CallbackData) > 64 {
				t.Errorf("callback data %q over 64 bytes", b.CallbackData)
			}
		}
	}
}
