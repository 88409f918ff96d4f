package locales

import (
	"fmt"
	"strings"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/rsvpbot/rsvpbot/locales/datewords"
)

// dateLocale is how a language writes dates. It is locale data (from CLDR),
// not UI text, which is why it is Go tables and not a catalog: translators
// never need to touch it, and it must exist for every language. The names
// are locales/datewords' (the parsers read the same words); the layout is
// here.
type dateLocale struct {
	weekdayShort [7]string // indexed by time.Weekday, Sunday first
	weekdayLong  [7]string
	// dateMonths are month names as they appear inside a date, indexed by
	// time.Month-1: abbreviated, except Russian, which writes the full
	// genitive ("5 декабря", not the nominative "декабрь").
	dateMonths [12]string
	// dateLayout is a fmt layout of weekday, day, month, year.
	dateLayout string
}

// dateLayouts are the fmt layouts of FormatDate by language.
var dateLayouts = map[string]string{
	"en": "%[1]s, %[2]d %[3]s %[4]d",
	"ru": "%[1]s, %[2]d %[3]s %[4]d",
	"de": "%[1]s, %[2]d. %[3]s %[4]d",
	"es": "%[1]s, %[2]d %[3]s %[4]d",
}

// dateLocales is read-only.
var dateLocales = func() map[string]dateLocale {
	m := map[string]dateLocale{}
	for _, l := range datewords.Languages() {
		d := dateLocale{dateLayout: dateLayouts[l.Code]}
		for i, w := range l.Days {
			d.weekdayShort[i], d.weekdayLong[i] = w.Short, w.Long
		}
		for i, mo := range l.Months {
			d.dateMonths[i] = mo.Date
		}
		m[l.Code] = d
	}
	return m
}()

func (c *Catalog) dateLocale(lang string) dateLocale {
	if d, ok := dateLocales[c.Resolve(lang)]; ok {
		return d
	}
	return dateLocales[DefaultLanguage]
}

// FormatDate writes t's calendar date in lang with the abbreviated weekday:
// "Sat, 5 Dec 2026", "сб, 5 декабря 2026", "Sa., 5. Dez. 2026",
// "sáb, 5 dic 2026". t is shown in its own location; convert it with
// t.In first.
func (c *Catalog) FormatDate(lang string, t time.Time) string {
	d := c.dateLocale(lang)
	return fmt.Sprintf(d.dateLayout, d.weekdayShort[t.Weekday()], t.Day(), d.dateMonths[t.Month()-1], t.Year())
}

// FormatTime writes t's time of day on the 24-hour clock ("19:00") in every
// language, English included: event times are read by mixed-language groups
// and a 24-hour time cannot be misread. lang is accepted so that callers do
// not depend on that choice.
func (c *Catalog) FormatTime(lang string, t time.Time) string {
	return t.Format("15:04")
}

// FormatDateTime writes date, time and time zone: "Sat, 5 Dec 2026, 19:00
// CET". The zone is there because members of one group may live in
// different zones. It is the zone's abbreviation when the tz database has a
// real one (CET, MSK), else its IANA name ("Asia/Novosibirsk", whose
// abbreviation would only be "+07"), else the UTC offset ("UTC+03:00").
func (c *Catalog) FormatDateTime(lang string, t time.Time) string {
	return c.FormatDate(lang, t) + ", " + c.FormatTime(lang, t) + " " + zoneLabel(t)
}

// zoneLabel names t's time zone for people; see FormatDateTime.
func zoneLabel(t time.Time) string {
	abbr := t.Format("MST")
	if abbr != "" && abbr[0] != '+' && abbr[0] != '-' {
		return abbr
	}
	if name := t.Location().String(); strings.Contains(name, "/") {
		return name
	}
	if _, offset := t.Zone(); offset == 0 {
		return "UTC"
	}
	return "UTC" + t.Format("-07:00")
}

// FormatWeekday returns the full weekday name of t in lang, in the case used
// mid-sentence: "Saturday", "Samstag", but "суббота" and "sábado", since
// Russian and Spanish do not capitalise weekdays.
func (c *Catalog) FormatWeekday(lang string, t time.Time) string {
	return c.dateLocale(lang).weekdayLong[t.Weekday()]
}

// FormatInt writes n with lang's digit grouping: "12,345" (en), "12 345"
// (ru, with a no-break space so Telegram never wraps inside a number),
// "12.345" (de, es).
func (c *Catalog) FormatInt(lang string, n int64) string {
	return message.NewPrinter(language.Make(c.Resolve(lang))).Sprintf("%d", n)
}
