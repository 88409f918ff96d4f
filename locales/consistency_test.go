package locales

// Tests over every file in catalog/, whoever wrote it: they are what keeps a
// new feature's strings complete in all languages.

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"text/template/parse"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	i18ntemplate "github.com/nicksnyder/go-i18n/v2/i18n/template"
)

// pluralForms are the CLDR plural forms each language needs for whole
// numbers (required) and may use (allowed). Spanish "many" covers exact
// millions ("1 000 000 de personas"); it is optional because a missing form
// renders as "other", which is what most messages want anyway.
var pluralForms = map[string]struct{ required, allowed []string }{
	"en": {[]string{"one", "other"}, []string{"one", "other"}},
	"ru": {[]string{"one", "few", "many", "other"}, []string{"one", "few", "many", "other"}},
	"de": {[]string{"one", "other"}, []string{"one", "other"}},
	"es": {[]string{"one", "other"}, []string{"one", "many", "other"}},
}

// sortedIDs returns the ids of lang's messages in order, for stable output.
func sortedIDs(c *Catalog, lang string) []string {
	return slices.Sorted(maps.Keys(c.messages[lang]))
}

// isPlural reports whether a message has any form besides "other".
func isPlural(m entry) bool { return len(m.forms()) > 1 }

// checkEveryLanguageHasEveryMessage: each English id exists in every
// language, in the same family file, and no language has ids English lacks.
func checkEveryLanguageHasEveryMessage(c *Catalog, errorf func(string, ...any)) {
	en := c.messages[DefaultLanguage]
	for _, lang := range c.Languages() {
		for _, id := range sortedIDs(c, DefaultLanguage) {
			m, ok := c.messages[lang][id]
			switch {
			case !ok:
				errorf("%s: missing translation of %q (from %s)", lang, id, en[id].path)
			case m.family != en[id].family:
				errorf("%s: %q is in %s but in family %q in English (%s)", lang, id, m.path, en[id].family, en[id].path)
			}
		}
		for _, id := range sortedIDs(c, lang) {
			if _, ok := en[id]; !ok {
				errorf("%s: %q (%s) has no English source", lang, id, c.messages[lang][id].path)
			}
		}
	}
}

// checkEveryFamilyHasEveryLanguage: a family has a file per language.
func checkEveryFamilyHasEveryLanguage(c *Catalog, errorf func(string, ...any)) {
	families := map[string]map[string]bool{} // family → languages with a file
	for lang, msgs := range c.messages {
		for _, m := range msgs {
			if families[m.family] == nil {
				families[m.family] = map[string]bool{}
			}
			families[m.family][lang] = true
		}
	}
	for family, langs := range families {
		for _, lang := range c.Languages() {
			if !langs[lang] {
				errorf("catalog/%s.%s.toml is missing (or empty)", family, lang)
			}
		}
	}
}

