package handlers_test

// Calendar feeds (handlers/calendar.go): /calendar through the fake Bot
// API, the feed fetched over real HTTP and parsed back with golang-ical.

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"
	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/handlers"
	"github.com/rsvpbot/rsvpbot/handlers/handlerstest"
)

const publicURL = "https://rsvp.example.com"

var feedLink = regexp.MustCompile(`https://rsvp\.example\.com/cal/([0-9A-Za-z]{22})\.ics`)

// calHarness is a bot with feeds enabled and its feed handler on a real
// HTTP server.
type calHarness struct {
	*evHarness
	srv *httptest.Server
}

func startCalendar(t *testing.T, opts handlerstest.Options) *calHarness {
	t.Helper()
	opts.Configure = func(d *handlers.Deps) { d.PublicURL = publicURL + "/" }
	h := &calHarness{evHarness: startEvents(t, opts)}
	h.srv = httptest.NewServer(h.App.CalendarFeed())
	t.Cleanup(h.srv.Close)
	return h
}

// token sends /calendar (with args) as user in chat and returns the token
// of the feed link the bot sent to the user privately, checking that the
// webcal:// link beside it is the same feed.
func (h *calHarness) token(chat models.Chat, user models.User, args string) string {
	h.T.Helper()
	h.Send(chat, user, strings.TrimSpace("/calendar "+args))
	text := h.LastText(user.ID)
	m := feedLink.FindStringSubmatch(text)
	if m == nil {
		h.T.Fatalf("no feed link in %q", text)
	}
	if want := "webcal://rsvp.example.com/cal/" + m[1] + ".ics"; !strings.Contains(text, want) {
		h.T.Fatalf("no %s in %q", want, text)
	}
	return m[1]
}

// get fetches a path from the feed server.
func (h *calHarness) get(path string, header ...string) (*http.Response, []byte) {
	h.T.Helper()
	req, err := http.NewRequest(http.MethodGet, h.srv.URL+path, nil)
	if err != nil {
		h.T.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.T.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		h.T.Fatal(err)
	}
	return resp, body
}

