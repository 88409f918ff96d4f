// Package datewords is the one vocabulary of date words in the bot's four
// languages (en, ru, de, es): weekdays, months, relative days ("tomorrow"),
// the words that make a text a recurring schedule ("every", "mondays"), the
// words that name groups of days ("weekends") and the filler words that may
// stand around a date ("at", "um").
//
// Its readers are the one-line /event date (handlers/when.go), recurring
// schedules (package recurrence), the date word of /weather (package
// weather) and the date formatter (locales/format.go). None of them lists a
// date word of its own.
//
// The uses do not all read the same words, on purpose. Where one does not,
// the language's Exclude says so in data, with the reason: Spanish "mar" is
// March and Tuesday, so the /event date reads it as March only; "Santo
// Domingo", "Springfield, MO" and "Viña del Mar" are places, so /weather
// takes neither "domingo" nor an abbreviated German or Spanish weekday.
// TestEveryLanguageHasEveryClass keeps the four languages complete.
//
// Words are written once, in the form people read: the formatter shows
// Short, Long and Month.Date as they are; parsers read every word lower-cased
// without its trailing dot ("So." is read as "so"), and also spelled without
// accents or umlauts where the language has a plain spelling ("sábado" as
// "sabado", "übermorgen" as "uebermorgen").
//
// The tables are built by Languages on every call: there is no package
// state, and a caller may keep what it reads.
package datewords

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// Use is a reader of the vocabulary; exclusions are per use.
type Use int

const (
	// Event is the date of a one-line /event ("fri 19:00").
	Event Use = iota + 1
	// Series is a recurring schedule ("every monday 19:00").
	Series
	// Weather is the date word at the end of /weather ("Berlin fri").
	Weather
)

// Class is a kind of word an Exclusion applies to.
type Class int

const (
	// WeekdayName is a weekday's name and its other forms (Long, Forms,
	// Plural).
	WeekdayName Class = iota + 1
	// WeekdayAbbreviation is an abbreviated weekday (Short, Abbrev).
	WeekdayAbbreviation
	// Filler is a word that may stand around a date.
	Filler
)

// Exclusion is a deliberate difference: words of a class that one use does
// not read, and why.
type Exclusion struct {
	Use   Use
	Class Class
	// Words are the words left out, as written in the class; nil leaves
	// out the whole class.
	Words []string
	Why   string
}

// Weekday is one day's words.
type Weekday struct {
	// Short is the abbreviation written in a date: "Sat", "сб", "Sa.",
	// "sáb".
	Short string
	// Long is the name as written mid-sentence: "Saturday", "суббота",
	// "Samstag", "sábado".
	Long string
	// Abbrev are more abbreviations that are read ("tues").
	Abbrev []string
	// Forms are more names and inflected forms that are read ("субботу",
	// "sonnabend").
	Forms []string
	// Plural are the habitual forms ("saturdays", "по субботам",
	// "samstags", "los sábados"): they name the day and say "repeatedly",
	// so only schedules read them as days, and they make a text a schedule.
	Plural []string
}

// Month is one month's words.
type Month struct {
	// Date is the month as written inside a date: "Dec", "декабря",
	// "Dez.", "dic".
	Date string
	// Forms are more names that are read ("december", "дек").
	Forms []string
}

// DayGroup is a set of days with a name ("weekends").
type DayGroup struct {
	Days []time.Weekday
	// Words name the group ("weekend", "fin de semana").
	Words []string
	// Markers name the group and say "repeatedly" ("weekends", "daily").
	Markers []string
}

// Lang is one language's date words.
type Lang struct {
	Code string
	// Days are indexed by time.Weekday, Sunday first.
	Days [7]Weekday
	// Months are indexed by time.Month - 1.
	Months [12]Month
	// MonthFirst: the language writes "December 5" as well as "5 December".
	MonthFirst bool
	// RelativeDays are days counted from today ("tomorrow": 1).
	RelativeDays map[string]int
	// This may stand before a weekday and mean the coming one ("on",
	// "this"); Next before a weekday means the one after today even when
	// today is that day ("next").
	This, Next []string
	// Every are words that make a text a schedule ("every", "weekly").
	// Weekdays' Plural and DayGroups' Markers do too.
	Every []string
	// Monthly are words of a monthly schedule ("monthly"): they make a text
	// a schedule, one that only a cron spec can express.
	Monthly []string
	// MonthNouns name a month as a period ("month"): a schedule that
	// mentions one is monthly.
	MonthNouns []string
	// DayGroups are every day, the working days and the weekend.
	DayGroups []DayGroup
	// Filler may stand around a date ("at", "on the").
	Filler []string
	// DayPeriods are phrases that set am or pm after a time of day and
	// would otherwise read as date words ("9 de la mañana" is 9 am, not
	// tomorrow at 9): parsers replace them by "am" or "pm" first.
	DayPeriods map[string]string
	// Plain are replacement pairs that give a word's plain spelling ("ä",
	// "ae"); every word with a letter in them is read both ways.
	Plain []string
	// Exclude are the deliberate differences between the uses.
	Exclude []Exclusion
}

// Read is how parsers see a written word: lower-cased, without a trailing
// dot.
func Read(w string) string { return strings.TrimSuffix(strings.ToLower(w), ".") }

