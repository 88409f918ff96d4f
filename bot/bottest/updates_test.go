package bottest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
	"github.com/rsvpbot/rsvpbot/bot/bottest"
)

func TestGetUpdatesOffsetForgets(t *testing.T) {
	s := newServer(t)
	for _, text := range []string{"a", "b", "c"} {
		s.PushMessage(bottest.PrivateChat(alice), alice, text)
	}
	if ids := updateIDs(getUpdates(t, s, map[string]any{})); !slices.Equal(ids, []int64{1, 2, 3}) {
		t.Fatalf("ids = %v", ids)
	}
	// Without an offset nothing is confirmed.
	if ids := updateIDs(getUpdates(t, s, map[string]any{"limit": 2})); !slices.Equal(ids, []int64{1, 2}) {
		t.Fatalf("limit 2: ids = %v", ids)
	}
	if ids := updateIDs(getUpdates(t, s, map[string]any{"offset": 2})); !slices.Equal(ids, []int64{2, 3}) {
		t.Fatalf("offset 2: ids = %v", ids)
	}
	// Update 1 is gone for good, even without an offset.
	if ids := updateIDs(getUpdates(t, s, map[string]any{})); !slices.Equal(ids, []int64{2, 3}) {
		t.Fatalf("after offset 2: ids = %v", ids)
	}
	if ids := updateIDs(getUpdates(t, s, map[string]any{"offset": 4})); len(ids) != 0 || s.PendingUpdates() != 0 {
		t.Fatalf("offset 4: ids = %v, pending %d", ids, s.PendingUpdates())
	}
	u := s.PushCommand(group, bob, "event Friday")
	ups := getUpdates(t, s, map[string]any{"offset": 4})
	if len(ups) != 1 || ups[0].ID != 4 || ups[0].Message.Text != "/event Friday" || ups[0].Message.From.ID != bob.ID ||
		ups[0].Message.Chat.Type != models.ChatTypeGroup || len(ups[0].Message.Entities) != 1 ||
		ups[0].Message.Entities[0] != (models.MessageEntity{Type: models.MessageEntityTypeBotCommand, Length: 6}) {
		t.Fatalf("command update = %+v (pushed %+v)", ups, u.Message)
	}
}

