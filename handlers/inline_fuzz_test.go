package handlers

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rsvpbot/rsvpbot/store"
)

// FuzzInlineQuery feeds the inline query parser what users type after
// @bot (Telegram allows 256 characters of anything) and the result id
// parser what Telegram echoes back in chosen_inline_result.
func FuzzInlineQuery(f *testing.F) {
	for _, s := range []string{"", "picnic", "  Board   games ", "PIC", "\xff\xfe", "a b c d e f g h i j", "ev:1:2", "ev:-1:0", "ev:1", "ev:9223372036854775807:1", "Пикник", "ev:1:2:3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		terms := parseInlineQuery(q)
		if len(terms) > inlineMaxTerms {
			t.Fatalf("%d terms", len(terms))
		}
		for _, term := range terms {
			if term == "" || !utf8.ValidString(term) || strings.ContainsAny(term, " \t\n") || term != strings.ToLower(term) {
				t.Fatalf("bad term %q from %q", term, q)
			}
		}
		// An event titled with the query itself always matches it.
		if utf8.ValidString(q) && len(terms) < inlineMaxTerms {
			if !inlineMatches(store.Event{Title: q}, terms) {
				t.Fatalf("%q does not match its own title (terms %q)", q, terms)
			}
		}
		if id, v, ok := parseInlineResultID(q); ok {
			back, bv, ok2 := parseInlineResultID(inlineResultID(store.Event{ID: id, Version: v}))
			if id <= 0 || v < 0 || !ok2 || back != id || bv != v {
				t.Fatalf("result id %q read as %d/%d", q, id, v)
			}
		}
	})
}
