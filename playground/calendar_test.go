package playground

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
)

// The playground shows calendar feeds as production does behind a reverse
// proxy: /calendar gives a link under the playground's address, and the
// link keeps working across the bot's restarts (its ops port changes).
func TestCalendarFeedThroughThePlayground(t *testing.T) {
	s := startPlayground(t, nil)
	s.push(bottest.PrivateChat(ann.user()), ann, "/calendar")
	reply := s.waitReplies(ann.ID, 1)[0]
	link := regexp.MustCompile(`http://127\.0\.0\.1:\d+/cal/[0-9A-Za-z]{22}\.ics`).FindString(reply.Text)
	if link == "" || !strings.HasPrefix(link, s.p.base+"/cal/") {
		t.Fatalf("no feed link under %s in %q", s.p.base, reply.Text)
	}
	fetch := func() {
		t.Helper()
		resp, err := http.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), "BEGIN:VCALENDAR") {
			t.Fatalf("GET %s: %d %q", link, resp.StatusCode, body)
		}
	}
	fetch()
	before := s.waitBot("running", 0)
	if !s.p.child.kill() {
		t.Fatal("kill did nothing")
	}
	s.waitBot("running", before.PID)
	fetch()
	resp, err := http.Get(s.p.base + "/cal/" + strings.Repeat("x", 22) + ".ics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("an unknown feed: %d", resp.StatusCode)
	}
}
