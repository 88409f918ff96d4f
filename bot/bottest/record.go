package bottest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-telegram/bot/models"
)

// Call is one recorded API request and the server's answer. Params and
// Files are shared with the server's log and must not be modified.
type Call struct {
	Seq    int       // 1-based, in the order answers were decided
	Time   time.Time // arrival, on the server's clock
	Method string    // canonical name ("sendMessage"); as requested when unknown
	ChatID int64     // numeric chat_id parameter, 0 if absent

	Params map[string]string // every parameter as text; objects keep their JSON form
	Files  map[string]File   // uploaded files by form field

	Status          int // HTTP status answered; 0 if the connection was dropped
	Description     string
	RetryAfter      int
	MigrateToChatID int64
	Dropped         bool
	// Injected names the fault that produced the answer: "scripted",
	// "limit", "error", "phantom" or "drop"; "" for a genuine answer
	// (including 403s and migrations, which follow configured state).
	Injected  string
	MessageID int // the message sent or edited, if any (also for phantoms)
}

// OK reports whether the call was answered {"ok":true}.
func (c Call) OK() bool { return c.Status == 200 }

// File is an uploaded file.
type File struct {
	Name        string
	ContentType string
	Data        []byte
}

type counters struct {
	byMethod         map[string]int
	byStatus         map[int]int
	injected         map[string]int
	messages         int
	duplicates       int
	violations       map[int64]int
	pushed, filtered int
	webhookDelivered int
	webhookFailed    int
}

func newCounters() counters {
	return counters{byMethod: map[string]int{}, byStatus: map[int]int{}, injected: map[string]int{}, violations: map[int64]int{}}
}

func (s *Server) record(c *Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.Seq = len(s.calls) + 1
	s.calls = append(s.calls, *c)
	s.counts.byMethod[c.Method]++
	s.counts.byStatus[c.Status]++
	if c.Injected != "" {
		s.counts.injected[c.Injected]++
	}
	s.notifyChanged()
}

// notifyChanged wakes Wait; the caller holds s.mu.
func (s *Server) notifyChanged() {
	close(s.changedCh)
	s.changedCh = make(chan struct{})
}

// SeqTag returns a marker to put in message texts (or captions) so the
// server can check delivery order: within a chat, tagged messages must
// arrive with increasing numbers. A number seen again counts as a duplicate,
// a number below the highest seen as an order violation (see Summary).
func SeqTag(n int) string { return "[seq:" + strconv.Itoa(n) + "]" }

// parseSeqTag finds a SeqTag in text.
func parseSeqTag(text string) (int, bool) {
	_, rest, found := strings.Cut(text, "[seq:")
	if !found {
		return 0, false
	}
	num, _, found := strings.Cut(rest, "]")
	n, err := strconv.Atoi(num)
	return n, found && err == nil
}

// noteSent counts a new bot message and checks its sequence tag.
func (s *Server) noteSent(cs *chatState, text string) {
	s.counts.messages++
	n, tagged := parseSeqTag(text)
	if !tagged {
		return
	}
	switch {
	case cs.tags[n]:
		s.counts.duplicates++
	case n < cs.maxTag:
		s.counts.violations[cs.chat.ID]++
	}
	cs.tags[n] = true
	cs.maxTag = max(cs.maxTag, n)
}

// Calls returns every recorded call in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// CallsTo returns the recorded calls of one method (case-insensitive).
func (s *Server) CallsTo(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if strings.EqualFold(c.Method, method) {
			out = append(out, c)
		}
	}
	return out
}

// ResetCalls forgets recorded calls and the Summary counters, e.g. between
// phases of a load run. Chat state and pending updates are kept.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
	s.counts = newCounters()
	for _, cs := range s.chats {
		cs.tags, cs.maxTag = map[int]bool{}, 0
	}
}

