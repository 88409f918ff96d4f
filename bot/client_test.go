package bot

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
)

// fakeAndClient is a fake Bot API and a client of it; the fake closes
// when the test ends.
func fakeAndClient(t *testing.T) (*bottest.Server, *Client) {
	t.Helper()
	fake := bottest.NewServer()
	t.Cleanup(fake.Close)
	c, err := NewClient(fake.Token, fake.URL, ClientOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return fake, c
}

// reply_markup goes out as the JSON given, not through the library's
// structs (which add "copy_text":{"text":""} to every button and drop
// fields they do not know).
func TestCallSendsReplyMarkupAsGiven(t *testing.T) {
	fake, c := fakeAndClient(t)
	markup := `{"inline_keyboard":[[{"callback_data":"rsvp:1:go","text":"Going"},{"text":"Copy","copy_text":{"text":"ev_1"}}],[{"text":"Open","url":"https://example.org","future_field":{"x":1}}]]}`
	ctx := context.Background()
	for _, method := range []string{"sendMessage", "editMessageText", "editMessageReplyMarkup"} {
		params := map[string]any{"chat_id": 5, "text": "Party " + method, "reply_markup": json.RawMessage(markup)}
		if method != "sendMessage" {
			params["message_id"] = 1
		}
		raw, _ := json.Marshal(params)
		if method == "editMessageReplyMarkup" {
			// The same markup again would be "not modified".
			markup2 := `{"inline_keyboard":[[{"text":"Copy","copy_text":{"text":"ev_2"}}]]}`
			raw, _ = json.Marshal(map[string]any{"chat_id": 5, "message_id": 1, "reply_markup": json.RawMessage(markup2)})
			markup = markup2
		}
		res, err := c.Call(ctx, method, raw)
		if err != nil {
			t.Fatalf("%s: %v (%s)", method, err, res.Description)
		}
		calls := fake.CallsTo(method)
		if got := calls[len(calls)-1].Params["reply_markup"]; got != markup {
			t.Errorf("%s sent\n%s\nwant\n%s", method, got, markup)
		}
	}
}

// Every method the client adapts reaches Telegram with chat_id, keyboard
// and file put back, and the message id comes back where there is one;
// parameters the library cannot take are refused before anything is sent.
func TestCallAdaptsEveryMethod(t *testing.T) {
	fake, c := fakeAndClient(t)
	ctx := context.Background()
	chat := bottest.Group(-5001, "Hikers")
	user := models.User{ID: 77, FirstName: "Ann"}
	call := func(method string, params map[string]any) Result {
		t.Helper()
		raw, _ := json.Marshal(params)
		res, err := c.Call(ctx, method, raw)
		if err != nil {
			t.Fatalf("%s: %v (%s)", method, err, res.Description)
		}
		return res
	}
	keyboard := json.RawMessage(`{"inline_keyboard":[[{"text":"Go","callback_data":"go"}]]}`)
	sent := call("sendMessage", map[string]any{"chat_id": chat.ID, "text": "<b>Hike</b>", "parse_mode": "HTML", "reply_markup": keyboard})
	if sent.MessageID == 0 {
		t.Fatal("sendMessage: no message id")
	}
	id := sent.MessageID
	if res := call("editMessageText", map[string]any{"chat_id": chat.ID, "message_id": id, "text": "Hike!"}); res.MessageID != id {
		t.Errorf("editMessageText: message id %d, want %d", res.MessageID, id)
	}
	if res := call("editMessageReplyMarkup", map[string]any{"chat_id": chat.ID, "message_id": id, "reply_markup": keyboard}); res.MessageID != id {
		t.Errorf("editMessageReplyMarkup: message id %d, want %d", res.MessageID, id)
	}
	cb := fake.PushCallback(chat, user, id, "go")
	call("answerCallbackQuery", map[string]any{"callback_query_id": cb.CallbackQuery.ID, "text": "Noted"})
	call("pinChatMessage", map[string]any{"chat_id": chat.ID, "message_id": id})
	doc := call("sendDocument", map[string]any{"chat_id": chat.ID, "caption": "Route",
		"document": WireFile{Filename: "route.ics", Data: []byte("BEGIN:VCALENDAR")}})
	if doc.MessageID == 0 {
		t.Error("sendDocument: no message id")
	}
	venue := call("sendVenue", map[string]any{"chat_id": chat.ID, "latitude": 52.5244, "longitude": 13.4105,
		"title": "Cafe Central", "address": "Hauptstr. 1", "reply_markup": keyboard})
	if m, _ := fake.Message(chat.ID, venue.MessageID); venue.MessageID == 0 || m.Venue == nil || m.Venue.Title != "Cafe Central" ||
		m.Venue.Location.Latitude != 52.5244 || m.ReplyMarkup == nil {
		t.Errorf("sendVenue: id %d, message %+v", venue.MessageID, m)
	}
	call("deleteMessage", map[string]any{"chat_id": chat.ID, "message_id": id})
	if _, found := fake.Message(chat.ID, id); found {
		t.Error("deleteMessage left the message")
	}
	if m, _ := fake.Message(chat.ID, doc.MessageID); m.Document == nil || m.Document.FileName != "route.ics" || m.Caption != "Route" {
		t.Errorf("document as sent: %+v", m)
	}
	if a := fake.CallsTo("answerCallbackQuery"); len(a) != 1 || a[0].Params["text"] != "Noted" || !a[0].OK() {
		t.Errorf("answerCallbackQuery calls: %+v", a)
	}
	if p := fake.CallsTo("pinChatMessage"); len(p) != 1 || !p[0].OK() || p[0].ChatID != chat.ID {
		t.Errorf("pinChatMessage calls: %+v", p)
	}

	before := len(fake.Calls())
	for _, bad := range []struct {
		method, params string
		want           error
	}{
		{"sendDocument", `{"chat_id": 1, "caption": "no file"}`, ErrBadParams},
		{"sendMessage", `{"chat_id": 1, "text": 5}`, ErrBadParams},
		{"sendMessage", `{"chat_id": "one", "text": "x"}`, ErrBadParams},
		{"sendPoll", `{"chat_id": 1}`, ErrUnknownMethod},
	} {
		if _, err := c.Call(ctx, bad.method, json.RawMessage(bad.params)); !errors.Is(err, bad.want) {
			t.Errorf("%s %s: %v, want %v", bad.method, bad.params, err, bad.want)
		}
	}
	if n := len(fake.Calls()); n != before {
		t.Errorf("refused calls reached Telegram: %d calls, want %d", n, before)
	}
}

// The sender's workers call Telegram concurrently: the client keeps their
// connections between rounds instead of opening most of them again (Go's
// default keeps two idle per host), which in production is a TLS
// handshake per call.
func TestConcurrentCallsReuseConnections(t *testing.T) {
	var mu sync.Mutex
	opened := 0
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond) // all calls of a round overlap
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true,"result":{"message_id":1,"date":0,"chat":{"id":5,"type":"private"},"text":"hi"}}`)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			mu.Lock()
			opened++
			mu.Unlock()
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c, err := NewClient("123:abc", srv.URL, ClientOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	const workers = 16
	round := func() {
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				if _, err := c.Call(context.Background(), "sendMessage", json.RawMessage(`{"chat_id":5,"text":"hi"}`)); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	round()
	mu.Lock()
	first := opened
	mu.Unlock()
	for range 3 {
		round()
	}
	mu.Lock()
	defer mu.Unlock()
	if first < 2 || opened-first > workers/4 {
		t.Fatalf("the first round opened %d connection(s), the next three %d more; want them reused", first, opened-first)
	}
}