// feed fetches and parses the feed with token; it must be served.
func (h *calHarness) feed(token string) (*ics.Calendar, string) {
	h.T.Helper()
	resp, body := h.get("/cal/" + token + ".ics")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/calendar") {
		h.T.Fatalf("feed: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	cal, err := ics.ParseCalendar(bytes.NewReader(body))
	if err != nil {
		h.T.Fatalf("feed does not parse: %v\n%s", err, body)
	}
	return cal, resp.Header.Get("ETag")
}

// vevents indexes a calendar's events by UID.
func vevents(cal *ics.Calendar) map[string]*ics.VEvent {
	out := map[string]*ics.VEvent{}
	for _, ve := range cal.Events() {
		out[ve.Id()] = ve
	}
	return out
}

func prop(ve *ics.VEvent, p ics.ComponentProperty) string {
	if v := ve.GetProperty(p); v != nil {
		return v.Value
	}
	return ""
}

func uid(id int64) string { return fmt.Sprintf("event-%d@rsvpbot", id) }

// A person's feed lists the events they organise or answered going or
// maybe, from every chat, with their own answer in the title, and nothing
// they declined or never answered.
func TestCalendarPersonalFeed(t *testing.T) {
	h := startCalendar(t, handlerstest.Options{})
	h.startPrivately(alice, bob, carol, dave, oleg)
	h.Send(party, alice, "/event Board games | 2026-12-05 19:00 | Cafe Central | 12")
	games := h.lastEventID()
	card := h.card(party.ID)
	h.press(party, bob, card, "Going")
	h.press(party, carol, card, "Can't go")
	h.press(party, dave, card, "Maybe")
	h.press(party, oleg, card, "Going")
	other := bottest.Group(-4002, "Runners")
	h.Send(other, alice, "/event Morning run | 2026-12-06 08:00 | Park")
	run := h.lastEventID()
	h.Send(other, carol, "/event Carol's secret | 2026-12-07 20:00 | Home")
	secret := h.lastEventID()

	cal, _ := h.feed(h.token(bottest.PrivateChat(bob), bob, ""))
	evs := vevents(cal)
	ve := evs[uid(games)]
	if len(evs) != 1 || ve == nil {
		t.Fatalf("bob's feed: %v", keysOf(evs))
	}
	start, _ := ve.GetStartAt()
	end, _ := ve.GetEndAt()
	if !start.Equal(time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC)) || !end.Equal(start.Add(2*time.Hour)) ||
		!strings.HasSuffix(prop(ve, ics.ComponentPropertyDtStart), "Z") {
		t.Errorf("times: %q %q", prop(ve, ics.ComponentPropertyDtStart), prop(ve, ics.ComponentPropertyDtEnd))
	}
	link := fmt.Sprintf("https://t.me/%s?start=ev_%s", h.Fake.Bot().Username, h.shareCode(games))
	if got := prop(ve, ics.ComponentPropertySummary); got != "Board games (going)" {
		t.Errorf("summary %q", got)
	}
	if prop(ve, ics.ComponentPropertyUrl) != link || !strings.Contains(prop(ve, ics.ComponentPropertyDescription), link) {
		t.Errorf("url %q, description %q; want %s", prop(ve, ics.ComponentPropertyUrl), prop(ve, ics.ComponentPropertyDescription), link)
	}
	if prop(ve, ics.ComponentPropertyLocation) != "Cafe Central" || prop(ve, ics.ComponentPropertyStatus) != "CONFIRMED" {
		t.Errorf("location %q status %q", prop(ve, ics.ComponentPropertyLocation), prop(ve, ics.ComponentPropertyStatus))
	}

	// Lines end in CRLF (RFC 5545 3.1), and calendars are told to poll
	// hourly.
	_, raw := h.get("/cal/" + h.token(bottest.PrivateChat(bob), bob, "") + ".ics")
	if body := string(raw); strings.Count(body, "\n") != strings.Count(body, "\r\n") ||
		!strings.Contains(body, "\r\nREFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n") || !strings.Contains(body, "\r\nX-PUBLISHED-TTL:PT1H\r\n") {
		t.Errorf("line ends or refresh interval: %q", body)
	}

	cal, _ = h.feed(h.token(bottest.PrivateChat(dave), dave, ""))
	if ve := vevents(cal)[uid(games)]; ve == nil || prop(ve, ics.ComponentPropertySummary) != "Board games (maybe)" {
		t.Errorf("dave's feed: %v", keysOf(vevents(cal)))
	}
	cal, _ = h.feed(h.token(bottest.PrivateChat(oleg), oleg, ""))
	if ve := vevents(cal)[uid(games)]; ve == nil || prop(ve, ics.ComponentPropertySummary) != "Board games (иду)" {
		t.Errorf("oleg's feed is not in his language: %v", cal.Serialize())
	}
	// Carol declined the games and organises her own event.
	cal, _ = h.feed(h.token(bottest.PrivateChat(carol), carol, ""))
	if evs := vevents(cal); len(evs) != 1 || evs[uid(secret)] == nil ||
		prop(evs[uid(secret)], ics.ComponentPropertySummary) != "Carol's secret (organizer)" {
		t.Errorf("carol's feed: %v", keysOf(evs))
	}
	// Alice organises two events in two chats.
	cal, _ = h.feed(h.token(bottest.PrivateChat(alice), alice, ""))
	if evs := vevents(cal); len(evs) != 2 || evs[uid(games)] == nil || evs[uid(run)] == nil {
		t.Errorf("alice's feed: %v", keysOf(evs))
	}
	// The same person asking again gets the same feed.
	if a, b := h.token(bottest.PrivateChat(bob), bob, ""), h.token(bottest.PrivateChat(bob), bob, ""); a != b {
		t.Errorf("a second /calendar changed the link: %s, %s", a, b)
	}
}

