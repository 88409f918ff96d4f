package bottest

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/go-telegram/bot/models"
	"golang.org/x/time/rate"
)

// Limits are Telegram's flood limits. Zero fields are unlimited; the zero
// Limits (the default) disables flood control. Telegram documents roughly
// 30 messages per second overall, 1 per second per private chat and 20 per
// minute per group.
//
// Limits apply only to the methods that put something into a chat
// (sendMessage, sendDocument, editMessageText, editMessageReplyMarkup,
// pinChatMessage). Reads, getUpdates, sendChatAction, answerCallbackQuery,
// deleteMessage and configuration calls are never limited: in practice
// Telegram counts messages. A call over a limit is
// answered 429 "Too Many Requests: retry after N" with parameters.retry_after
// N (whole seconds, rounded up) and does not consume budget.
//
// Each limit is a token bucket refilled at its rate and holding one
// window's quota (at least 1: 30 for 30/s, 1 for 1/s, 20 for 20/min) plus
// Burst, so a burst at the start is admitted as Telegram does.
type Limits struct {
	GlobalPerSecond  float64
	PrivatePerSecond float64 // per private chat
	GroupPerMinute   float64 // per group, supergroup or channel
	Burst            int
}

// Faults are random failures of calls that put something into a chat (the
// same methods Limits covers). One random draw per call decides among
// DropRate, ErrorRate and PhantomErrorRate, so their sum should stay ≤ 1.
type Faults struct {
	// ErrorRate is the fraction of calls answered 500 or 502 without effect.
	ErrorRate float64
	// PhantomErrorRate is the fraction of calls that take effect (the
	// message is sent) and are answered 500 anyway, as when Telegram times
	// out internally: a client that retries duplicates the message.
	PhantomErrorRate float64
	// DropRate is the fraction of calls whose connection is closed without
	// an answer and without effect.
	DropRate float64
	// MinLatency and MaxLatency delay every call except getUpdates by a
	// uniform random duration in [MinLatency, MaxLatency] (MinLatency alone
	// when MaxLatency is smaller). Latency uses real time.
	MinLatency, MaxLatency time.Duration
	// SlowRate is the fraction of those calls delayed by SlowLatency more:
	// the long tail of a real API, where most calls are quick and a few
	// take seconds.
	SlowRate    float64
	SlowLatency time.Duration
}

// Fault is a scripted answer for the next matching calls, registered with
// FailNext. It wins over everything else except latency.
type Fault struct {
	Method string // method name, case-insensitive; "" matches every method
	ChatID int64  // 0 matches every chat (and calls without chat_id)
	Times  int    // how many matching calls get the fault; 0 means 1

	Status          int    // HTTP status and error_code; 0 means 500
	Description     string // default: Telegram's wording for Status
	RetryAfter      int    // parameters.retry_after; defaults to 1 for 429
	MigrateToChatID int64  // parameters.migrate_to_chat_id
	Drop            bool   // close the connection instead of answering
	Apply           bool   // perform the call first, then fail it (a phantom failure)
}

// SetLimits replaces the flood limits; buckets start full again.
func (s *Server) SetLimits(l Limits) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits = l
	s.limiters = map[int64]*rate.Limiter{}
}

// SetFaults replaces the random fault configuration.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
}

// FailNext scripts the next f.Times calls matching f.Method and f.ChatID.
// Scripted faults are consumed in the order they were registered.
func (s *Server) FailNext(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	if f.Status == 0 {
		f.Status = http.StatusInternalServerError
	}
	if f.Status == http.StatusTooManyRequests && f.RetryAfter == 0 {
		f.RetryAfter = 1
	}
	if f.Description == "" {
		f.Description = describe(f.Status, f.RetryAfter)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scripted = append(s.scripted, &f)
}

// BlockUser makes sending calls to the user's private chat answer 403
// "Forbidden: bot was blocked by the user", until UnblockUser or until the
// user writes to the bot again (a pushed private message).
func (s *Server) BlockUser(userID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blocked[userID] = true
}

// UnblockUser undoes BlockUser.
func (s *Server) UnblockUser(userID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.blocked, userID)
}

// SetNotStarted marks users who never pressed Start: sending calls to their
// private chats answer 403 "Forbidden: bot can't initiate conversation with
// a user" until they write to the bot (a pushed private message).
func (s *Server) SetNotStarted(userIDs ...int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range userIDs {
		s.notStarted[id] = true
	}
}

// Migrate upgrades group from to supergroup to: from then answers every call
// with 400 "Bad Request: group chat was upgraded to a supergroup chat" and
// parameters.migrate_to_chat_id = to.
func (s *Server) Migrate(from, to int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.migrated[from] = to
	old := s.chat(from)
	s.chatWith(models.Chat{ID: to, Type: models.ChatTypeSupergroup, Title: old.chat.Title})
}

func describe(status, retryAfter int) string {
	switch status {
	case http.StatusBadRequest:
		return "Bad Request"
	case http.StatusForbidden:
		return "Forbidden"
	case http.StatusConflict:
		return "Conflict"
	case http.StatusTooManyRequests:
		return fmt.Sprintf("Too Many Requests: retry after %d", retryAfter)
	}
	return http.StatusText(status)
}

func (f *Fault) reply() reply {
	return reply{status: f.Status, desc: f.Description, retryAfter: f.RetryAfter,
		migrateTo: f.MigrateToChatID, drop: f.Drop, injected: "scripted"}
}

