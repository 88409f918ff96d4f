package handlers_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/cmd/tgemu/emu"
	"github.com/rsvpbot/rsvpbot/handlers/handlerstest"
	"github.com/rsvpbot/rsvpbot/outbox"
)

// The export as the playground shows it: the bot behind the standalone
// emulator with Telegram's flood limits (paced by the outbox as in
// production), driven and read through the emulator's control API, the
// file downloaded from /_emu/file.
func TestExportThroughTheEmulator(t *testing.T) {
	em, err := emu.New(emu.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(em)
	t.Cleanup(func() { em.Close(); srv.Close() })
	em.Fake.URL = srv.URL // the bot's Bot API is the emulator's
	limits := outbox.DefaultLimits()
	h := startEvents(t, handlerstest.Options{Fake: em.Fake, Limits: &limits})

	get := func(path string, v any) *http.Response {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s %s", path, resp.Status, body)
		}
		if b, ok := v.(*[]byte); ok {
			*b = body
		} else if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return resp
	}
	push := func(req emu.PushRequest) {
		t.Helper()
		body, _ := json.Marshal(req)
		resp, err := http.Post(srv.URL+"/_emu/push", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("push: %s", resp.Status)
		}
		h.WaitIdle()
	}
	messages := func(chatID int64) []models.Message {
		t.Helper()
		var msgs []models.Message
		get("/_emu/messages?chat="+strconv.FormatInt(chatID, 10), &msgs)
		return msgs
	}
	group := &party

	push(emu.PushRequest{From: alice, Text: "/start"})
	push(emu.PushRequest{From: alice, Chat: group, Text: "/event Hike | sat 09:00 | Station"})
	id := h.lastEventID()
	card := h.card(party.ID)
	push(emu.PushRequest{Kind: "callback", From: oleg, Chat: group, MessageID: card.ID, Data: "rsvp:" + strconv.FormatInt(id, 10) + ":go"})
	push(emu.PushRequest{From: alice, Chat: group, Text: "/export " + strconv.FormatInt(id, 10)})

	var doc *models.Document
	for _, m := range messages(alice.ID) {
		if m.Document != nil {
			doc = m.Document
		}
	}
	if doc == nil {
		t.Fatalf("no file in alice's chat: %+v", messages(alice.ID))
	}
	var data []byte
	resp := get("/_emu/file?id="+doc.FileID, &data)
	if _, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); err != nil || params["filename"] != doc.FileName {
		t.Errorf("download named %v (%v), the document %q", params, err, doc.FileName)
	}
	if !bytes.HasPrefix(data, []byte(utf8BOM)) {
		t.Fatalf("no byte order mark: %q", data)
	}
	recs, err := csv.NewReader(bytes.NewReader(data[len(utf8BOM):])).ReadAll()
	if err != nil || len(recs) != 2 || recs[1][0] != "Олег" || recs[1][2] != "Going" {
		t.Fatalf("downloaded CSV %q (%v)", recs, err)
	}
}
