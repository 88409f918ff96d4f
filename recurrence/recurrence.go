// Package recurrence reads recurring schedules, as people type them and as
// they are stored, and says when they fire.
//
// A schedule is typed by the organizer as words ("every monday 19:00",
// "weekdays 8:30", "каждый понедельник в 19:00", "jeden Montag um 19 Uhr",
// "todos los lunes a las 19:00") or as a 5-field cron expression for power
// users ("0 19 * * 1"). Both become a normalised cron spec that is always
// evaluated in the series' time zone (the chat's): the spec carries no
// CRON_TZ, and Next is computed on times converted to that zone, so a
// 19:00 Europe/Berlin event stays at 19:00 local across DST changes. (A
// time that does not exist on the day clocks go forward, 02:30 on the last
// Sunday of March in Berlin, has no occurrence that day: robfig/cron skips
// it. Nobody schedules events then.)
//
// The words (weekdays, day groups, "every", filler) are
// locales/datewords'. Handlers parse what the organizer typed here; the
// scheduler creates the occurrences (scheduler.Series).
package recurrence

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/robfig/cron/v3"

	"github.com/rsvpbot/rsvpbot/locales/datewords"
)

// Why a schedule was refused. Handlers map them to localized messages.
var (
	ErrScheduleEmpty    = errors.New("empty schedule")
	ErrScheduleUnknown  = errors.New("schedule not understood")
	ErrScheduleNoTime   = errors.New("schedule without a time of day")
	ErrScheduleNoDays   = errors.New("schedule without days")
	ErrScheduleBadTime  = errors.New("impossible time of day")
	ErrScheduleTimeZone = errors.New("schedules take the chat's time zone")
	ErrScheduleTooOften = errors.New("schedule repeats too often")
	ErrScheduleNever    = errors.New("schedule never fires")
	ErrScheduleMonthly  = errors.New("monthly schedules need a cron expression")
	ErrScheduleCron     = errors.New("invalid cron expression")
)

// MinSeriesInterval is the shortest time allowed between two occurrences.
const MinSeriesInterval = 3 * time.Hour

// maxScheduleLen bounds what is parsed at all.
const maxScheduleLen = 120

// Recurrence is a parsed schedule.
type Recurrence struct {
	// Spec is the normalised 5-field cron spec (minute hour dom month dow),
	// without a time zone.
	Spec string
	// For schedules given in words: the days (sorted, Sunday = 0) and the
	// time of day. Cron is true for cron expressions, which have no such
	// simple description.
	Days         []time.Weekday
	Hour, Minute int
	Cron         bool

	sched cron.Schedule
}

// Next is the first occurrence strictly after t, evaluated in loc; zero
// if there is none within five years.
func (r Recurrence) Next(t time.Time, loc *time.Location) time.Time {
	if r.sched == nil {
		return time.Time{}
	}
	if loc == nil {
		loc = time.UTC
	}
	return r.sched.Next(t.In(loc))
}

// EveryDay reports whether a word schedule runs every day.
func (r Recurrence) EveryDay() bool { return !r.Cron && len(r.Days) == 7 }

// Weekdays reports whether a word schedule runs Monday to Friday.
func (r Recurrence) Weekdays() bool {
	return !r.Cron && slices.Equal(r.Days, []time.Weekday{1, 2, 3, 4, 5})
}

// Weekends reports whether a word schedule runs Saturday and Sunday.
func (r Recurrence) Weekends() bool { return !r.Cron && slices.Equal(r.Days, []time.Weekday{0, 6}) }

// ParseRecurrence reads a schedule typed by a person. It never panics
// (robfig/cron panics on some malformed specs; ParseSpec guards them) and
// rejects schedules that never fire or fire more often than
// MinSeriesInterval.
func ParseRecurrence(text string) (Recurrence, error) {
	s := normaliseSchedule(text)
	switch {
	case s == "":
		return Recurrence{}, ErrScheduleEmpty
	case len(s) > maxScheduleLen:
		return Recurrence{}, ErrScheduleUnknown
	}
	var r Recurrence
	var err error
	if looksLikeCron(s) {
		r, err = parseCronSchedule(s)
	} else {
		r, err = parseWords(s)
	}
	if err != nil {
		return Recurrence{}, err
	}
	if err := checkFrequency(r); err != nil {
		return Recurrence{}, err
	}
	return r, nil
}

