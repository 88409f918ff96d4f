package emu

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
)

// Emulator is a bottest.Server plus what a standalone emulator adds: the
// forbidden users, timed migrations and the control API. It is an
// http.Handler: the Bot API at /bot<token>/<method>, the control API under
// /_emu/.
type Emulator struct {
	// Fake is the underlying fake; in-process callers (rsvpload) push
	// updates and read calls through it directly.
	Fake *bottest.Server

	cfg   Config
	start time.Time
	mux   *http.ServeMux

	mu       sync.Mutex
	migrated []Migration // applied so far, for the summary
	chaos    chaosState  // see chaos.go
}

// New builds an emulator; it does not listen (mount it on a server) and
// timed migrations start with Run. Close it when done.
func New(cfg Config) (*Emulator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	opts := []bottest.Option{bottest.WithToken(cfg.Token), bottest.WithSeed(cfg.Seed),
		bottest.WithLimits(cfg.Limits), bottest.WithFaults(cfg.Faults), bottest.WithFirstUpdateID(cfg.FirstUpdateID)}
	if cfg.BotUsername != "" {
		opts = append(opts, bottest.WithBotUsername(cfg.BotUsername))
	}
	if cfg.BotName != "" {
		opts = append(opts, bottest.WithBotName(cfg.BotName))
	}
	e := &Emulator{
		Fake:  bottest.NewUnstartedServer(opts...),
		cfg:   cfg,
		start: time.Now(),
		mux:   http.NewServeMux(),
	}
	e.routes()
	return e, nil
}

// Config returns the configuration the emulator was built with.
func (e *Emulator) Config() Config { return e.cfg }

// Close stops the fake: long polls return at once.
func (e *Emulator) Close() { e.Fake.Close() }

// Run applies the configured migrations at their times and returns when
// all are applied or ctx ends.
func (e *Emulator) Run(ctx context.Context) {
	for _, m := range e.cfg.Migrations {
		if wait := time.Until(e.start.Add(m.After)); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		e.Migrate(m.From, m.To)
	}
}

// Migrate upgrades group from to supergroup to now. The supergroup starts
// without members: whoever simulates users makes its admins admins again
// (SetChatMember), as Telegram would have carried them over.
func (e *Emulator) Migrate(from, to int64) {
	e.Fake.Migrate(from, to)
	e.mu.Lock()
	e.migrated = append(e.migrated, Migration{From: from, To: to, After: time.Since(e.start).Round(time.Millisecond)})
	e.mu.Unlock()
}

// ServeHTTP implements http.Handler.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) { e.mux.ServeHTTP(w, r) }

// IsSending reports whether a Bot API method puts something into a chat:
// the methods bottest limits and faults, and the ones a forbidden user
// refuses.
func IsSending(method string) bool {
	switch strings.ToLower(method) {
	case "sendmessage", "senddocument", "sendvenue", "editmessagetext", "editmessagereplymarkup", "pinchatmessage":
		return true
	}
	return false
}

// serveAPI answers Bot API calls. For forbidden users it blocks the user in
// the fake just before the call, so that the 403 is the fake's own (recorded
// and counted like any other) even if the user wrote to the bot since.
func (e *Emulator) serveAPI(w http.ResponseWriter, r *http.Request) {
	if method, sending := sendingMethod(r.URL.Path); sending && e.storming() {
		e.stormCall(r, method)
	}
	if e.cfg.ForbiddenFraction > 0 || len(e.cfg.Forbidden) > 0 {
		method := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
		if IsSending(method) {
			body, err := io.ReadAll(io.LimitReader(r.Body, 50<<20))
			if err == nil {
				r.Body = io.NopCloser(bytes.NewReader(body))
				if chat := chatIDOf(r.Header.Get("Content-Type"), r.URL.Query(), body); chat > 0 && e.cfg.IsForbidden(chat) {
					e.Fake.BlockUser(chat)
				}
			}
		}
	}
	e.Fake.ServeHTTP(w, r)
}

// chatIDOf finds the chat_id parameter of a call in any encoding the Bot
// API accepts; 0 if absent or not numeric.
func chatIDOf(contentType string, query url.Values, body []byte) int64 {
	raw := query.Get("chat_id")
	if raw == "" {
		mt, params, _ := mime.ParseMediaType(contentType)
		switch mt {
		case "multipart/form-data":
			mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
			for {
				p, err := mr.NextPart()
				if err != nil {
					break
				}
				if p.FormName() == "chat_id" {
					b, _ := io.ReadAll(io.LimitReader(p, 64))
					raw = string(b)
					break
				}
			}
		case "application/json":
			var v struct {
				ChatID json.Number `json:"chat_id"`
			}
			if json.Unmarshal(body, &v) == nil {
				raw = v.ChatID.String()
			}
		default:
			if q, err := url.ParseQuery(string(body)); err == nil {
				raw = q.Get("chat_id")
			}
		}
	}
	id, _ := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
	return id
}