// Wait blocks until cond returns true or ctx ends. cond is re-evaluated
// after every recorded call, pushed update and webhook delivery, so it may
// call the Server's accessors (but must not block).
func (s *Server) Wait(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		changed := s.changedCh
		s.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// WaitCalls waits until at least n calls to method were recorded and
// returns all calls to it, e.g. to await a bot's reply to a pushed update.
func (s *Server) WaitCalls(ctx context.Context, method string, n int) ([]Call, error) {
	var calls []Call
	err := s.Wait(ctx, func() bool {
		calls = s.CallsTo(method)
		return len(calls) >= n
	})
	return calls, err
}

// cloneMessage deep-copies a stored message through its wire form, so
// callers can neither race with nor corrupt the server's state.
func cloneMessage(m *models.Message) models.Message {
	raw, _ := json.Marshal(m)
	var out models.Message
	_ = json.Unmarshal(raw, &out)
	return out
}

// Messages returns what a chat currently shows, oldest first: users'
// pushed messages and the bot's messages, with edits applied and deleted
// messages gone. Tell them apart by From.IsBot.
func (s *Server) Messages(chatID int64) []models.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs, ok := s.chats[chatID]
	if !ok {
		return nil
	}
	out := make([]models.Message, 0, len(cs.msgs))
	for _, m := range cs.msgs {
		out = append(out, cloneMessage(m))
	}
	return out
}

// Message returns one message as a chat currently shows it.
func (s *Server) Message(chatID int64, messageID int) (models.Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cs, ok := s.chats[chatID]; ok {
		if m := cs.find(messageID); m != nil {
			return cloneMessage(m), true
		}
	}
	return models.Message{}, false
}

// PinnedMessage returns the id of a chat's pinned message, 0 if none.
func (s *Server) PinnedMessage(chatID int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cs, ok := s.chats[chatID]; ok {
		return cs.pinned
	}
	return 0
}

// File returns an uploaded file by the file_id the server assigned to it
// (Message.Document.FileID).
func (s *Server) File(fileID string) (File, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.files[fileID]
	f.Data = bytes.Clone(f.Data)
	return f, ok
}

// MyCommands returns the commands set for the default scope and a language
// ("" for all languages).
func (s *Server) MyCommands(languageCode string) []models.BotCommand {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.commands[commandsKey("", languageCode)])
}

// Summary condenses what the server saw, for assertions and for the load
// tool's report.
type Summary struct {
	Calls            int
	ByMethod         map[string]int // calls per method
	ByStatus         map[int]int    // answers per HTTP status; 0 counts dropped connections
	Injected         map[string]int // answers per fault kind, see Call.Injected
	TooManyRequests  int            // 429 answers, from Limits or scripted
	MessagesSent     int            // messages created by send calls, phantoms included
	Duplicates       int            // tagged messages repeating a tag in their chat, see SeqTag
	OrderViolations  int            // tagged messages arriving after a higher tag in their chat
	ViolationsByChat map[int64]int
	UpdatesPushed    int
	UpdatesFiltered  int // dropped because allowed_updates excluded their kind
	UpdatesPending   int
	WebhookDelivered int
	WebhookFailed    int
}

// Summary returns the counters since the start or the last ResetCalls.
func (s *Server) Summary() Summary {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.counts
	sum := Summary{Calls: len(s.calls), ByMethod: maps.Clone(c.byMethod), ByStatus: maps.Clone(c.byStatus),
		Injected: maps.Clone(c.injected), TooManyRequests: c.byStatus[429], MessagesSent: c.messages,
		Duplicates: c.duplicates, ViolationsByChat: maps.Clone(c.violations), UpdatesPushed: c.pushed,
		UpdatesFiltered: c.filtered, UpdatesPending: len(s.queue), WebhookDelivered: c.webhookDelivered,
		WebhookFailed: c.webhookFailed}
	for _, n := range c.violations {
		sum.OrderViolations += n
	}
	return sum
}

// String renders the summary as a short multi-line report.
func (sum Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "calls: %d (%s)\n", sum.Calls, joinCounts(sum.ByMethod))
	fmt.Fprintf(&b, "answers: %s; 429s given: %d; injected: %s\n", joinCounts(sum.ByStatus), sum.TooManyRequests, joinCounts(sum.Injected))
	fmt.Fprintf(&b, "messages sent: %d; duplicates: %d; order violations: %d", sum.MessagesSent, sum.Duplicates, sum.OrderViolations)
	if len(sum.ViolationsByChat) > 0 {
		fmt.Fprintf(&b, " (by chat: %s)", joinCounts(sum.ViolationsByChat))
	}
	fmt.Fprintf(&b, "\nupdates: pushed %d, filtered %d, pending %d; webhook deliveries %d, failures %d\n",
		sum.UpdatesPushed, sum.UpdatesFiltered, sum.UpdatesPending, sum.WebhookDelivered, sum.WebhookFailed)
	return b.String()
}

func joinCounts[K int | int64 | string](m map[K]int) string {
	if len(m) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%v=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}
