package bottest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
	"github.com/rsvpbot/rsvpbot/bot/bottest"
)

func send(ctx context.Context, b *bot.Bot, chatID int64, text string) error {
	_, err := b.SendMessage(ctx, &bot.SendMessageParams{ChatID: chatID, Text: text})
	return err
}

// retryAfter returns the RetryAfter of a 429, or -1 for any other outcome.
func retryAfter(err error) int {
	var tooMany *bot.TooManyRequestsError
	if errors.As(err, &tooMany) {
		return tooMany.RetryAfter
	}
	return -1
}

func TestPrivateChatLimit(t *testing.T) {
	clock := newFakeClock()
	s := newServer(t, bottest.WithClock(clock.Now), bottest.WithLimits(bottest.Limits{PrivatePerSecond: 1}))
	b := newBot(t, s)
	ctx := ctxT(t)

	if err := send(ctx, b, alice.ID, "1"); err != nil {
		t.Fatal(err)
	}
	err := send(ctx, b, alice.ID, "2")
	if got := retryAfter(err); got != 1 || !strings.Contains(err.Error(), "Too Many Requests: retry after 1") {
		t.Fatalf("second message in the same second: %v", err)
	}
	if err := send(ctx, b, bob.ID, "other chat"); err != nil {
		t.Errorf("the limit is per chat: %v", err)
	}
	if err := send(ctx, b, group.ID, "groups are not private"); err != nil {
		t.Errorf("group: %v", err)
	}
	// Non-sending methods are not limited.
	if _, err := b.GetChat(ctx, &bot.GetChatParams{ChatID: alice.ID}); err != nil {
		t.Errorf("getChat: %v", err)
	}
	// The refused call did not consume budget: one second later exactly one fits.
	clock.Advance(time.Second)
	if err := send(ctx, b, alice.ID, "2 again"); err != nil {
		t.Errorf("after retry_after: %v", err)
	}
	if retryAfter(send(ctx, b, alice.ID, "3")) != 1 {
		t.Error("budget should be spent again")
	}
	sum := s.Summary()
	if sum.TooManyRequests != 2 || sum.Injected["limit"] != 2 || sum.MessagesSent != 4 {
		t.Errorf("summary = %+v", sum)
	}
	if c := s.CallsTo("sendMessage")[1]; c.Status != 429 || c.RetryAfter != 1 || c.Injected != "limit" {
		t.Errorf("recorded 429 = %+v", c)
	}
}

func TestGroupAndGlobalLimits(t *testing.T) {
	clock := newFakeClock()
	s := newServer(t, bottest.WithClock(clock.Now), bottest.WithLimits(bottest.Limits{GroupPerMinute: 20}))
	b := newBot(t, s)
	ctx := ctxT(t)
	for i := range 20 {
		if err := send(ctx, b, group.ID, fmt.Sprint(i)); err != nil {
			t.Fatalf("message %d of the minute's quota: %v", i, err)
		}
	}
	if got := retryAfter(send(ctx, b, group.ID, "21st")); got != 3 {
		t.Errorf("21st message: retry_after %d, want 3 (one slot per 3 s)", got)
	}
	clock.Advance(3 * time.Second)
	if err := send(ctx, b, group.ID, "21st again"); err != nil {
		t.Errorf("after 3 s: %v", err)
	}

	// Global: 2/s with one extra burst slot; changed at run time.
	s.SetLimits(bottest.Limits{GlobalPerSecond: 2, Burst: 1})
	for i := range 3 {
		if err := send(ctx, b, int64(2000+i), "x"); err != nil {
			t.Fatalf("burst message %d: %v", i, err)
		}
	}
	if got := retryAfter(send(ctx, b, 3000, "x")); got != 1 {
		t.Errorf("over the global limit: retry_after %d", got)
	}
}