func TestLongPollBlocksUntilPush(t *testing.T) {
	s := newServer(t)
	done := make(chan []models.Update)
	go func() {
		ups, a, err := poll(s, map[string]any{"timeout": 5})
		if err != nil || !a.OK {
			t.Errorf("long poll: %v %+v", err, a)
		}
		done <- ups
	}()
	select {
	case ups := <-done:
		t.Fatalf("long poll returned early with %v", ups)
	case <-time.After(200 * time.Millisecond):
	}
	start := time.Now()
	s.PushMessage(bottest.PrivateChat(alice), alice, "wake up")
	select {
	case ups := <-done:
		if len(ups) != 1 || ups[0].Message.Text != "wake up" {
			t.Fatalf("updates = %+v", ups)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("poll took %v after the push", d)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("long poll did not return after a push")
	}
}

func TestLongPollTimesOut(t *testing.T) {
	s := newServer(t)
	start := time.Now()
	ups := getUpdates(t, s, map[string]any{"timeout": 1})
	if d := time.Since(start); len(ups) != 0 || d < 900*time.Millisecond || d > 3*time.Second {
		t.Errorf("got %v after %v, want nothing after ~1s", ups, d)
	}
}

func TestNewerPollTerminatesOlder(t *testing.T) {
	s := newServer(t)
	first := make(chan apiAnswer)
	go func() {
		_, a, err := poll(s, map[string]any{"timeout": 5})
		if err != nil {
			t.Errorf("older poll: %v", err)
		}
		first <- a
	}()
	time.Sleep(100 * time.Millisecond)
	getUpdates(t, s, map[string]any{}) // a second bot instance
	select {
	case a := <-first:
		if a.ErrorCode != 409 || a.Description != "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running" {
			t.Errorf("older poll answered %+v", a)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("older poll not terminated")
	}
}

func TestAllowedUpdates(t *testing.T) {
	s := newServer(t)
	chatMember := models.Update{ChatMember: &models.ChatMemberUpdated{Chat: group, From: alice,
		OldChatMember: models.ChatMember{Type: models.ChatMemberTypeLeft, Left: &models.ChatMemberLeft{User: &alice}},
		NewChatMember: models.ChatMember{Type: models.ChatMemberTypeMember, Member: &models.ChatMemberMember{User: &alice}}}}
	s.PushUpdate(chatMember) // withheld by default, like Telegram
	s.PushMyChatMember(group, alice, models.ChatMemberTypeLeft, models.ChatMemberTypeMember)
	ups := getUpdates(t, s, map[string]any{"allowed_updates": []string{"message", "chat_member"}})
	if len(ups) != 1 || ups[0].MyChatMember == nil || ups[0].MyChatMember.NewChatMember.Type != models.ChatMemberTypeMember {
		t.Fatalf("default filter: %+v", ups)
	}
	// The list given with the last poll now applies: my_chat_member is out, chat_member in.
	s.PushMyChatMember(group, alice, models.ChatMemberTypeMember, models.ChatMemberTypeAdministrator)
	s.PushUpdate(chatMember)
	ups = getUpdates(t, s, map[string]any{"offset": ups[0].ID + 1})
	if len(ups) != 1 || ups[0].ChatMember == nil {
		t.Fatalf("explicit filter: %+v", ups)
	}
	if sum := s.Summary(); sum.UpdatesPushed != 4 || sum.UpdatesFiltered != 2 {
		t.Errorf("summary: %+v", sum)
	}
}

func TestBotLibraryPollsAndReplies(t *testing.T) {
	s := newServer(t)
	b := newBot(t, s, bot.WithDefaultHandler(func(ctx context.Context, b *bot.Bot, u *models.Update) {
		if u.Message != nil {
			_, _ = b.SendMessage(ctx, &bot.SendMessageParams{ChatID: u.Message.Chat.ID, Text: "echo: " + u.Message.Text})
		}
	}))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); b.Start(ctx) }()
	defer func() { cancel(); wg.Wait() }()

	s.PushCommand(bottest.PrivateChat(alice), alice, "/start")
	s.PushMessage(group, bob, "hello")
	wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer wcancel()
	if _, err := s.WaitCalls(wctx, "sendMessage", 2); err != nil {
		t.Fatalf("bot did not reply: %v; calls %+v", err, s.Calls())
	}
	if msgs := s.Messages(alice.ID); len(msgs) != 2 || msgs[1].Text != "echo: /start" || !msgs[1].From.IsBot {
		t.Errorf("alice's chat shows %+v", msgs)
	}
	if msgs := s.Messages(group.ID); len(msgs) != 2 || msgs[1].Text != "echo: hello" {
		t.Errorf("group shows %+v", msgs)
	}
	// The library confirms with the next poll's offset.
	if err := s.Wait(wctx, func() bool { return s.PendingUpdates() == 0 }); err != nil {
		t.Errorf("updates never confirmed: %d pending", s.PendingUpdates())
	}
}

func TestWebhookConflictAndDelivery(t *testing.T) {
	s := newServer(t)
	type delivery struct {
		secret string
		update models.Update
	}
	got := make(chan delivery, 10)
	var mu sync.Mutex
	failures := 1 // answer the first attempt 500: it must be redelivered
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var u models.Update
		if err := json.Unmarshal(body, &u); err != nil || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("webhook body %q: %v", body, err)
		}
		got <- delivery{r.Header.Get("X-Telegram-Bot-Api-Secret-Token"), u}
		mu.Lock()
		defer mu.Unlock()
		if failures > 0 {
			failures--
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer hook.Close()

	b := newBot(t, s)
	ctx := ctxT(t)
	if ok, err := b.SetWebhook(ctx, &bot.SetWebhookParams{URL: hook.URL, SecretToken: "s3cr3t"}); err != nil || !ok {
		t.Fatalf("setWebhook: %v %v", ok, err)
	}
	status, a := callJSON(t, s, "getUpdates", map[string]any{})
	if status != 409 || a.Description != "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first" {
		t.Errorf("getUpdates with webhook: %d %q", status, a.Description)
	}

	s.PushMessage(bottest.PrivateChat(alice), alice, "first")
	s.PushMessage(bottest.PrivateChat(alice), alice, "second")
	var texts []string
	for range 3 {
		select {
		case d := <-got:
			if d.secret != "s3cr3t" {
				t.Errorf("secret header = %q", d.secret)
			}
			texts = append(texts, d.update.Message.Text)
		case <-time.After(3 * time.Second):
			t.Fatalf("webhook deliveries so far: %v", texts)
		}
	}
	if !slices.Equal(texts, []string{"first", "first", "second"}) {
		t.Errorf("deliveries = %v, want the failed one retried first", texts)
	}
	if err := s.Wait(ctx, func() bool { return s.PendingUpdates() == 0 }); err != nil {
		t.Fatal("delivered updates not forgotten")
	}
	info, err := b.GetWebhookInfo(ctx)
	if err != nil || info.URL != hook.URL || info.PendingUpdateCount != 0 || info.LastErrorMessage == "" || info.LastErrorDate == 0 {
		t.Errorf("webhook info = %+v, %v", info, err)
	}

	if _, err := b.DeleteWebhook(ctx, &bot.DeleteWebhookParams{}); err != nil {
		t.Fatal(err)
	}
	s.PushMessage(bottest.PrivateChat(alice), alice, "third")
	if ups := getUpdates(t, s, map[string]any{}); len(ups) != 1 || ups[0].Message.Text != "third" {
		t.Errorf("after deleteWebhook: %+v", ups)
	}
	select {
	case d := <-got:
		t.Errorf("delivered after deleteWebhook: %+v", d)
	default:
	}
}

