package bottest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
)

// A restored fake shows what the snapshotted one showed, and continues its
// message and update ids (so a bot's stored message ids stay right).
func TestSnapshotRestore(t *testing.T) {
	s := newServer(t, bottest.WithFirstUpdateID(100))
	b := newBot(t, s)
	ctx := ctxT(t)
	if u := s.PushMessage(group, alice, "/event x"); u.ID != 100 {
		t.Fatalf("first update id %d, want 100", u.ID)
	}
	// Raw JSON: the library would add an empty copy_text to the button.
	resp, err := http.Post(s.URL+"/bot"+s.Token+"/sendMessage", "application/json", strings.NewReader(
		`{"chat_id":-4001,"text":"<b>Card</b>","parse_mode":"HTML","reply_markup":{"inline_keyboard":[[{"text":"Going","callback_data":"go"}]]}}`))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("sendMessage: %v %v", resp, err)
	}
	resp.Body.Close()
	if _, err := b.SetMyCommands(ctx, &bot.SetMyCommandsParams{Commands: []models.BotCommand{{Command: "help", Description: "Hilfe"}}, LanguageCode: "de"}); err != nil {
		t.Fatal(err)
	}
	s.SetChatMember(group, bob, models.ChatMemberTypeAdministrator)
	raw, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}

	r := newServer(t)
	if err := r.Restore(raw); err != nil {
		t.Fatal(err)
	}
	before, _ := json.Marshal(s.Messages(group.ID))
	after, _ := json.Marshal(r.Messages(group.ID))
	if string(before) != string(after) || len(r.Messages(group.ID)) != 2 {
		t.Fatalf("messages differ:\n%s\n%s", before, after)
	}
	if cmds := r.MyCommands("de"); len(cmds) != 1 || cmds[0].Description != "Hilfe" {
		t.Fatalf("menu %v", cmds)
	}
	if !r.IsChatAdmin(group.ID, bob.ID) {
		t.Fatal("admin lost")
	}
	if u := r.PushMessage(group, alice, "again"); u.ID != 101 || u.Message.ID != 3 {
		t.Fatalf("after restore: update %d, message %d; want 101 and 3", u.ID, u.Message.ID)
	}
}
