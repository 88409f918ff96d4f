package tghtml

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/go-telegram/bot/models"
)

func TestParseAccepts(t *testing.T) {
	cases := []struct {
		src, text string
		ents      []models.MessageEntity
	}{
		{`plain`, `plain`, nil},
		{`Tom & Jerry > cats`, `Tom & Jerry > cats`, nil}, // a bare & or > is text, as in Telegram
		{`&lt;b&gt; &amp; &quot;x&quot; &#60; &#x3C; &#X3c; &lt &amp x &nbsp; &#0; &#xD800;`, `<b> & "x" < < < < & x &nbsp; &#0; &#xD800;`, nil},
		{`<b>bold</b> <STRONG>s</Strong>`, `bold s`, []models.MessageEntity{{Type: "bold", Offset: 0, Length: 4}, {Type: "bold", Offset: 5, Length: 1}}},
		{`<i>a<u>b</u></i>`, `ab`, []models.MessageEntity{{Type: "italic", Offset: 0, Length: 2}, {Type: "underline", Offset: 1, Length: 1}}},
		{`🎲<s>x</>`, `🎲x`, []models.MessageEntity{{Type: "strikethrough", Offset: 2, Length: 1}}},
		{`<a href="https://x.test/?a=1&amp;b=2" target=_blank>l</a >`, `l`, []models.MessageEntity{{Type: "text_link", Offset: 0, Length: 1, URL: "https://x.test/?a=1&b=2"}}},
		{`<a href='u'>l</a><a href=v>m</a>`, `lm`, []models.MessageEntity{{Type: "text_link", Offset: 0, Length: 1, URL: "u"}, {Type: "text_link", Offset: 1, Length: 1, URL: "v"}}},
		{`<span class="tg-spoiler">x</span><tg-spoiler>y</tg-spoiler>`, `xy`, []models.MessageEntity{{Type: "spoiler", Offset: 0, Length: 1}, {Type: "spoiler", Offset: 1, Length: 1}}},
		{`<pre><code class="language-go">x</code></pre>`, `x`, []models.MessageEntity{{Type: "pre", Offset: 0, Length: 1, Language: "go"}}},
		{`<blockquote expandable>q</blockquote><blockquote>r</blockquote>`, `qr`, []models.MessageEntity{{Type: "expandable_blockquote", Offset: 0, Length: 1}, {Type: "blockquote", Offset: 1, Length: 1}}},
		{`<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>`, `👍`, []models.MessageEntity{{Type: "custom_emoji", Offset: 0, Length: 2, CustomEmojiID: "5368324170671202286"}}},
		{`<b></b>x`, `x`, nil}, // an empty entity is dropped
	}
	for _, c := range cases {
		text, ents, err := Parse(c.src)
		if err != nil || text != c.text || len(ents) != len(c.ents) {
			t.Errorf("Parse(%q) = %q, %+v, %v; want %q, %+v", c.src, text, ents, err, c.text, c.ents)
			continue
		}
		for i := range ents {
			if ents[i] != c.ents[i] {
				t.Errorf("Parse(%q) entity %d = %+v, want %+v", c.src, i, ents[i], c.ents[i])
			}
		}
	}
}

func TestParseRefuses(t *testing.T) {
	cases := []struct{ src, reason string }{
		{`a < b`, `Unsupported start tag "" at byte offset 2`},
		{`a <b`, `Unclosed start tag at byte offset 2`},
		{`x <br> y`, `Unsupported start tag "br" at byte offset 2`},
		{`<blink>x</blink>`, `Unsupported start tag "blink" at byte offset 0`},
		{`<b>open`, `Can't find end tag corresponding to start tag "b"`},
		{`<b>x</i>`, `Unmatched end tag at byte offset 4, expected "</b>", found "</i>"`},
		{`x</b>`, `Unexpected end tag at byte offset 1`},
		{`<b>x</b`, `Unclosed end tag at byte offset 4`},
		{`<span>x</span>`, `Tag "span" must have class "tg-spoiler" at byte offset 0`},
		{`<b bold>x</b>`, `Expected equal sign in declaration of an attribute of the tag "b" at byte offset 0`},
		{`<a href="x>l</a>`, `Unclosed start tag at byte offset 0`},
		{`<a =x>l</a>`, `Empty attribute name in the tag "a" at byte offset 0`},
	}
	for _, c := range cases {
		_, _, err := Parse(c.src)
		var pe *Error
		if !errors.As(err, &pe) || pe.Reason != c.reason || err.Error() != "can't parse entities: "+c.reason {
			t.Errorf("Parse(%q): %v, want %q", c.src, err, c.reason)
		}
	}
}

func TestEscape(t *testing.T) {
	const s = `a < b & "c" > d`
	text, ents, err := Parse(Escape(s))
	if err != nil || text != s || len(ents) != 0 {
		t.Errorf("Parse(Escape(%q)) = %q, %v, %v", s, text, ents, err)
	}
	if n := UTF16Len("a🎲é"); n != 4 {
		t.Errorf("UTF16Len = %d", n)
	}
}

// FuzzParse: any input parses or is refused with an offset inside it and
// never panics; accepted text has entities inside it and no markup left,
// and escaping that text parses back to it unchanged.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"a < b", "<b>x</b>", `<a href="u&amp;v">l</a>`, "&#x1F600;", "<pre><code class=\"language-go\">x</code></pre>",
		"<b><i>x</b></i>", "<blockquote expandable>q</blockquote>", "&lt", "\xff<b>\xfe</b>", "<span class=tg-spoiler>s</span>", "</>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		text, ents, err := Parse(src)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Reason == "" || pe.Offset < -1 || pe.Offset >= len(src) {
				t.Fatalf("Parse(%q): bad error %#v", src, err)
			}
			return
		}
		n := UTF16Len(text)
		for _, e := range ents {
			if e.Offset < 0 || e.Length <= 0 || e.Offset+e.Length > n {
				t.Fatalf("Parse(%q) = %q: entity %+v outside the text (%d units)", src, text, e, n)
			}
		}
		if utf8.ValidString(src) && !utf8.ValidString(text) {
			t.Fatalf("Parse(%q) made invalid UTF-8 %q", src, text)
		}
		if strings.Count(text, "<") > strings.Count(src, "<")+strings.Count(src, "&") {
			t.Fatalf("Parse(%q) = %q: more '<' than the source could give", src, text)
		}
		back, bents, err := Parse(Escape(text))
		if err != nil || back != text || len(bents) != 0 {
			t.Fatalf("Parse(Escape(%q)) = %q, %v, %v", text, back, bents, err)
		}
	})
}