func TestPushMyChatMemberBlocksInPrivate(t *testing.T) {
	s := newServer(t)
	b := newBot(t, s)
	ctx := ctxT(t)
	s.PushMyChatMember(bottest.PrivateChat(alice), alice, models.ChatMemberTypeMember, models.ChatMemberTypeBanned)
	_, err := b.SendMessage(ctx, &bot.SendMessageParams{ChatID: alice.ID, Text: "still there?"})
	if err == nil || err.Error() != "forbidden, Forbidden: bot was blocked by the user" {
		t.Errorf("after the user blocked the bot: %v", err)
	}
	s.PushMyChatMember(bottest.PrivateChat(alice), alice, models.ChatMemberTypeBanned, models.ChatMemberTypeMember)
	if _, err := b.SendMessage(ctx, &bot.SendMessageParams{ChatID: alice.ID, Text: "welcome back"}); err != nil {
		t.Errorf("after unblocking: %v", err)
	}
	s.PushMyChatMember(group, alice, models.ChatMemberTypeMember, models.ChatMemberTypeBanned)
	_, err = b.SendMessage(ctx, &bot.SendMessageParams{ChatID: group.ID, Text: "hello?"})
	if err == nil || err.Error() != "forbidden, Forbidden: bot was kicked from the group chat" {
		t.Errorf("after being kicked: %v", err)
	}
}

// With max_connections above 1 the webhook gets several chats' updates at
// once, up to that many, but a chat's next update only after the answer
// to the one before: each chat's order holds.
func TestWebhookConcurrentDeliveryKeepsChatOrder(t *testing.T) {
	s := newServer(t)
	var mu sync.Mutex
	inflight, most := 0, 0
	chatBusy := map[int64]bool{}
	seen := map[int64][]string{}
	total := 0
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var u models.Update
		_ = json.NewDecoder(r.Body).Decode(&u)
		chat := u.Message.Chat.ID
		mu.Lock()
		if chatBusy[chat] {
			t.Errorf("two deliveries of chat %d at once", chat)
		}
		chatBusy[chat] = true
		inflight++
		most = max(most, inflight)
		mu.Unlock()
		time.Sleep(5 * time.Millisecond)
		mu.Lock()
		inflight--
		chatBusy[chat] = false
		seen[chat] = append(seen[chat], u.Message.Text)
		total++
		mu.Unlock()
	}))
	defer hook.Close()
	b := newBot(t, s)
	ctx := ctxT(t)
	if ok, err := b.SetWebhook(ctx, &bot.SetWebhookParams{URL: hook.URL, MaxConnections: 3}); err != nil || !ok {
		t.Fatalf("setWebhook: %v %v", ok, err)
	}
	users := []models.User{{ID: 1, FirstName: "A"}, {ID: 2, FirstName: "B"}, {ID: 3, FirstName: "C"}, {ID: 4, FirstName: "D"}, {ID: 5, FirstName: "E"}}
	for i := range 10 {
		for _, u := range users {
			s.PushMessage(bottest.PrivateChat(u), u, fmt.Sprint(i))
		}
	}
	if err := s.Wait(ctx, func() bool { return s.PendingUpdates() == 0 }); err != nil {
		t.Fatalf("%d updates never delivered", s.PendingUpdates())
	}
	mu.Lock()
	defer mu.Unlock()
	if most < 2 || most > 3 {
		t.Errorf("at most %d deliveries at once; want 2..3 with max_connections 3", most)
	}
	for _, u := range users {
		want := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
		if !slices.Equal(seen[u.ID], want) {
			t.Errorf("chat %d got %v, want %v", u.ID, seen[u.ID], want)
		}
	}
}
