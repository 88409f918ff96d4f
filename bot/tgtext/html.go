package tgtext

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/go-telegram/bot/models"
)

// Error is Telegram's refusal of malformed HTML, worded as the Bot API
// words it after "Bad Request: ".
type Error struct {
	// Offset is the byte offset in the source the problem is at, or -1
	// when it concerns the end of the text.
	Offset int
	// Reason is Telegram's text after "can't parse entities: ".
	Reason string
}

func (e *Error) Error() string { return "can't parse entities: " + e.Reason }

func fail(offset int, format string, args ...any) *Error {
	return &Error{Offset: offset, Reason: fmt.Sprintf(format, args...)}
}

// ParseHTML implements Telegram's parse_mode=HTML (its rules follow
// tdlib's parse_html): the supported tags become entities with UTF-16
// offsets, sorted by offset (longest first at equal offsets), and the text
// loses its markup. An unsupported, unclosed or mismatched tag, or a bare
// '<' that starts no tag, is refused with an *Error in Telegram's own
// wording; that is how an unescaped user name breaks a real bot.
//
// Like Telegram, a '&' that starts no entity and a '>' outside a tag are
// kept as text; the entities understood are &lt; &gt; &amp; &quot; and
// numeric ones (the ';' may be left out). Unknown attributes of supported
// tags are ignored.
func ParseHTML(src string) (string, []models.MessageEntity, error) {
	toks, err := tokenize(src, true)
	if err != nil {
		return "", nil, err
	}
	type open struct {
		start  int // UTF-16 offset in the output
		entity models.MessageEntity
	}
	var (
		out   strings.Builder
		u16   int
		stack []open
		ents  []models.MessageEntity
	)
	for _, t := range toks {
		switch t.kind {
		case tokText:
			if t.raw[0] == '&' {
				out.WriteRune(t.r)
			} else {
				out.WriteString(t.raw) // as sent, even where it is not UTF-8
			}
			u16 += t.u16
		case tokOpen:
			stack = append(stack, open{start: u16, entity: t.entity})
		case tokClose:
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if e := top.entity; e.Type != "" && u16 > top.start {
				e.Offset, e.Length = top.start, u16-top.start
				ents = append(ents, e)
			}
		}
	}
	slices.SortStableFunc(ents, func(a, b models.MessageEntity) int {
		if a.Offset != b.Offset {
			return a.Offset - b.Offset
		}
		return b.Length - a.Length
	})
	return out.String(), ents, nil
}

// Escape makes s safe as text in an HTML-formatted message.
func Escape(s string) string { return escaper.Replace(s) }

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")

// UTF16Len is the length of s in UTF-16 code units, the unit of Telegram's
// limits and entity offsets. A byte that is not UTF-8 counts as one unit.
func UTF16Len(s string) int {
	n := 0
	for _, r := range s {
		n += max(1, utf16.RuneLen(r))
	}
	return n
}

// tokKind is what a token of message source is.
type tokKind uint8

const (
	tokText  tokKind = iota // one visible character (a rune or an HTML entity such as &lt;)
	tokOpen                 // a start tag
	tokClose                // an end tag
)

// token is one piece of message source: raw is its source text, so that
// concatenating the raw of every token gives the source back.
type token struct {
	kind tokKind
	raw  string
	r    rune   // tokText: the character shown
	u16  int    // tokText: its length in UTF-16 code units
	name string // tokOpen, tokClose: lower-cased name of the tag opened
	// tokOpen: the entity the tag opens (Type "" for a <code> that only
	// sets the language of the <pre> around it).
	entity models.MessageEntity
}