// ParseStoredRecurrence reads a spec this package produced (series.schedule).
func ParseStoredRecurrence(spec string) (Recurrence, error) {
	sched, err := ParseSpec(spec)
	if err != nil {
		return Recurrence{}, err
	}
	r := Recurrence{Spec: spec, Cron: true, sched: sched}
	// Word schedules are "M H * * D": recover their description.
	f := strings.Fields(spec)
	if len(f) == 5 && f[2] == "*" && f[3] == "*" {
		m, err1 := strconv.Atoi(f[0])
		h, err2 := strconv.Atoi(f[1])
		days, ok := parseDowList(f[4])
		if err1 == nil && err2 == nil && ok {
			r.Cron, r.Hour, r.Minute, r.Days = false, h, m, days
		}
	}
	return r, nil
}

func normaliseSchedule(s string) string {
	s = strings.ToLower(strings.ToValidUTF8(s, ""))
	return strings.Join(strings.Fields(s), " ")
}

var cronField = regexp.MustCompile(`^[0-9a-z*/,?#-]+$`)

// looksLikeCron: a descriptor, a TZ prefix, or five (or six) fields made
// of cron characters with at least one '*', '/' or '?' or all numeric.
func looksLikeCron(s string) bool {
	if strings.HasPrefix(s, "@") || strings.HasPrefix(s, "cron_tz=") || strings.HasPrefix(s, "tz=") {
		return true
	}
	f := strings.Fields(s)
	if len(f) < 5 || len(f) > 6 {
		return false
	}
	special := false
	for _, x := range f {
		if !cronField.MatchString(x) {
			return false
		}
		if strings.ContainsAny(x, "*/?") {
			special = true
		}
	}
	return special
}

func parseCronSchedule(s string) (Recurrence, error) {
	if strings.HasPrefix(s, "cron_tz=") || strings.HasPrefix(s, "tz=") {
		return Recurrence{}, ErrScheduleTimeZone
	}
	if strings.HasPrefix(s, "@every") {
		return Recurrence{}, fmt.Errorf("%w: @every is not a calendar schedule", ErrScheduleCron)
	}
	if f := strings.Fields(s); len(f) == 6 {
		return Recurrence{}, fmt.Errorf("%w: use 5 fields (minute hour day month weekday), no seconds", ErrScheduleCron)
	}
	sched, err := ParseSpec(s)
	if err != nil {
		return Recurrence{}, fmt.Errorf("%w: %v", ErrScheduleCron, err)
	}
	spec := s
	switch s {
	case "@yearly", "@annually":
		spec = "0 0 1 1 *"
	case "@monthly":
		spec = "0 0 1 * *"
	case "@weekly":
		spec = "0 0 * * 0"
	case "@daily", "@midnight":
		spec = "0 0 * * *"
	}
	if strings.HasPrefix(spec, "@") {
		return Recurrence{}, fmt.Errorf("%w: unsupported descriptor", ErrScheduleCron)
	}
	return Recurrence{Spec: spec, Cron: true, sched: sched}, nil
}

// checkFrequency refuses schedules that never fire and those whose
// occurrences come closer than MinSeriesInterval. It looks at two years
// of occurrences from a fixed reference (in UTC: a zone moves an
// occurrence by an hour at most, well inside the margin).
func checkFrequency(r Recurrence) error {
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	first := r.Next(t, time.UTC)
	if first.IsZero() {
		return ErrScheduleNever
	}
	prev := first
	for range 800 {
		next := r.Next(prev, time.UTC)
		if next.IsZero() || next.Sub(first) > 2*366*24*time.Hour {
			break
		}
		if next.Sub(prev) < MinSeriesInterval {
			return ErrScheduleTooOften
		}
		prev = next
	}
	return nil
}

// parseDowList reads "1", "1,3,5", "*" (every day) as written by
// wordSpec.
func parseDowList(s string) ([]time.Weekday, bool) {
	if s == "*" {
		return []time.Weekday{0, 1, 2, 3, 4, 5, 6}, true
	}
	var out []time.Weekday
	for _, p := range strings.Split(s, ",") {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 6 {
			return nil, false
		}
		out = append(out, time.Weekday(n))
	}
	return out, true
}

