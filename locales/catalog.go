package locales

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"text/template"

	"github.com/BurntSushi/toml"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

//go:embed catalog/*.toml
var embedded embed.FS

// catalogDir is the directory of embedded message files.
const catalogDir = "catalog"

// DefaultLanguage is the language used when nothing better is known, and the
// one every message falls back to.
const DefaultLanguage = "en"

// languages are the supported languages, default first. The order is the
// order of [Catalog.Languages], so it is the order of the /lang buttons.
// A language is listed here, not discovered from file names, because it also
// needs date tables (format.go) and a complete set of catalog files; a stray
// "x.fr.toml" must fail loudly instead of half-enabling French.
var languages = [...]string{"en", "ru", "de", "es"}

// Args is the data of a message template: {{.Name}} reads Args{"Name": ...}.
// The key "Count" is special: it also selects the plural form.
type Args map[string]any

// Catalog holds every message in every supported language. It is immutable
// after [New] and safe for concurrent use.
type Catalog struct {
	langs      []string
	localizers map[string]*i18n.Localizer
	// messages is lang → id → message as written in the files; the
	// localizers do the rendering, this is kept so that the tests can check
	// completeness and plural forms file by file.
	messages map[string]map[string]entry
}

// entry is one catalog message and where it came from.
type entry struct {
	family string // "common" for catalog/common.ru.toml
	path   string
	*i18n.Message
}

// forms returns the non-empty plural forms of m by CLDR name.
func (m entry) forms() map[string]string {
	all := map[string]string{
		"zero": m.Zero, "one": m.One, "two": m.Two,
		"few": m.Few, "many": m.Many, "other": m.Other,
	}
	for k, v := range all {
		if v == "" {
			delete(all, k)
		}
	}
	return all
}

// New loads every embedded catalog file. It fails if a file is malformed:
// bad TOML, a name not of the form <family>.<lang>.toml, an unsupported
// language, an id defined twice in one language, a message without an
// "other" form, or a template that does not parse. Incomplete translations
// are not an error here (they fall back to English at run time); the tests
// catch them.
func New() (*Catalog, error) {
	return load(embedded, catalogDir)
}

// fileName is <family>.<lang>.toml.
var fileName = regexp.MustCompile(`^([a-z][a-z0-9_]*)\.([a-z]{2,3})\.toml$`)

func load(fsys fs.FS, dir string) (*Catalog, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("locales: read catalog: %w", err)
	}
	c := &Catalog{
		langs:      languages[:],
		localizers: make(map[string]*i18n.Localizer, len(languages)),
		messages:   make(map[string]map[string]entry, len(languages)),
	}
	bundle := i18n.NewBundle(language.English)
	unmarshal := map[string]i18n.UnmarshalFunc{"toml": toml.Unmarshal}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".toml") {
			continue
		}
		p := path.Join(dir, e.Name())
		m := fileName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("locales: %s: file name must be <family>.<lang>.toml", p)
		}
		family, lang := m[1], m[2]
		if !slices.Contains(c.langs, lang) {
			return nil, fmt.Errorf("locales: %s: language %q is not supported (supported: %s)",
				p, lang, strings.Join(c.langs, ", "))
		}
		buf, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, fmt.Errorf("locales: %w", err)
		}
		mf, err := i18n.ParseMessageFileBytes(buf, p, unmarshal)
		if err != nil {
			return nil, fmt.Errorf("locales: %s: %w", p, err)
		}
		if c.messages[lang] == nil {
			c.messages[lang] = map[string]entry{}
		}
		for _, msg := range mf.Messages {
			if prev, dup := c.messages[lang][msg.ID]; dup {
				// The bundle would silently keep whichever file came last.
				return nil, fmt.Errorf("locales: %s: id %q already defined in %s", p, msg.ID, prev.path)
			}
			e := entry{family: family, path: p, Message: msg}
			if msg.Other == "" {
				return nil, fmt.Errorf("locales: %s: %s: no \"other\" form", p, msg.ID)
			}
			for form, src := range e.forms() {
				// go-i18n parses templates lazily, on first use; parse now so a
				// typo breaks start-up instead of one reply in production.
				if _, err := template.New(msg.ID).Parse(src); err != nil {
					return nil, fmt.Errorf("locales: %s: %s (%s): %w", p, msg.ID, form, err)
				}
			}
			c.messages[lang][msg.ID] = e
		}
		if err := bundle.AddMessages(language.Make(lang), mf.Messages...); err != nil {
			return nil, fmt.Errorf("locales: %s: %w", p, err)
		}
	}
	for _, lang := range c.langs {
		c.localizers[lang] = i18n.NewLocalizer(bundle, lang)
	}
	return c, nil
}