// An edit bumps SEQUENCE and changes the ETag; an unchanged feed answers
// If-None-Match with 304; a cancelled event stays 30 days as CANCELLED.
func TestCalendarFeedFollowsEditsAndCancellation(t *testing.T) {
	h := startCalendar(t, handlerstest.Options{})
	h.startPrivately(bob)
	h.Send(party, alice, "/event Quiz | 2026-12-05 19:00 | Pub")
	id := h.lastEventID()
	h.press(party, bob, h.card(party.ID), "Going")
	token := h.token(bottest.PrivateChat(bob), bob, "")

	cal, etag := h.feed(token)
	seq0, _ := strconv.Atoi(prop(vevents(cal)[uid(id)], ics.ComponentPropertySequence))
	if etag == "" {
		t.Fatal("no ETag")
	}
	resp, body := h.get("/cal/"+token+".ics", "If-None-Match", etag)
	if resp.StatusCode != http.StatusNotModified || len(body) != 0 {
		t.Fatalf("unchanged feed with its ETag: %d %q", resp.StatusCode, body)
	}

	h.Send(party, alice, fmt.Sprintf("/editevent %d title Pub quiz", id))
	cal, etag2 := h.feed(token)
	ve := vevents(cal)[uid(id)]
	seq1, _ := strconv.Atoi(prop(ve, ics.ComponentPropertySequence))
	if seq1 <= seq0 || prop(ve, ics.ComponentPropertySummary) != "Pub quiz (going)" || etag2 == etag {
		t.Fatalf("after the edit: sequence %d → %d, summary %q, etag %s → %s", seq0, seq1, prop(ve, ics.ComponentPropertySummary), etag, etag2)
	}
	if resp, _ := h.get("/cal/"+token+".ics", "If-None-Match", etag); resp.StatusCode != 200 {
		t.Fatalf("a stale ETag got %d", resp.StatusCode)
	}

	h.Send(party, alice, fmt.Sprintf("/cancelevent %d", id))
	cal, _ = h.feed(token)
	ve = vevents(cal)[uid(id)]
	if ve == nil {
		t.Fatal("the cancelled event left the feed at once")
	}
	seq2, _ := strconv.Atoi(prop(ve, ics.ComponentPropertySequence))
	if prop(ve, ics.ComponentPropertyStatus) != "CANCELLED" || seq2 <= seq1 ||
		prop(ve, ics.ComponentPropertySummary) != "Cancelled: Pub quiz (going)" {
		t.Fatalf("cancelled: status %q sequence %d summary %q", prop(ve, ics.ComponentPropertyStatus), seq2, prop(ve, ics.ComponentPropertySummary))
	}
	h.setNow(evNow.Add(29 * 24 * time.Hour))
	if cal, _ = h.feed(token); vevents(cal)[uid(id)] == nil {
		t.Fatal("the cancelled event left the feed within 30 days")
	}
	h.setNow(evNow.Add(31 * 24 * time.Hour))
	if cal, _ = h.feed(token); len(cal.Events()) != 0 {
		t.Fatalf("after 30 days: %v", keysOf(vevents(cal)))
	}
}

// /calendar reset replaces the link; the old one answers exactly like a
// token that never existed, and like a path that is no token at all.
func TestCalendarResetKillsTheOldLink(t *testing.T) {
	h := startCalendar(t, handlerstest.Options{})
	h.startPrivately(bob)
	priv := bottest.PrivateChat(bob)
	old := h.token(priv, bob, "")
	h.feed(old)
	fresh := h.token(priv, bob, "reset")
	if fresh == old {
		t.Fatal("reset kept the token")
	}
	mustContain(t, "reset answer", h.LastText(bob.ID), "old calendar link no longer works")
	h.feed(fresh)
	if again := h.token(priv, bob, ""); again != fresh {
		t.Fatalf("after reset /calendar gives %s, want %s", again, fresh)
	}

	type answer struct {
		code int
		body string
		hdr  string
	}
	probe := func(path string) answer {
		resp, body := h.get(path)
		return answer{resp.StatusCode, string(body), resp.Header.Get("Content-Type") + "|" + resp.Header.Get("ETag")}
	}
	gone := probe("/cal/" + old + ".ics")
	if gone.code != 404 {
		t.Fatalf("the old link: %+v", gone)
	}
	never := strings.Repeat("Z", 22)
	for _, p := range []string{"/cal/" + never + ".ics", "/cal/" + old, "/cal/" + old + ".ics.ics", "/cal/short.ics", "/cal/" + old[:21] + "!.ics", "/cal/"} {
		if got := probe(p); got != gone {
			t.Errorf("%s answers %+v, the old link %+v", p, got, gone)
		}
	}
	if strings.Contains(gone.body, old) {
		t.Error("the 404 repeats the token")
	}
}