func TestServerErrorRateWithSeed(t *testing.T) {
	outcomes := func(seed uint64) (string, int) {
		s := newServer(t, bottest.WithSeed(seed), bottest.WithFaults(bottest.Faults{ErrorRate: 0.2}))
		b := newBot(t, s)
		ctx := ctxT(t)
		var trace strings.Builder
		failed := 0
		for i := range 300 {
			err := send(ctx, b, group.ID, fmt.Sprint(i))
			switch {
			case err == nil:
				trace.WriteByte('.')
			case strings.Contains(err.Error(), "500 Internal Server Error") || strings.Contains(err.Error(), "502 Bad Gateway"):
				trace.WriteByte('x')
				failed++
			default:
				t.Fatalf("unexpected error: %v", err)
			}
		}
		// Failed calls had no effect.
		if n := len(s.Messages(group.ID)); n != 300-failed {
			t.Errorf("%d messages visible, want %d", n, 300-failed)
		}
		if got := s.Summary().Injected["error"]; got != failed {
			t.Errorf("summary counts %d injected errors, client saw %d", got, failed)
		}
		return trace.String(), failed
	}
	trace1, failed := outcomes(42)
	if failed < 35 || failed > 85 {
		t.Errorf("%d of 300 calls failed, want about 60", failed)
	}
	if trace2, _ := outcomes(42); trace2 != trace1 {
		t.Error("the same seed gave a different fault sequence")
	}
	if trace3, _ := outcomes(7); trace3 == trace1 {
		t.Error("a different seed gave the same fault sequence")
	}
}

func TestDroppedConnection(t *testing.T) {
	s := newServer(t, bottest.WithFaults(bottest.Faults{DropRate: 1}))
	b := newBot(t, s)
	err := send(ctxT(t), b, alice.ID, "lost")
	if err == nil || !strings.Contains(err.Error(), "error do request") {
		t.Fatalf("dropped connection gave %v, want a transport error", err)
	}
	if len(s.Messages(alice.ID)) != 0 {
		t.Error("a dropped call must have no effect")
	}
	if c := s.CallsTo("sendMessage"); len(c) != 1 || !c[0].Dropped || c[0].Status != 0 {
		t.Errorf("recorded %+v", c)
	}
	// Reads are not subject to random faults.
	if _, err := b.GetMe(ctxT(t)); err != nil {
		t.Errorf("getMe: %v", err)
	}
}

