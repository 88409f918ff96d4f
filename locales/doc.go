// Package locales is where every word rsvpbot says to a user lives: replies,
// button labels, toasts, errors, reminders, the event card and the command
// descriptions sent with setMyCommands, in English, Russian, German and
// Spanish.
//
// Why a package of its own: members of one group chat speak different
// languages, and a sentence written inline in a handler can only ever be
// English. Keeping the text in catalogs lets translators work without
// reading Go, and lets the tests here prove what a reviewer cannot check by
// eye: that every message exists in every language, has the plural forms
// the language needs (Russian has three, English two), renders with the
// data the code passes, and is actually used somewhere.
//
// # Catalogs
//
// Messages are TOML files embedded in the binary, so a deployed bot can never
// run with a missing or stale translation file. One file per feature family
// and language:
//
//	catalog/<family>.<lang>.toml     e.g. catalog/common.ru.toml, catalog/weather.de.toml
//
// Each file is flat: a message id (snake_case, usually starting with the
// family or the command it serves) is either a string or, for plurals, a
// table with "other" and the CLDR forms the language uses ("one" in English,
// German and Spanish; "one", "few" and "many" in Russian). Text is a Go
// template in go-i18n syntax ({{.Name}}, {{.Count}}) and is plain text: the
// bot escapes it for Telegram's HTML itself, so catalogs contain no markup.
//
// A new feature adds its strings by creating <family>.en.toml,
// <family>.ru.toml, <family>.de.toml and <family>.es.toml with the same ids,
// and calling [Catalog.T] with those ids as string literals. The tests then
// fail until every language is complete, and fail if an id is never
// referenced by Go code (ids built at run time are declared in
// usage_test.go).
//
// # Choosing the language
//
// [Catalog.Resolve] turns whatever the caller knows about a user (a /lang
// choice, Telegram's language_code such as "pt-br") into one of
// [Catalog.Languages], defaulting to English. Every other method resolves
// its lang argument the same way, so an unknown or regional code never
// fails: it gets English, or the base language ("ru-RU" gets Russian). A
// message missing in one language falls back to its English text rather
// than an error, because a partly untranslated reply beats no reply.
//
// # Dates, times and numbers
//
// Dates are written the way each language writes them ("Sat, 5 Dec 2026",
// "сб, 5 декабря 2026", "Sa., 5. Dez. 2026", "sáb, 5 dic 2026") from tables
// in this package; times use the 24-hour clock in every language, including
// English, because event times are shared across a mixed-language group and
// "19:00" cannot be misread. Numbers are grouped per locale.
package locales
