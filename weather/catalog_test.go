package weather_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"

	"github.com/rsvpbot/rsvpbot/weather"
)

// The catalogs live outside the package but are its texts: check that each
// language has every message, the same placeholders as English, parses as
// go-i18n templates, and holds no HTML (the bot escapes text itself).

var catalogLangs = []string{"en", "ru", "de", "es"}

func catalogPath(lang string) string {
	return filepath.Join("..", "locales", "catalog", "weather."+lang+".toml")
}

func requiredMessageIDs() []string {
	ids := []string{
		weather.MsgNotFound, weather.MsgOutOfRange, weather.MsgUnavailable, weather.MsgUsage,
		weather.MsgBadDate, weather.MsgForecast, weather.MsgForecastNoPrecip, weather.MsgCardLine,
		weather.MsgCardLineNoPrecip, weather.MsgAttribution,
	}
	for _, k := range weather.ConditionKeys() {
		ids = append(ids, weather.Condition{Key: k}.MessageID())
	}
	return ids
}

var (
	placeholderRE = regexp.MustCompile(`{{\s*\.(\w+)\s*}}`)
	htmlRE        = regexp.MustCompile(`(?i)</?(b|i|u|s|a|code|pre|strong|em|br|span|tg-spoiler|tg-emoji|blockquote)\b[^>]*>|&(lt|gt|amp|quot|#\d+);`)
)

func placeholders(s string) []string {
	var out []string
	for _, m := range placeholderRE.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func TestCatalogs(t *testing.T) {
	raw := map[string]map[string]map[string]string{}
	for _, lang := range catalogLangs {
		buf, err := os.ReadFile(catalogPath(lang))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]map[string]string
		if err := toml.Unmarshal(buf, &m); err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		raw[lang] = m
	}

	required := requiredMessageIDs()
	for _, lang := range catalogLangs {
		for _, id := range required {
			msg, ok := raw[lang][id]
			if !ok || strings.TrimSpace(msg["other"]) == "" {
				t.Errorf("%s: %s missing or empty", lang, id)
			}
		}
		for id, msg := range raw[lang] {
			if !slices.Contains(required, id) {
				t.Errorf("%s: unexpected message %s", lang, id)
			}
			for form, text := range msg {
				if form == "description" {
					continue
				}
				if htmlRE.MatchString(text) {
					t.Errorf("%s: %s.%s contains HTML: %q", lang, id, form, text)
				}
				if text != strings.TrimSpace(text) {
					t.Errorf("%s: %s.%s has surrounding whitespace", lang, id, form)
				}
				if want := placeholders(raw["en"][id]["other"]); lang != "en" && !slices.Equal(placeholders(text), want) {
					t.Errorf("%s: %s.%s placeholders %v, English has %v", lang, id, form, placeholders(text), want)
				}
			}
		}
	}
	if got := raw["en"][weather.MsgAttribution]["other"]; got != weather.Attribution {
		t.Errorf("English attribution %q != Attribution %q", got, weather.Attribution)
	}
	for _, lang := range catalogLangs {
		if !strings.Contains(raw[lang][weather.MsgAttribution]["other"], "Open-Meteo.com") {
			t.Errorf("%s: attribution must name Open-Meteo.com", lang)
		}
	}
}

func TestCatalogsRenderWithGoI18n(t *testing.T) {
	bundle := i18n.NewBundle(language.English)
	bundle.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	for _, lang := range catalogLangs {
		if _, err := bundle.LoadMessageFile(catalogPath(lang)); err != nil {
			t.Fatalf("go-i18n cannot load %s: %v", lang, err)
		}
	}
	data := map[string]any{
		"Place": "Berlin, Germany", "Emoji": "🌦️", "Condition": "Rain showers",
		"Date": "2025-06-11", "Min": 4, "Max": 9, "Precip": 60,
	}
	for _, lang := range catalogLangs {
		loc := i18n.NewLocalizer(bundle, lang)
		for _, id := range requiredMessageIDs() {
			out, tag, err := loc.LocalizeWithTag(&i18n.LocalizeConfig{MessageID: id, TemplateData: data})
			if err != nil {
				t.Errorf("%s: %s: %v", lang, id, err)
				continue
			}
			if tag != language.Make(lang) {
				t.Errorf("%s: %s fell back to %v", lang, id, tag)
			}
			if strings.Contains(out, "<no value>") || strings.Contains(out, "{{") {
				t.Errorf("%s: %s rendered %q", lang, id, out)
			}
		}
		card, _ := loc.Localize(&i18n.LocalizeConfig{MessageID: weather.MsgCardLine, TemplateData: data})
		for _, want := range []string{"🌦️", "Rain showers", "4", "9", "60"} {
			if !strings.Contains(card, want) {
				t.Errorf("%s: card line %q lacks %q", lang, card, want)
			}
		}
	}
}
