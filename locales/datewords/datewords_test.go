package datewords

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestEveryLanguageHasEveryClass: en, ru, de and es, in that order, each
// with every class of word a parser or the formatter reads.
func TestEveryLanguageHasEveryClass(t *testing.T) {
	var codes []string
	for _, l := range Languages() {
		codes = append(codes, l.Code)
		for i, d := range l.Days {
			if d.Short == "" || d.Long == "" {
				t.Errorf("%s: weekday %v has no short or long name: %+v", l.Code, time.Weekday(i), d)
			}
		}
		for i, m := range l.Months {
			if m.Date == "" {
				t.Errorf("%s: month %v has no name for dates", l.Code, time.Month(i+1))
			}
		}
		for _, off := range []int{0, 1, 2} {
			if !slices.Contains(slices.Collect(maps.Values(l.RelativeDays)), off) {
				t.Errorf("%s: no relative day %d", l.Code, off)
			}
		}
		plural := false
		for _, d := range l.Days {
			plural = plural || len(d.Plural) > 0
		}
		if !plural {
			t.Errorf("%s: no plural weekday (\"mondays\")", l.Code)
		}
		for class, words := range map[string][]string{"This": l.This, "Next": l.Next, "Every": l.Every,
			"Monthly": l.Monthly, "MonthNouns": l.MonthNouns, "Filler": l.Filler} {
			if len(words) == 0 {
				t.Errorf("%s: no %s words", l.Code, class)
			}
		}
		for _, days := range [][]time.Weekday{{0, 1, 2, 3, 4, 5, 6}, {1, 2, 3, 4, 5}, {0, 6}} {
			i := slices.IndexFunc(l.DayGroups, func(g DayGroup) bool { return slices.Equal(g.Days, days) })
			if i < 0 || len(l.DayGroups[i].Words)+len(l.DayGroups[i].Markers) == 0 {
				t.Errorf("%s: no words for the days %v", l.Code, days)
			}
		}
		if len(l.Markers()) == 0 {
			t.Errorf("%s: no markers", l.Code)
		}
	}
	if want := []string{"en", "ru", "de", "es"}; !slices.Equal(codes, want) {
		t.Errorf("languages %v, want %v", codes, want)
	}
}

// TestExclusionsAreStated: every exclusion gives its reason and names
// words its class has, so none outlives the word it was for.
func TestExclusionsAreStated(t *testing.T) {
	for _, l := range Languages() {
		for _, x := range l.Exclude {
			if x.Why == "" || x.Use < Event || x.Use > Weather {
				t.Errorf("%s: exclusion %+v has no reason or no use", l.Code, x)
			}
			var class []string
			for _, d := range l.Days {
				switch x.Class {
				case WeekdayName:
					class = append(append(append(class, d.Long), d.Forms...), d.Plural...)
				case WeekdayAbbreviation:
					class = append(append(class, d.Short), d.Abbrev...)
				}
			}
			if x.Class == Filler {
				class = l.Filler
			}
			if len(class) == 0 {
				t.Errorf("%s: exclusion %+v of an unknown class", l.Code, x)
			}
			for _, w := range x.Words {
				if !slices.Contains(class, w) {
					t.Errorf("%s: exclusion of %q, which its class does not have", l.Code, w)
				}
			}
		}
	}
}

