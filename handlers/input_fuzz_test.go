package handlers

import (
	"strings"
	"testing"

	"github.com/rsvpbot/rsvpbot/store"
)

// Callback data comes from Telegram but is whatever a client chooses to
// send: a forged button must never panic or yield a bad id.
func FuzzParseButton(f *testing.F) {
	for _, s := range []string{"rsvp:12:go", "ev:1:ics", "rsvp:0:go", "rsvp:-5", "x", "::", "rsvp:9999999999999999999:go", "a:1:b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		id, action, ok := parseButton(data)
		if !ok {
			return
		}
		if id <= 0 || strings.Contains(action, ":") {
			t.Fatalf("parseButton(%q) = %d, %q", data, id, action)
		}
	})
}

// /timezone answers: any text, no panic, and what is accepted is a real
// zone other than the server's local one.
func FuzzParseZone(f *testing.F) {
	for _, s := range []string{"Europe/Berlin", "europe/berlin", "UTC", "Local", "../../etc/passwd", "america/new_york", "", "a/b/c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		loc, ok := parseZone(s)
		if ok && (loc == nil || loc.String() == "Local") {
			t.Fatalf("parseZone(%q) accepted %v", s, loc)
		}
	})
}

// Capacities and event ids typed by people.
func FuzzParseNumbers(f *testing.F) {
	for _, s := range []string{"12", "0", "-3", "1e3", " 7 ", "９", "99999999999999999999", "ev_12"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n, err := parseCapacity(s); err == nil && n <= 0 {
			t.Fatalf("parseCapacity(%q) = %d", s, n)
		}
		if id, err := parseEventID(s); err == nil && id <= 0 {
			t.Fatalf("parseEventID(%q) = %d", s, id)
		}
	})
}

// Deep-link payloads (t.me/<bot>?start=ev_<payload>) are whatever a link
// says: a share code or an old event number, never both, never a bad id.
func FuzzParseLinkPayload(f *testing.F) {
	for _, s := range []string{"1", "42", "0", "-1", "aB3dE6gH9k", "1234567890", "aB3dE6gH9", "aB3dE6gH9kk", "", " 7 ", "#3", "ev_1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, code := parseLinkPayload(s)
		if id < 0 || (id > 0 && code != "") || (code != "" && !store.ValidShareCode(code)) {
			t.Fatalf("parseLinkPayload(%q) = %d, %q", s, id, code)
		}
	})
}

// Sign-up questions as organizers type them: what is accepted is one
// visible line within the limit.
func FuzzCheckQuestion(f *testing.F) {
	for _, s := range []string{"What will you bring?", "", "   ", "a\nb", "\u200b", strings.Repeat("x", 201), "off", "<b>x</b>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, ok := checkQuestion(s)
		if !ok {
			return
		}
		if invisible(q) || strings.ContainsAny(q, "\n\r\t") || len([]rune(q)) > maxQuestionLen || q != strings.TrimSpace(q) {
			t.Fatalf("checkQuestion(%q) accepted %q", s, q)
		}
	})
}