var idSyntax = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)+$`)

// checkMessageIDsAreFlatSnakeCase: ids are flat snake_case.
func checkMessageIDsAreFlatSnakeCase(c *Catalog, errorf func(string, ...any)) {
	for _, lang := range c.Languages() {
		for _, id := range sortedIDs(c, lang) {
			// A dot means a nested table, usually a misspelt plural key
			// ("[x]\noen = ...") that go-i18n read as message "x.oen".
			if !idSyntax.MatchString(id) {
				errorf("%s: id %q (%s) is not flat snake_case with at least one underscore", lang, id, c.messages[lang][id].path)
			}
		}
	}
}

// checkPluralForms: a message plural in English is plural in every language,
// with the forms of pluralForms; a non-plural one stays non-plural.
func checkPluralForms(c *Catalog, errorf func(string, ...any)) {
	for _, lang := range c.Languages() {
		want, ok := pluralForms[lang]
		if !ok {
			errorf("%s: no entry in pluralForms", lang)
			continue
		}
		for _, id := range sortedIDs(c, lang) {
			m := c.messages[lang][id]
			src, ok := c.messages[DefaultLanguage][id]
			if !ok {
				continue // reported by TestEveryLanguageHasEveryMessage
			}
			forms := m.forms()
			if !isPlural(src) {
				if isPlural(m) {
					errorf("%s: %q has plural forms %v but the English source has none", lang, id, slices.Sorted(maps.Keys(forms)))
				}
				continue
			}
			for _, f := range want.required {
				if _, ok := forms[f]; !ok {
					errorf("%s: plural %q (%s) lacks the %q form", lang, id, m.path, f)
				}
			}
			for f := range forms {
				if !slices.Contains(want.allowed, f) {
					errorf("%s: plural %q (%s) has form %q, which %s never uses", lang, id, m.path, f, lang)
				}
			}
		}
	}
}

// checkPluralFormsCoverCounts asks go-i18n itself which form each count
// picks, so the pluralForms table cannot hide a form the rules need: every plural
// message must render counts 0-1000 in every language without falling back.
// Unless the form is for exactly one item, the number must be in the text:
// Russian "one" is also 21, 31, ...
func checkPluralFormsCoverCounts(c *Catalog, errorf func(string, ...any)) {
	for _, id := range sortedIDs(c, DefaultLanguage) {
		src := c.messages[DefaultLanguage][id]
		if !isPlural(src) {
			continue
		}
		names := placeholdersOf(src)
		showsCount := slices.Contains(placeholderList(src.Other), "Count")
		for _, lang := range c.Languages() {
			reported := map[string]bool{} // one report per kind of problem
			for n := 0; n <= 1000; n++ {
				data := sampleData(names)
				data["Count"] = n
				got, err := c.localizers[lang].Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data, PluralCount: n})
				if err != nil && !reported[err.Error()] {
					reported[err.Error()] = true
					errorf("%s: %q with Count=%d: %v", lang, id, n, err)
				}
				if err == nil && showsCount && n != 1 && !strings.Contains(got, strconv.Itoa(n)) && !reported["number"] {
					reported["number"] = true
					errorf("%s: %q with Count=%d renders %q, without the number", lang, id, n, got)
				}
			}
		}
	}
}

// checkMessagesRender executes every form of every message in every language
// with data holding every placeholder of the English source, the way callers
// will: no template error, no "<no value>".
func checkMessagesRender(c *Catalog, errorf func(string, ...any)) {
	parser := &i18ntemplate.TextParser{Option: "missingkey=error"}
	for _, lang := range c.Languages() {
		for _, id := range sortedIDs(c, lang) {
			src, ok := c.messages[DefaultLanguage][id]
			if !ok {
				continue
			}
			data := sampleData(placeholdersOf(src))
			for form, text := range c.messages[lang][id].forms() {
				pt, err := parser.Parse(text, "", "")
				if err != nil {
					errorf("%s: %q (%s): %v", lang, id, form, err)
					continue
				}
				out, err := pt.Execute(data)
				if err != nil {
					errorf("%s: %q (%s): %v", lang, id, form, err)
					continue
				}
				if strings.Contains(out, "<no value>") || strings.TrimSpace(out) == "" {
					errorf("%s: %q (%s) renders %q", lang, id, form, out)
				}
			}
		}
	}
}

// checkPlaceholdersMatchEnglish: a translation uses exactly the placeholders
// of its English source. An extra one is a typo that would print "<no
// value>"; a missing one drops information the caller meant to show.
// English "one" may omit {{.Count}} ("1 person"), so forms are compared as a
// whole.
func checkPlaceholdersMatchEnglish(c *Catalog, errorf func(string, ...any)) {
	for _, lang := range c.Languages() {
		for _, id := range sortedIDs(c, lang) {
			src, ok := c.messages[DefaultLanguage][id]
			if !ok {
				continue
			}
			want := slices.Sorted(maps.Keys(placeholdersOf(src)))
			got := slices.Sorted(maps.Keys(placeholdersOf(c.messages[lang][id])))
			if !slices.Equal(got, want) {
				errorf("%s: %q uses placeholders %v, English has %v", lang, id, got, want)
			}
		}
	}
}

// htmlish matches Telegram-HTML tags and entities. Catalogs are plain text
// that the bot escapes; markup here would be shown literally.
var htmlish = regexp.MustCompile(`(?i)</?(b|i|u|s|a|em|strong|code|pre|br|span|tg-spoiler|tg-emoji|blockquote|ins|del|strike)\b[^>]*>|&(amp|lt|gt|quot|nbsp|#\d+);`)

func checkMessagesArePlainText(c *Catalog, errorf func(string, ...any)) {
	for _, lang := range c.Languages() {
		for _, id := range sortedIDs(c, lang) {
			for form, text := range c.messages[lang][id].forms() {
				if htmlish.MatchString(text) {
					errorf("%s: %q (%s) contains HTML %q; catalogs are plain text", lang, id, form, htmlish.FindString(text))
				}
				if strings.TrimSpace(text) != text {
					errorf("%s: %q (%s) has leading or trailing white space: %q", lang, id, form, text)
				}
			}
		}
	}
}

// placeholdersOf returns the top-level fields ({{.X}}) used by any form.
func placeholdersOf(m entry) map[string]bool {
	out := map[string]bool{}
	for _, text := range m.forms() {
		for _, name := range placeholderList(text) {
			out[name] = true
		}
	}
	return out
}

// placeholderList parses a template and returns the names of the fields it
// reads from its data, in order of appearance. Templates that do not parse
// have none here: New has already refused them.
func placeholderList(text string) []string {
	tmpl, err := template.New("").Parse(text)
	if err != nil {
		return nil
	}
	var names []string
	var walk func(parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					walk(c)
				}
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n != nil {
				for _, c := range n.Cmds {
					walk(c)
				}
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.FieldNode:
			names = append(names, n.Ident[0])
		case *parse.ChainNode:
			walk(n.Node)
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		}
	}
	if tmpl.Tree != nil {
		walk(tmpl.Tree.Root)
	}
	return names
}