// tokenize splits src into tokens. With isHTML, tags and entities are
// read the way Telegram's parse_mode=HTML reads them, and malformed markup
// is an *Error; without it every rune is text.
func tokenize(src string, isHTML bool) ([]token, error) {
	toks := make([]token, 0, len(src))
	var stack []int // indexes of open tags in toks
	for i := 0; i < len(src); {
		c := src[i]
		if isHTML && c == '&' {
			if r, n := entity(src[i:]); n > 0 {
				toks = append(toks, token{kind: tokText, raw: src[i : i+n], r: r, u16: utf16.RuneLen(r)})
				i += n
				continue
			}
		}
		if !isHTML || c != '<' {
			r, size := utf8.DecodeRuneInString(src[i:])
			toks = append(toks, token{kind: tokText, raw: src[i : i+size], r: r, u16: max(1, utf16.RuneLen(r))})
			i += size
			continue
		}

		begin := i
		if i+1 < len(src) && src[i+1] == '/' {
			if len(stack) == 0 {
				return nil, fail(begin, "Unexpected end tag at byte offset %d", begin)
			}
			j := skip(src, i+2, notSpaceOrClose)
			name := strings.ToLower(src[i+2 : j])
			j = skip(src, j, isSpaceByte)
			if j >= len(src) || src[j] != '>' {
				return nil, fail(begin, "Unclosed end tag at byte offset %d", begin)
			}
			top := toks[stack[len(stack)-1]].name
			if name != "" && name != top {
				return nil, fail(begin, "Unmatched end tag at byte offset %d, expected \"</%s>\", found \"</%s>\"", begin, top, name)
			}
			stack = stack[:len(stack)-1]
			toks = append(toks, token{kind: tokClose, raw: src[begin : j+1], name: top})
			i = j + 1
			continue
		}

		j := skip(src, i+1, notSpaceOrClose)
		if j >= len(src) {
			return nil, fail(begin, "Unclosed start tag at byte offset %d", begin)
		}
		name := strings.ToLower(src[i+1 : j])
		if !supported[name] {
			return nil, fail(begin, "Unsupported start tag \"%s\" at byte offset %d", name, begin)
		}
		attrs, end, err := attributes(src, j, name, begin)
		if err != nil {
			return nil, err
		}
		i = end
		if name == "span" && attrs["class"] != "tg-spoiler" {
			return nil, fail(begin, "Tag \"span\" must have class \"tg-spoiler\" at byte offset %d", begin)
		}
		e := tagEntity(name, attrs)
		// <pre><code class="language-x"> is one pre entity with a language.
		if name == "code" && len(stack) > 0 && toks[stack[len(stack)-1]].name == "pre" {
			if lang, found := strings.CutPrefix(attrs["class"], "language-"); found {
				toks[stack[len(stack)-1]].entity.Language = lang
				e = models.MessageEntity{}
			}
		}
		stack = append(stack, len(toks))
		toks = append(toks, token{kind: tokOpen, raw: src[begin:end], name: name, entity: e})
	}
	if len(stack) > 0 {
		return nil, fail(-1, "Can't find end tag corresponding to start tag \"%s\"", toks[stack[len(stack)-1]].name)
	}
	return toks, nil
}

var supported = map[string]bool{
	"a": true, "b": true, "strong": true, "i": true, "em": true, "u": true, "ins": true,
	"s": true, "strike": true, "del": true, "span": true, "tg-spoiler": true, "tg-emoji": true,
	"code": true, "pre": true, "blockquote": true,
}

// attributes reads the attributes of a start tag from src[j:] up to its
// '>' and returns them (names lower-cased, values with entities decoded)
// and the offset after the '>'.
func attributes(src string, j int, tag string, begin int) (map[string]string, int, error) {
	attrs := map[string]string{}
	unclosed := fail(begin, "Unclosed start tag at byte offset %d", begin)
	for {
		j = skip(src, j, isSpaceByte)
		if j >= len(src) {
			return nil, 0, unclosed
		}
		if src[j] == '>' {
			return attrs, j + 1, nil
		}
		nameStart := j
		j = skip(src, j, func(c byte) bool { return !isSpaceByte(c) && c != '=' && c != '>' })
		name := strings.ToLower(src[nameStart:j])
		if name == "" {
			return nil, 0, fail(begin, "Empty attribute name in the tag \"%s\" at byte offset %d", tag, begin)
		}
		j = skip(src, j, isSpaceByte)
		if j >= len(src) {
			return nil, 0, unclosed
		}
		if src[j] != '=' {
			if tag == "blockquote" && name == "expandable" {
				attrs[name] = ""
				continue
			}
			return nil, 0, fail(begin, "Expected equal sign in declaration of an attribute of the tag \"%s\" at byte offset %d", tag, begin)
		}
		j = skip(src, j+1, isSpaceByte)
		if j >= len(src) {
			return nil, 0, unclosed
		}
		var val string
		if q := src[j]; q == '"' || q == '\'' {
			end := strings.IndexByte(src[j+1:], q)
			if end < 0 {
				return nil, 0, unclosed
			}
			val, j = src[j+1:j+1+end], j+end+2
		} else {
			valStart := j
			j = skip(src, j, notSpaceOrClose)
			val = src[valStart:j]
		}
		attrs[name] = decode(val)
	}
}