// In a group only admins get the group's feed, and privately: a non-admin
// is told so, an admin who never started the bot is asked to, and the
// link is never posted in the group. The group's feed lists all of its
// events and no other chat's.
func TestCalendarGroupFeed(t *testing.T) {
	h := startCalendar(t, handlerstest.Options{})
	frank := handlerstest.User(3010, "Frank", "en")
	h.Fake.SetChatMember(party, frank, models.ChatMemberTypeAdministrator)
	h.Send(party, alice, "/event Quiz | 2026-12-05 19:00 | Pub")
	quiz := h.lastEventID()
	h.Send(party, bob, "/event Picnic | 2026-12-06 12:00 | Park")
	picnic := h.lastEventID()
	h.Send(bottest.Group(-4002, "Runners"), alice, "/event Morning run | 2026-12-06 08:00 | Park")

	// Telegram cannot say who the admins are: the apology, and no feed.
	h.Fake.FailNext(bottest.Fault{Method: "getChatAdministrators", Status: 502})
	h.Send(party, frank, "/calendar")
	mustContain(t, "failed admin lookup", h.LastText(party.ID), "Sorry, something went wrong")
	if n := h.Count(`SELECT count(*) FROM calendar_feeds`); n != 0 {
		t.Fatalf("%d feeds made without knowing the admins", n)
	}

	// A non-admin is told so, with a button to their own feed.
	h.Send(party, eve, "/calendar")
	m := h.Last(party.ID)
	mustContain(t, "non-admin", m.Text, "Only this group's admins", "/calendar to me in a private chat")
	mustContain(t, "non-admin's button", urlButton(t, m), "?start=cal")
	if n := h.Count(`SELECT count(*) FROM calendar_feeds`); n != 0 {
		t.Fatalf("a non-admin's /calendar made %d feeds", n)
	}
	h.Send(bottest.PrivateChat(eve), eve, "/start cal")
	mustContain(t, "eve's own feed", h.LastText(eve.ID), h.Catalog.T("en", "calendar_personal_intro"))
	if feedLink.FindStringSubmatch(h.LastText(eve.ID)) == nil {
		t.Fatalf("no link in %q", h.LastText(eve.ID))
	}

	// An admin the bot may not write to yet gets a button that opens the
	// private chat with the group's link in it.
	h.Send(party, frank, "/calendar")
	m = h.Last(party.ID)
	mustContain(t, "admin who never started the bot", m.Text, "press the button below")
	payload := "calg_" + strconv.FormatInt(party.ID, 10)
	mustContain(t, "admin's button", urlButton(t, m), "?start="+payload)
	// Nobody else gets the group's link from that button, nor from one
	// naming a chat the bot does not know.
	for _, p := range []string{payload, "calg_-999", "calg_x", "calg_42"} {
		h.Send(bottest.PrivateChat(mallory), mallory, "/start "+p)
		if text := h.LastText(mallory.ID); feedLink.MatchString(text) {
			t.Fatalf("%s gave mallory a link: %q", p, text)
		}
	}
	h.Send(bottest.PrivateChat(frank), frank, "/start "+payload)
	first := feedLink.FindStringSubmatch(h.LastText(frank.ID))
	if first == nil {
		t.Fatalf("the button gave no link: %q", h.LastText(frank.ID))
	}
	mustContain(t, "admin's private message", h.LastText(frank.ID), "Friends")

	// Now that the bot may write to them, /calendar in the group sends it
	// privately: the same link.
	token := h.token(party, frank, "")
	if token != first[1] {
		t.Fatalf("the button's link %s and /calendar's %s differ", first[1], token)
	}
	mustContain(t, "admin's group answer", h.LastText(party.ID), "sent the group's calendar link")
	if said := h.botSaid(party.ID); strings.Contains(said, token) || strings.Contains(said, "/cal/") {
		t.Fatalf("the group was shown the link: %q", said)
	}
	cal, _ := h.feed(token)
	evs := vevents(cal)
	if len(evs) != 2 || evs[uid(quiz)] == nil || evs[uid(picnic)] == nil || prop(evs[uid(quiz)], ics.ComponentPropertySummary) != "Quiz" {
		t.Fatalf("group feed: %v", cal.Serialize())
	}
	if cal.CalendarProperties[0].Value == "" || !strings.Contains(cal.Serialize(), "X-WR-CALNAME:Friends") {
		t.Errorf("the group feed is not named after the group: %s", cal.Serialize())
	}
	// The group's feed is not the admin's own.
	if own := h.token(bottest.PrivateChat(frank), frank, ""); own == token {
		t.Fatal("personal and group feeds share a token")
	}
}