func TestPhantomErrorsAndDuplicates(t *testing.T) {
	s := newServer(t, bottest.WithFaults(bottest.Faults{PhantomErrorRate: 1}))
	b := newBot(t, s)
	ctx := ctxT(t)
	if err := send(ctx, b, alice.ID, "hi "+bottest.SeqTag(1)); err == nil {
		t.Fatal("phantom call should fail")
	}
	s.SetFaults(bottest.Faults{})
	// A naive retry duplicates the message the first attempt already sent.
	for _, n := range []int{1, 3, 2} {
		if err := send(ctx, b, alice.ID, "hi "+bottest.SeqTag(n)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(s.Messages(alice.ID)); n != 4 {
		t.Errorf("%d messages visible, want 4", n)
	}
	sum := s.Summary()
	if sum.Duplicates != 1 || sum.OrderViolations != 1 || sum.ViolationsByChat[alice.ID] != 1 || sum.Injected["phantom"] != 1 {
		t.Errorf("summary = %+v", sum)
	}
	if str := sum.String(); !strings.Contains(str, "duplicates: 1") || !strings.Contains(str, "sendMessage=4") {
		t.Errorf("summary text:\n%s", str)
	}
}

func TestBlockedAndNotStartedUsers(t *testing.T) {
	s := newServer(t)
	b := newBot(t, s)
	ctx := ctxT(t)
	s.BlockUser(alice.ID)
	s.SetNotStarted(bob.ID)
	err := send(ctx, b, alice.ID, "x")
	if !errors.Is(err, bot.ErrorForbidden) || !strings.Contains(err.Error(), "Forbidden: bot was blocked by the user") {
		t.Errorf("blocked: %v", err)
	}
	err = send(ctx, b, bob.ID, "x")
	if !errors.Is(err, bot.ErrorForbidden) || !strings.Contains(err.Error(), "Forbidden: bot can't initiate conversation with a user") {
		t.Errorf("not started: %v", err)
	}
	// Writing to the bot (re)starts it.
	s.PushCommand(bottest.PrivateChat(bob), bob, "/start")
	if err := send(ctx, b, bob.ID, "hello"); err != nil {
		t.Errorf("after /start: %v", err)
	}
	s.UnblockUser(alice.ID)
	if err := send(ctx, b, alice.ID, "hello"); err != nil {
		t.Errorf("after UnblockUser: %v", err)
	}
}

func TestGroupMigration(t *testing.T) {
	s := newServer(t)
	b := newBot(t, s)
	s.AddChat(group)
	const super = -1009876543210
	s.Migrate(group.ID, super)
	err := send(ctxT(t), b, group.ID, "x")
	var migrate *bot.MigrateError
	if !errors.As(err, &migrate) || migrate.MigrateToChatID != super || !strings.Contains(migrate.Message, "Bad Request: group chat was upgraded to a supergroup chat") {
		t.Fatalf("migration: %v", err)
	}
	m, err := b.SendMessage(ctxT(t), &bot.SendMessageParams{ChatID: super, Text: "moved"})
	if err != nil || m.Chat.Type != models.ChatTypeSupergroup || m.Chat.Title != "Board games" {
		t.Errorf("new chat: %+v, %v", m, err)
	}
}

func TestScriptedFaults(t *testing.T) {
	s := newServer(t)
	b := newBot(t, s)
	ctx := ctxT(t)
	s.FailNext(bottest.Fault{Method: "sendmessage", ChatID: alice.ID, Times: 2, Status: http.StatusBadGateway})
	s.FailNext(bottest.Fault{Method: "sendMessage", Status: http.StatusTooManyRequests, RetryAfter: 7})
	s.FailNext(bottest.Fault{Method: "editMessageText", Status: 400, Description: "Bad Request: custom", Apply: true})

	if err := send(ctx, b, bob.ID, "bob first"); retryAfter(err) != 7 {
		t.Errorf("bob: %v, want the unscoped 429", err)
	}
	for i := range 2 {
		if err := send(ctx, b, alice.ID, "x"); err == nil || !strings.Contains(err.Error(), "502 Bad Gateway") {
			t.Errorf("alice attempt %d: %v", i, err)
		}
	}
	m, err := b.SendMessage(ctx, &bot.SendMessageParams{ChatID: alice.ID, Text: "finally"})
	if err != nil {
		t.Fatalf("third attempt: %v", err)
	}
	_, err = b.EditMessageText(ctx, &bot.EditMessageTextParams{ChatID: alice.ID, MessageID: m.ID, Text: "edited"})
	if err == nil || !strings.Contains(err.Error(), "Bad Request: custom") {
		t.Errorf("scripted edit: %v", err)
	}
	if got, _ := s.Message(alice.ID, m.ID); got.Text != "edited" {
		t.Errorf("Apply should perform the edit; chat shows %q", got.Text)
	}
	if got := s.Summary().Injected["scripted"]; got != 4 {
		t.Errorf("scripted faults counted %d, want 4", got)
	}
	// A scripted drop.
	s.FailNext(bottest.Fault{Method: "getMe", Drop: true})
	if _, err := b.GetMe(ctx); err == nil {
		t.Error("scripted drop should fail the call")
	}
}

// Latency faults hold every call for at least their minimum: MinLatency
// to MaxLatency, or a slow tail (SlowRate 1: every call takes SlowLatency
// more).
func TestLatency(t *testing.T) {
	for _, c := range []struct {
		name   string
		faults bottest.Faults
		least  time.Duration
	}{
		{"latency", bottest.Faults{MinLatency: 60 * time.Millisecond, MaxLatency: 80 * time.Millisecond}, 60 * time.Millisecond},
		{"slow tail", bottest.Faults{SlowRate: 1, SlowLatency: 80 * time.Millisecond}, 80 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newServer(t, bottest.WithFaults(c.faults))
			b := newBot(t, s)
			start := time.Now()
			if err := send(ctxT(t), b, alice.ID, "slow"); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d < c.least {
				t.Errorf("call took %v, want at least %v", d, c.least)
			}
		})
	}
}

func TestWaitHonoursContext(t *testing.T) {
	s := newServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.WaitCalls(ctx, "sendMessage", 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitCalls = %v", err)
	}
}
