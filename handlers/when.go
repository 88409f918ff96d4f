package handlers

// Event times as people type them ("<when>"): "2026-12-05 19:00", "5.12.
// 19:00", "tomorrow 19:00", "fri 7pm", "завтра в 19", "morgen 19 Uhr",
// "mañana a las 19:00".
//
// Numeric dates are read by hand (they are unambiguous and need no
// language). Everything else goes through github.com/olebedev/when, which
// finds rule matches in the text, clusters adjacent ones and folds them into
// a time. Its English and Russian clock rules are used as they are; dates,
// weekdays and the German and Spanish clocks are small table-driven rules
// of ours, because the library's have quirks an event bot cannot live with
// (it reads "fri" on a Friday as next week, knows no German or Spanish, and
// its Russian date rule uses the wall clock instead of the reference time).
// The words those rules read (weekdays, months, "tomorrow", "next",
// filler) are locales/datewords', for its Event use; only the clock rules
// are here. Whether a text is a schedule rather than a date is
// recurrence.IsSchedule's call.
//
// Rules only move whole days (as multiples of 24 h from a noon reference,
// which no DST change can push into another day) and set the clock. Each
// parse wraps the rules in a trace, so afterwards it is known what the text
// said: a date, a weekday, a clock. That is what lets "19:00" mean the next
// 19:00, "fri 7pm" mean today when today is Friday and 7 pm is still ahead,
// and "tomorrow" without a time be refused instead of guessed.

import (
	"errors"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/olebedev/when"
	"github.com/olebedev/when/rules"
	"github.com/olebedev/when/rules/en"
	"github.com/olebedev/when/rules/ru"

	"github.com/rsvpbot/rsvpbot/locales/datewords"
	"github.com/rsvpbot/rsvpbot/recurrence"
)

// Why a <when> was not accepted. errWhenPast comes with the time it read,
// so the answer can show it.
var (
	errWhenEmpty        = errors.New("no date given")
	errWhenUnrecognised = errors.New("date not understood")
	errWhenNoTime       = errors.New("date without a time of day")
	errWhenPast         = errors.New("date in the past")
	errWhenTooFar       = errors.New("date too far ahead")
	// errWhenYear: a year was written out but is none anyone plans in
	// ("0000-01-01"); see minWhenYear.
	errWhenYear = errors.New("year out of range")
	// errRecurring means the text is a schedule ("every monday 19:00", a
	// cron spec), not one date (recurrence.IsSchedule decides). Recurring
	// series are handled elsewhere: callers check errors.Is(err,
	// errRecurring) and hand the text to recurrence.ParseRecurrence.
	errRecurring = errors.New("recurring schedule")
)

// maxWhenAhead bounds how far ahead an event may be planned.
const maxWhenAhead = 5 * 366 * 24 * time.Hour

// whenLang is what one language contributes.
type whenLang struct {
	weekdays map[string]time.Weekday
	// weekdayPrefix are words that may stand before a weekday ("on",
	// "this", "next"); those in next also skip today.
	weekdayPrefix, next []string
	relDays             map[string]int // "tomorrow": 1
	months              map[string]time.Month
	monthFirst          bool                // "December 5" as well as "5 December"
	clocks              []rules.Rule        // rules that set the time of day
	filler              []string            // words that may surround a date ("at")
	rewrite             func(string) string // normalises before matching (may be nil)
}

// whenParser parses event times. It is immutable once built (the rules'
// regular expressions are compiled once) and safe for concurrent use.
type whenParser struct {
	langs   map[string]*compiledLang
	order   []string
	filler  map[string]bool
	iso     *regexp.Regexp
	dotted  *regexp.Regexp
	options rules.Options
}

type compiledLang struct {
	name  string
	rules []tracedRule
	rw    func(string) string
}

// traceKind is what a rule contributes to a time.
type traceKind int