// Summary is what the emulator saw, in the control API's JSON form, with
// the emulator's configuration so that a saved summary says what it was
// measured against.
type Summary struct {
	Uptime           Duration        `json:"uptime"`
	Calls            int             `json:"calls"`
	ByMethod         map[string]int  `json:"calls_by_method"`
	ByStatus         map[int]int     `json:"answers_by_status"` // 0 counts dropped connections
	Injected         map[string]int  `json:"injected"`          // limit, error, phantom, drop, scripted, migrated
	TooManyRequests  int             `json:"too_many_requests"` // 429s given
	Forbidden        int             `json:"forbidden"`         // 403s given (blocked, kicked, forbidden users)
	MessagesSent     int             `json:"messages_sent"`
	Duplicates       int             `json:"duplicates"`       // SeqTag repeated in a chat
	OrderViolations  int             `json:"order_violations"` // SeqTag below a higher one seen earlier in its chat
	ViolationsByChat map[int64]int   `json:"order_violations_by_chat,omitempty"`
	UpdatesPushed    int             `json:"updates_pushed"`
	UpdatesFiltered  int             `json:"updates_filtered"`
	UpdatesPending   int             `json:"updates_pending"`
	Limits           bottest.Limits  `json:"limits"`
	Faults           FaultsJSON      `json:"faults"`
	Migrations       []Migration     `json:"migrations_applied,omitempty"`
	fake             bottest.Summary // for String
}

// Summary returns the counters now.
func (e *Emulator) Summary() Summary {
	e.mu.Lock()
	migrated := append([]Migration(nil), e.migrated...)
	e.mu.Unlock()
	s := e.Fake.Summary()
	return Summary{Uptime: Duration(time.Since(e.start).Round(time.Millisecond)), Calls: s.Calls, ByMethod: s.ByMethod,
		ByStatus: s.ByStatus, Injected: s.Injected, TooManyRequests: s.TooManyRequests,
		Forbidden: s.ByStatus[http.StatusForbidden], MessagesSent: s.MessagesSent, Duplicates: s.Duplicates,
		OrderViolations: s.OrderViolations, ViolationsByChat: s.ViolationsByChat, UpdatesPushed: s.UpdatesPushed,
		UpdatesFiltered: s.UpdatesFiltered, UpdatesPending: s.UpdatesPending, Limits: e.cfg.Limits,
		Faults: faultsJSON(e.cfg.Faults), Migrations: migrated, fake: s}
}

// String renders the summary for people, e.g. on SIGINT.
func (s Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tgemu summary after %s\n", time.Duration(s.Uptime))
	b.WriteString(s.fake.String())
	fmt.Fprintf(&b, "limits: global %g/s, private %g/s, group %g/min, burst %d; 403s answered: %d\n",
		s.Limits.GlobalPerSecond, s.Limits.PrivatePerSecond, s.Limits.GroupPerMinute, s.Limits.Burst, s.Forbidden)
	for _, m := range s.Migrations {
		fmt.Fprintf(&b, "migrated %d to %d at +%s\n", m.From, m.To, m.After)
	}
	return b.String()
}

// Duration is a time.Duration that reads and writes as text ("1.5s") in
// JSON, so that the control API is usable with curl.
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON implements json.Unmarshaler; it accepts "1.5s" or nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		v, err := time.ParseDuration(s)
		*d = Duration(v)
		return err
	}
	var n int64
	err := json.Unmarshal(b, &n)
	*d = Duration(n)
	return err
}

// FaultsJSON is bottest.Faults in the control API's JSON form.
type FaultsJSON struct {
	ErrorRate        float64  `json:"error_rate"`
	PhantomErrorRate float64  `json:"phantom_rate"`
	DropRate         float64  `json:"drop_rate"`
	MinLatency       Duration `json:"latency_min"`
	MaxLatency       Duration `json:"latency_max"`
}

func faultsJSON(f bottest.Faults) FaultsJSON {
	return FaultsJSON{ErrorRate: f.ErrorRate, PhantomErrorRate: f.PhantomErrorRate, DropRate: f.DropRate,
		MinLatency: Duration(f.MinLatency), MaxLatency: Duration(f.MaxLatency)}
}

func (f FaultsJSON) faults() bottest.Faults {
	return bottest.Faults{ErrorRate: f.ErrorRate, PhantomErrorRate: f.PhantomErrorRate, DropRate: f.DropRate,
		MinLatency: time.Duration(f.MinLatency), MaxLatency: time.Duration(f.MaxLatency)}
}