// The word grammar: one time of day, and words naming days; everything
// else must be a filler word ("every", "on", "at", "каждый", "jeden", "los").
// The words are locales/datewords'; vocab holds them as this parser reads
// them.

// vocabulary is every language's schedule words, read-only once built.
type vocabulary struct {
	// days maps a word to the days it names: weekdays (plurals included)
	// and day groups ("weekends").
	days map[string][]time.Weekday
	// filler may stand around days and times. The "every" words are
	// filler too: "weekly on monday" is "every monday".
	filler map[string]bool
	// markers say "repeatedly". A word schedule needs one: "monday
	// 19:00" is a date (next Monday), "every monday 19:00" or "mondays
	// 19:00" a series.
	markers map[string]bool
	// monthly words are recognised only to point at cron; those that are
	// adverbs ("monthly", not "month") make a text a schedule, as markers
	// do.
	monthly, monthlyMarkers map[string]bool
	// phrases are rewritten before the text is split into words: day
	// groups of several words to one ("fin de semana"), "de la tarde" and
	// "p.m." to "pm".
	phrases *strings.Replacer
}

var vocab = newVocabulary()

func newVocabulary() vocabulary {
	v := vocabulary{days: map[string][]time.Weekday{}, filler: map[string]bool{}, markers: map[string]bool{},
		monthly: map[string]bool{}, monthlyMarkers: map[string]bool{}}
	phrases := []string{"a.m.", "am", "p.m.", "pm"}
	for _, l := range datewords.Languages() {
		for w, d := range l.WeekdayWords(datewords.Series) {
			v.days[w] = []time.Weekday{d}
		}
		maps.Copy(v.days, l.DayGroupWords())
		for _, w := range append(l.EveryWords(), l.FillerWords(datewords.Series)...) {
			v.filler[w] = true
		}
		for _, w := range l.Markers() {
			v.markers[w] = true
		}
		for _, w := range l.MonthlyWords() {
			v.monthly[w], v.monthlyMarkers[w] = true, true
		}
		for _, w := range l.MonthNounWords() {
			v.monthly[w] = true
		}
		phrases = append(append(phrases, l.Phrases()...), l.DayPeriodPairs()...)
	}
	v.phrases = strings.NewReplacer(phrases...)
	return v
}

// IsSchedule reports whether text describes a schedule rather than one
// date: a cron spec or descriptor (with a time zone or without), or words
// that say "repeatedly" ("every", "mondays", "monthly") in any language.
// The one-line /event hands such a text to ParseRecurrence, which explains
// what it cannot take.
func IsSchedule(text string) bool {
	s := vocab.phrases.Replace(normaliseSchedule(text))
	if looksLikeCron(s) {
		return true
	}
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) }) {
		if vocab.markers[w] || vocab.monthlyMarkers[w] {
			return true
		}
	}
	return false
}

// Times of day, tried in order; each must match exactly once.
var clockPatterns = []struct {
	re   *regexp.Regexp
	ampm bool
}{
	// 19:00, 7:30pm, 19.30, 19:30 uhr / h / ч
	{regexp.MustCompile(`(?:^|[\s,])(\d{1,2})[:.](\d{2})\s*(am|pm|uhr|h|hs|horas|ч|часов|часа|час|утра|дня|вечера|ночи)?(?:$|[\s,.])`), true},
	// 7pm, 7 pm, 19 uhr, 19h, 7 вечера
	{regexp.MustCompile(`(?:^|[\s,])(\d{1,2})()\s*(am|pm|uhr|h|hs|horas|ч|часов|часа|час|утра|дня|вечера|ночи)(?:$|[\s,.])`), true},
	// at 19, в 19, um 19, a las 19
	{regexp.MustCompile(`(?:^|[\s,])(?:at|в|um|a las|a la)\s+(\d{1,2})()()(?:$|[\s,.])`), false},
}