const (
	traceDate        traceKind = iota // an explicit date ("5 Dec", "tomorrow")
	traceWeekday                      // a weekday ("fri")
	traceWeekdayNext                  // a weekday with "next"
	traceClock                        // a time of day
)

type tracedRule struct {
	rule rules.Rule
	kind traceKind
	// classify, if set, picks the kind from the match instead.
	classify func(*rules.Match) traceKind
	// strict rules make the whole text invalid when they refuse their
	// match (30 February). Clock rules are not strict: the library's refuse
	// overlapping partial matches ("30pm" inside "8:30pm") as a matter of
	// course.
	strict bool
}

// trace records, for one parse, which kinds of rules applied and whether a
// strict rule refused its match.
type trace struct {
	applied map[traceKind]bool
	refused bool
	// spans are the [left, right) byte ranges of the matches the parser
	// used: the text outside them must be filler.
	spans [][2]int
}

// tracer wraps a shared rule for one parse so that applying it is noted
// in tr. The wrapped rule is not modified.
type tracer struct {
	tracedRule
	tr *trace
}

func (t tracer) Find(s string) *rules.Match {
	m := t.rule.Find(s)
	if m == nil {
		return nil
	}
	apply := m.Applier
	m.Applier = func(m *rules.Match, c *rules.Context, o *rules.Options, ref time.Time) (bool, error) {
		t.tr.spans = append(t.tr.spans, [2]int{m.Left, m.Right})
		ok, err := apply(m, c, o, ref)
		if ok && err == nil {
			kind := t.kind
			if t.classify != nil {
				kind = t.classify(m)
			}
			t.tr.applied[kind] = true
		} else if t.strict {
			t.tr.refused = true
		}
		return ok, err
	}
	return m
}

// newWhenParser builds the parser for every supported language.
func newWhenParser() *whenParser {
	p := &whenParser{
		langs:  map[string]*compiledLang{},
		filler: map[string]bool{},
		iso:    regexp.MustCompile(`^(\d{4})-(\d{1,2})-(\d{1,2})(?:t|,?\s+|$)`),
		dotted: regexp.MustCompile(`^(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})?(?:,?\s+|$)`),
		// Matches up to 12 bytes apart form one time ("heute Abend um 20
		// Uhr"); what lies between them must be filler anyway.
		options: rules.Options{Distance: 12, MatchByOrder: true},
	}
	for _, l := range whenLanguages() {
		var rs []tracedRule
		rs = append(rs, tracedRule{rule: relDayRule(l.relDays), kind: traceDate, strict: true})
		rs = append(rs, tracedRule{rule: dayMonthRule(l.months), kind: traceDate, strict: true})
		if l.monthFirst {
			rs = append(rs, tracedRule{rule: monthDayRule(l.months), kind: traceDate, strict: true})
		}
		rs = append(rs, weekdayRule(l))
		for _, c := range l.clocks {
			rs = append(rs, tracedRule{rule: c, kind: traceClock})
		}
		p.langs[l.name] = &compiledLang{name: l.name, rules: rs, rw: l.rewrite}
		p.order = append(p.order, l.name)
		for _, w := range l.filler {
			p.filler[w] = true
		}
	}
	return p
}

// namedLang is a whenLang with its code.
type namedLang struct {
	name string
	whenLang
}