// T returns message id in lang, rendered with data. If data has a "Count"
// (any integer type, a float or a numeric string) it selects the plural form
// for lang as well as filling {{.Count}}; several Args are merged, later
// keys winning.
//
// T never fails, because a reply with imperfect text is better than none: an
// unknown lang is resolved as by [Catalog.Resolve] (so "ru-RU" is Russian and
// "xx" English), an id missing in lang gives the English text, and an id
// missing everywhere gives the id itself. The tests make sure the last case
// never ships.
func (c *Catalog) T(lang, id string, data ...Args) string {
	lang = c.Resolve(lang)
	var td Args
	switch len(data) {
	case 0:
	case 1:
		td = data[0]
	default:
		td = Args{}
		for _, d := range data {
			for k, v := range d {
				td[k] = v
			}
		}
	}
	cfg := &i18n.LocalizeConfig{MessageID: id}
	if td != nil {
		cfg.TemplateData = td
		if n, ok := td["Count"]; ok {
			cfg.PluralCount = pluralCount(n)
		}
	}
	msg, err := c.localizers[lang].Localize(cfg)
	if err == nil || msg != "" {
		// A non-nil error with text is a fallback that worked: English for a
		// missing translation, or "other" for a missing plural form.
		return msg
	}
	if cfg.PluralCount != nil {
		// A Count go-i18n cannot read (a bool, say): render it as "other".
		cfg.PluralCount = nil
		if msg, err = c.localizers[lang].Localize(cfg); err == nil || msg != "" {
			return msg
		}
	}
	if lang != DefaultLanguage {
		// The translation exists but failed to render: try the English one.
		return c.T(DefaultLanguage, id, td)
	}
	return id
}

// pluralCount converts n to a type go-i18n accepts as a plural count; it
// knows signed integers, floats and strings but not unsigned integers.
func pluralCount(n any) any {
	switch v := n.(type) {
	case uint:
		return fmt.Sprint(v)
	case uint8:
		return int64(v)
	case uint16:
		return int64(v)
	case uint32:
		return int64(v)
	case uint64:
		return fmt.Sprint(v)
	}
	return n
}

// Languages returns the supported language codes, English first. The
// result is a copy.
func (c *Catalog) Languages() []string {
	return slices.Clone(c.langs)
}

// Supported reports whether lang is exactly one of [Catalog.Languages]. It
// does not normalise ("ru-RU" is not supported; [Catalog.Resolve] maps it
// to "ru"), so it is the check for a value about to be stored.
func (c *Catalog) Supported(lang string) bool {
	return slices.Contains(c.langs, lang)
}

// Resolve returns the first supported language among candidates, in the
// order given, else [DefaultLanguage]. Each candidate is reduced to its base
// language first: Telegram sends IETF tags such as "pt-br" or "ru-RU", and a
// stored value may be a POSIX locale ("de_DE.UTF-8") or a three-letter code
// ("deu"); case does not matter. Empty and malformed candidates are skipped.
//
// Pass the most deliberate choice first, e.g. Resolve(user.ChosenLang,
// update.From.LanguageCode, user.Language).
func (c *Catalog) Resolve(candidates ...string) string {
	for _, cand := range candidates {
		if lang, ok := c.resolveOne(cand); ok {
			return lang
		}
	}
	return DefaultLanguage
}

func (c *Catalog) resolveOne(code string) (string, bool) {
	base := baseCode(code)
	if base == "" {
		return "", false
	}
	if c.Supported(base) {
		return base, true
	}
	// Three-letter and deprecated codes ("rus", "ger", "spa"): let x/text
	// canonicalise them to the two-letter form.
	if b, err := language.ParseBase(base); err == nil && c.Supported(b.String()) {
		return b.String(), true
	}
	return "", false
}

// baseCode returns the leading language subtag of code, lower-cased, or ""
// if it is not two or three ASCII letters.
func baseCode(code string) string {
	code = strings.TrimSpace(code)
	end := strings.IndexFunc(code, func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < 'A' || r > 'Z')
	})
	if end >= 0 {
		code = code[:end]
	}
	if len(code) < 2 || len(code) > 3 {
		return ""
	}
	return strings.ToLower(code)
}

// LanguageName returns the language's name in that language ("Deutsch" for
// "de"), from the catalog id lang_name_<lang>: it is what the /lang buttons
// show, so that everyone finds their language whatever the current one is.
// An unsupported lang is returned as it is.
func (c *Catalog) LanguageName(lang string) string {
	if !c.Supported(lang) {
		return lang
	}
	return c.T(lang, langNameID(lang))
}

// langNameID is the id of a language's own name.
func langNameID(lang string) string { return "lang_name_" + lang }
