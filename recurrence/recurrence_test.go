package recurrence

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestParseRecurrence(t *testing.T) {
	cases := []struct {
		in, spec string
	}{
		{"every monday 19:00", "0 19 * * 1"},
		{"Every Monday at 7pm", "0 19 * * 1"},
		{"mondays 19:00", "0 19 * * 1"},
		{"weekly on tuesday 18:30", "30 18 * * 2"},
		{"every day 19:00", "0 19 * * *"},
		{"daily at 7:30 am", "30 7 * * *"},
		{"weekdays 8:30", "30 8 * * 1,2,3,4,5"},
		{"every weekday at 8:30", "30 8 * * 1,2,3,4,5"},
		{"weekends 10:00", "0 10 * * 0,6"},
		{"every monday and thursday 19:00", "0 19 * * 1,4"},
		{"every mon, wed, fri at 6pm", "0 18 * * 1,3,5"},
		{"every mon-fri 9:00", "0 9 * * 1,2,3,4,5"},
		{"каждый понедельник в 19:00", "0 19 * * 1"},
		{"каждую среду в 19", "0 19 * * 3"},
		{"по понедельникам 19:00", "0 19 * * 1"},
		{"по будням в 8:30", "30 8 * * 1,2,3,4,5"},
		{"ежедневно в 7 вечера", "0 19 * * *"},
		{"jeden Montag um 19 Uhr", "0 19 * * 1"},
		{"montags 19:30", "30 19 * * 1"},
		{"werktags 8.30 Uhr", "30 8 * * 1,2,3,4,5"},
		{"täglich um 7", "0 7 * * *"},
		{"todos los lunes a las 19:00", "0 19 * * 1"},
		{"cada miércoles 19h", "0 19 * * 3"},
		{"todos los días a las 7 de la tarde", "0 19 * * *"},
		{"entre semana a las 8:30", "30 8 * * 1,2,3,4,5"},
		{"0 19 * * 1", "0 19 * * 1"},
		{"30 8 * * 1-5", "30 8 * * 1-5"},
		{"0 19 1 * *", "0 19 1 * *"},
		{"0 19 * * mon", "0 19 * * mon"},
		{"@weekly", "0 0 * * 0"},
		{"@daily", "0 0 * * *"},
	}
	for _, c := range cases {
		r, err := ParseRecurrence(c.in)
		if err != nil || r.Spec != c.spec {
			t.Errorf("ParseRecurrence(%q) = %q, %v; want %q", c.in, r.Spec, err, c.spec)
		}
	}
}

func TestParseRecurrenceRejects(t *testing.T) {
	cases := []struct {
		in   string
		want error
	}{
		{"", ErrScheduleEmpty},
		{"   ", ErrScheduleEmpty},
		{"monday 19:00", ErrScheduleUnknown}, // a date (next Monday), not a series
		{"every monday", ErrScheduleNoTime},
		{"every 19:00", ErrScheduleNoDays},
		{"every blursday 19:00", ErrScheduleUnknown},
		{"every monday 25:00", ErrScheduleBadTime},
		{"every monday 13pm", ErrScheduleBadTime},
		{"every monday 19:00 and 20:00", ErrScheduleUnknown},
		{"every 2 weeks on monday 19:00", ErrScheduleUnknown},
		{"monthly 19:00", ErrScheduleMonthly},
		{"every month on the 1st 19:00", ErrScheduleMonthly},
		{"* * * * *", ErrScheduleTooOften},
		{"*/30 * * * *", ErrScheduleTooOften},
		{"0 * * * *", ErrScheduleTooOften},
		{"0 0 30 2 *", ErrScheduleNever},
		{"0 0 31 4 *", ErrScheduleNever},
		{"@hourly", ErrScheduleCron},
		{"@every 1h", ErrScheduleCron},
		{"0 19 * * 1 *", ErrScheduleCron},
		{"60 19 * * 1", ErrScheduleCron},
		{"0 19 * * 8", ErrScheduleCron},
		{"0 0 * * 1-5/0", ErrScheduleCron},
		// Inputs that make robfig/cron panic without ParseSpec's guard.
		{"CRON_TZ=UTC", ErrScheduleTimeZone},
		{"TZ=Europe/Berlin", ErrScheduleTimeZone},
		{"cron_tz=europe/berlin 0 19 * * 1", ErrScheduleTimeZone},
		{"@", ErrScheduleCron},
		{strings.Repeat("every monday ", 20) + "19:00", ErrScheduleUnknown},
	}
	for _, c := range cases {
		r, err := ParseRecurrence(c.in)
		if !errors.Is(err, c.want) {
			t.Errorf("ParseRecurrence(%q) = %q, %v; want %v", c.in, r.Spec, err, c.want)
		}
	}
}