// spellings are the ways w is read: Read(w) and its plain spelling.
func (l Lang) spellings(w string) []string {
	r := Read(w)
	if len(l.Plain) == 0 {
		return []string{r}
	}
	if p := strings.NewReplacer(l.Plain...).Replace(r); p != r {
		return []string{r, p}
	}
	return []string{r}
}

// excluded reports whether use u leaves word w of class c out.
func (l Lang) excluded(u Use, c Class, w string) bool {
	for _, x := range l.Exclude {
		if x.Use != u || x.Class != c {
			continue
		}
		if x.Words == nil || slices.ContainsFunc(x.Words, func(e string) bool { return slices.Contains(l.spellings(e), w) }) {
			return true
		}
	}
	return false
}

// WeekdayWords are the words use u reads as a single weekday, every
// spelling: names, forms and abbreviations, and for Series the plural.
func (l Lang) WeekdayWords(u Use) map[string]time.Weekday {
	m := map[string]time.Weekday{}
	add := func(c Class, d time.Weekday, words ...string) {
		for _, w := range words {
			for _, s := range l.spellings(w) {
				if !l.excluded(u, c, s) {
					m[s] = d
				}
			}
		}
	}
	for i, wd := range l.Days {
		d := time.Weekday(i)
		add(WeekdayName, d, wd.Long)
		add(WeekdayName, d, wd.Forms...)
		add(WeekdayAbbreviation, d, wd.Short)
		add(WeekdayAbbreviation, d, wd.Abbrev...)
		if u == Series {
			add(WeekdayName, d, wd.Plural...)
		}
	}
	return m
}

// MonthWords are the words read as a month, every spelling.
func (l Lang) MonthWords() map[string]time.Month {
	m := map[string]time.Month{}
	for i, mo := range l.Months {
		for _, w := range append([]string{mo.Date}, mo.Forms...) {
			for _, s := range l.spellings(w) {
				m[s] = time.Month(i + 1)
			}
		}
	}
	return m
}

// RelativeDayWords are the relative days, every spelling.
func (l Lang) RelativeDayWords() map[string]int {
	m := map[string]int{}
	for w, d := range l.RelativeDays {
		for _, s := range l.spellings(w) {
			m[s] = d
		}
	}
	return m
}

// DayGroupWords are the words of the day groups (Words and Markers), every
// spelling, with the days each names. A group word of several words is
// also read written as one: "fin de semana" as "findesemana" (Phrases
// turns the first into the second).
func (l Lang) DayGroupWords() map[string][]time.Weekday {
	m := map[string][]time.Weekday{}
	for _, g := range l.DayGroups {
		for _, s := range l.all(append(slices.Clone(g.Words), g.Markers...)) {
			m[strings.ReplaceAll(s, " ", "")] = g.Days
		}
	}
	return m
}

// Phrases are the day group words of several words as replacement pairs
// for strings.NewReplacer, each to its words written as one ("entre
// semana" → "entresemana"), longest first: a text read word by word needs
// them joined first.
func (l Lang) Phrases() []string {
	var groups []string
	for _, g := range l.DayGroups {
		groups = append(append(groups, g.Words...), g.Markers...)
	}
	to := map[string]string{}
	for _, s := range l.all(groups) {
		if strings.Contains(s, " ") {
			to[s] = strings.ReplaceAll(s, " ", "")
		}
	}
	return pairs(to)
}

// Markers are the words that make a text a schedule: Every, the weekdays'
// Plural and the day groups' Markers (not Monthly), every spelling; a
// marker of several words is written as one, as Phrases leaves it.
func (l Lang) Markers() []string {
	words := slices.Clone(l.Every)
	for _, d := range l.Days {
		words = append(words, d.Plural...)
	}
	for _, g := range l.DayGroups {
		words = append(words, g.Markers...)
	}
	out := l.all(words)
	for i, s := range out {
		out[i] = strings.ReplaceAll(s, " ", "")
	}
	return out
}

// MonthlyWords are Monthly, every spelling.
func (l Lang) MonthlyWords() []string { return l.all(l.Monthly) }

// MonthNounWords are MonthNouns, every spelling.
func (l Lang) MonthNounWords() []string { return l.all(l.MonthNouns) }

// EveryWords are Every, every spelling.
func (l Lang) EveryWords() []string { return l.all(l.Every) }

// ThisWords are This, every spelling.
func (l Lang) ThisWords() []string { return l.all(l.This) }

// NextWords are Next, every spelling.
func (l Lang) NextWords() []string { return l.all(l.Next) }

// FillerWords are the filler words use u reads, every spelling.
func (l Lang) FillerWords(u Use) []string {
	var out []string
	for _, s := range l.all(l.Filler) {
		if !l.excluded(u, Filler, s) {
			out = append(out, s)
		}
	}
	return out
}

// DayPeriodPairs are DayPeriods as replacement pairs for
// strings.NewReplacer, every spelling, longest phrase first.
func (l Lang) DayPeriodPairs() []string {
	to := map[string]string{}
	for p, v := range l.DayPeriods {
		for _, s := range l.spellings(p) {
			to[s] = v
		}
	}
	return pairs(to)
}

// pairs are a map's entries as replacement pairs, longest key first (so
// that a phrase wins over a shorter one it starts with), then in order.
func pairs(m map[string]string) []string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	var out []string
	for _, k := range keys {
		out = append(out, k, m[k])
	}
	return out
}

func (l Lang) all(words []string) []string {
	var out []string
	for _, w := range words {
		for _, s := range l.spellings(w) {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}