// clockIn finds the one time of day in s and returns it with s minus the
// time. found is false if there is none; err is set for two times or an
// impossible one.
func clockIn(s string) (h, m int, rest string, found bool, err error) {
	for _, p := range clockPatterns {
		all := p.re.FindAllStringSubmatchIndex(s, -1)
		if len(all) == 0 {
			continue
		}
		if len(all) > 1 {
			return 0, 0, "", false, ErrScheduleUnknown
		}
		loc := all[0]
		h, _ = strconv.Atoi(s[loc[2]:loc[3]])
		if loc[4] >= 0 && loc[5] > loc[4] {
			m, _ = strconv.Atoi(s[loc[4]:loc[5]])
		}
		suffix := ""
		if loc[6] >= 0 {
			suffix = s[loc[6]:loc[7]]
		}
		switch suffix {
		case "am", "утра":
			if h < 1 || h > 12 {
				return 0, 0, "", false, ErrScheduleBadTime
			}
			h %= 12
		case "pm", "дня", "вечера":
			if h < 1 || h > 12 {
				return 0, 0, "", false, ErrScheduleBadTime
			}
			h = h%12 + 12
		case "ночи":
			if h == 12 {
				h = 0
			}
		}
		if h > 23 || m > 59 {
			return 0, 0, "", false, ErrScheduleBadTime
		}
		rest = s[:loc[0]] + " " + s[loc[1]:]
		// A second time of another form ("19:00 and 8pm") is refused too.
		for _, q := range clockPatterns {
			if q.re.MatchString(rest) {
				return 0, 0, "", false, ErrScheduleUnknown
			}
		}
		return h, m, rest, true, nil
	}
	return 0, 0, s, false, nil
}

func parseWords(s string) (Recurrence, error) {
	s = vocab.phrases.Replace(s)
	h, m, rest, found, err := clockIn(s)
	if err != nil {
		return Recurrence{}, err
	}
	days := map[time.Weekday]bool{}
	monthly, marked, unknown := false, false, false
	tokens := strings.FieldsFunc(rest, func(r rune) bool {
		return unicode.IsSpace(r) || r == ',' || r == ';' || r == '+' || r == '/'
	})
	for _, tok := range tokens {
		tok = strings.Trim(tok, ".!")
		if vocab.markers[tok] {
			marked = true
		}
		if tok == "" || vocab.filler[tok] {
			continue
		}
		if vocab.monthly[tok] {
			monthly = true
			continue
		}
		if ds, ok := vocab.days[tok]; ok {
			for _, d := range ds {
				days[d] = true
			}
			continue
		}
		// A range of weekdays: "mon-fri", "пн-пт", "mo-fr".
		if a, b, ok := strings.Cut(tok, "-"); ok {
			da, oka := vocab.days[strings.Trim(a, ".")]
			db, okb := vocab.days[strings.Trim(b, ".")]
			if oka && okb && len(da) == 1 && len(db) == 1 {
				for d := da[0]; ; d = (d + 1) % 7 {
					days[d] = true
					if d == db[0] {
						break
					}
				}
				continue
			}
		}
		unknown = true
	}
	switch {
	case monthly:
		return Recurrence{}, ErrScheduleMonthly
	case unknown, !marked:
		return Recurrence{}, ErrScheduleUnknown
	case len(days) == 0 && !found:
		return Recurrence{}, ErrScheduleUnknown
	case len(days) == 0:
		return Recurrence{}, ErrScheduleNoDays
	case !found:
		return Recurrence{}, ErrScheduleNoTime
	}
	r := Recurrence{Hour: h, Minute: m}
	for d := range days {
		r.Days = append(r.Days, d)
	}
	slices.Sort(r.Days)
	dow := "*"
	if len(r.Days) < 7 {
		parts := make([]string, len(r.Days))
		for i, d := range r.Days {
			parts[i] = strconv.Itoa(int(d))
		}
		dow = strings.Join(parts, ",")
	}
	r.Spec = fmt.Sprintf("%d %d * * %s", m, h, dow)
	sched, err := ParseSpec(r.Spec)
	if err != nil {
		return Recurrence{}, err
	}
	r.sched = sched
	return r, nil
}

// ParseSpec parses a standard 5-field cron spec (or a descriptor such as
// "@every 1h"), turning robfig/cron's panics on malformed input — it panics
// on "CRON_TZ=UTC" without fields, for one — into errors. The scheduler's
// own jobs use it too.
func ParseSpec(spec string) (s cron.Schedule, err error) {
	defer func() {
		if p := recover(); p != nil {
			s, err = nil, fmt.Errorf("invalid schedule %q", spec)
		}
	}()
	s, err = cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("invalid schedule %q: %v", spec, err)
	}
	return s, nil
}
