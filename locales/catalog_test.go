package locales

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
)

func mustNew(t testing.TB) *Catalog {
	t.Helper()
	c, err := New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// testCatalog loads an in-memory catalog directory, so behaviour such as
// fallback can be tested without depending on the real messages.
func testCatalog(t *testing.T, files map[string]string) *Catalog {
	t.Helper()
	c, err := load(mapFS(files), "catalog")
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return c
}

func mapFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, data := range files {
		fsys["catalog/"+name] = &fstest.MapFile{Data: []byte(data)}
	}
	return fsys
}

func TestNewLoadsEmbeddedCatalog(t *testing.T) {
	c := mustNew(t)
	if got := c.T("en", "cancel_done"); got == "cancel_done" || got == "" {
		t.Fatalf("cancel_done not loaded: %q", got)
	}
	for _, lang := range c.Languages() {
		if len(c.messages[lang]) == 0 {
			t.Errorf("no messages for %s", lang)
		}
	}
}

func TestLoadRejectsMalformedFiles(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string // in the error
	}{
		{"bad toml", map[string]string{"x.en.toml": `a_b = "unterminated`}, "x.en.toml"},
		{"bad file name", map[string]string{"x.toml": `a_b = "A"`}, "<family>.<lang>.toml"},
		{"region in file name", map[string]string{"x.pt-br.toml": `a_b = "A"`}, "<family>.<lang>.toml"},
		{"unsupported language", map[string]string{"x.fr.toml": `a_b = "A"`}, `"fr" is not supported`},
		{"duplicate id across families", map[string]string{
			"x.en.toml": `a_b = "A"`,
			"y.en.toml": `a_b = "B"`,
		}, "already defined"},
		{"bad template", map[string]string{"x.en.toml": `a_b = "Hi {{.Name"`}, "a_b"},
		{"plural without other", map[string]string{"x.en.toml": "[a_b]\none = \"one\"\n"}, `no "other"`},
		{"mixed keys", map[string]string{"x.en.toml": "[a_b]\nother = \"x\"\nfoo = \"y\"\n"}, "x.en.toml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(mapFS(tt.files), "catalog")
			if err == nil {
				t.Fatal("load succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestLoadIgnoresOtherFiles(t *testing.T) {
	c := testCatalog(t, map[string]string{"a_b.en.toml": `a_b = "A"`, "README.md": "# notes"})
	if got := c.T("en", "a_b"); got != "A" {
		t.Errorf("T = %q", got)
	}
}

func TestTLanguageAndFallback(t *testing.T) {
	c := testCatalog(t, map[string]string{
		"x.en.toml": "greet = \"Hello, {{.Name}}\"\nonly_en = \"English only\"\n",
		"x.ru.toml": "greet = \"Привет, {{.Name}}\"\n",
		"x.de.toml": "greet = \"Hallo, {{.Name}}\"\n",
	})
	tests := []struct {
		lang, id, want string
	}{
		{"ru", "greet", "Привет, Ann"},
		{"de", "greet", "Hallo, Ann"},
		{"en", "greet", "Hello, Ann"},
		{"ru-RU", "greet", "Привет, Ann"},          // regional code: base language
		{"fr", "greet", "Hello, Ann"},              // unsupported: English
		{"", "greet", "Hello, Ann"},                // unknown: English
		{"es", "greet", "Hello, Ann"},              // supported, no es file: English
		{"ru", "only_en", "English only"},          // missing translation: English
		{"ru", "nowhere_at_all", "nowhere_at_all"}, // missing everywhere: the id
	}
	for _, tt := range tests {
		if got := c.T(tt.lang, tt.id, Args{"Name": "Ann"}); got != tt.want {
			t.Errorf("T(%q, %q) = %q, want %q", tt.lang, tt.id, got, tt.want)
		}
	}
}

func TestTMergesArgs(t *testing.T) {
	c := testCatalog(t, map[string]string{"x.en.toml": `a_b = "{{.A}} {{.B}}"`})
	if got := c.T("en", "a_b", Args{"A": "1", "B": "2"}, Args{"B": "3"}); got != "1 3" {
		t.Errorf("T = %q, want %q", got, "1 3")
	}
	if got := c.T("en", "a_b"); got != "<no value> <no value>" {
		// Documented behaviour of text/template; the render tests make
		// sure the real catalog never meets it.
		t.Errorf("T without data = %q", got)
	}
}

func TestTBadTranslationFallsBackToEnglish(t *testing.T) {
	// A translation that fails at run time (calling a non-function) must
	// not reach the user as an empty string.
	c := testCatalog(t, map[string]string{
		"x.en.toml": `a_b = "ok {{.N}}"`,
		"x.ru.toml": `a_b = "{{call .N}}"`,
	})
	if got := c.T("ru", "a_b", Args{"N": 1}); got != "ok 1" {
		t.Errorf("T = %q, want the English text", got)
	}
}

func TestPluralEnglish(t *testing.T) {
	c := mustNew(t)
	tests := []struct {
		n    any
		want string
	}{
		{1, "1 person is going"},
		{2, "2 people are going"},
		{0, "0 people are going"},
		{int64(11), "11 people are going"},
		{uint(1), "1 person is going"},
		{uint64(5), "5 people are going"},
		{"1", "1 person is going"},
	}
	for _, tt := range tests {
		if got := c.T("en", "people_going", Args{"Count": tt.n}); got != tt.want {
			t.Errorf("people_going(%v) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestPluralRussian(t *testing.T) {
	c := mustNew(t)
	tests := []struct {
		n    int
		want string
	}{
		{1, "1 человек идёт"},
		{2, "2 человека идут"},
		{5, "5 человек идут"},
		{11, "11 человек идут"},
		{21, "21 человек идёт"},
		{22, "22 человека идут"},
		{25, "25 человек идут"},
		{0, "0 человек идут"},
		{111, "111 человек идут"},
		{104, "104 человека идут"},
	}
	for _, tt := range tests {
		if got := c.T("ru", "people_going", Args{"Count": tt.n}); got != tt.want {
			t.Errorf("people_going(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestPluralUnreadableCountUsesOther(t *testing.T) {
	c := mustNew(t)
	if got := c.T("en", "people_going", Args{"Count": true}); got != "true people are going" {
		t.Errorf("T = %q", got)
	}
}

func TestLanguagesAndSupported(t *testing.T) {
	c := mustNew(t)
	langs := c.Languages()
	if want := []string{"en", "ru", "de", "es"}; !slices.Equal(langs, want) {
		t.Fatalf("Languages = %v, want %v", langs, want)
	}
	langs[0] = "xx" // a copy: the caller cannot change the catalog
	if c.Languages()[0] != "en" {
		t.Error("Languages returned the internal slice")
	}
	for _, l := range []string{"en", "ru", "de", "es"} {
		if !c.Supported(l) {
			t.Errorf("Supported(%q) = false", l)
		}
	}
	for _, l := range []string{"", "fr", "EN", "ru-RU", "pt-br"} {
		if c.Supported(l) {
			t.Errorf("Supported(%q) = true", l)
		}
	}
}

func TestResolve(t *testing.T) {
	c := mustNew(t)
	tests := []struct {
		in   []string
		want string
	}{
		{nil, "en"},
		{[]string{""}, "en"},
		{[]string{"de"}, "de"},
		{[]string{"ru-RU"}, "ru"},
		{[]string{"RU"}, "ru"},
		{[]string{"es-419"}, "es"},
		{[]string{"de_AT.UTF-8"}, "de"},
		{[]string{" es "}, "es"},
		{[]string{"pt-br"}, "en"},
		{[]string{"pt-br", "ru"}, "ru"},  // first supported wins
		{[]string{"de", "ru"}, "de"},     // order matters
		{[]string{"", "xx", "es"}, "es"}, // skips empty and unknown
		{[]string{"rus"}, "ru"},          // ISO 639-2
		{[]string{"deu"}, "de"},
		{[]string{"english"}, "en"}, // not a code: default
		{[]string{"e"}, "en"},
		{[]string{"und"}, "en"},
		{[]string{"-ru"}, "en"},
	}
	for _, tt := range tests {
		if got := c.Resolve(tt.in...); got != tt.want {
			t.Errorf("Resolve(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzResolve(f *testing.F) {
	c := mustNew(f)
	for _, s := range []string{"", "en", "ru-RU", "pt-br", "de_DE.UTF-8", "ger", "zh-Hant-TW", "x-klingon", "\xff\xfe", "ES", "und", "a-b-c-d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, code string) {
		got := c.Resolve(code)
		if !c.Supported(got) {
			t.Fatalf("Resolve(%q) = %q, not supported", code, got)
		}
		if c.Supported(code) && got != code {
			t.Fatalf("Resolve(%q) = %q, want the code itself", code, got)
		}
		// A candidate that resolves wins over later ones; one that does
		// not is skipped.
		want := "ru"
		if lang, ok := c.resolveOne(code); ok {
			want = lang
		}
		if again := c.Resolve(code, "ru"); again != want {
			t.Fatalf("Resolve(%q, ru) = %q, want %q", code, again, want)
		}
	})
}

func TestLanguageName(t *testing.T) {
	c := mustNew(t)
	want := map[string]string{"en": "English", "ru": "Русский", "de": "Deutsch", "es": "Español"}
	for lang, name := range want {
		if got := c.LanguageName(lang); got != name {
			t.Errorf("LanguageName(%q) = %q, want %q", lang, got, name)
		}
	}
	if got := c.LanguageName("fr"); got != "fr" {
		t.Errorf("LanguageName(fr) = %q", got)
	}
}

// TestLanguageNamesAreAutonyms: lang_name_<x> is x's own name in every
// catalog, so the /lang buttons read the same whatever the current language.
func TestLanguageNamesAreAutonyms(t *testing.T) {
	c := mustNew(t)
	for _, x := range c.Languages() {
		want := c.messages[x][langNameID(x)].Other
		for _, lang := range c.Languages() {
			if got := c.messages[lang][langNameID(x)].Other; got != want {
				t.Errorf("%s: %s = %q, want %q (the language's own name)", lang, langNameID(x), got, want)
			}
		}
	}
}

// TestLangUnknownListsEveryLanguage: lang_unknown spells out the available
// languages, so adding a language must update it.
func TestLangUnknownListsEveryLanguage(t *testing.T) {
	c := mustNew(t)
	for _, lang := range c.Languages() {
		text := c.T(lang, "lang_unknown", Args{"Lang": "xx"})
		for _, l := range c.Languages() {
			if !strings.Contains(text, c.LanguageName(l)) || !strings.Contains(text, "("+l+")") {
				t.Errorf("%s: lang_unknown %q does not list %s (%s)", lang, text, c.LanguageName(l), l)
			}
		}
	}
}

func TestCommands(t *testing.T) {
	c := mustNew(t)
	everyone := c.Commands("de", false)
	admin := c.Commands("de", true)
	if len(admin) <= len(everyone) {
		t.Fatalf("admin menu (%d) not longer than everyone's (%d)", len(admin), len(everyone))
	}
	for i, cmd := range everyone {
		if cmd.Admin {
			t.Errorf("admin command %q in everyone's menu", cmd.Command)
		}
		if admin[i] != cmd {
			t.Errorf("admin menu does not start with everyone's: %v vs %v", admin[i], cmd)
		}
	}
	var names []string
	for _, cmd := range admin {
		names = append(names, cmd.Command)
	}
	for _, want := range []string{"start", "help", "cancel", "event", "events", "myevents", "weather", "timezone", "lang", "remind", "stats"} {
		if !slices.Contains(names, want) {
			t.Errorf("command %q missing", want)
		}
	}
	if got := c.Commands("de", false)[0].Description; got != "Bot starten" {
		t.Errorf("start in German = %q", got)
	}
}

// TestCommandsFitTelegram checks setMyCommands' limits in every language:
// a command is 1-32 lowercase letters, digits or underscores, a
// description 1-256 characters.
func TestCommandsFitTelegram(t *testing.T) {
	c := mustNew(t)
	for _, lang := range c.Languages() {
		for _, cmd := range c.Commands(lang, true) {
			if len(cmd.Command) < 1 || len(cmd.Command) > 32 || strings.Trim(cmd.Command, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
				t.Errorf("bad command name %q", cmd.Command)
			}
			id := commandDescID(cmd.Command)
			if _, ok := c.messages[lang][id]; !ok {
				t.Errorf("%s: %s missing", lang, id)
			}
			if n := len([]rune(cmd.Description)); n < 1 || n > 256 {
				t.Errorf("%s: %s is %d characters, Telegram allows 1-256", lang, id, n)
			}
		}
	}
}

// TestConcurrentUse runs the read paths in parallel for the race detector:
// one Catalog is shared by every handler goroutine.
func TestConcurrentUse(t *testing.T) {
	c := mustNew(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				lang := c.Languages()[(i+j)%4]
				_ = c.T(lang, "people_going", Args{"Count": j})
				_ = c.T(lang, "start_greeting", Args{"Name": "x"})
				_ = c.Commands(lang, j%2 == 0)
				_ = c.FormatInt(lang, int64(j*1000))
			}
		}()
	}
	wg.Wait()
}
