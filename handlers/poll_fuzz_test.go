package handlers

import (
	"slices"
	"testing"
	"time"
	"unicode/utf8"
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