// robfig/cron panics on these; ParseSpec must turn every panic into an error.
func TestParseSpecGuardsPanics(t *testing.T) {
	for _, s := range []string{"CRON_TZ=UTC", "TZ=", "CRON_TZ=Nowhere/Land", "TZ=UTC"} {
		if _, err := ParseSpec(s); err == nil {
			t.Errorf("ParseSpec(%q) accepted", s)
		}
	}
}

func TestStoredRecurrenceRoundTrip(t *testing.T) {
	for _, in := range []string{"every monday 19:00", "weekdays 8:30", "every day 6pm", "0 19 1 * *"} {
		r, err := ParseRecurrence(in)
		if err != nil {
			t.Fatal(err)
		}
		s, err := ParseStoredRecurrence(r.Spec)
		if err != nil || s.Spec != r.Spec || s.Cron != r.Cron || !slices.Equal(s.Days, r.Days) || s.Hour != r.Hour || s.Minute != r.Minute {
			t.Errorf("%q: stored %+v, parsed %+v, %v", in, s, r, err)
		}
	}
}

// FuzzParseRecurrence: any text either parses into a schedule that fires,
// not too often, and whose spec parses again, or is refused with one of
// the documented errors. It never panics.
func FuzzParseRecurrence(f *testing.F) {
	for _, s := range []string{"every monday 19:00", "0 19 * * 1", "CRON_TZ=UTC", "TZ=", "@every 1h", "@", "каждый день в 19",
		"jeden Montag um 19 Uhr", "todos los lunes a las 19:00", "*/5 * * * *", "0 0 30 2 *", "every mon-fri 9:00", "1-7 * * * *",
		"0 0 * * 1-5/0", "every monday 7pm 19:00", "L W # ?", "0 19 ? * mon#2"} {
		f.Add(s)
	}
	known := []error{ErrScheduleEmpty, ErrScheduleUnknown, ErrScheduleNoTime, ErrScheduleNoDays, ErrScheduleBadTime,
		ErrScheduleTimeZone, ErrScheduleTooOften, ErrScheduleNever, ErrScheduleMonthly, ErrScheduleCron}
	f.Fuzz(func(t *testing.T, in string) {
		r, err := ParseRecurrence(in)
		if err != nil {
			if !slices.ContainsFunc(known, func(k error) bool { return errors.Is(err, k) }) {
				t.Fatalf("%q: undocumented error %v", in, err)
			}
			return
		}
		if !utf8.ValidString(r.Spec) || len(strings.Fields(r.Spec)) != 5 {
			t.Fatalf("%q: spec %q", in, r.Spec)
		}
		again, err := ParseStoredRecurrence(r.Spec)
		if err != nil {
			t.Fatalf("%q: spec %q does not parse again: %v", in, r.Spec, err)
		}
		loc, _ := time.LoadLocation("Europe/Berlin")
		from := time.Date(2026, 3, 1, 0, 0, 0, 0, loc)
		a, b := r.Next(from, loc), again.Next(from, loc)
		if a.IsZero() || !a.Equal(b) || !a.After(from) {
			t.Fatalf("%q: next %v / %v", in, a, b)
		}
	})
}

// IsSchedule tells a schedule from one date, for the one-line /event:
// marker words in any language, cron specs with or without a time zone
// (which ParseRecurrence then refuses with its own answer).
func TestIsSchedule(t *testing.T) {
	for in, want := range map[string]bool{
		"every monday 19:00": true, "Mondays at 7pm": true, "каждую пятницу в 19": true, "jeden Montag 19 Uhr": true,
		"cada lunes 19:00": true, "todos los sábados 10h": true, "entre semana a las 8:30": true, "monthly 19:00": true,
		"0 19 * * 1": true, "@weekly": true, "CRON_TZ=Europe/Berlin 0 19 * * 1": true, "TZ=UTC 0 19 * * 1": true,
		"cron_tz=utc": true, "0 19 ? * mon#2": true,
		"tomorrow 19:00": false, "monday 19:00": false, "2026-12-05 19:00": false, "5 mar 10:00": false,
		"el sábado a las 19:00": false, "nächsten Freitag 19 Uhr": false, "": false,
	} {
		if got := IsSchedule(in); got != want {
			t.Errorf("IsSchedule(%q) = %v, want %v", in, got, want)
		}
	}
	if _, err := ParseRecurrence("CRON_TZ=Europe/Berlin 0 19 * * 1"); !errors.Is(err, ErrScheduleTimeZone) {
		t.Errorf("CRON_TZ: %v", err)
	}
}