// /calendar answers in the user's language, all four of them; without
// RSVPBOT_PUBLIC_URL it says the operator has not enabled feeds.
func TestCalendarLanguagesAndDisabled(t *testing.T) {
	h := startCalendar(t, handlerstest.Options{})
	for _, u := range []models.User{alice, oleg, jonas, lucia} {
		h.token(bottest.PrivateChat(u), u, "")
		lang := u.LanguageCode
		mustContain(t, lang, h.LastText(u.ID), h.Catalog.T(lang, "calendar_personal_intro"),
			h.Catalog.T(lang, "calendar_keep_secret"))
		h.Send(bottest.PrivateChat(u), u, "/calendar now")
		mustContain(t, lang+" usage", h.LastText(u.ID), h.Catalog.T(lang, "calendar_usage"))
	}

	off := startEvents(t, handlerstest.Options{})
	seen := map[string]bool{}
	for _, u := range []models.User{alice, oleg, jonas, lucia} {
		off.Send(bottest.PrivateChat(u), u, "/calendar")
		got := off.LastText(u.ID)
		if !strings.Contains(got, "RSVPBOT_PUBLIC_URL") || seen[got] || got != off.Catalog.T(u.LanguageCode, "calendar_disabled") {
			t.Errorf("%s: %q", u.LanguageCode, got)
		}
		seen[got] = true
	}
	if n := off.Count(`SELECT count(*) FROM calendar_feeds`); n != 0 {
		t.Errorf("%d feeds made with feeds disabled", n)
	}
}

// urlButton is the URL of the one button under m.
func urlButton(t *testing.T, m models.Message) string {
	t.Helper()
	if m.ReplyMarkup == nil || len(m.ReplyMarkup.InlineKeyboard) != 1 || len(m.ReplyMarkup.InlineKeyboard[0]) != 1 {
		t.Fatalf("not one button under %q: %+v", m.Text, m.ReplyMarkup)
	}
	return m.ReplyMarkup.InlineKeyboard[0][0].URL
}

func keysOf[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Text people typed cannot break out of its property: a description that
// spells out iCalendar lines stays one event's description, and HEAD
// answers like GET without the body.
func TestCalendarFeedHostileText(t *testing.T) {
	h := startCalendar(t, handlerstest.Options{})
	h.startPrivately(alice)
	h.Send(party, alice, "/event Evil; title, \"quoted\" | 2026-12-05 19:00 | Pub, Berlin; back room")
	id := h.lastEventID()
	evil := "x\nEND:VEVENT\nBEGIN:VEVENT\nUID:evil@x\nSUMMARY:injected\nEND:VEVENT\nBEGIN:VEVENT"
	h.Send(party, alice, fmt.Sprintf("/editevent %d description %s", id, evil))
	token := h.token(bottest.PrivateChat(alice), alice, "")
	cal, _ := h.feed(token)
	evs := vevents(cal)
	ve := evs[uid(id)]
	if len(evs) != 1 || ve == nil {
		t.Fatalf("events: %v", keysOf(evs))
	}
	if got := prop(ve, ics.ComponentPropertyDescription); !strings.HasPrefix(got, evil+"\n\n") {
		t.Errorf("description %q", got)
	}
	if got := prop(ve, ics.ComponentPropertySummary); got != `Evil; title, "quoted" (organizer)` {
		t.Errorf("summary %q", got)
	}
	if got := prop(ve, ics.ComponentPropertyLocation); got != "Pub, Berlin; back room" {
		t.Errorf("location %q", got)
	}

	req, _ := http.NewRequest(http.MethodHead, h.srv.URL+"/cal/"+token+".ics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(body) != 0 || resp.Header.Get("ETag") == "" {
		t.Fatalf("HEAD: %d, %d bytes, etag %q", resp.StatusCode, len(body), resp.Header.Get("ETag"))
	}
	req, _ = http.NewRequest(http.MethodPost, h.srv.URL+"/cal/"+token+".ics", nil)
	if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
}
