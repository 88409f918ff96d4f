package datewords

import "time"

// Languages returns every language's words, English first (parsers try
// the other languages in this order after the user's own). Each call
// builds them anew.
func Languages() []Lang {
	allDays := []time.Weekday{0, 1, 2, 3, 4, 5, 6}
	workDays := []time.Weekday{1, 2, 3, 4, 5}
	weekend := []time.Weekday{0, 6}
	return []Lang{
		{
			Code: "en",
			Days: [7]Weekday{
				{Short: "Sun", Long: "Sunday", Plural: []string{"sundays"}},
				{Short: "Mon", Long: "Monday", Plural: []string{"mondays"}},
				{Short: "Tue", Long: "Tuesday", Abbrev: []string{"tues"}, Plural: []string{"tuesdays"}},
				{Short: "Wed", Long: "Wednesday", Abbrev: []string{"weds"}, Plural: []string{"wednesdays"}},
				{Short: "Thu", Long: "Thursday", Abbrev: []string{"thur", "thurs"}, Plural: []string{"thursdays"}},
				{Short: "Fri", Long: "Friday", Plural: []string{"fridays"}},
				{Short: "Sat", Long: "Saturday", Plural: []string{"saturdays"}},
			},
			Months: [12]Month{
				{"Jan", []string{"january"}}, {"Feb", []string{"february"}}, {"Mar", []string{"march"}},
				{"Apr", []string{"april"}}, {"May", nil}, {"Jun", []string{"june"}}, {"Jul", []string{"july"}},
				{"Aug", []string{"august"}}, {"Sep", []string{"sept", "september"}}, {"Oct", []string{"october"}},
				{"Nov", []string{"november"}}, {"Dec", []string{"december"}},
			},
			MonthFirst:   true,
			RelativeDays: map[string]int{"today": 0, "tonight": 0, "tomorrow": 1, "tmr": 1, "day after tomorrow": 2},
			This:         []string{"on", "this", "coming"},
			Next:         []string{"next"},
			Every:        []string{"every", "each", "weekly"},
			Monthly:      []string{"monthly"},
			MonthNouns:   []string{"month"},
			DayGroups: []DayGroup{
				{Days: allDays, Words: []string{"day", "days"}, Markers: []string{"daily"}},
				{Days: workDays, Words: []string{"weekday", "workday"}, Markers: []string{"weekdays", "workdays"}},
				{Days: weekend, Words: []string{"weekend"}, Markers: []string{"weekends"}},
			},
			Filler: []string{"at", "on", "the", "of", "and", "&", "from"},
			Exclude: []Exclusion{
				{Use: Event, Class: Filler, Words: []string{"and", "&", "from"},
					Why: "one event has one date: \"fri and sat 19:00\" names two"},
			},
		},

		{
			Code: "ru",
			Days: [7]Weekday{
				{Short: "вс", Long: "воскресенье", Abbrev: []string{"воск"}, Forms: []string{"воскресенья"},
					Plural: []string{"воскресеньям"}},
				{Short: "пн", Long: "понедельник", Forms: []string{"понедельника", "понедельнику"},
					Plural: []string{"понедельникам"}},
				{Short: "вт", Long: "вторник", Forms: []string{"вторника", "вторнику"}, Plural: []string{"вторникам"}},
				{Short: "ср", Long: "среда", Forms: []string{"среду", "среде"}, Plural: []string{"средам"}},
				{Short: "чт", Long: "четверг", Forms: []string{"четверга", "четвергу"}, Plural: []string{"четвергам"}},
				{Short: "пт", Long: "пятница", Forms: []string{"пятницу", "пятнице", "пятницы"},
					Plural: []string{"пятницам"}},
				{Short: "сб", Long: "суббота", Forms: []string{"субботу", "субботе", "субботы"},
					Plural: []string{"субботам"}},
			},
			// Inside a date a month is in the genitive: "5 декабря".
			Months: [12]Month{
				{"января", []string{"янв"}}, {"февраля", []string{"фев"}}, {"марта", []string{"мар"}},
				{"апреля", []string{"апр"}}, {"мая", nil}, {"июня", []string{"июн"}}, {"июля", []string{"июл"}},
				{"августа", []string{"авг"}}, {"сентября", []string{"сен", "сент"}}, {"октября", []string{"окт"}},
				{"ноября", []string{"ноя"}}, {"декабря", []string{"дек"}},
			},
			RelativeDays: map[string]int{"сегодня": 0, "завтра": 1, "послезавтра": 2},
			This: []string{"в", "во", "на", "эту", "этот", "это", "эта", "ближайшую", "ближайший",
				"ближайшее"},
			Next:       []string{"следующую", "следующий", "следующее", "следующая"},
			Every:      []string{"каждый", "каждую", "каждое", "каждые", "еженедельно", "по"},
			Monthly:    []string{"ежемесячно"},
			MonthNouns: []string{"месяц"},
			DayGroups: []DayGroup{
				{Days: allDays, Words: []string{"день"}, Markers: []string{"ежедневно"}},
				{Days: workDays, Words: []string{"будний", "рабочий", "рабочим"}, Markers: []string{"будни", "будням"}},
				{Days: weekend, Words: []string{"выходные"}, Markers: []string{"выходным"}},
			},
			Filler: []string{"в", "во", "на", "и"},
			Exclude: []Exclusion{
				{Use: Event, Class: Filler, Words: []string{"и"},
					Why: "one event has one date: \"пт и сб в 19\" names two"},
			},
		},

		{
			Code: "de",
			Days: [7]Weekday{
				{Short: "So.", Long: "Sonntag", Plural: []string{"sonntags"}},
				{Short: "Mo.", Long: "Montag", Plural: []string{"montags"}},
				{Short: "Di.", Long: "Dienstag", Plural: []string{"dienstags"}},
				{Short: "Mi.", Long: "Mittwoch", Plural: []string{"mittwochs"}},
				{Short: "Do.", Long: "Donnerstag", Plural: []string{"donnerstags"}},
				{Short: "Fr.", Long: "Freitag", Plural: []string{"freitags"}},
				{Short: "Sa.", Long: "Samstag", Forms: []string{"sonnabend"}, Plural: []string{"samstags", "sonnabends"}},
			},
			// CLDR abbreviates only the long names, so "Mai" and "Juni" have no dot.
			Months: [12]Month{
				{"Jan.", []string{"januar"}}, {"Feb.", []string{"februar"}}, {"März", []string{"mär", "mrz"}},
				{"Apr.", []string{"april"}}, {"Mai", nil}, {"Juni", []string{"jun"}}, {"Juli", []string{"jul"}},
				{"Aug.", []string{"august"}}, {"Sept.", []string{"sep", "september"}}, {"Okt.", []string{"oktober"}},
				{"Nov.", []string{"november"}}, {"Dez.", []string{"dezember"}},
			},
			RelativeDays: map[string]int{"heute": 0, "morgen": 1, "übermorgen": 2},
			This:         []string{"am", "diesen", "kommenden"},
			Next:         []string{"nächsten", "nächster"},
			Every:        []string{"jeden", "jede", "jedes", "immer", "wöchentlich"},
			Monthly:      []string{"monatlich"},
			MonthNouns:   []string{"monat"},
			DayGroups: []DayGroup{
				{Days: allDays, Words: []string{"tag"}, Markers: []string{"täglich"}},
				{Days: workDays, Words: []string{"werktag", "wochentag", "arbeitstag"},
					Markers: []string{"werktags", "wochentags", "arbeitstags"}},
				{Days: weekend, Words: []string{"wochenende", "wochenenden"}},
			},
			Filler: []string{"am", "um", "den", "abend", "abends", "und"},
			Plain:  []string{"ä", "ae", "ö", "oe", "ü", "ue", "ß", "ss"},
			Exclude: []Exclusion{
				{Use: Event, Class: Filler, Words: []string{"und"},
					Why: "one event has one date: \"Fr und Sa 19 Uhr\" names two"},
				{Use: Weather, Class: WeekdayAbbreviation,
					Why: "\"Springfield, MO\" and \"Paris, FR\" are places"},
			},
		},

		{
			Code: "es",
			Days: [7]Weekday{
				{Short: "dom", Long: "domingo", Plural: []string{"domingos"}},
				{Short: "lun", Long: "lunes"},
				{Short: "mar", Long: "martes"},
				{Short: "mié", Long: "miércoles"},
				{Short: "jue", Long: "jueves"},
				{Short: "vie", Long: "viernes"},
				{Short: "sáb", Long: "sábado", Plural: []string{"sábados"}},
			},
			Months: [12]Month{
				{"ene", []string{"enero"}}, {"feb", []string{"febrero"}}, {"mar", []string{"marzo"}},
				{"abr", []string{"abril"}}, {"may", []string{"mayo"}}, {"jun", []string{"junio"}},
				{"jul", []string{"julio"}}, {"ago", []string{"agosto"}},
				{"sept", []string{"sep", "set", "septiembre", "setiembre"}}, {"oct", []string{"octubre"}},
				{"nov", []string{"noviembre"}}, {"dic", []string{"diciembre"}},
			},
			RelativeDays: map[string]int{"hoy": 0, "esta noche": 0, "mañana": 1, "pasado mañana": 2},
			This:         []string{"el", "este", "esta"},
			Next:         []string{"próximo"},
			Every:        []string{"cada", "todos", "todas", "semanalmente"},
			Monthly:      []string{"mensualmente"},
			MonthNouns:   []string{"mes", "mensual"},
			DayGroups: []DayGroup{
				{Days: allDays, Words: []string{"día", "días", "diario"}, Markers: []string{"diariamente"}},
				{Days: workDays, Words: []string{"laborable"}, Markers: []string{"laborables", "entre semana"}},
				{Days: weekend, Words: []string{"fin de semana", "fines de semana"}},
			},
			Filler: []string{"el", "la", "a", "las", "de", "en", "los", "y"},
			// "9 de la mañana" must not read as "tomorrow at 9".
			DayPeriods: map[string]string{"de la mañana": "am", "de la tarde": "pm", "de la noche": "pm"},
			Plain:      []string{"á", "a", "é", "e", "í", "i", "ó", "o", "ú", "u", "ñ", "n"},
			Exclude: []Exclusion{
				{Use: Event, Class: WeekdayAbbreviation, Words: []string{"mar"},
					Why: "\"mar\" is March as well: \"5 mar\" is a date"},
				{Use: Event, Class: Filler, Words: []string{"y", "los"},
					Why: "one event has one date: \"vie y sáb\" names two, \"los lunes\" every Monday"},
				{Use: Weather, Class: WeekdayName, Words: []string{"domingo"}, Why: "\"Santo Domingo\" is a place"},
				{Use: Weather, Class: WeekdayAbbreviation,
					Why: "\"Viña del Mar\" is a place; weekdays are written out"},
			},
		},
	}
}
