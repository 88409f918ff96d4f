package weather_test

import (
	"errors"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the fuzz target and tests use named zones; do not depend on the host's
	"unicode/utf8"

	"github.com/rsvpbot/rsvpbot/weather"
)

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestParseArgs(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	// Wednesday, 11 June 2025, afternoon in Berlin.
	now := time.Date(2025, 6, 11, 15, 0, 0, 0, berlin)
	date := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, berlin) }
	today := date(2025, 6, 11)

	for _, tc := range []struct {
		args    string
		place   string
		day     time.Time
		hasDate bool
		err     error
	}{
		{"Berlin", "Berlin", today, false, nil},
		{"", "", today, false, nil},
		{"   ", "", today, false, nil},
		{"Berlin today", "Berlin", today, true, nil},
		{"Berlin tomorrow", "Berlin", date(2025, 6, 12), true, nil},
		{"Berlin TOMORROW", "Berlin", date(2025, 6, 12), true, nil},
		{"Berlin tomorrow.", "Berlin", date(2025, 6, 12), true, nil},
		{"Berlin, tomorrow", "Berlin", date(2025, 6, 12), true, nil},
		{", Berlin, ", "Berlin", today, false, nil},
		{",tomorrow", "", date(2025, 6, 12), true, nil},
		{"tomorrow", "", date(2025, 6, 12), true, nil},
		{"  New   York \t fri ", "New York", date(2025, 6, 13), true, nil},
		{"Paris, Texas friday", "Paris, Texas", date(2025, 6, 13), true, nil},
		{"Madrid wed", "Madrid", today, true, nil}, // today counts
		{"Madrid wednesday", "Madrid", today, true, nil},
		{"Madrid tue", "Madrid", date(2025, 6, 17), true, nil},
		{"Madrid Monday", "Madrid", date(2025, 6, 16), true, nil},
		{"Madrid sun", "Madrid", date(2025, 6, 15), true, nil},
		{"Madrid thurs", "Madrid", date(2025, 6, 12), true, nil},
		{"Москва сегодня", "Москва", today, true, nil},
		{"Москва завтра", "Москва", date(2025, 6, 12), true, nil},
		{"Москва Завтра", "Москва", date(2025, 6, 12), true, nil},
		{"Москва пятницу", "Москва", date(2025, 6, 13), true, nil},
		{"Москва пн", "Москва", date(2025, 6, 16), true, nil},
		{"Berlin heute", "Berlin", today, true, nil},
		{"Berlin morgen", "Berlin", date(2025, 6, 12), true, nil},
		{"Berlin Samstag", "Berlin", date(2025, 6, 14), true, nil},
		{"Madrid hoy", "Madrid", today, true, nil},
		{"Madrid mañana", "Madrid", date(2025, 6, 12), true, nil},
		{"Madrid MAÑANA", "Madrid", date(2025, 6, 12), true, nil},
		{"Madrid manana", "Madrid", date(2025, 6, 12), true, nil},
		{"Madrid sábado", "Madrid", date(2025, 6, 14), true, nil},
		{"Berlin 2025-07-01", "Berlin", date(2025, 7, 1), true, nil},
		{"2025-07-01", "", date(2025, 7, 1), true, nil},
		{"Berlin 2024-01-01", "Berlin", date(2024, 1, 1), true, nil}, // range is the service's call
		{"Berlin 01.07.2025", "Berlin", date(2025, 7, 1), true, nil},
		{"Berlin 1.7.2025", "Berlin", date(2025, 7, 1), true, nil},
		{"Berlin 25.12", "Berlin", date(2025, 12, 25), true, nil},
		{"Berlin 11.06.", "Berlin", today, true, nil},
		{"Berlin 01.06", "Berlin", date(2026, 6, 1), true, nil}, // already past this year
		{"Berlin 29.02", "Berlin", date(2028, 2, 29), true, nil},
		// Not dates: these words belong to the place.
		{"Area 51", "Area 51", today, false, nil},
		{"Santo Domingo", "Santo Domingo", today, false, nil},
		{"Springfield, MO", "Springfield, MO", today, false, nil},
		{"Paris, FR", "Paris, FR", today, false, nil},
		{"Ber\x00lin\x7f", "Ber lin", today, false, nil},
		{"Ber\xfflin", "Ber lin", today, false, nil},
		// Looks like a date, is not one.
		{"Berlin 2025-02-30", "", time.Time{}, false, weather.ErrBadDate},
		{"Berlin 31.02.2025", "", time.Time{}, false, weather.ErrBadDate},
		{"Berlin 2025/06/01", "", time.Time{}, false, weather.ErrBadDate},
		{"Berlin 13.13", "", time.Time{}, false, weather.ErrBadDate},
		{"Berlin 2025-6-1-1", "", time.Time{}, false, weather.ErrBadDate},
		{"Berlin 0000-01-01", "", time.Time{}, false, weather.ErrBadDate},
		{strings.Repeat("a", 101), "", time.Time{}, false, weather.ErrPlaceTooLong},
		{strings.Repeat("я", 101) + " tomorrow", "", time.Time{}, false, weather.ErrPlaceTooLong},
		{strings.Repeat("я", 100) + " tomorrow", strings.Repeat("я", 100), date(2025, 6, 12), true, nil},
	} {
		place, day, hasDate, err := weather.ParseArgs(tc.args, now, berlin)
		if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
			t.Errorf("ParseArgs(%q) err = %v, want %v", tc.args, err, tc.err)
			continue
		}
		if place != tc.place || !day.Equal(tc.day) || hasDate != tc.hasDate {
			t.Errorf("ParseArgs(%q) = %q, %v, %v; want %q, %v, %v",
				tc.args, place, day, hasDate, tc.place, tc.day, tc.hasDate)
		}
	}
}

