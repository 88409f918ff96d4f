package scheduler

// Recurring series.
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
// The series keeps one live occurrence, a real event. Series.Tick creates
// the next one when the current one has ended (or Lead before its start,
// never earlier than that end), posts its card through the OccurrencePoster
// (handlers) and records it, all in one transaction: an occurrence is
// created once even if the process dies at that moment.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/robfig/cron/v3"

	"github.com/rsvpbot/rsvpbot/store"
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

var cronField = regexp.MustCompile(`^[0-9a-z*/,?-]+$`)

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

var (
	allDays  = []time.Weekday{0, 1, 2, 3, 4, 5, 6}
	workDays = []time.Weekday{1, 2, 3, 4, 5}
	weekEnd  = []time.Weekday{0, 6}
)

// dayWords maps a word to the days it names.
var dayWords = func() map[string][]time.Weekday {
	m := map[string][]time.Weekday{}
	add := func(days []time.Weekday, words ...string) {
		for _, w := range words {
			m[w] = days
		}
	}
	wd := func(d time.Weekday) []time.Weekday { return []time.Weekday{d} }
	// English
	add(wd(0), "sunday", "sundays", "sun")
	add(wd(1), "monday", "mondays", "mon")
	add(wd(2), "tuesday", "tuesdays", "tue", "tues")
	add(wd(3), "wednesday", "wednesdays", "wed")
	add(wd(4), "thursday", "thursdays", "thu", "thur", "thurs")
	add(wd(5), "friday", "fridays", "fri")
	add(wd(6), "saturday", "saturdays", "sat")
	add(allDays, "day", "days", "daily")
	add(workDays, "weekday", "weekdays", "workday", "workdays")
	add(weekEnd, "weekend", "weekends")
	// Russian
	add(wd(0), "воскресенье", "воскресеньям", "вс")
	add(wd(1), "понедельник", "понедельникам", "пн")
	add(wd(2), "вторник", "вторникам", "вт")
	add(wd(3), "среда", "среду", "средам", "ср")
	add(wd(4), "четверг", "четвергам", "чт")
	add(wd(5), "пятница", "пятницу", "пятницам", "пт")
	add(wd(6), "суббота", "субботу", "субботам", "сб")
	add(allDays, "день", "ежедневно")
	add(workDays, "будни", "будням", "будний", "рабочий", "рабочим")
	add(weekEnd, "выходные", "выходным")
	// German
	add(wd(0), "sonntag", "sonntags", "so")
	add(wd(1), "montag", "montags", "mo")
	add(wd(2), "dienstag", "dienstags", "di")
	add(wd(3), "mittwoch", "mittwochs", "mi")
	add(wd(4), "donnerstag", "donnerstags", "do")
	add(wd(5), "freitag", "freitags", "fr")
	add(wd(6), "samstag", "samstags", "sonnabend", "sonnabends", "sa")
	add(allDays, "tag", "täglich", "taeglich")
	add(workDays, "werktag", "werktags", "wochentag", "wochentags", "arbeitstag", "arbeitstags")
	add(weekEnd, "wochenende", "wochenenden")
	// Spanish
	add(wd(0), "domingo", "domingos", "dom")
	add(wd(1), "lunes", "lun")
	add(wd(2), "martes", "mar")
	add(wd(3), "miércoles", "miercoles", "mié", "mie")
	add(wd(4), "jueves", "jue")
	add(wd(5), "viernes", "vie")
	add(wd(6), "sábado", "sábados", "sabado", "sabados", "sáb", "sab")
	add(allDays, "día", "dia", "días", "dias", "diariamente", "diario")
	add(workDays, "laborable", "laborables", "entresemana")
	add(weekEnd, "findesemana")
	return m
}()

// fillerWords may stand around days and times. "weekly" words are filler
// too: "weekly on monday" is "every monday".
var fillerWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`
		every each on at and the & from weekly
		каждый каждую каждое каждые по в во и еженедельно
		jeden jede jedes am um und immer den wöchentlich woechentlich
		cada todos todas los las el la a y de semanalmente`) {
		m[w] = true
	}
	return m
}()

