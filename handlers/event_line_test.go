package handlers

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rsvpbot/rsvpbot/bot/tgtext"
	"github.com/rsvpbot/rsvpbot/locales"
	"github.com/rsvpbot/rsvpbot/store"
)

func TestParseEventLine(t *testing.T) {
	cases := []struct {
		in   string
		want eventLine
		err  error
	}{
		{"Board games | 2026-12-05 19:00 | Cafe Central, Berlin | 12",
			eventLine{Title: "Board games", When: "2026-12-05 19:00", Place: "Cafe Central, Berlin", Capacity: 12}, nil},
		{"  Board   games |tomorrow 19:00|  ", eventLine{Title: "Board games", When: "tomorrow 19:00"}, nil},
		{"Picnic | sat 12:00 | Park |", eventLine{Title: "Picnic", When: "sat 12:00", Place: "Park"}, nil},
		{"Two\nlines | sat 12:00", eventLine{Title: "Two lines", When: "sat 12:00"}, nil},
		{"", eventLine{}, errTitleEmpty},
		{" | tomorrow 19:00", eventLine{}, errTitleEmpty},
		{"Games", eventLine{}, errWhenMissing},
		{"Games |  ", eventLine{}, errWhenMissing},
		{"Games | x | y | 0", eventLine{}, errCapacity},
		{"Games | x | y | -2", eventLine{}, errCapacity},
		{"Games | x | y | twelve", eventLine{}, errCapacity},
		{"Games | x | y | 1000001", eventLine{}, errCapacity},
		{"Games | x | y | 3 | extra", eventLine{}, errTooManyFields},
		{strings.Repeat("a", maxTitleLen+1) + " | x", eventLine{}, errTitleTooLong},
		{"a | x | " + strings.Repeat("p", maxPlaceLen+1), eventLine{}, errPlaceTooLong},
	}
	for _, c := range cases {
		got, err := parseEventLine(c.in)
		if !errors.Is(err, c.err) || got != c.want {
			t.Errorf("%q = %+v, %v; want %+v, %v", c.in, got, err, c.want, c.err)
		}
	}
}

func FuzzParseEventLine(f *testing.F) {
	for _, s := range []string{"Board games | 2026-12-05 19:00 | Cafe Central, Berlin | 12", "a|b|c|d|e", "|||", "x | y | z | 007",
		"Ж | завтра | \n | 5", "\xff | \xfe"} {
		f.Add(s)
	}
	errs := []error{errTitleEmpty, errTitleTooLong, errWhenMissing, errPlaceTooLong, errCapacity, errTooManyFields}
	f.Fuzz(func(t *testing.T, in string) {
		l, err := parseEventLine(in)
		if err != nil {
			for _, known := range errs {
				if errors.Is(err, known) {
					return
				}
			}
			t.Fatalf("%q: unexpected error %v", in, err)
		}
		for name, v := range map[string]string{"title": l.Title, "when": l.When, "place": l.Place} {
			if strings.ContainsAny(v, "|\n\r\t") || strings.TrimSpace(v) != v || !utf8.ValidString(v) {
				t.Fatalf("%q: %s %q not a clean single line", in, name, v)
			}
		}
		if l.Title == "" || l.When == "" || utf8.RuneCountInString(l.Title) > maxTitleLen || utf8.RuneCountInString(l.Place) > maxPlaceLen {
			t.Fatalf("%q: %+v breaks the limits", in, l)
		}
		if l.Capacity < 0 || l.Capacity > maxCapacity {
			t.Fatalf("%q: capacity %d", in, l.Capacity)
		}
		// Fields never swallow a separator: joining them back and
		// parsing again gives the same line.
		again := l.Title + " | " + l.When + " | " + l.Place
		if l.Capacity > 0 {
			again += " | " + strconv.Itoa(l.Capacity)
		}
		if l2, err := parseEventLine(again); err != nil || l2 != l {
			t.Fatalf("%q: round trip %q gives %+v, %v", in, again, l2, err)
		}
	})
}

func testApp(t *testing.T) *App {
	t.Helper()
	cat, err := locales.New()
	if err != nil {
		t.Fatal(err)
	}
	return &App{Deps: Deps{Catalog: cat, BotUsername: "rsvp_test_bot", Now: time.Now}}
}

// 500 people going, all with long names and markup characters: the card
// stays under Telegram's limit and says how many it left out.
func TestRenderCardFitsWithManyAttendees(t *testing.T) {
	a := testApp(t)
	d := cardData{
		ev: store.Event{ID: 1, Title: strings.Repeat("<Title & co> ", 15), Place: strings.Repeat("Place & <more> ", 20),
			Description: strings.Repeat("Bring snacks & <drinks>. ", 40), StartsAt: time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC),
			Timezone: "Europe/Berlin", Capacity: 600, WeatherLine: `{"code":0,"min":-2,"max":3,"precip":10,"has_precip":true}`, Status: store.EventActive},
		organizer: store.User{ID: 1, FirstName: "Org"},
	}
	for i := range 500 {
		name := strings.Repeat("Ж&<", 30) + strconv.Itoa(i)
		d.going = append(d.going, store.Attendee{RSVP: store.RSVP{UserID: int64(i), Status: store.RSVPGoing, Guests: i % 3},
			User: store.User{ID: int64(i), FirstName: name}})
		d.counts.GoingSeats += 1 + i%3
	}
	d.counts.Going = 500
	for _, lang := range []string{"en", "ru", "de", "es"} {
		text := a.renderCard(lang, d)
		if n := tgtext.UTF16Len(text); n > cardBudget {
			t.Errorf("%s: %d UTF-16 units", lang, n)
		}
		if strings.Count(text, "<b>") != 1 || strings.Contains(text, "<Title") || strings.Contains(text, "Ж&<") {
			t.Errorf("%s: user text not escaped", lang)
		}
	}
	en := a.renderCard("en", d)
	for _, want := range []string{"Going 999/600", "more", "☀️ Clear sky, -2 to 3 °C, ☔ 10%"} {
		if !strings.Contains(en, want) {
			t.Errorf("card lacks %q", want)
		}
	}
	kb := a.cardKeyboard("en", d.ev)
	for _, row := range kb.InlineKeyboard {
		for _, b := range row {
			if len(b.CallbackData) > 64 {
				t.Errorf("callback data %q too long", b.CallbackData)
			}
		}
	}
	d.ev.Status = store.EventCancelled
	if a.cardKeyboard("en", d.ev) != nil || !strings.Contains(a.renderCard("en", d), "CANCELLED") {
		t.Error("cancelled card")
	}
}

func TestParseButton(t *testing.T) {
	for _, c := range []struct {
		in     string
		id     int64
		action string
		ok     bool
	}{
		{"rsvp:42:go", 42, "go", true},
		{"evm:7", 7, "", true},
		{"rsvp:0:go", 0, "", false},
		{"rsvp:-1:go", 0, "", false},
		{"rsvp:x:go", 0, "", false},
		{"rsvp", 0, "", false},
		{"rsvp:1:2:3", 0, "", false},
	} {
		id, action, ok := parseButton(c.in)
		if id != c.id || action != c.action || ok != c.ok {
			t.Errorf("%q = %d %q %v", c.in, id, action, ok)
		}
	}
}
