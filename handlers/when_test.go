package handlers

import (
	"errors"
	"testing"
	"time"
	"unicode/utf8"
)

func berlin(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestParseWhen(t *testing.T) {
	loc := berlin(t)
	// Friday 4 December 2026, 10:00 in Berlin.
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, loc)
	at := func(m time.Month, d, h, min int) time.Time { return time.Date(2026, m, d, h, min, 0, 0, loc) }
	p := newWhenParser()
	cases := []struct {
		lang, in string
		want     time.Time
	}{
		{"en", "2026-12-05 19:00", at(12, 5, 19, 0)},
		{"en", "2026-12-05T19:00", at(12, 5, 19, 0)},
		{"en", " 2026-12-05   19:00 ", at(12, 5, 19, 0)},
		{"de", "5.12.2026 19:00", at(12, 5, 19, 0)},
		{"de", "5.12. 19:30", at(12, 5, 19, 30)},
		{"de", "05.12.26, 19:00", at(12, 5, 19, 0)},
		{"en", "2026-12-05 7pm", at(12, 5, 19, 0)},
		{"en", "tomorrow 19:00", at(12, 5, 19, 0)},
		{"en", "Tomorrow at 7pm", at(12, 5, 19, 0)},
		{"en", "day after tomorrow 8:30pm", at(12, 6, 20, 30)},
		{"en", "tonight 9pm", at(12, 4, 21, 0)},
		// Today is Friday: "fri" is today while the time is ahead...
		{"en", "fri 7pm", at(12, 4, 19, 0)},
		// ...next week once it has passed, and "next fri" is next week.
		{"en", "fri 9am", at(12, 11, 9, 0)},
		{"en", "next fri 7pm", at(12, 11, 19, 0)},
		{"en", "on Saturday at 19:00", at(12, 5, 19, 0)},
		{"en", "mon 18:30", at(12, 7, 18, 30)},
		{"en", "19:00", at(12, 4, 19, 0)},
		{"en", "9:00", at(12, 5, 9, 0)},
		{"en", "December 24 18:00", at(12, 24, 18, 0)},
		{"en", "24 dec 6pm", at(12, 24, 18, 0)},
		{"en", "Dec 24th, 2026 18:00", at(12, 24, 18, 0)},
		{"en", "5 jan 10:00", time.Date(2027, 1, 5, 10, 0, 0, 0, loc)},
		{"ru", "завтра 19:00", at(12, 5, 19, 0)},
		{"ru", "завтра в 19", at(12, 5, 19, 0)},
		{"ru", "в пятницу в 19:00", at(12, 4, 19, 0)},
		{"ru", "в следующую пятницу в 19:00", at(12, 11, 19, 0)},
		{"ru", "послезавтра 19.30", at(12, 6, 19, 30)},
		{"ru", "5 декабря 19:00", at(12, 5, 19, 0)},
		{"ru", "завтра 7 вечера", at(12, 5, 19, 0)},
		{"de", "morgen 19 Uhr", at(12, 5, 19, 0)},
		{"de", "morgen um 19:30", at(12, 5, 19, 30)},
		{"de", "Freitag 19 Uhr", at(12, 4, 19, 0)},
		{"de", "am Samstag um 19 Uhr", at(12, 5, 19, 0)},
		{"de", "nächsten Freitag 19 Uhr", at(12, 11, 19, 0)},
		{"de", "übermorgen 19.30 Uhr", at(12, 6, 19, 30)},
		{"de", "5. Dezember 19 Uhr", at(12, 5, 19, 0)},
		{"de", "heute Abend um 20 Uhr", at(12, 4, 20, 0)},
		{"es", "mañana 19:00", at(12, 5, 19, 0)},
		{"es", "mañana a las 19", at(12, 5, 19, 0)},
		{"es", "el sábado a las 19:00", at(12, 5, 19, 0)},
		{"es", "pasado mañana 20h", at(12, 6, 20, 0)},
		{"es", "viernes a las 7 de la tarde", at(12, 4, 19, 0)},
		{"es", "a las 9 de la mañana", at(12, 5, 9, 0)},
		{"es", "5 de diciembre a las 19:00", at(12, 5, 19, 0)},
		// The user's language is tried first, the others after it.
		{"en", "morgen 19 Uhr", at(12, 5, 19, 0)},
		{"ru", "tomorrow 19:00", at(12, 5, 19, 0)},
	}
	for _, c := range cases {
		got, err := p.parse(c.in, now, loc, c.lang)
		if err != nil || !got.Equal(c.want) || got.Location() != loc {
			t.Errorf("%s %q = %v, %v; want %v", c.lang, c.in, got, err, c.want)
		}
	}
}