// markerWords say "repeatedly". A word schedule needs one: "monday
// 19:00" is a date (next Monday), "every monday 19:00" or "mondays 19:00"
// a series.
var markerWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`
		every each daily weekly weekdays weekends workdays
		sundays mondays tuesdays wednesdays thursdays fridays saturdays
		каждый каждую каждое каждые ежедневно еженедельно по будни будням выходным
		воскресеньям понедельникам вторникам средам четвергам пятницам субботам
		jeden jede jedes immer täglich taeglich wöchentlich woechentlich werktags wochentags arbeitstags
		sonntags montags dienstags mittwochs donnerstags freitags samstags sonnabends
		cada todos todas diariamente semanalmente laborables entresemana domingos sábados sabados`) {
		m[w] = true
	}
	return m
}()

// monthlyWords are recognised only to point at cron.
var monthlyWords = map[string]bool{"monthly": true, "month": true, "ежемесячно": true, "месяц": true,
	"monatlich": true, "monat": true, "mensualmente": true, "mes": true, "mensual": true}

// phrases are rewritten to single tokens before splitting.
var phrases = strings.NewReplacer(
	"entre semana", "entresemana",
	"fines de semana", "findesemana",
	"fin de semana", "findesemana",
	"de la mañana", "am", "de la manana", "am", "de la tarde", "pm", "de la noche", "pm",
	"a.m.", "am", "p.m.", "pm",
)

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
	s = phrases.Replace(s)
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
		if markerWords[tok] {
			marked = true
		}
		if tok == "" || fillerWords[tok] {
			continue
		}
		if monthlyWords[tok] {
			monthly = true
			continue
		}
		if ds, ok := dayWords[tok]; ok {
			for _, d := range ds {
				days[d] = true
			}
			continue
		}
		// A range of weekdays: "mon-fri", "пн-пт", "mo-fr".
		if a, b, ok := strings.Cut(tok, "-"); ok {
			da, oka := dayWords[strings.Trim(a, ".")]
			db, okb := dayWords[strings.Trim(b, ".")]
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

// OccurrencePoster posts a new occurrence's card; handlers implement it.
// It runs inside the transaction that created the event.
type OccurrencePoster interface {
	PostOccurrence(ctx context.Context, tx *sql.Tx, s store.Series, eventID int64) error
}

// SeriesConfig configures Series.
type SeriesConfig struct {
	DB     *store.DB
	Poster OccurrencePoster
	// Plan, if set, plans the reminders of a new occurrence in its
	// transaction (Reminders.Plan); otherwise the reminders job does it
	// at its next tick.
	Plan   func(ctx context.Context, tx *sql.Tx, eventID int64, now time.Time) error
	Now    func() time.Time
	Logger *slog.Logger
}

// Series creates the occurrences of recurring series.
type Series struct {
	cfg SeriesConfig
	log *slog.Logger
}

// NewSeries makes a Series.
func NewSeries(cfg SeriesConfig) *Series {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Series{cfg: cfg, log: cfg.Logger}
}

// SeriesResult is what a tick of Series did.
type SeriesResult struct {
	Created int // occurrences created
	Skipped int // slots skipped (asked for, or the chat is inactive)
	Stopped int // series that will never fire again
	Waiting int // series looked at that have nothing to do yet
}

func (r SeriesResult) String() string {
	var parts []string
	if r.Created > 0 {
		parts = append(parts, fmt.Sprintf("created %d occurrence(s)", r.Created))
	}
	if r.Skipped > 0 {
		parts = append(parts, fmt.Sprintf("skipped %d occurrence(s)", r.Skipped))
	}
	if r.Stopped > 0 {
		parts = append(parts, fmt.Sprintf("stopped %d series that will not fire again", r.Stopped))
	}
	return strings.Join(parts, ", ")
}

// Job is Tick as a scheduler job.
func (s *Series) Job() Job {
	return func(ctx context.Context) (string, error) {
		res, err := s.Tick(ctx)
		return res.String(), err
	}
}

// Tick advances every series that is due.
func (s *Series) Tick(ctx context.Context) (SeriesResult, error) {
	var res SeriesResult
	now := s.cfg.Now()
	due, err := store.DueSeries(ctx, s.cfg.DB.R, now, 500)
	if err != nil {
		return res, err
	}
	var errs []error
	for _, x := range due {
		err := s.cfg.DB.Tx(ctx, func(tx *sql.Tx) error {
			a, err := s.Advance(ctx, tx, x.ID, now)
			if err == nil {
				res.add(a)
			}
			return err
		})
		if err != nil {
			s.log.Error("series could not be advanced; retrying at the next tick", "series", x.ID, "err", err)
			errs = append(errs, fmt.Errorf("series %d: %w", x.ID, err))
		}
	}
	return res, errors.Join(errs...)
}

func (r *SeriesResult) add(o SeriesResult) {
	r.Created += o.Created
	r.Skipped += o.Skipped
	r.Stopped += o.Stopped
	r.Waiting += o.Waiting
}

// NextSlot is the first slot of x's schedule strictly after t, passing
// over x's skipped slot; zero if the schedule never fires again.
func NextSlot(x store.Series, rec Recurrence, t time.Time) time.Time {
	slot := rec.Next(t, x.Zone())
	if !slot.IsZero() && !x.SkipSlot.IsZero() && slot.Equal(x.SkipSlot) {
		slot = rec.Next(slot, x.Zone())
	}
	return slot
}

// UpcomingSlot is the slot the next occurrence to be created will have.
func UpcomingSlot(x store.Series, rec Recurrence, now time.Time) time.Time {
	base := now
	if x.CurrentSlot.After(base) {
		base = x.CurrentSlot
	}
	return NextSlot(x, rec, base)
}

// Advance looks at one series inside tx: while its current occurrence is
// ahead or running it only sets when to look again; once it has ended (or
// was cancelled) it creates the next occurrence from the schedule — or,
// with a lead time, waits until Lead before that slot — and posts its card.
// Handlers call it too (creating a series, skipping an occurrence).
func (s *Series) Advance(ctx context.Context, tx *sql.Tx, id int64, now time.Time) (SeriesResult, error) {
	var res SeriesResult
	x, ok, err := store.GetSeries(ctx, tx, id)
	if err != nil || !ok || !x.Active() {
		return res, err
	}
	rec, err := ParseStoredRecurrence(x.Schedule)
	if err != nil {
		// Not ours to fix at run time: stop rather than fail every tick.
		s.log.Error("series has an unreadable schedule; stopping it", "series", x.ID, "schedule", x.Schedule, "err", err)
		res.Stopped++
		_, err := store.StopSeries(ctx, tx, x.ID, now)
		return res, err
	}
	if x.CurrentEventID != 0 {
		cur, ok, err := store.GetEvent(ctx, tx, x.CurrentEventID)
		if err != nil {
			return res, err
		}
		if ok && !cur.Cancelled() && now.Before(cur.End()) {
			res.Waiting++
			return res, store.SetSeriesNextAt(ctx, tx, x.ID, cur.End(), now)
		}
	}
	slot := UpcomingSlot(x, rec, now)
	if slot.IsZero() {
		res.Stopped++
		s.log.Info("series will not fire again; stopping it", "series", x.ID, "schedule", x.Schedule)
		_, err := store.StopSeries(ctx, tx, x.ID, now)
		return res, err
	}
	if x.Lead > 0 && slot.Add(-x.Lead).After(now) {
		// The current occurrence is over (or cancelled): forget it, so
		// that a cancelled one does not make the series due every tick.
		res.Waiting++
		return res, store.SetSeriesOccurrence(ctx, tx, x.ID, 0, x.CurrentSlot, slot.Add(-x.Lead), now)
	}
	end := slot.Add(x.OccurrenceLength())
	if chat, ok, err := store.GetChat(ctx, tx, x.ChatID); err != nil {
		return res, err
	} else if ok && !chat.Active {
		res.Skipped++
		s.log.Info("series occurrence skipped: the bot cannot post in the chat", "series", x.ID, "chat", x.ChatID,
			"slot", slot, "reason", chat.InactiveReason)
		return res, store.SetSeriesOccurrence(ctx, tx, x.ID, 0, slot, end, now)
	}
	ev := store.Event{ChatID: x.ChatID, CreatorID: x.CreatorID, Title: x.Title, Description: x.Description, Place: x.Place,
		StartsAt: slot.UTC(), Timezone: x.Timezone, Capacity: x.Capacity, SeriesID: x.ID, ReminderOffsets: x.ReminderOffsets}
	if x.Length > 0 {
		ev.EndsAt = end.UTC()
	}
	eid, err := store.CreateEvent(ctx, tx, ev, now)
	if err != nil {
		return res, err
	}
	if s.cfg.Plan != nil {
		if err := s.cfg.Plan(ctx, tx, eid, now); err != nil {
			return res, err
		}
	}
	if s.cfg.Poster != nil {
		if err := s.cfg.Poster.PostOccurrence(ctx, tx, x, eid); err != nil {
			return res, err
		}
	}
	res.Created++
	s.log.Info("series occurrence created", "series", x.ID, "event", eid, "starts", slot)
	return res, store.SetSeriesOccurrence(ctx, tx, x.ID, eid, slot, end, now)
}
