package weather

import (
	"errors"
	"maps"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rsvpbot/rsvpbot/locales/datewords"
)

// MaxPlaceLen is the longest place ParseArgs accepts, in characters. No
// real place name comes close; the bound keeps junk out of URLs and logs.
const MaxPlaceLen = 100

// Errors from ParseArgs.
var (
	// ErrBadDate: the last word looks like a date (digits and separators)
	// but is not a valid one in a supported form. Answer with
	// weather_bad_date rather than geocoding "Berlin 31.02.2025".
	ErrBadDate = errors.New("weather: unrecognized date")
	// ErrPlaceTooLong: the place is longer than MaxPlaceLen characters.
	ErrPlaceTooLong = errors.New("weather: place name too long")
)

// ParseArgs splits the arguments of "/weather <place> [date]". The date,
// if any, is the last word:
//
//   - YYYY-MM-DD, DD.MM.YYYY, or DD.MM (its next occurrence, today
//     included);
//   - a relative day of one word in any language (today, tomorrow,
//     сегодня, завтра, heute, übermorgen, hoy, mañana, …);
//   - a weekday (mon, monday, пт, пятница, freitag, viernes, …): its next
//     occurrence, today included.
//
// The words are locales/datewords', for its Weather use, which states
// what it deliberately leaves out ("Santo Domingo" and "Springfield, MO"
// are places, not a Sunday and a Monday).
//
// Everything before the date is the place, with whitespace collapsed and
// surrounding commas dropped; an empty place is allowed (the caller
// decides what it means). day is the start of the day in loc (now's
// location if loc is nil): the given date, or today when hasDate is
// false. ParseArgs does not check the date against any forecast horizon.
func ParseArgs(args string, now time.Time, loc *time.Location) (place string, day time.Time, hasDate bool, err error) {
	if loc == nil {
		loc = now.Location()
	}
	today := DateOf(now.In(loc))

	// Control characters and broken UTF-8 are never part of a place name;
	// they would only end up in URLs and logs.
	args = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(args, " "))

	// Commas around the whole text are punctuation, not part of a word:
	// strip them before looking for the date, so the last word is seen
	// the same way however the text is reparsed.
	fields := strings.Fields(strings.Trim(args, " ,;"))
	d := today
	if n := len(fields); n > 0 {
		got, ok, err := parseDay(fields[n-1], today)
		if err != nil {
			return "", time.Time{}, false, err
		}
		if ok {
			d, hasDate = got, true
			fields = fields[:n-1]
		}
	}
	place = strings.TrimRight(strings.Join(fields, " "), " ,;")
	if utf8.RuneCountInString(place) > MaxPlaceLen {
		return "", time.Time{}, false, ErrPlaceTooLong
	}
	return place, d.In(loc), hasDate, nil
}

// parseDay interprets one word as a day relative to today. ok is false
// when the word is not a date at all (so it belongs to the place); err is
// ErrBadDate when it looks like one but is not valid.
func parseDay(word string, today Date) (d Date, ok bool, err error) {
	w := strings.ToLower(strings.TrimRight(word, ".,!?;:"))
	if off, ok := relativeDays[w]; ok {
		return today.AddDays(off), true, nil
	}
	if wd, ok := weekdays[w]; ok {
		return today.AddDays((int(wd) - int(today.In(time.UTC).Weekday()) + 7) % 7), true, nil
	}
	if !looksNumericDate(w) {
		return Date{}, false, nil
	}
	if parts := strings.Split(w, "-"); len(parts) == 3 && len(parts[0]) == 4 {
		if d, ok := makeDate(parts[0], parts[1], parts[2]); ok {
			return d, true, nil
		}
	}
	if parts := strings.Split(w, "."); len(parts) == 3 && len(parts[2]) == 4 {
		if d, ok := makeDate(parts[2], parts[1], parts[0]); ok {
			return d, true, nil
		}
	}
	if parts := strings.Split(w, "."); len(parts) == 2 {
		// DD.MM: the next occurrence; a 29th of February may be years off.
		for y := today.Year; y <= today.Year+8; y++ {
			d, ok := makeDate(strconv.Itoa(y), parts[1], parts[0])
			if ok && !d.In(time.UTC).Before(today.In(time.UTC)) {
				return d, true, nil
			}
		}
	}
	return Date{}, false, ErrBadDate
}

// relativeDays and weekdays are the words /weather reads as a day, in
// every language: locales/datewords' relative days, and its weekdays as
// the Weather use has them. Read-only once built.
var relativeDays, weekdays = dayWords()

func dayWords() (map[string]int, map[string]time.Weekday) {
	rel, wd := map[string]int{}, map[string]time.Weekday{}
	for _, l := range datewords.Languages() {
		maps.Copy(rel, l.RelativeDayWords())
		maps.Copy(wd, l.WeekdayWords(datewords.Weather))
	}
	return rel, wd
}

// looksNumericDate: digits and date separators only, with at least one of
// each. "Area 51" stays a place; "1.5" and "2025/06/01" are dates we do
// not understand.
func looksNumericDate(w string) bool {
	digit, sep := false, false
	for _, r := range w {
		switch {
		case r >= '0' && r <= '9':
			digit = true
		case r == '.' || r == '-' || r == '/':
			sep = true
		default:
			return false
		}
	}
	return digit && sep
}

// makeDate builds a valid date from decimal strings of plausible length.
func makeDate(ys, ms, ds string) (Date, bool) {
	if len(ys) != 4 || len(ms) < 1 || len(ms) > 2 || len(ds) < 1 || len(ds) > 2 {
		return Date{}, false
	}
	y, err1 := strconv.Atoi(ys)
	m, err2 := strconv.Atoi(ms)
	dd, err3 := strconv.Atoi(ds)
	if err1 != nil || err2 != nil || err3 != nil {
		return Date{}, false
	}
	d := Date{y, time.Month(m), dd}
	return d, d.Valid()
}
