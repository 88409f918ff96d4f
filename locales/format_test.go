package locales

import (
	"testing"
	"time"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Skipf("no tz data for %s: %v", name, err)
	}
	return loc
}

func TestFormatDate(t *testing.T) {
	c := mustNew(t)
	berlin := mustZone(t, "Europe/Berlin")
	sat := time.Date(2026, 12, 5, 19, 0, 0, 0, berlin)
	may := time.Date(2026, 5, 1, 9, 5, 0, 0, berlin)
	march := time.Date(2027, 3, 14, 0, 0, 0, 0, time.UTC)
	sept := time.Date(2026, 9, 30, 23, 59, 0, 0, time.UTC)
	tests := []struct {
		lang string
		t    time.Time
		want string
	}{
		{"en", sat, "Sat, 5 Dec 2026"},
		{"ru", sat, "сб, 5 декабря 2026"},
		{"de", sat, "Sa., 5. Dez. 2026"},
		{"es", sat, "sáb, 5 dic 2026"},
		{"en", may, "Fri, 1 May 2026"},
		{"ru", may, "пт, 1 мая 2026"},
		{"de", may, "Fr., 1. Mai 2026"},
		{"es", may, "vie, 1 may 2026"},
		{"ru", march, "вс, 14 марта 2027"},
		{"de", march, "So., 14. März 2027"},
		{"es", march, "dom, 14 mar 2027"},
		{"en", sept, "Wed, 30 Sep 2026"},
		{"de", sept, "Mi., 30. Sept. 2026"},
		{"ru", sept, "ср, 30 сентября 2026"},
		{"ru-RU", sat, "сб, 5 декабря 2026"}, // resolved like T
		{"fr", sat, "Sat, 5 Dec 2026"},       // unsupported: English
	}
	for _, tt := range tests {
		if got := c.FormatDate(tt.lang, tt.t); got != tt.want {
			t.Errorf("FormatDate(%s, %v) = %q, want %q", tt.lang, tt.t, got, tt.want)
		}
	}
}

func TestFormatDateUsesTheTimesOwnZone(t *testing.T) {
	c := mustNew(t)
	// 23:30 UTC on the 5th is already the 6th in Moscow.
	utc := time.Date(2026, 12, 5, 23, 30, 0, 0, time.UTC)
	if got := c.FormatDate("en", utc.In(mustZone(t, "Europe/Moscow"))); got != "Sun, 6 Dec 2026" {
		t.Errorf("FormatDate = %q", got)
	}
}

func TestFormatTime(t *testing.T) {
	c := mustNew(t)
	for _, lang := range c.Languages() {
		for _, tt := range []struct {
			h, m int
			want string
		}{{19, 0, "19:00"}, {7, 5, "07:05"}, {0, 0, "00:00"}, {12, 30, "12:30"}} {
			if got := c.FormatTime(lang, time.Date(2026, 1, 1, tt.h, tt.m, 0, 0, time.UTC)); got != tt.want {
				t.Errorf("FormatTime(%s) = %q, want %q", lang, got, tt.want)
			}
		}
	}
}

func TestFormatDateTime(t *testing.T) {
	c := mustNew(t)
	at := func(zone string) time.Time {
		return time.Date(2026, 12, 5, 19, 0, 0, 0, mustZone(t, zone))
	}
	tests := []struct {
		lang string
		t    time.Time
		want string
	}{
		{"en", at("Europe/Berlin"), "Sat, 5 Dec 2026, 19:00 CET"},
		{"ru", at("Europe/Moscow"), "сб, 5 декабря 2026, 19:00 MSK"},
		{"de", at("Europe/Berlin"), "Sa., 5. Dez. 2026, 19:00 CET"},
		{"es", at("Europe/Madrid"), "sáb, 5 dic 2026, 19:00 CET"},
		{"en", at("UTC"), "Sat, 5 Dec 2026, 19:00 UTC"},
		// The tz database has no letters for Novosibirsk, only "+07".
		{"ru", at("Asia/Novosibirsk"), "сб, 5 декабря 2026, 19:00 Asia/Novosibirsk"},
		{"en", time.Date(2026, 12, 5, 19, 0, 0, 0, time.FixedZone("", 3*3600)), "Sat, 5 Dec 2026, 19:00 UTC+03:00"},
		{"en", time.Date(2026, 12, 5, 19, 0, 0, 0, time.FixedZone("", -(3*3600+1800))), "Sat, 5 Dec 2026, 19:00 UTC-03:30"},
		{"en", time.Date(2026, 12, 5, 19, 0, 0, 0, time.FixedZone("", 0)), "Sat, 5 Dec 2026, 19:00 UTC"},
		{"de", time.Date(2026, 7, 5, 19, 0, 0, 0, mustZone(t, "Europe/Berlin")), "So., 5. Juli 2026, 19:00 CEST"},
	}
	for _, tt := range tests {
		if got := c.FormatDateTime(tt.lang, tt.t); got != tt.want {
			t.Errorf("FormatDateTime(%s, %v) = %q, want %q", tt.lang, tt.t, got, tt.want)
		}
	}
}

func TestFormatWeekday(t *testing.T) {
	c := mustNew(t)
	sat := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	want := map[string]string{"en": "Saturday", "ru": "суббота", "de": "Samstag", "es": "sábado"}
	for lang, w := range want {
		if got := c.FormatWeekday(lang, sat); got != w {
			t.Errorf("FormatWeekday(%s) = %q, want %q", lang, got, w)
		}
	}
	if got := c.FormatWeekday("ru", sat.AddDate(0, 0, 1)); got != "воскресенье" {
		t.Errorf("Sunday in Russian = %q", got)
	}
}

// TestDateTables: every supported language has complete, distinct names,
// checked over a whole year so no index is off by one.
func TestDateTables(t *testing.T) {
	c := mustNew(t)
	for _, lang := range c.Languages() {
		d, ok := dateLocales[lang]
		if !ok {
			t.Errorf("%s: no date table", lang)
			continue
		}
		for name, list := range map[string][]string{
			"weekdayShort": d.weekdayShort[:], "weekdayLong": d.weekdayLong[:], "dateMonths": d.dateMonths[:],
		} {
			seen := map[string]bool{}
			for i, s := range list {
				if s == "" || seen[s] {
					t.Errorf("%s: %s[%d] = %q is empty or repeated", lang, name, i, s)
				}
				seen[s] = true
			}
		}
		if d.dateLayout == "" {
			t.Errorf("%s: no date layout", lang)
		}
	}
	day := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for range 366 {
		for _, lang := range c.Languages() {
			if got := c.FormatDate(lang, day); got == "" {
				t.Fatalf("FormatDate(%s, %v) is empty", lang, day)
			}
		}
		day = day.AddDate(0, 0, 1)
	}
}

func TestFormatInt(t *testing.T) {
	c := mustNew(t)
	tests := []struct {
		lang string
		n    int64
		want string
	}{
		{"en", 12345, "12,345"},
		{"ru", 12345, "12\u00a0345"}, // no-break space
		{"de", 12345, "12.345"},
		{"es", 12345, "12.345"},
		{"en", 999, "999"},
		{"en", 0, "0"},
		{"en", -1234567, "-1,234,567"},
		{"de", 1000000, "1.000.000"},
		{"ru-RU", 1000, "1\u00a0000"},
		{"fr", 12345, "12,345"}, // unsupported: English
	}
	for _, tt := range tests {
		if got := c.FormatInt(tt.lang, tt.n); got != tt.want {
			t.Errorf("FormatInt(%s, %d) = %q, want %q", tt.lang, tt.n, got, tt.want)
		}
	}
}
