package tgtext

import (
	"strings"
	"unicode"
)

// Telegram's limits, in UTF-16 code units of the text as shown.
const (
	MaxMessage        = 4096 // sendMessage and editMessageText text
	MaxCaption        = 1024 // captions of documents, photos...
	MaxCallbackAnswer = 200  // answerCallbackQuery text
)

// EchoRunes is how much of a user's input a reply quotes.
const EchoRunes = 64

// Ellipsis marks text that was cut.
const Ellipsis = "…"

// Shorten cuts s to at most n runes, marking a cut with "…".
func Shorten(s string, n int) string {
	if n <= 0 {
		return ""
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + Ellipsis
}

// Echo is what a reply may quote of a user's input: on one line (runs of
// white space, line breaks included, become one space) and at most
// [EchoRunes] runes. It is plain text; escape it for HTML as any other
// value.
func Echo(s string) string {
	return Shorten(strings.Join(strings.Fields(s), " "), EchoRunes)
}

// Len is the length Telegram checks: UTF-16 code units of the text as
// shown, after parse_mode=HTML when isHTML. Markup that Telegram would
// refuse is an error.
func Len(text string, isHTML bool) (int, error) {
	if !isHTML {
		return UTF16Len(text), nil
	}
	toks, err := tokenize(text, true)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, t := range toks {
		n += t.u16
	}
	return n, nil
}

// Split breaks text into parts of at most limit UTF-16 units each (as
// shown), in order, so that a message too long for Telegram can be sent as
// several. It breaks at the last paragraph break (a blank line) in the
// second half of a part, else at a line break there, else at a space, else
// wherever the limit falls; the break itself is dropped. With isHTML, a
// tag open at a break is closed at the end of the part and opened again at
// the start of the next, so each part is valid HTML with the formatting of
// the whole. Parts with nothing to show are left out. Text that fits is
// returned as the only part; malformed HTML is an error.
func Split(text string, isHTML bool, limit int) ([]string, error) {
	toks, err := tokenize(text, isHTML)
	if err != nil {
		return nil, err
	}
	limit = max(limit, 2) // a character may take 2 units
	n := 0
	for _, t := range toks {
		n += t.u16
	}
	if n <= limit {
		return []string{text}, nil
	}
	var parts []string
	var open []token // tags open at the start of the current part
	for start := 0; start < len(toks); {
		end, next := breakAt(toks, start, limit)
		if next < len(toks) { // white space around a break shows nothing
			for end > start && isSpace(toks[end-1]) {
				end--
			}
			for next < len(toks) && isSpace(toks[next]) {
				next++
			}
		}
		part, after := render(toks[start:end], open)
		if visible(toks[start:end]) {
			parts = append(parts, part)
		}
		// The dropped break may hold tags too (a newline between </b> and
		// <b> never does, but "<b>\n</b>" might): keep the stack right.
		_, open = render(toks[end:next], after)
		start = next
	}
	return parts, nil
}

// Cut shortens text to at most limit UTF-16 units as shown, ending in "…"
// when something was cut. With isHTML, tags open at the cut are closed.
// Text that fits is returned as it is; malformed HTML is an error.
func Cut(text string, isHTML bool, limit int) (string, error) {
	toks, err := tokenize(text, isHTML)
	if err != nil {
		return "", err
	}
	n := 0
	for _, t := range toks {
		n += t.u16
	}
	if n <= limit {
		return text, nil
	}
	budget := limit - UTF16Len(Ellipsis)
	end, used := 0, 0
	for end < len(toks) && used+toks[end].u16 <= budget {
		used += toks[end].u16
		end++
	}
	// Leave no dangling white space before the mark.
	for end > 0 && isSpace(toks[end-1]) {
		end--
	}
	part, _ := render(toks[:end], nil)
	return part + Ellipsis, nil
}

// breakAt chooses where the part starting at start ends (end, exclusive)
// and where the next one begins (next; the tokens between are the dropped
// break).
func breakAt(toks []token, start, limit int) (end, next int) {
	used, i := 0, start
	for i < len(toks) && used+toks[i].u16 <= limit {
		used += toks[i].u16
		i++
	}
	if i == len(toks) {
		return i, i
	}
	// i is the first token that does not fit. Look back for a break in the
	// second half of the part: a blank line, a line break, a space.
	half := used / 2
	for _, sep := range []string{"\n\n", "\n", " "} {
		seen := used
		for j := i - 1; j > start && seen > half; j-- {
			if toks[j].kind != tokText {
				continue
			}
			seen -= toks[j].u16
			if k, ok := matchBack(toks, start, j, sep); ok {
				return k, j + 1
			}
		}
	}
	return i, i
}

// matchBack reports whether the text tokens ending at j spell sep
// (ignoring tags in between), and where the match starts.
func matchBack(toks []token, start, j int, sep string) (int, bool) {
	rs := []rune(sep)
	k := j
	for n := len(rs) - 1; n >= 0; n-- {
		for k >= start && toks[k].kind != tokText {
			k--
		}
		if k < start || toks[k].r != rs[n] {
			return 0, false
		}
		if n > 0 {
			k--
		}
	}
	return k, true
}

// render writes toks as source, opening the tags in open first and
// closing whatever is still open at the end; after is what is open after
// toks (before the closing).
func render(toks []token, open []token) (string, []token) {
	var b strings.Builder
	stack := append([]token(nil), open...)
	for _, t := range open {
		b.WriteString(t.raw)
	}
	for _, t := range toks {
		b.WriteString(t.raw)
		switch t.kind {
		case tokOpen:
			stack = append(stack, t)
		case tokClose:
			stack = stack[:len(stack)-1]
		}
	}
	for i := len(stack) - 1; i >= 0; i-- {
		b.WriteString("</" + stack[i].name + ">")
	}
	return b.String(), stack
}

func isSpace(t token) bool { return t.kind == tokText && unicode.IsSpace(t.r) }

// visible reports whether toks show anything but white space.
func visible(toks []token) bool {
	for _, t := range toks {
		if t.kind == tokText && !unicode.IsSpace(t.r) {
			return true
		}
	}
	return false
}