// whenLanguages reads each language's date words from locales/datewords
// and adds its clock rules.
func whenLanguages() []namedLang {
	// Clock rules shared by every language: "19:00", "7:30pm", "7pm".
	hourMinute, hour := en.HourMinute(rules.Override), en.Hour(rules.Override)
	clocks := map[string][]rules.Rule{
		"en": {hourMinute, hour},
		"ru": {hourMinute, hour, ru.Hour(rules.Override), ru.HourMinute(rules.Override),
			clockRule(`(?:^|\s)(?P<lead>в\s+)(?P<h>\d{1,2})(?:[:.](?P<m>\d{2}))?(?P<tail>\s*час(?:а|ов)?)?(?:$|[\s,])`)},
		// "19 Uhr", "19:30 Uhr", "19.30 Uhr", "um 19", "um 19:30"
		"de": {hourMinute, hour,
			clockRule(`(?:^|\s)(?P<lead>um\s+)?(?P<h>\d{1,2})(?:[:.](?P<m>\d{2}))?(?P<tail>\s*uhr)(?:$|[\s,.])`),
			clockRule(`(?:^|\s)(?P<lead>um\s+)(?P<h>\d{1,2})(?:[:.](?P<m>\d{2}))?(?:$|[\s,])`)},
		// "a las 19", "a las 7:30 pm", "19h", "19:30 h"
		"es": {hourMinute, hour,
			clockRule(`(?:^|\s)(?P<lead>a\s+las?\s+)(?P<h>\d{1,2})(?:[:.](?P<m>\d{2}))?(?:\s*(?P<ampm>am|pm))?(?P<tail>\s*(?:h|hs|horas))?(?:$|[\s,])`),
			clockRule(`(?:^|\s)(?P<h>\d{1,2})(?:[:.](?P<m>\d{2}))?(?P<tail>\s*(?:h|hs|horas))(?:$|[\s,.])`)},
	}
	var out []namedLang
	for _, l := range datewords.Languages() {
		wl := whenLang{
			weekdays:      l.WeekdayWords(datewords.Event),
			weekdayPrefix: append(l.ThisWords(), l.NextWords()...),
			next:          l.NextWords(),
			relDays:       l.RelativeDayWords(),
			months:        l.MonthWords(),
			monthFirst:    l.MonthFirst,
			clocks:        clocks[l.Code],
			filler:        l.FillerWords(datewords.Event),
		}
		if pairs := l.DayPeriodPairs(); len(pairs) > 0 {
			wl.rewrite = strings.NewReplacer(pairs...).Replace
		}
		out = append(out, namedLang{l.Code, wl})
	}
	return out
}

// alternation is a regexp alternation of words, longest first so that
// "montag" wins over "mo".
func alternation(words []string) string {
	ws := slices.Clone(words)
	sort.Slice(ws, func(i, j int) bool {
		if len(ws[i]) != len(ws[j]) {
			return len(ws[i]) > len(ws[j])
		}
		return ws[i] < ws[j]
	})
	for i, w := range ws {
		ws[i] = strings.ReplaceAll(regexp.QuoteMeta(w), " ", `\s+`)
	}
	return strings.Join(ws, "|")
}

// Word boundaries that work for Cyrillic and accented letters (\b and \W
// in Go's regexp are ASCII-only).
const (
	wordStart = `(?:^|[^\p{L}\p{N}])`
	wordEnd   = `(?:[^\p{L}\p{N}]|$)`
)

// moveDays sets the context's date to ref's plus days. ref is noon, so
// whole days of 24 h cannot cross into another date across a DST change.
func moveDays(c *rules.Context, days int) {
	c.Duration = time.Duration(days) * 24 * time.Hour
}

// relDayRule: "today", "tomorrow", "übermorgen", "pasado mañana".
func relDayRule(words map[string]int) rules.Rule {
	return &rules.F{
		RegExp: regexp.MustCompile(wordStart + `(` + alternation(slices.Collect(maps.Keys(words))) + `)` + wordEnd),
		Applier: func(m *rules.Match, c *rules.Context, _ *rules.Options, _ time.Time) (bool, error) {
			d, ok := words[strings.Join(strings.Fields(m.Captures[0]), " ")]
			if !ok {
				return false, nil
			}
			moveDays(c, d)
			return true, nil
		},
	}
}

