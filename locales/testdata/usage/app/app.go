// Package app is a fixture for the locales usage scanner.
package app

// The id only_in_comment appears only in this comment.

const raw = `used_raw`

const msgConst = "used_in_const"

func run(c interface{ T(lang, id string) string }, tr func(lang, id string) string, code string) {
	_ = c.T("en", "used_in_t")
	_ = c.T("en", "missing_id")
	_ = tr("en", "used_plain")
	_ = c.T("en", "dyn_cond_"+code) // not a literal id: not a call to check
	_ = notTranslation("en", "not_an_id")
}

func notTranslation(a, b string) string { return a + b }
