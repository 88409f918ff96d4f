package bottest_test

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
	"github.com/rsvpbot/rsvpbot/bot/bottest"
)

func TestGetMeThroughClient(t *testing.T) {
	s := newServer(t, bottest.WithToken("777:abc"), bottest.WithBotUsername("rsvp_bot"))
	// Without WithSkipGetMe, bot.New calls getMe with an empty multipart body.
	b, err := bot.New(s.Token, bot.WithServerURL(s.URL))
	if err != nil {
		t.Fatalf("bot.New: %v", err)
	}
	me, err := b.GetMe(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if me.ID != 777 || !me.IsBot || me.Username != "rsvp_bot" {
		t.Errorf("getMe = %+v", me)
	}
	if n := len(s.CallsTo("getMe")); n != 2 {
		t.Errorf("recorded %d getMe calls, want 2", n)
	}
}

func TestBadTokenAndUnknownMethod(t *testing.T) {
	s := newServer(t)
	status, a := rawPost(t, s.URL+"/bot1:wrong/getMe", "application/json", "{}")
	if status != 401 || a.Description != "Unauthorized" {
		t.Errorf("wrong token: %d %q", status, a.Description)
	}
	status, a = rawPost(t, s.URL+"/bot"+s.Token+"/sendTelepathy", "application/json", "{}")
	if status != 404 || a.Description != "Not Found" {
		t.Errorf("unknown method: %d %q", status, a.Description)
	}
	_, err := bot.New("1:wrong", bot.WithServerURL(s.URL))
	if !errors.Is(err, bot.ErrorUnauthorized) {
		t.Errorf("bot.New with a wrong token: %v, want ErrorUnauthorized", err)
	}
}

func TestSendMessageAssignsIDsPerChat(t *testing.T) {
	clock := newFakeClock()
	s := newServer(t, bottest.WithClock(clock.Now))
	b := newBot(t, s)
	ctx := ctxT(t)

	send := func(chatID int64, text string, markup models.ReplyMarkup) *models.Message {
		t.Helper()
		m, err := b.SendMessage(ctx, &bot.SendMessageParams{ChatID: chatID, Text: text, ReplyMarkup: markup})
		if err != nil {
			t.Fatalf("SendMessage(%d, %q): %v", chatID, text, err)
		}
		return m
	}
	a1 := send(alice.ID, "one", nil)
	a2 := send(alice.ID, "two", inlineKeyboard("yes", "no"))
	g1 := send(group.ID, "hello group", nil)
	sg := send(-1001234567890, "hello supergroup", nil)

	if a1.ID != 1 || a2.ID != 2 || g1.ID != 1 || sg.ID != 1 {
		t.Errorf("message ids = %d %d %d %d, want 1 2 1 1", a1.ID, a2.ID, g1.ID, sg.ID)
	}
	if a1.Chat.Type != models.ChatTypePrivate || g1.Chat.Type != models.ChatTypeGroup || sg.Chat.Type != models.ChatTypeSupergroup {
		t.Errorf("chat types = %q %q %q", a1.Chat.Type, g1.Chat.Type, sg.Chat.Type)
	}
	if a1.Date != int(clock.Now().Unix()) || a1.From == nil || !a1.From.IsBot || a1.Text != "one" {
		t.Errorf("message = %+v", a1)
	}
	if a2.ReplyMarkup == nil || a2.ReplyMarkup.InlineKeyboard[0][1].CallbackData != "no" {
		t.Errorf("reply_markup not echoed: %+v", a2.ReplyMarkup)
	}
	// A user's message takes the chat's next id, as in Telegram.
	if u := s.PushMessage(bottest.PrivateChat(alice), alice, "hi"); u.Message.ID != 3 {
		t.Errorf("pushed message id = %d, want 3", u.Message.ID)
	}
	msgs := s.Messages(alice.ID)
	if len(msgs) != 3 || msgs[1].Text != "two" || msgs[2].From.ID != alice.ID {
		t.Fatalf("Messages = %+v", msgs)
	}
	calls := s.CallsTo("sendMessage")
	if len(calls) != 4 || calls[1].ChatID != alice.ID || calls[1].Params["text"] != "two" ||
		!strings.Contains(calls[1].Params["reply_markup"], `"callback_data":"yes"`) || calls[1].MessageID != 2 || !calls[1].OK() {
		t.Errorf("recorded call = %+v", calls[1])
	}
}

func TestEditMessageText(t *testing.T) {
	s := newServer(t)
	b := newBot(t, s)
	ctx := ctxT(t)
	m, err := b.SendMessage(ctx, &bot.SendMessageParams{ChatID: alice.ID, Text: "Party?", ReplyMarkup: inlineKeyboard("yes")})
	if err != nil {
		t.Fatal(err)
	}
	edit := func(text string, markup models.ReplyMarkup) error {
		_, err := b.EditMessageText(ctx, &bot.EditMessageTextParams{ChatID: alice.ID, MessageID: m.ID, Text: text, ReplyMarkup: markup})
		return err
	}
	if err := edit("Party? 1 going", inlineKeyboard("yes")); err != nil {
		t.Fatalf("edit: %v", err)
	}
	err = edit("Party? 1 going", inlineKeyboard("yes"))
	if !errors.Is(err, bot.ErrorBadRequest) || !strings.Contains(err.Error(), "message is not modified: specified new message content and reply markup are exactly the same") {
		t.Errorf("identical edit: %v", err)
	}
	if err := edit("Party? 1 going", inlineKeyboard("yes", "no")); err != nil {
		t.Errorf("changing only the keyboard must be allowed: %v", err)
	}
	if err := edit("Party? 1 going", nil); err != nil { // drops the keyboard
		t.Errorf("removing the keyboard: %v", err)
	}
	got, _ := s.Message(alice.ID, m.ID)
	if got.Text != "Party? 1 going" || got.ReplyMarkup != nil || got.EditDate == 0 {
		t.Errorf("chat shows %+v", got)
	}
	_, err = b.EditMessageText(ctx, &bot.EditMessageTextParams{ChatID: alice.ID, MessageID: 99, Text: "x"})
	if err == nil || !strings.Contains(err.Error(), "Bad Request: message to edit not found") {
		t.Errorf("unknown message: %v", err)
	}

	// editMessageReplyMarkup, and a user's message cannot be edited.
	if _, err := b.EditMessageReplyMarkup(ctx, &bot.EditMessageReplyMarkupParams{ChatID: alice.ID, MessageID: m.ID, ReplyMarkup: inlineKeyboard("maybe")}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Message(alice.ID, m.ID); got.ReplyMarkup == nil || got.ReplyMarkup.InlineKeyboard[0][0].CallbackData != "maybe" {
		t.Errorf("markup after edit: %+v", got.ReplyMarkup)
	}
	if _, err := b.EditMessageReplyMarkup(ctx, &bot.EditMessageReplyMarkupParams{ChatID: alice.ID, MessageID: m.ID, ReplyMarkup: inlineKeyboard("maybe")}); err == nil || !strings.Contains(err.Error(), "message is not modified") {
		t.Errorf("identical markup: %v", err)
	}
	u := s.PushMessage(bottest.PrivateChat(alice), alice, "mine")
	if err := func() error {
		_, err := b.EditMessageText(ctx, &bot.EditMessageTextParams{ChatID: alice.ID, MessageID: u.Message.ID, Text: "x"})
		return err
	}(); err == nil || !strings.Contains(err.Error(), "message can't be edited") {
		t.Errorf("editing a user's message: %v", err)
	}
}

func TestDeleteAndPin(t *testing.T) {
	s := newServer(t)
	b := newBot(t, s)
	ctx := ctxT(t)
	s.AddChat(group)
	m1, _ := b.SendMessage(ctx, &bot.SendMessageParams{ChatID: group.ID, Text: "a"})
	m2, _ := b.SendMessage(ctx, &bot.SendMessageParams{ChatID: group.ID, Text: "b"})
	if _, err := b.PinChatMessage(ctx, &bot.PinChatMessageParams{ChatID: group.ID, MessageID: m2.ID}); err != nil {
		t.Fatal(err)
	}
	if s.PinnedMessage(group.ID) != m2.ID {
		t.Errorf("pinned = %d", s.PinnedMessage(group.ID))
	}
	chat, err := b.GetChat(ctx, &bot.GetChatParams{ChatID: group.ID})
	if err != nil || chat.PinnedMessage == nil || chat.PinnedMessage.Text != "b" || chat.Type != models.ChatTypeGroup || chat.Title != "Board games" {
		t.Errorf("getChat = %+v, %v", chat, err)
	}
	if _, err := b.DeleteMessage(ctx, &bot.DeleteMessageParams{ChatID: group.ID, MessageID: m1.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.DeleteMessage(ctx, &bot.DeleteMessageParams{ChatID: group.ID, MessageID: m1.ID}); err == nil || !strings.Contains(err.Error(), "message to delete not found") {
		t.Errorf("second delete: %v", err)
	}
	if msgs := s.Messages(group.ID); len(msgs) != 1 || msgs[0].ID != m2.ID {
		t.Errorf("Messages after delete = %+v", msgs)
	}
}

func TestSendDocumentRecordsUpload(t *testing.T) {
	s := newServer(t)
	b := newBot(t, s)
	data := []byte("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
	m, err := b.SendDocument(ctxT(t), &bot.SendDocumentParams{
		ChatID:   alice.ID,
		Document: &models.InputFileUpload{Filename: "event.ics", Data: bytes.NewReader(data)},
		Caption:  "<b>Calendar</b>", ParseMode: models.ParseModeHTML,
	})
	if err != nil {
		t.Fatal(err)
	}
	if m.Document == nil || m.Document.FileName != "event.ics" || m.Document.FileSize != int64(len(data)) || m.Caption != "Calendar" {
		t.Fatalf("message = %+v, document %+v", m, m.Document)
	}
	if len(m.CaptionEntities) != 1 || m.CaptionEntities[0].Type != models.MessageEntityTypeBold || m.CaptionEntities[0].Length != 8 {
		t.Errorf("caption entities = %+v", m.CaptionEntities)
	}
	f, ok := s.File(m.Document.FileID)
	if !ok || f.Name != "event.ics" || !bytes.Equal(f.Data, data) {
		t.Errorf("File = %+v, %v", f, ok)
	}
	call := s.CallsTo("sendDocument")[0]
	if up := call.Files["document"]; up.Name != "event.ics" || !bytes.Equal(up.Data, data) {
		t.Errorf("recorded upload = %+v", up)
	}
	// Re-sending by file_id reuses the file.
	m2, err := b.SendDocument(ctxT(t), &bot.SendDocumentParams{ChatID: bob.ID, Document: &models.InputFileString{Data: m.Document.FileID}})
	if err != nil || m2.Document.FileID != m.Document.FileID || m2.Document.FileName != "event.ics" {
		t.Errorf("resend by file_id: %+v, %v", m2, err)
	}
}

func TestHTMLParseMode(t *testing.T) {
	s := newServer(t)
	b := newBot(t, s)
	ctx := ctxT(t)
	m, err := b.SendMessage(ctx, &bot.SendMessageParams{ChatID: alice.ID, ParseMode: models.ParseModeHTML,
		Text: `<b>Game night</b> by &lt;Ann&gt; <a href="https://x.test/?a=1&amp;b=2">link</a> 🎲<i>!</i>`})
	if err != nil {
		t.Fatal(err)
	}
	if m.Text != "Game night by <Ann> link 🎲!" {
		t.Errorf("text = %q", m.Text)
	}
	want := []models.MessageEntity{
		{Type: models.MessageEntityTypeBold, Offset: 0, Length: 10},
		{Type: models.MessageEntityTypeTextLink, Offset: 20, Length: 4, URL: "https://x.test/?a=1&b=2"},
		{Type: models.MessageEntityTypeItalic, Offset: 27, Length: 1}, // 🎲 is two UTF-16 units
	}
	if len(m.Entities) != len(want) {
		t.Fatalf("entities = %+v", m.Entities)
	}
	for i := range want {
		if m.Entities[i] != want[i] {
			t.Errorf("entity %d = %+v, want %+v", i, m.Entities[i], want[i])
		}
	}
	for _, bad := range []string{"<b>open", "a < b", "<b>x</i>", "<blink>x</blink>"} {
		_, err := b.SendMessage(ctx, &bot.SendMessageParams{ChatID: alice.ID, Text: bad, ParseMode: models.ParseModeHTML})
		if !errors.Is(err, bot.ErrorBadRequest) || !strings.Contains(err.Error(), "can't parse entities") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	// Same rendered text and entities is "not modified", however spelled.
	_, err = b.EditMessageText(ctx, &bot.EditMessageTextParams{ChatID: alice.ID, MessageID: m.ID, ParseMode: models.ParseModeHTML,
		Text: `<strong>Game night</strong> by &#60;Ann&gt; <a href='https://x.test/?a=1&amp;b=2'>link</a> 🎲<em>!</em>`})
	if err == nil || !strings.Contains(err.Error(), "not modified") {
		t.Errorf("equivalent HTML edit: %v", err)
	}
}

func TestCallbackQueryAnswer(t *testing.T) {
	s := newServer(t)
	b := newBot(t, s)
	ctx := ctxT(t)
	m, _ := b.SendMessage(ctx, &bot.SendMessageParams{ChatID: group.ID, Text: "Coming?", ReplyMarkup: inlineKeyboard("rsvp:yes")})
	u := s.PushCallback(group, bob, m.ID, "rsvp:yes")
	cq := u.CallbackQuery
	if cq == nil || cq.ID == "" || cq.From.ID != bob.ID || cq.Data != "rsvp:yes" || cq.Message.Message == nil ||
		cq.Message.Message.Text != "Coming?" || cq.Message.Message.Chat.ID != group.ID {
		t.Fatalf("callback update = %+v", cq)
	}
	if ok, err := b.AnswerCallbackQuery(ctx, &bot.AnswerCallbackQueryParams{CallbackQueryID: cq.ID, Text: "Noted"}); err != nil || !ok {
		t.Fatalf("answer: %v %v", ok, err)
	}
	if _, err := b.AnswerCallbackQuery(ctx, &bot.AnswerCallbackQueryParams{CallbackQueryID: cq.ID}); err == nil || !strings.Contains(err.Error(), "query is too old") {
		t.Errorf("second answer: %v", err)
	}
	if u := s.PushCallback(group, bob, 42, "x"); u.CallbackQuery.Message.InaccessibleMessage == nil {
		t.Errorf("callback on a missing message should carry an inaccessible message: %+v", u.CallbackQuery.Message)
	}
}

func TestCommandsPerLanguage(t *testing.T) {
	s := newServer(t)
	b := newBot(t, s)
	ctx := ctxT(t)
	en := []models.BotCommand{{Command: "event", Description: "Create an event"}}
	de := []models.BotCommand{{Command: "event", Description: "Termin anlegen"}, {Command: "help", Description: "Hilfe"}}
	if _, err := b.SetMyCommands(ctx, &bot.SetMyCommandsParams{Commands: en}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.SetMyCommands(ctx, &bot.SetMyCommandsParams{Commands: de, LanguageCode: "de", Scope: &models.BotCommandScopeDefault{}}); err != nil {
		t.Fatal(err)
	}
	got, err := b.GetMyCommands(ctx, &bot.GetMyCommandsParams{LanguageCode: "de"})
	if err != nil || len(got) != 2 || got[0].Description != "Termin anlegen" {
		t.Errorf("getMyCommands(de) = %+v, %v", got, err)
	}
	if got := s.MyCommands(""); len(got) != 1 || got[0].Description != "Create an event" {
		t.Errorf("MyCommands(\"\") = %+v", got)
	}
	if got := s.MyCommands("fr"); len(got) != 0 {
		t.Errorf("MyCommands(fr) = %+v", got)
	}
	_, err = b.SetMyCommands(ctx, &bot.SetMyCommandsParams{Commands: []models.BotCommand{{Command: "Bad-Cmd", Description: "x"}}})
	if err == nil || !strings.Contains(err.Error(), "BOT_COMMAND_INVALID") {
		t.Errorf("invalid command: %v", err)
	}
}

func TestChatMembers(t *testing.T) {
	s := newServer(t)
	b := newBot(t, s)
	ctx := ctxT(t)
	s.SetChatMember(group, alice, models.ChatMemberTypeOwner)
	s.SetChatMember(group, s.Bot(), models.ChatMemberTypeAdministrator)
	s.PushMessage(group, bob, "hi") // bob becomes a member by writing

	admins, err := b.GetChatAdministrators(ctx, &bot.GetChatAdministratorsParams{ChatID: group.ID})
	if err != nil || len(admins) != 2 {
		t.Fatalf("admins = %+v, %v", admins, err)
	}
	if admins[0].Type != models.ChatMemberTypeOwner || admins[0].Owner.User.ID != alice.ID ||
		admins[1].Type != models.ChatMemberTypeAdministrator || admins[1].Administrator.User.ID != s.Bot().ID {
		t.Errorf("admins = %+v %+v", admins[0], admins[1])
	}
	for user, want := range map[int64]models.ChatMemberType{alice.ID: "creator", bob.ID: "member", 5555: "left"} {
		m, err := b.GetChatMember(ctx, &bot.GetChatMemberParams{ChatID: group.ID, UserID: user})
		if err != nil || m.Type != want {
			t.Errorf("getChatMember(%d) = %+v, %v; want %s", user, m, err, want)
		}
	}
	if _, err := b.GetChatAdministrators(ctx, &bot.GetChatAdministratorsParams{ChatID: alice.ID}); err == nil {
		t.Error("private chats have no administrators")
	}
}

func TestJSONAndURLEncodedBodies(t *testing.T) {
	s := newServer(t)
	// JSON: nested objects arrive as objects, numbers as numbers.
	status, a := callJSON(t, s, "sendMessage", map[string]any{"chat_id": group.ID, "text": "json",
		"reply_markup": map[string]any{"inline_keyboard": [][]map[string]string{{{"text": "Go", "callback_data": "go"}}}}})
	if status != 200 || !strings.Contains(string(a.Result), `"callback_data":"go"`) {
		t.Fatalf("JSON sendMessage: %d %s %s", status, a.Description, a.Result)
	}
	form := url.Values{"chat_id": {"-4001"}, "text": {"form"}}
	status, a = rawPost(t, s.URL+"/bot"+s.Token+"/SENDMESSAGE", "application/x-www-form-urlencoded", form.Encode())
	if status != 200 || !strings.Contains(string(a.Result), `"message_id":2`) {
		t.Fatalf("form sendMessage: %d %s %s", status, a.Description, a.Result)
	}
	if calls := s.CallsTo("sendMessage"); len(calls) != 2 || calls[1].Method != "sendMessage" {
		t.Errorf("method names are case-insensitive and recorded canonically: %+v", calls)
	}
	status, a = callJSON(t, s, "sendMessage", map[string]any{"text": "no chat"})
	if status != 400 || a.Description != "Bad Request: chat_id is empty" {
		t.Errorf("missing chat_id: %d %q", status, a.Description)
	}
	status, a = callJSON(t, s, "sendMessage", map[string]any{"chat_id": 1, "text": "x",
		"reply_markup": map[string]any{"inline_keyboard": [][]map[string]string{{{"text": "x", "callback_data": strings.Repeat("d", 65)}}}}})
	if status != 400 || a.Description != "Bad Request: BUTTON_DATA_INVALID" {
		t.Errorf("65-byte callback_data: %d %q", status, a.Description)
	}
}

func TestUnstartedServerAsHandler(t *testing.T) {
	s := bottest.NewUnstartedServer(bottest.WithToken("42:handler"))
	defer s.Close()
	if s.URL != "" {
		t.Fatalf("URL = %q before Start", s.URL)
	}
	srv := httptest.NewServer(s) // as the standalone emulator mounts it
	defer srv.Close()
	b, err := bot.New("42:handler", bot.WithServerURL(srv.URL))
	if err != nil {
		t.Fatalf("bot.New through the handler: %v", err)
	}
	if _, err := b.SendMessage(ctxT(t), &bot.SendMessageParams{ChatID: alice.ID, Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	if len(s.Messages(alice.ID)) != 1 {
		t.Error("message not recorded")
	}
}

// Text is checked as Telegram checks it, after parse_mode: blank text and
// text over 4,096 UTF-16 units are refused by sendMessage and
// editMessageText alike, a caption over 1,024 by sendDocument, and a
// user's message cannot be edited whatever the edit.
func TestTextLimitsAsTelegram(t *testing.T) {
	s := newServer(t)
	call := func(method string, params map[string]any) string {
		t.Helper()
		status, a := callJSON(t, s, method, params)
		if status == 200 {
			return ""
		}
		return a.Description
	}
	send := func(text string) string {
		return call("sendMessage", map[string]any{"chat_id": group.ID, "text": text, "parse_mode": "HTML"})
	}
	full := strings.Repeat("😀", 2048) // 4,096 UTF-16 units in 2,048 runes
	if got := send("<b>" + full + "</b>"); got != "" {
		t.Fatalf("4,096 units: %q", got)
	}
	for text, want := range map[string]string{
		full + "x":               "Bad Request: message is too long",
		"<b> </b>\n":             "Bad Request: message text is empty",
		"<b>x":                   `Bad Request: can't parse entities: Can't find end tag corresponding to start tag "b"`,
		full[:4] + "&lt;" + full: "Bad Request: message is too long",
	} {
		if got := send(text); got != want {
			t.Errorf("sendMessage(%.20q…) = %q, want %q", text, got, want)
		}
	}
	edit := func(id int, text string) string {
		return call("editMessageText", map[string]any{"chat_id": group.ID, "message_id": id, "text": text})
	}
	if got := edit(1, full+"x"); got != "Bad Request: message is too long" {
		t.Errorf("long edit: %q", got)
	}
	if got := edit(1, " "); got != "Bad Request: message text is empty" {
		t.Errorf("blank edit: %q", got)
	}
	if got := edit(1, "shorter"); got != "" {
		t.Errorf("edit: %q", got)
	}
	u := s.PushMessage(group, alice, "mine")
	if got := edit(u.Message.ID, "x"); got != "Bad Request: message can't be edited" {
		t.Errorf("editing a user's message: %q", got)
	}
	if got := call("editMessageReplyMarkup", map[string]any{"chat_id": group.ID, "message_id": u.Message.ID,
		"reply_markup": map[string]any{"inline_keyboard": [][]map[string]string{{{"text": "Go", "callback_data": "go"}}}}}); got != "Bad Request: message can't be edited" {
		t.Errorf("editing a user's keyboard: %q", got)
	}
	doc := func(caption string) string {
		return call("sendDocument", map[string]any{"chat_id": group.ID, "document": "https://x.test/a.ics", "caption": caption})
	}
	if got := doc(strings.Repeat("é", 1024)); got != "" {
		t.Errorf("1,024-unit caption: %q", got)
	}
	if got := doc(strings.Repeat("é", 1025)); got != "Bad Request: message caption is too long" {
		t.Errorf("long caption: %q", got)
	}
}