// dateFor resolves a day and month (and maybe a year) to the date of the
// next such day on or after ref's date; ok is false for impossible dates.
func dateFor(ref time.Time, day int, month time.Month, year int) (time.Time, bool) {
	y := year
	if y == 0 {
		y = ref.Year()
	}
	d := time.Date(y, month, day, 12, 0, 0, 0, ref.Location())
	if d.Day() != day || d.Month() != month {
		return time.Time{}, false
	}
	if year == 0 && d.Before(time.Date(ref.Year(), ref.Month(), ref.Day(), 0, 0, 0, 0, ref.Location())) {
		d = d.AddDate(1, 0, 0)
		if d.Day() != day { // 29 February of a year that has none
			return time.Time{}, false
		}
	}
	return d, true
}

// daysBetween counts calendar days from a's date to b's date.
func daysBetween(a, b time.Time) int {
	ua := time.Date(a.Year(), a.Month(), a.Day(), 0, 0, 0, 0, time.UTC)
	ub := time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, time.UTC)
	return int(ub.Sub(ua).Hours() / 24)
}

// minWhenYear is the first year a written-out year may be: "0000" or
// "0999" is a slip, not a date anyone plans for (and year 0 must never
// fall back to "no year").
const minWhenYear = 1000

// yearOf reads a written year: "" is none (0), two digits are this
// century's, four digits that year if it is not before minWhenYear.
func yearOf(text string) (int, error) {
	if text == "" {
		return 0, nil
	}
	y, err := strconv.Atoi(text)
	switch {
	case err != nil:
		return 0, errWhenUnrecognised
	case len(text) == 2:
		return 2000 + y, nil
	case y < minWhenYear:
		return 0, errWhenYear
	}
	return y, nil
}

// applyDate moves the context to day.month.year; it refuses impossible
// dates and fails for a year out of range.
func applyDate(c *rules.Context, ref time.Time, day int, month time.Month, yearText string) (bool, error) {
	year, err := yearOf(yearText)
	if err != nil {
		return false, err
	}
	d, ok := dateFor(ref, day, month, year)
	if !ok {
		return false, nil
	}
	moveDays(c, daysBetween(ref, d))
	return true, nil
}

// dayMonthRule: "5 December", "5. Dez.", "5 de diciembre de 2026", "5 декабря".
func dayMonthRule(months map[string]time.Month) rules.Rule {
	return &rules.F{
		RegExp: regexp.MustCompile(`(?:^|[\s,(])(\d{1,2})(?:\.|st|nd|rd|th)?\s*(?:de\s+|of\s+)?(` +
			alternation(slices.Collect(maps.Keys(months))) + `)\.?(?:,?\s*(?:de\s+)?(\d{4}))?` + wordEnd),
		Applier: func(m *rules.Match, c *rules.Context, _ *rules.Options, ref time.Time) (bool, error) {
			day, _ := strconv.Atoi(m.Captures[0])
			return applyDate(c, ref, day, months[m.Captures[1]], m.Captures[2])
		},
	}
}

// monthDayRule: "December 5", "Dec 5th, 2026".
func monthDayRule(months map[string]time.Month) rules.Rule {
	return &rules.F{
		RegExp: regexp.MustCompile(wordStart + `(` + alternation(slices.Collect(maps.Keys(months))) + `)\.?\s+(\d{1,2})(?:st|nd|rd|th)?` +
			`(?:,?\s*(\d{4}))?(?:$|[\s,)])`),
		Applier: func(m *rules.Match, c *rules.Context, _ *rules.Options, ref time.Time) (bool, error) {
			day, _ := strconv.Atoi(m.Captures[1])
			return applyDate(c, ref, day, months[m.Captures[0]], m.Captures[2])
		},
	}
}

