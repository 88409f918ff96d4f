package handlers

import "unicode"

// invisible reports whether s shows nothing: it is empty or made only of
// white space, control and format characters (zero-width space and
// joiners, the byte-order mark, soft hyphens), variation selectors,
// combining marks with nothing to combine with, and the filler characters
// that render as blanks (Hangul fillers, the blank Braille pattern).
// Telegram users paste these to make a name look empty; a title made of
// them is no title.
func invisible(s string) bool {
	for _, r := range s {
		switch {
		case unicode.IsSpace(r), unicode.IsControl(r), unicode.Is(unicode.Cf, r),
			unicode.Is(unicode.Mn, r), unicode.Is(unicode.Me, r),
			unicode.Is(unicode.Variation_Selector, r), unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r),
			r == '\u2800': // BRAILLE PATTERN BLANK
			continue
		}
		return false
	}
	return true
}