// sampleData fills every placeholder; Count gets a number because plural
// messages may format it.
func sampleData(names map[string]bool) Args {
	data := Args{}
	for name := range names {
		data[name] = "‹" + name + "›"
	}
	if names["Count"] {
		data["Count"] = 3
	}
	return data
}

// TestCatalogConsistency runs every check over all files in catalog/.
func TestCatalogConsistency(t *testing.T) {
	c := mustNew(t)
	for _, check := range consistencyChecks {
		t.Run(check.name, func(t *testing.T) { check.fn(c, t.Errorf) })
	}
}

// consistencyChecks run over the real catalog (TestCatalogConsistency) and
// over a broken one (TestConsistencyChecksCatchProblems).
var consistencyChecks = []struct {
	name string
	fn   func(*Catalog, func(string, ...any))
}{
	{"EveryLanguageHasEveryMessage", checkEveryLanguageHasEveryMessage},
	{"EveryFamilyHasEveryLanguage", checkEveryFamilyHasEveryLanguage},
	{"MessageIDsAreFlatSnakeCase", checkMessageIDsAreFlatSnakeCase},
	{"PluralForms", checkPluralForms},
	{"PluralFormsCoverCounts", checkPluralFormsCoverCounts},
	{"MessagesRender", checkMessagesRender},
	{"PlaceholdersMatchEnglish", checkPlaceholdersMatchEnglish},
	{"MessagesArePlainText", checkMessagesArePlainText},
}

// TestConsistencyChecksCatchProblems proves each check fails when it
// should, on a catalog with one defect of every kind.
func TestConsistencyChecksCatchProblems(t *testing.T) {
	c := testCatalog(t, map[string]string{
		"a_b.en.toml": `
good_one = "Hi {{.Name}}"
missing_in_ru = "x"
html_here = "<b>bold</b>"
spaced = "trailing "
lost_placeholder = "{{.Zone}} now"
[people_count]
one = "{{.Count}} person"
other = "{{.Count}} people"
[nested]
oen = "typo"
`,
		"a_b.ru.toml": `
good_one = "Привет, {{.Nmae}}"
html_here = "x"
spaced = "x"
lost_placeholder = "сейчас"
only_in_ru = "x"
nested = "x"
[people_count]
one = "человек"
other = "{{.Count}} человека"
`,
		"a_b.de.toml": `
good_one = "Hallo {{.Name}}"
missing_in_ru = "x"
html_here = "x"
spaced = "x"
lost_placeholder = "{{.Zone}}"
[people_count]
one = "{{.Count}} Person"
few = "{{.Count}} Personen"
other = "{{.Count}} Personen"
`,
		"c_d.en.toml": `only_family = "x"`,
	})
	wants := map[string][]string{
		"EveryLanguageHasEveryMessage": {`ru: missing translation of "missing_in_ru"`, `es: missing translation of "good_one"`, `ru: "only_in_ru"`},
		"EveryFamilyHasEveryLanguage":  {"catalog/c_d.ru.toml is missing", "catalog/a_b.es.toml is missing"},
		"MessageIDsAreFlatSnakeCase":   {`"nested.oen"`},
		"PluralForms":                  {`ru: plural "people_count" (catalog/a_b.ru.toml) lacks the "few" form`, `de: plural "people_count" (catalog/a_b.de.toml) has form "few"`},
		"PluralFormsCoverCounts":       {`ru: "people_count" with Count=2`, `ru: "people_count" with Count=21 renders "человек"`},
		"MessagesRender":               {`ru: "good_one" (other)`},
		"PlaceholdersMatchEnglish":     {`ru: "good_one" uses placeholders [Nmae], English has [Name]`, `ru: "lost_placeholder" uses placeholders []`},
		"MessagesArePlainText":         {`en: "html_here" (other) contains HTML "<b>"`, `en: "spaced" (other) has leading or trailing white space`},
	}
	for _, check := range consistencyChecks {
		var got []string
		check.fn(c, func(format string, args ...any) { got = append(got, fmt.Sprintf(format, args...)) })
		for _, want := range wants[check.name] {
			if !slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, want) }) {
				t.Errorf("%s did not report %q; it reported:\n%s", check.name, want, strings.Join(got, "\n"))
			}
		}
	}
}

func TestPlaceholderList(t *testing.T) {
	got := placeholderList(`{{.A}} {{if .B}}{{.C | printf "%s"}}{{else}}{{.D.E}}{{end}} {{with .F}}x{{end}}`)
	want := []string{"A", "B", "C", "D", "F"}
	if !slices.Equal(got, want) {
		t.Errorf("placeholderList = %v, want %v", got, want)
	}
}
