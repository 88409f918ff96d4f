package tgtext

import (
	"strings"
	"testing"
	"unicode"

	"github.com/go-telegram/bot/models"
)

func TestShortenAndEcho(t *testing.T) {
	if got := Shorten("héllo", 5); got != "héllo" {
		t.Errorf("Shorten fitting = %q", got)
	}
	if got := Shorten("héllo world", 5); got != "héll…" {
		t.Errorf("Shorten = %q", got)
	}
	long := strings.Repeat("x\n", 3000)
	got := Echo(long)
	if n := len([]rune(got)); n != EchoRunes || strings.Contains(got, "\n") || !strings.HasSuffix(got, Ellipsis) {
		t.Errorf("Echo(%d runes) = %q (%d runes)", len(long), got, n)
	}
	if got := Echo("  Europe/\tBerlin \n"); got != "Europe/ Berlin" {
		t.Errorf("Echo = %q", got)
	}
}

func TestLenCountsAfterParsing(t *testing.T) {
	n, err := Len(`<b>a &lt; b</b> 😀`, true)
	if err != nil || n != 1+1+1+1+1+1+2 {
		t.Errorf("Len = %d, %v; want 8", n, err)
	}
	if _, err := Len("a < b", true); err == nil {
		t.Error("Len accepted a bare <")
	}
	if n, _ := Len("<b>", false); n != 3 {
		t.Errorf("plain Len = %d", n)
	}
}

// shown is the text of src as Telegram shows it.
func shown(t *testing.T, src string, isHTML bool) (string, []models.MessageEntity) {
	t.Helper()
	if !isHTML {
		return src, nil
	}
	text, ents, err := ParseHTML(src)
	if err != nil {
		t.Fatalf("part is not valid HTML: %v\n%s", err, src)
	}
	return text, ents
}

func nonSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

func TestSplitAtParagraphsKeepingTags(t *testing.T) {
	var b strings.Builder
	b.WriteString("<b>Who's going</b>\n\n<i>")
	for i := range 700 {
		b.WriteString("• Person number " + strings.Repeat("x", i%7) + "\n")
		if i%50 == 49 {
			b.WriteString("\n")
		}
	}
	b.WriteString("</i>")
	src := b.String()
	parts, err := Split(src, true, MaxMessage)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) < 3 {
		t.Fatalf("%d parts", len(parts))
	}
	var all strings.Builder
	for i, p := range parts {
		text, ents := shown(t, p, true)
		if n := UTF16Len(text); n > MaxMessage {
			t.Errorf("part %d shows %d units", i, n)
		}
		if i > 0 && (len(ents) == 0 || ents[0].Type != models.MessageEntityTypeItalic || ents[0].Offset != 0) {
			t.Errorf("part %d lost the italics: %v", i, ents)
		}
		if (i > 0 && strings.HasPrefix(text, "\n")) || (i < len(parts)-1 && strings.HasSuffix(text, "\n")) {
			t.Errorf("part %d starts or ends with the break", i)
		}
		if i < len(parts)-1 && !strings.HasSuffix(text, "x") && !strings.HasSuffix(text, "number") && !strings.HasSuffix(text, "</b>") {
			t.Errorf("part %d does not end at a line end: %q", i, text[len(text)-20:])
		}
		all.WriteString(text)
	}
	orig, _ := shown(t, src, true)
	if nonSpace(all.String()) != nonSpace(orig) {
		t.Error("the parts do not show the whole text")
	}
}

func TestSplitWithoutBreaks(t *testing.T) {
	src := strings.Repeat("😀", 5000) // 2 units each
	parts, err := Split(src, false, MaxMessage)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 3 || parts[0]+parts[1]+parts[2] != src {
		t.Fatalf("%d parts", len(parts))
	}
	for _, p := range parts {
		if UTF16Len(p) > MaxMessage {
			t.Errorf("part of %d units", UTF16Len(p))
		}
	}
}

func TestCut(t *testing.T) {
	src := `<b>` + strings.Repeat("word ", 100) + `</b> <a href="https://x">link</a>`
	got, err := Cut(src, true, 50)
	if err != nil {
		t.Fatal(err)
	}
	text, ents := shown(t, got, true)
	if UTF16Len(text) > 50 || !strings.HasSuffix(text, "word…") || len(ents) != 1 || ents[0].Type != models.MessageEntityTypeBold {
		t.Errorf("Cut = %q (%q, %v)", got, text, ents)
	}
	if got, _ := Cut("short", true, 50); got != "short" {
		t.Errorf("Cut of fitting text = %q", got)
	}
	if _, err := Cut("<b>", true, 50); err == nil {
		t.Error("Cut accepted malformed HTML")
	}
}

// Any text, any limit: every part fits, is valid, and together the parts
// show everything but the dropped breaks; a cut fits and shows a prefix.
func FuzzSplitCut(f *testing.F) {
	for _, s := range []string{
		"<b>bold\n\nmore</b> text", "a\nb\nc", "<pre><code class=\"language-go\">x := 1\ny := 2</code></pre>",
		"&lt;&amp;&#128512; x", "😀😀😀 😀", "<a href=\"x\">l i n k</a>\n<i>i</i>", "plain < text & more",
	} {
		f.Add(s, uint16(5))
	}
	f.Fuzz(func(t *testing.T, src string, lim uint16) {
		limit := 2 + int(lim%200)
		isHTML := true
		if _, err := Len(src, true); err != nil {
			isHTML = false
		}
		parts, err := Split(src, isHTML, limit)
		if err != nil {
			t.Fatal(err)
		}
		var all strings.Builder
		for _, p := range parts {
			text, _ := shown(t, p, isHTML)
			if n := UTF16Len(text); n > limit {
				t.Fatalf("part shows %d > %d units: %q", n, limit, p)
			}
			all.WriteString(nonSpace(text)) // part by part: bytes of a broken rune must not join
		}
		orig, _ := shown(t, src, isHTML)
		if all.String() != nonSpace(orig) {
			t.Fatalf("parts %q do not show %q", parts, orig)
		}
		cut, err := Cut(src, isHTML, limit)
		if err != nil {
			t.Fatal(err)
		}
		text, _ := shown(t, cut, isHTML)
		if n := UTF16Len(text); n > limit {
			t.Fatalf("cut shows %d > %d units: %q", n, limit, cut)
		}
		if !strings.HasPrefix(orig, strings.TrimSuffix(text, Ellipsis)) {
			t.Fatalf("cut %q is not a prefix of %q", text, orig)
		}
	})
}