// takeScripted consumes one use of the first fault matching the call.
func (s *Server) takeScripted(method string, chatID int64) *Fault {
	for i, f := range s.scripted {
		if (f.Method == "" || strings.EqualFold(f.Method, method)) && (f.ChatID == 0 || f.ChatID == chatID) {
			f.Times--
			if f.Times == 0 {
				s.scripted = append(s.scripted[:i], s.scripted[i+1:]...)
			}
			return f
		}
	}
	return nil
}

func (s *Server) sleepLatency(ctx context.Context) {
	s.mu.Lock()
	d := s.faults.MinLatency
	if spread := s.faults.MaxLatency - d; spread > 0 {
		d += time.Duration(s.rng.Int64N(int64(spread) + 1))
	}
	if s.faults.SlowRate > 0 && s.rng.Float64() < s.faults.SlowRate {
		d += s.faults.SlowLatency
	}
	s.mu.Unlock()
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	case <-s.ctx.Done():
	}
}

// checkFaults decides, under s.mu, whether a call fails before it runs: a
// nil reply means it runs, and phantom that it then answers 500 anyway.
func (s *Server) checkFaults(m method, c *Call) (rep *reply, phantom bool) {
	if to, ok := s.migrated[c.ChatID]; ok && c.ChatID != 0 {
		r := badRequest("group chat was upgraded to a supergroup chat")
		r.migrateTo, r.injected = to, "migrated"
		return &r, false
	}
	if !m.sends {
		return nil, false
	}
	if r := s.checkMembership(c.ChatID); r.status != 0 {
		return &r, false
	}
	if retry := s.checkLimits(c.ChatID); retry > 0 {
		r := fail(http.StatusTooManyRequests, describe(http.StatusTooManyRequests, retry))
		r.retryAfter, r.injected = retry, "limit"
		return &r, false
	}
	f := s.faults
	if f.DropRate+f.ErrorRate+f.PhantomErrorRate <= 0 {
		return nil, false
	}
	switch x := s.rng.Float64(); {
	case x < f.DropRate:
		return &reply{drop: true, injected: "drop"}, false
	case x < f.DropRate+f.ErrorRate:
		if s.rng.IntN(2) == 0 {
			return &reply{status: 500, desc: "Internal Server Error", injected: "error"}, false
		}
		return &reply{status: 502, desc: "Bad Gateway", injected: "error"}, false
	case x < f.DropRate+f.ErrorRate+f.PhantomErrorRate:
		return nil, true
	}
	return nil, false
}

// checkMembership answers 403 where Telegram would refuse to deliver.
func (s *Server) checkMembership(chatID int64) reply {
	if chatID == 0 {
		return reply{}
	}
	cs := s.chat(chatID)
	if cs.chat.Type == models.ChatTypePrivate {
		switch {
		case s.blocked[chatID]:
			return fail(http.StatusForbidden, "Forbidden: bot was blocked by the user")
		case s.notStarted[chatID]:
			return fail(http.StatusForbidden, "Forbidden: bot can't initiate conversation with a user")
		}
		return reply{}
	}
	kind := string(cs.chat.Type)
	if cs.chat.Type == models.ChatTypeGroup || cs.chat.Type == models.ChatTypeSupergroup {
		kind += " chat"
	}
	switch cs.members[s.botUser.ID] {
	case models.ChatMemberTypeBanned:
		return fail(http.StatusForbidden, "Forbidden: bot was kicked from the "+kind)
	case models.ChatMemberTypeLeft:
		return fail(http.StatusForbidden, "Forbidden: bot is not a member of the "+kind)
	}
	return reply{}
}

// checkLimits reserves one token from every applicable bucket and returns 0,
// or returns the seconds to wait and gives the tokens back.
func (s *Server) checkLimits(chatID int64) int {
	l := s.limits
	now := s.now()
	var buckets []*rate.Limiter
	if l.GlobalPerSecond > 0 {
		buckets = append(buckets, s.limiter(0, l.GlobalPerSecond, l.GlobalPerSecond))
	}
	if chatID != 0 {
		if s.chat(chatID).chat.Type == models.ChatTypePrivate {
			if l.PrivatePerSecond > 0 {
				buckets = append(buckets, s.limiter(chatID, l.PrivatePerSecond, l.PrivatePerSecond))
			}
		} else if l.GroupPerMinute > 0 {
			buckets = append(buckets, s.limiter(chatID, l.GroupPerMinute/60, l.GroupPerMinute))
		}
	}
	var wait time.Duration
	reservations := make([]*rate.Reservation, 0, len(buckets))
	for _, b := range buckets {
		r := b.ReserveN(now, 1)
		reservations = append(reservations, r)
		wait = max(wait, r.DelayFrom(now))
	}
	if wait <= 0 {
		return 0
	}
	for _, r := range reservations {
		r.CancelAt(now)
	}
	return max(1, int(math.Ceil(wait.Seconds())))
}

func (s *Server) limiter(key int64, perSecond, quota float64) *rate.Limiter {
	b, ok := s.limiters[key]
	if !ok {
		b = rate.NewLimiter(rate.Limit(perSecond), max(1, int(math.Ceil(quota)))+s.limits.Burst)
		s.limiters[key] = b
	}
	return b
}