// The deliberate differences hold: Spanish "mar" is March in an /event
// date and Tuesday in a schedule; /weather takes no "domingo" and no
// German or Spanish abbreviation; an event date takes no "and".
func TestDeliberateDifferences(t *testing.T) {
	langs := map[string]Lang{}
	for _, l := range Languages() {
		langs[l.Code] = l
	}
	es, de, en := langs["es"], langs["de"], langs["en"]
	if _, ok := es.WeekdayWords(Event)["mar"]; ok {
		t.Error(`event reads "mar" as a weekday`)
	}
	if es.MonthWords()["mar"] != time.March || es.WeekdayWords(Series)["mar"] != time.Tuesday {
		t.Error(`"mar" is not March in dates and Tuesday in schedules`)
	}
	for _, w := range []string{"domingo", "dom", "sáb", "sab", "mar"} {
		if _, ok := es.WeekdayWords(Weather)[w]; ok {
			t.Errorf("weather reads %q as a weekday", w)
		}
	}
	if es.WeekdayWords(Weather)["sabado"] != time.Saturday || es.WeekdayWords(Event)["domingo"] != time.Sunday {
		t.Error("weather lost sábado or event lost domingo")
	}
	for _, w := range []string{"mo", "fr", "so"} {
		if _, ok := de.WeekdayWords(Weather)[w]; ok {
			t.Errorf("weather reads %q as a weekday", w)
		}
		if _, ok := de.WeekdayWords(Event)[w]; !ok {
			t.Errorf("event does not read %q as a weekday", w)
		}
	}
	if slices.Contains(en.FillerWords(Event), "and") || !slices.Contains(en.FillerWords(Series), "and") {
		t.Error(`"and" is filler in an event date or not in a schedule`)
	}
}

// TestNoWordMeansTwoThings: where a use reads all languages at once
// (schedules, weather), no word names two weekdays or both a weekday and a
// relative day; within one language, no word is both a weekday and a
// month in an event date.
func TestNoWordMeansTwoThings(t *testing.T) {
	for _, u := range []Use{Series, Weather} {
		seen := map[string]time.Weekday{}
		rel := map[string]bool{}
		for _, l := range Languages() {
			for w := range l.RelativeDayWords() {
				rel[w] = true
			}
		}
		for _, l := range Languages() {
			for w, d := range l.WeekdayWords(u) {
				if prev, ok := seen[w]; ok && prev != d {
					t.Errorf("use %d: %q is %v and %v", u, w, prev, d)
				}
				if rel[w] {
					t.Errorf("use %d: %q is a weekday and a relative day", u, w)
				}
				seen[w] = d
			}
		}
	}
	for _, l := range Languages() {
		months := l.MonthWords()
		for w := range l.WeekdayWords(Event) {
			if _, ok := months[w]; ok {
				t.Errorf("%s: %q is a weekday and a month in an event date", l.Code, w)
			}
		}
	}
}

// What the formatter writes can be typed back: every weekday and month
// name it shows is read by the event date (unless excluded there).
func TestWrittenWordsAreRead(t *testing.T) {
	for _, l := range Languages() {
		wd, mo := l.WeekdayWords(Event), l.MonthWords()
		for i, d := range l.Days {
			for _, w := range []string{d.Short, d.Long} {
				got, ok := wd[Read(w)]
				if (!ok && !l.excluded(Event, WeekdayAbbreviation, Read(w))) || (ok && got != time.Weekday(i)) {
					t.Errorf("%s: %q is not read as %v", l.Code, w, time.Weekday(i))
				}
			}
		}
		for i, m := range l.Months {
			if mo[Read(m.Date)] != time.Month(i+1) {
				t.Errorf("%s: %q is not read as %v", l.Code, m.Date, time.Month(i+1))
			}
		}
	}
}

// Words with accents or umlauts are read in their plain spelling too, and
// a day group of several words written as one.
func TestSpellings(t *testing.T) {
	langs := map[string]Lang{}
	for _, l := range Languages() {
		langs[l.Code] = l
	}
	if langs["es"].WeekdayWords(Event)["sabado"] != time.Saturday || langs["es"].RelativeDayWords()["manana"] != 1 {
		t.Error("Spanish plain spellings are not read")
	}
	if langs["de"].RelativeDayWords()["uebermorgen"] != 2 || langs["de"].MonthWords()["maerz"] != time.March {
		t.Error("German plain spellings are not read")
	}
	if _, ok := langs["es"].DayGroupWords()["findesemana"]; !ok {
		t.Error(`"fin de semana" is not read as one word`)
	}
	if r := strings.NewReplacer(langs["es"].Phrases()...); r.Replace("fines de semana") != "finesdesemana" {
		t.Errorf("phrases: %q", r.Replace("fines de semana"))
	}
	if r := strings.NewReplacer(langs["es"].DayPeriodPairs()...); r.Replace("9 de la manana") != "9 am" {
		t.Errorf("day periods: %q", r.Replace("9 de la manana"))
	}
}