// tagEntity maps a supported tag to the entity it opens.
func tagEntity(name string, attrs map[string]string) models.MessageEntity {
	var t models.MessageEntityType
	switch name {
	case "b", "strong":
		t = models.MessageEntityTypeBold
	case "i", "em":
		t = models.MessageEntityTypeItalic
	case "u", "ins":
		t = models.MessageEntityTypeUnderline
	case "s", "strike", "del":
		t = models.MessageEntityTypeStrikethrough
	case "tg-spoiler", "span":
		t = models.MessageEntityTypeSpoiler
	case "code":
		t = models.MessageEntityTypeCode
	case "pre":
		t = models.MessageEntityTypePre
	case "blockquote":
		t = models.MessageEntityTypeBlockquote
		if _, ok := attrs["expandable"]; ok {
			t = models.MessageEntityTypeExpandableBlockquote
		}
	case "a":
		return models.MessageEntity{Type: models.MessageEntityTypeTextLink, URL: attrs["href"]}
	case "tg-emoji":
		return models.MessageEntity{Type: models.MessageEntityTypeCustomEmoji, CustomEmojiID: attrs["emoji-id"]}
	}
	return models.MessageEntity{Type: t}
}

// entity decodes the entity at the start of s (s[0] is '&'): &lt; &gt;
// &amp; &quot; or a numeric one, with or without the ';'. n is 0 when s
// starts no entity Telegram knows; the '&' is then text.
func entity(s string) (r rune, n int) {
	j := 1
	if j < len(s) && s[j] == '#' {
		j++
		base := rune(10)
		if j < len(s) && (s[j] == 'x' || s[j] == 'X') {
			base, j = 16, j+1
		}
		start := j
		for ; j < len(s); j++ {
			d := digit(s[j], base)
			if d < 0 {
				break
			}
			if r = r*base + d; r >= 0x10ffff {
				return 0, 0
			}
		}
		if j == start || r == 0 || j >= 10 || !utf8.ValidRune(r) {
			return 0, 0
		}
	} else {
		j = skip(s, j, func(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' })
		switch s[1:j] {
		case "lt":
			r = '<'
		case "gt":
			r = '>'
		case "amp":
			r = '&'
		case "quot":
			r = '"'
		default:
			return 0, 0
		}
	}
	if j < len(s) && s[j] == ';' {
		j++
	}
	return r, j
}

// decode replaces the entities in an attribute value.
func decode(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] == '&' {
			if r, n := entity(s[i:]); n > 0 {
				b.WriteRune(r)
				i += n
				continue
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

func digit(c byte, base rune) rune {
	switch {
	case '0' <= c && c <= '9':
		return rune(c - '0')
	case base == 16 && 'a' <= c && c <= 'f':
		return rune(c-'a') + 10
	case base == 16 && 'A' <= c && c <= 'F':
		return rune(c-'A') + 10
	}
	return -1
}

// isSpaceByte is HTML's white space inside a tag.
func isSpaceByte(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func notSpaceOrClose(c byte) bool { return !isSpaceByte(c) && c != '>' }

// skip returns the first offset from j at which ok is false.
func skip(s string, j int, ok func(byte) bool) int {
	for j < len(s) && ok(s[j]) {
		j++
	}
	return j
}