func TestParseWhenErrors(t *testing.T) {
	loc := berlin(t)
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, loc)
	p := newWhenParser()
	cases := []struct {
		in   string
		want error
	}{
		{"", errWhenEmpty},
		{"   ", errWhenEmpty},
		{"tomorrow", errWhenNoTime},
		{"2026-12-05", errWhenNoTime},
		{"завтра", errWhenNoTime},
		{"2020-01-01 10:00", errWhenPast},
		{"today 09:00", errWhenPast},
		{"heute 9 Uhr", errWhenPast},
		{"blah", errWhenUnrecognised},
		{"tomorrow blahblah 19:00", errWhenUnrecognised},
		{"2026-02-30 10:00", errWhenUnrecognised},
		{"30.13.2026 10:00", errWhenUnrecognised},
		{"30 february 10:00", errWhenUnrecognised},
		{"25:00", errWhenUnrecognised},
		{"2026-12-05 tomorrow 19:00", errWhenUnrecognised},
		{"2035-01-01 10:00", errWhenTooFar},
		{"every monday 19:00", errRecurring},
		{"Mondays at 7pm", errRecurring},
		{"0 19 * * 1", errRecurring},
		{"@weekly", errRecurring},
		{"jeden Montag 19 Uhr", errRecurring},
		{"каждую пятницу в 19", errRecurring},
		{"cada lunes 19:00", errRecurring},
	}
	for _, c := range cases {
		if _, err := p.parse(c.in, now, loc, "en"); !errors.Is(err, c.want) {
			t.Errorf("%q: %v, want %v", c.in, err, c.want)
		}
	}
	// A past time is returned with the error, to show it.
	if got, err := p.parse("today 09:00", now, loc, "en"); !errors.Is(err, errWhenPast) || got.Hour() != 9 {
		t.Errorf("past: %v %v", got, err)
	}
}

// Days are counted from noon, so a DST change overnight cannot move
// "tomorrow" to another date.
func TestParseWhenAcrossDST(t *testing.T) {
	loc := berlin(t)
	p := newWhenParser()
	for _, now := range []time.Time{
		time.Date(2026, 10, 24, 23, 30, 0, 0, loc), // clocks go back that night
		time.Date(2026, 3, 28, 23, 30, 0, 0, loc),  // clocks go forward
		time.Date(2026, 3, 29, 0, 30, 0, 0, loc),
	} {
		got, err := p.parse("tomorrow 19:00", now, loc, "en")
		want := time.Date(now.Year(), now.Month(), now.Day()+1, 19, 0, 0, 0, loc)
		if err != nil || !got.Equal(want) {
			t.Errorf("from %v: %v %v, want %v", now, got, err, want)
		}
	}
}

var whenErrors = []error{errWhenEmpty, errWhenUnrecognised, errWhenNoTime, errWhenPast, errWhenTooFar, errRecurring, errWhenYear}

func FuzzParseWhen(f *testing.F) {
	for _, s := range []string{"2026-12-05 19:00", "tomorrow 7pm", "fri 19:00", "завтра в 19", "morgen 19 Uhr",
		"mañana a las 19", "5.12. 19:00", "24 dec 18:00", "every monday", "0 19 * * 1", "12-05", "25:61", "в 99"} {
		f.Add(s, "en")
	}
	loc := berlin(f)
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, loc)
	p := newWhenParser()
	f.Fuzz(func(t *testing.T, in, lang string) {
		got, err := p.parse(in, now, loc, lang)
		if err != nil {
			for _, known := range whenErrors {
				if errors.Is(err, known) {
					return
				}
			}
			t.Fatalf("%q: unexpected error %v", in, err)
		}
		if !got.After(now) || got.Sub(now) > maxWhenAhead {
			t.Fatalf("%q: %v out of range", in, got)
		}
		if got.Second() != 0 || got.Nanosecond() != 0 || got.Location() != loc {
			t.Fatalf("%q: %v not whole minutes in %v", in, got, loc)
		}
		if !utf8.ValidString(in) {
			return
		}
		// Deterministic: the same text gives the same time.
		if again, err := p.parse(in, now, loc, lang); err != nil || !again.Equal(got) {
			t.Fatalf("%q: second parse %v %v", in, again, err)
		}
	})
}

// A year written out is that year, never "no year": "0000-01-01" was read
// as the next 1 January. Years before minWhenYear are refused as out of
// range, in every date form; real past and far years keep their answers.
func TestParseWhenYearOutOfRange(t *testing.T) {
	loc := berlin(t)
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, loc)
	p := newWhenParser()
	for _, in := range []string{"0000-01-01 10:00", "0000-12-05 19:00", "1.1.0000 10:00", "05.12.0999 19:00",
		"5 december 0000 19:00", "December 5, 0000 19:00", "5 de diciembre de 0000 a las 19"} {
		if got, err := p.parse(in, now, loc, "en"); !errors.Is(err, errWhenYear) {
			t.Errorf("%q = %v, %v; want %v", in, got, err, errWhenYear)
		}
	}
	for in, want := range map[string]error{"1999-12-05 19:00": errWhenPast, "2099-12-05 19:00": errWhenTooFar,
		"5.12.00 19:00": errWhenPast} {
		if _, err := p.parse(in, now, loc, "en"); !errors.Is(err, want) {
			t.Errorf("%q: %v, want %v", in, err, want)
		}
	}
}