// weekdayRule: "fri", "on Friday", "next Friday", "в пятницу",
// "nächsten Freitag", "el viernes". A weekday is the next such day from
// today, today included: parse decides afterwards whether today's is
// already past. With "next" it skips today.
func weekdayRule(l namedLang) tracedRule {
	prefix := `((?:(?:` + alternation(l.weekdayPrefix) + `)\s+)*)`
	re := regexp.MustCompile(wordStart + prefix + `(` + alternation(slices.Collect(maps.Keys(l.weekdays))) + `)\.?` + wordEnd)
	isNext := func(m *rules.Match) bool {
		return slices.ContainsFunc(strings.Fields(m.Captures[0]), func(w string) bool { return slices.Contains(l.next, w) })
	}
	rule := &rules.F{RegExp: re, Applier: func(m *rules.Match, c *rules.Context, _ *rules.Options, ref time.Time) (bool, error) {
		wd, ok := l.weekdays[m.Captures[1]]
		if !ok {
			return false, nil
		}
		days := (int(wd) - int(ref.Weekday()) + 7) % 7
		if days == 0 && isNext(m) {
			days = 7
		}
		moveDays(c, days)
		return true, nil
	}}
	return tracedRule{rule: rule, strict: true, classify: func(m *rules.Match) traceKind {
		if isNext(m) {
			return traceWeekdayNext
		}
		return traceWeekday
	}}
}

// clockRule builds a clock rule from an expression with named groups: h
// (the hour), and optionally m (minutes), ampm ("am" or "pm"; without it
// the clock is 24-hour), and lead and tail, the words around the time
// ("um", "Uhr"). Only captured text counts as matched, which is why the
// words around the time are groups too.
func clockRule(expr string) rules.Rule {
	re := regexp.MustCompile(expr)
	group := func(m *rules.Match, name string) string {
		if i := re.SubexpIndex(name); i > 0 && i-1 < len(m.Captures) {
			return m.Captures[i-1]
		}
		return ""
	}
	return &rules.F{
		RegExp: re,
		Applier: func(m *rules.Match, c *rules.Context, _ *rules.Options, _ time.Time) (bool, error) {
			h, _ := strconv.Atoi(group(m, "h"))
			mins := 0
			if v := group(m, "m"); v != "" {
				mins, _ = strconv.Atoi(v)
			}
			if ampm := group(m, "ampm"); ampm != "" {
				if h < 1 || h > 12 {
					return false, nil
				}
				h %= 12
				if ampm == "pm" {
					h += 12
				}
			}
			if h > 23 || mins > 59 {
				return false, nil
			}
			c.Hour, c.Minute = &h, &mins
			return true, nil
		},
	}
}

// normaliseWhen lower-cases and collapses white space.
func normaliseWhen(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(strings.ToValidUTF8(s, ""))), " ")
}

// parse reads text as a moment in loc after now. lang is tried first, then
// the other languages. The result has whole minutes and is in loc.
func (p *whenParser) parse(text string, now time.Time, loc *time.Location, lang string) (time.Time, error) {
	s := normaliseWhen(text)
	if s == "" {
		return time.Time{}, errWhenEmpty
	}
	if len(s) > 120 {
		return time.Time{}, errWhenUnrecognised
	}
	if recurrence.IsSchedule(s) {
		return time.Time{}, errRecurring
	}
	now = now.In(loc)
	base := time.Date(now.Year(), now.Month(), now.Day(), 12, 0, 0, 0, loc)
	explicitDate := false
	if d, rest, matched, err := p.numericDate(s, base); matched {
		if err != nil {
			return time.Time{}, err
		}
		base, s, explicitDate = d, rest, true
		if s == "" {
			return time.Time{}, errWhenNoTime
		}
	}

	order := append([]string{lang}, p.order...)
	var lastErr error = errWhenUnrecognised
	for i, name := range order {
		cl, ok := p.langs[name]
		if !ok || slices.Contains(order[:i], name) {
			continue
		}
		t, tr, err := p.parseIn(cl, s, base)
		if err != nil {
			if errors.Is(err, errWhenNoTime) || errors.Is(err, errWhenYear) {
				lastErr = err
			}
			continue
		}
		if explicitDate && (tr.applied[traceDate] || tr.applied[traceWeekday] || tr.applied[traceWeekdayNext]) {
			continue // "2026-12-05 tomorrow 19:00": two dates
		}
		return p.settle(t, tr, now, explicitDate)
	}
	return time.Time{}, lastErr
}

