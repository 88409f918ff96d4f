package tgtext

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/go-telegram/bot/models"
)

func TestParseHTMLAccepts(t *testing.T) {
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
		text, ents, err := ParseHTML(c.src)
		if err != nil || text != c.text || len(ents) != len(c.ents) {
			t.Errorf("ParseHTML(%q) = %q, %+v, %v; want %q, %+v", c.src, text, ents, err, c.text, c.ents)
			continue
		}
		for i := range ents {
			if ents[i] != c.ents[i] {
				t.Errorf("ParseHTML(%q) entity %d = %+v, want %+v", c.src, i, ents[i], c.ents[i])
			}
		}
	}
}

func TestParseHTMLRefuses(t *testing.T) {
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
		_, _, err := ParseHTML(c.src)
		var pe *Error
		if !errors.As(err, &pe) || pe.Reason != c.reason || err.Error() != "can't parse entities: "+c.reason {
			t.Errorf("ParseHTML(%q): %v, want %q", c.src, err, c.reason)
		}
	}
}

func TestEscape(t *testing.T) {
	const s = `a < b & "c" > d`
	text, ents, err := ParseHTML(Escape(s))
	if err != nil || text != s || len(ents) != 0 {
		t.Errorf("ParseHTML(Escape(%q)) = %q, %v, %v", s, text, ents, err)
	}
	if n := UTF16Len("a🎲é"); n != 4 {
		t.Errorf("UTF16Len = %d", n)
	}
}

// FuzzParseHTML: any input parses or is refused with an offset inside it and
// never panics; accepted text has entities inside it and no markup left,
// and escaping that text parses back to it unchanged.
func FuzzParseHTML(f *testing.F) {
	for _, s := range []string{"a < b", "<b>x</b>", `<a href="u&amp;v">l</a>`, "&#x1F600;", "<pre><code class=\"language-go\">x</code></pre>",
		"<b><i>x</b></i>", "<blockquote expandable>q</blockquote>", "&lt", "\xff<b>\xfe</b>", "<span class=tg-spoiler>s</span>", "</>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		text, ents, err := ParseHTML(src)
		// Len, Split and Cut read markup as ParseHTML does: one tokenizer.
		if n, lerr := Len(src, true); (lerr == nil) != (err == nil) || lerr != nil && lerr.Error() != err.Error() || err == nil && n != UTF16Len(text) {
			t.Fatalf("Len(%q) = %d, %v; ParseHTML shows %d units, %v", src, n, lerr, UTF16Len(text), err)
		}
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Reason == "" || pe.Offset < -1 || pe.Offset >= len(src) {
				t.Fatalf("ParseHTML(%q): bad error %#v", src, err)
			}
			return
		}
		n := UTF16Len(text)
		for _, e := range ents {
			if e.Offset < 0 || e.Length <= 0 || e.Offset+e.Length > n {
				t.Fatalf("ParseHTML(%q) = %q: entity %+v outside the text (%d units)", src, text, e, n)
			}
		}
		if utf8.ValidString(src) && !utf8.ValidString(text) {
			t.Fatalf("ParseHTML(%q) made invalid UTF-8 %q", src, text)
		}
		if strings.Count(text, "<") > strings.Count(src, "<")+strings.Count(src, "&") {
			t.Fatalf("ParseHTML(%q) = %q: more '<' than the source could give", src, text)
		}
		back, bents, err := ParseHTML(Escape(text))
		if err != nil || back != text || len(bents) != 0 {
			t.Fatalf("ParseHTML(Escape(%q)) = %q, %v, %v", text, back, bents, err)
		}
	})
}

// What Telegram accepts, Split and Cut accept too: a quoted '>' in an
// attribute, an entity without its ';', an end tag with spaces.
func TestFitReadsMarkupAsTelegram(t *testing.T) {
	src := `<a href="https://x.test/?q=a>b">` + strings.Repeat("word ", 30) + `</a > &lt x`
	want, _, err := ParseHTML(src)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := Split(src, true, 40)
	if err != nil || len(parts) < 2 {
		t.Fatalf("Split = %d parts, %v", len(parts), err)
	}
	var all strings.Builder
	for _, p := range parts {
		text, ents, err := ParseHTML(p)
		if err != nil || UTF16Len(text) > 40 {
			t.Fatalf("part %q: %q, %v", p, text, err)
		}
		if strings.Contains(text, "word") && (len(ents) == 0 || ents[0].URL != "https://x.test/?q=a>b") {
			t.Errorf("part %q lost the link: %+v", p, ents)
		}
		all.WriteString(text + " ")
	}
	if strings.Join(strings.Fields(all.String()), " ") != strings.Join(strings.Fields(want), " ") {
		t.Errorf("parts show %q, want %q", all.String(), want)
	}
	cut, err := Cut(src, true, 12)
	if text, _, perr := ParseHTML(cut); err != nil || perr != nil || text != "word word w…" {
		t.Errorf("Cut = %q (%q), %v, %v", cut, text, err, perr)
	}
}