func TestParseArgsUsesLocalDay(t *testing.T) {
	moscow := mustLoc(t, "Europe/Moscow")
	// 23:30 UTC is already the next day in Moscow.
	now := time.Date(2025, 6, 11, 23, 30, 0, 0, time.UTC)
	_, day, _, err := weather.ParseArgs("Moscow today", now, moscow)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2025, 6, 12, 0, 0, 0, 0, moscow); !day.Equal(want) || day.Location() != moscow {
		t.Errorf("day = %v, want %v", day, want)
	}
	// nil loc means now's location.
	_, day, _, err = weather.ParseArgs("Moscow", now, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2025, 6, 11, 0, 0, 0, 0, time.UTC); !day.Equal(want) {
		t.Errorf("nil loc: day = %v, want %v", day, want)
	}
}

func TestDateInSkippedMidnight(t *testing.T) {
	santiago := mustLoc(t, "America/Santiago")
	// On 2025-09-07 Chile's clocks jump from 00:00 to 01:00.
	d := weather.Date{Year: 2025, Month: time.September, Day: 7}
	got := d.In(santiago)
	if weather.DateOf(got) != d || got.Hour() != 1 || got.Minute() != 0 {
		t.Errorf("start of %v in Santiago = %v, want 01:00 that day", d, got)
	}
	if before := got.Add(-time.Second); weather.DateOf(before) == d {
		t.Errorf("%v is on %v too: not the first instant", before, d)
	}
	_, day, _, err := weather.ParseArgs("Santiago 2025-09-07", time.Date(2025, 9, 1, 12, 0, 0, 0, santiago), santiago)
	if err != nil || !day.Equal(got) {
		t.Errorf("ParseArgs day = %v, %v; want %v", day, err, got)
	}
}

func FuzzParseArgs(f *testing.F) {
	for _, s := range []string{
		"", "Berlin", "Berlin tomorrow", "New York fri", "Москва завтра", "Madrid mañana",
		"Berlin 2025-07-01", "Berlin 01.07.2025", "Berlin 25.12", "Berlin 29.02", "Berlin 31.02.2025",
		"Paris, Texas sunday", "Area 51", "today", "a b c d e f g tomorrow", "\x00\xff", "1.", ".1",
		"--", "9999-12-31", "0001-01-01", "99.99.9999", strings.Repeat("x ", 60) + "today",
	} {
		f.Add(s, int64(1749650400), uint8(0)) // 2025-06-11 14:00 UTC
	}
	f.Add("Sydney mon", int64(1743897600), uint8(2)) // around a DST change
	f.Add("Santiago today", int64(1757217600), uint8(3))
	f.Add("x 31.12", int64(253402297199), uint8(1)) // the end of year 9999

	zones := []*time.Location{
		time.UTC,
		mustLoc(f, "Europe/Berlin"),
		mustLoc(f, "Australia/Sydney"),
		mustLoc(f, "America/Santiago"), // midnight is skipped on DST days
		time.FixedZone("UTC+14", 14*3600),
	}
	f.Fuzz(func(t *testing.T, args string, unix int64, zone uint8) {
		// Keep now within years 1..9999 where calendar arithmetic is sane.
		const minUnix, maxUnix = -62135596800, 253402300799 - 14*86400
		if unix < minUnix || unix > maxUnix {
			t.Skip()
		}
		loc := zones[int(zone)%len(zones)]
		now := time.Unix(unix, 0)
		place, day, hasDate, err := weather.ParseArgs(args, now, loc)
		if err != nil {
			if !errors.Is(err, weather.ErrBadDate) && !errors.Is(err, weather.ErrPlaceTooLong) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if n := utf8.RuneCountInString(place); n > weather.MaxPlaceLen {
			t.Fatalf("place has %d runes", n)
		}
		if !utf8.ValidString(place) || place != strings.TrimSpace(place) || strings.Contains(place, "  ") {
			t.Fatalf("place %q not normalized", place)
		}
		if day.Location() != loc {
			t.Fatalf("day %v not in %v", day, loc)
		}
		d := weather.DateOf(day)
		if !d.In(loc).Equal(day) {
			t.Fatalf("day %v is not the start of its day", day)
		}
		today := weather.DateOf(now.In(loc))
		if !hasDate && d != today {
			t.Fatalf("no date given but day %v != today %v", d, today)
		}
		// Appending the result's own date as ISO gives the same answer.
		again := d.String()
		if place != "" {
			again = place + " " + again
		}
		place2, day2, has2, err := weather.ParseArgs(again, now, loc)
		if err != nil || place2 != place || !day2.Equal(day) || !has2 {
			t.Fatalf("ParseArgs(%q) = %q, %v, %v, %v; want %q, %v, true", again, place2, day2, has2, err, place, day)
		}
		// Without a date, the place alone parses to itself.
		if !hasDate {
			place3, _, has3, err := weather.ParseArgs(place, now, loc)
			if err != nil || place3 != place || has3 {
				t.Fatalf("ParseArgs(%q) = %q, %v, %v; want the same place, no date", place, place3, has3, err)
			}
		}
	})
}