// settle applies "the next such time" to a time read without a date (or
// with a bare weekday) and checks the bounds.
func (p *whenParser) settle(t time.Time, tr trace, now time.Time, explicitDate bool) (time.Time, error) {
	dated := explicitDate || tr.applied[traceDate] || tr.applied[traceWeekdayNext]
	if !t.After(now) && !dated {
		if tr.applied[traceWeekday] {
			t = t.AddDate(0, 0, 7)
		} else {
			t = t.AddDate(0, 0, 1)
		}
		// AddDate keeps the wall clock; rebuild it in case DST moved it.
		t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), 0, 0, t.Location())
	}
	switch {
	case !t.After(now):
		return t, errWhenPast
	case t.Sub(now) > maxWhenAhead:
		return t, errWhenTooFar
	}
	return t, nil
}

// parseIn runs one language's rules over s with base (noon of the day the
// date is relative to).
func (p *whenParser) parseIn(cl *compiledLang, s string, base time.Time) (time.Time, trace, error) {
	if cl.rw != nil {
		s = cl.rw(s)
	}
	tr := trace{applied: map[traceKind]bool{}}
	opts := p.options
	wp := when.New(&opts)
	for _, r := range cl.rules {
		wp.Add(tracer{tracedRule: r, tr: &tr})
	}
	res, err := wp.Parse(s, base)
	if errors.Is(err, errWhenYear) {
		return time.Time{}, tr, err
	}
	if err != nil || res == nil || tr.refused {
		return time.Time{}, tr, errWhenUnrecognised
	}
	// Everything outside the matches must be filler ("at", "um"). (The
	// library's own cluster text can end before its last match.)
	rest := []byte(s)
	for _, sp := range tr.spans {
		for i := max(sp[0], 0); i < min(sp[1], len(rest)); i++ {
			rest[i] = ' '
		}
	}
	for _, w := range strings.FieldsFunc(string(rest), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if !p.filler[w] {
			return time.Time{}, tr, errWhenUnrecognised
		}
	}
	if !tr.applied[traceClock] {
		return time.Time{}, tr, errWhenNoTime
	}
	t := res.Time.In(base.Location())
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), 0, 0, base.Location()), tr, nil
}

// numericDate reads a leading "2026-12-05" or "5.12.2026" / "5.12." and
// returns noon of that date and the rest of the text. matched is false if
// s does not start with a numeric date; err is errWhenUnrecognised if it
// does but the date is impossible, errWhenYear if its year is out of
// range.
func (p *whenParser) numericDate(s string, base time.Time) (date time.Time, rest string, matched bool, err error) {
	var yearText string
	var mo, d int
	if m := p.iso.FindStringSubmatch(s); m != nil {
		yearText = m[1]
		mo, _ = strconv.Atoi(m[2])
		d, _ = strconv.Atoi(m[3])
		rest = s[len(m[0]):]
	} else if m := p.dotted.FindStringSubmatch(s); m != nil {
		d, _ = strconv.Atoi(m[1])
		mo, _ = strconv.Atoi(m[2])
		yearText = m[3]
		rest = s[len(m[0]):]
	} else {
		return time.Time{}, "", false, nil
	}
	y, err := yearOf(yearText)
	if err != nil {
		return time.Time{}, "", true, err
	}
	if mo < 1 || mo > 12 {
		return time.Time{}, "", true, errWhenUnrecognised
	}
	date, ok := dateFor(base, d, time.Month(mo), y)
	if !ok {
		return time.Time{}, "", true, errWhenUnrecognised
	}
	return date, strings.TrimSpace(rest), true, nil
}
