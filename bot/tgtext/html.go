package tgtext

import (
	"fmt"
	"html"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/go-telegram/bot/models"
)

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
	name string // tokOpen, tokClose: lower-cased tag name
	// tokOpen: the entity the tag opens (Type "" for a <code> that only
	// sets the language of the <pre> around it).
	entity models.MessageEntity
}

// tokenize splits src into tokens. With isHTML, tags and entities are
// parsed the way Telegram's parse_mode=HTML does, and malformed markup is
// an error worded like Telegram's; without it every rune is text.
func tokenize(src string, isHTML bool) ([]token, error) {
	toks := make([]token, 0, len(src))
	var stack []int // indexes of open tags in toks
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case isHTML && c == '<':
			end := strings.IndexByte(src[i:], '>')
			if end < 0 {
				return nil, fmt.Errorf("can't parse entities: Unclosed start tag at byte offset %d", i)
			}
			raw, inner, at := src[i:i+end+1], src[i+1:i+end], i
			i += end + 1
			if closing, isEnd := strings.CutPrefix(inner, "/"); isEnd {
				name := strings.ToLower(strings.TrimSpace(closing))
				if len(stack) == 0 {
					return nil, fmt.Errorf("can't parse entities: Unexpected end tag at byte offset %d", at)
				}
				top := toks[stack[len(stack)-1]].name
				if name != top {
					return nil, fmt.Errorf("can't parse entities: Unmatched end tag at byte offset %d, expected \"</%s>\", found \"</%s>\"", at, top, name)
				}
				stack = stack[:len(stack)-1]
				toks = append(toks, token{kind: tokClose, raw: raw, name: name})
				continue
			}
			name, attrs := splitTag(inner)
			e, supported := tagEntity(name, attrs)
			if !supported {
				return nil, fmt.Errorf("can't parse entities: Unsupported start tag \"%s\" at byte offset %d", name, at)
			}
			// <pre><code class="language-x"> is one pre entity with a language.
			if name == "code" && len(stack) > 0 && toks[stack[len(stack)-1]].name == "pre" {
				if lang, found := strings.CutPrefix(attrs["class"], "language-"); found {
					toks[stack[len(stack)-1]].entity.Language = lang
					e = models.MessageEntity{}
				}
			}
			stack = append(stack, len(toks))
			toks = append(toks, token{kind: tokOpen, raw: raw, name: name, entity: e})
		case isHTML && c == '&':
			if r, n := htmlEntity(src[i:]); n > 0 {
				toks = append(toks, token{kind: tokText, raw: src[i : i+n], r: r, u16: utf16.RuneLen(r)})
				i += n
				continue
			}
			toks = append(toks, token{kind: tokText, raw: "&", r: '&', u16: 1})
			i++
		default:
			r, size := utf8.DecodeRuneInString(src[i:])
			toks = append(toks, token{kind: tokText, raw: src[i : i+size], r: r, u16: max(1, utf16.RuneLen(r))})
			i += size
		}
	}
	if len(stack) > 0 {
		return nil, fmt.Errorf("can't parse entities: Can't find end tag corresponding to start tag \"%s\"", toks[stack[len(stack)-1]].name)
	}
	return toks, nil
}

// ParseHTML implements Telegram's parse_mode=HTML: the supported tags
// become entities (offsets in UTF-16 units) and the text loses its markup.
// Like Telegram it rejects unknown or unbalanced tags and a bare '<', which
// is how an unescaped user name breaks a real bot; a bare '&' is kept
// literally.
func ParseHTML(src string) (string, []models.MessageEntity, error) {
	toks, err := tokenize(src, true)
	if err != nil {
		return "", nil, err
	}
	type open struct {
		start  int
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
				out.WriteString(t.raw)
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

// splitTag splits `a href="x" b` into its lower-cased name and attributes.
func splitTag(raw string) (string, map[string]string) {
	raw = strings.TrimSpace(raw)
	name, rest, _ := strings.Cut(raw, " ")
	attrs := map[string]string{}
	for rest = strings.TrimSpace(rest); rest != ""; rest = strings.TrimSpace(rest) {
		keyEnd := strings.IndexAny(rest, "= ")
		if keyEnd < 0 {
			attrs[strings.ToLower(rest)] = ""
			break
		}
		key := strings.ToLower(rest[:keyEnd])
		rest = strings.TrimSpace(rest[keyEnd:])
		if !strings.HasPrefix(rest, "=") {
			attrs[key] = ""
			continue
		}
		rest = strings.TrimSpace(rest[1:])
		var val string
		if rest != "" && (rest[0] == '"' || rest[0] == '\'') {
			end := strings.IndexByte(rest[1:], rest[0])
			if end < 0 {
				end = len(rest) - 1
			}
			val, rest = rest[1:end+1], rest[min(end+2, len(rest)):]
		} else {
			val, rest, _ = strings.Cut(rest, " ")
		}
		attrs[key] = html.UnescapeString(val)
	}
	return strings.ToLower(name), attrs
}

// tagEntity maps a supported tag to the entity it opens.
func tagEntity(name string, attrs map[string]string) (models.MessageEntity, bool) {
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
	case "tg-spoiler":
		t = models.MessageEntityTypeSpoiler
	case "span":
		if attrs["class"] != "tg-spoiler" {
			return models.MessageEntity{}, false
		}
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
		return models.MessageEntity{Type: models.MessageEntityTypeTextLink, URL: attrs["href"]}, true
	case "tg-emoji":
		return models.MessageEntity{Type: models.MessageEntityTypeCustomEmoji, CustomEmojiID: attrs["emoji-id"]}, true
	default:
		return models.MessageEntity{}, false
	}
	return models.MessageEntity{Type: t}, true
}

// htmlEntity decodes the entities Telegram supports at the start of s:
// &lt; &gt; &amp; &quot; and numeric ones. n is 0 when there is none.
func htmlEntity(s string) (r rune, n int) {
	semi := strings.IndexByte(s, ';')
	if semi < 2 || semi > 10 {
		return 0, 0
	}
	body := s[1:semi]
	switch body {
	case "lt":
		return '<', semi + 1
	case "gt":
		return '>', semi + 1
	case "amp":
		return '&', semi + 1
	case "quot":
		return '"', semi + 1
	}
	if num, isNum := strings.CutPrefix(body, "#"); isNum {
		base := 10
		if hex, isHex := strings.CutPrefix(strings.ToLower(num), "x"); isHex {
			num, base = hex, 16
		}
		if v, err := strconv.ParseUint(num, base, 32); err == nil && utf8.ValidRune(rune(v)) {
			return rune(v), semi + 1
		}
	}
	return 0, 0
}
