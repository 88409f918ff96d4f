package playground

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
	"github.com/rsvpbot/rsvpbot/store"
)

//go:embed web
var webFS embed.FS

// routes is the playground's HTTP surface: the Bot API and /_emu/ go to
// the emulator, /_weather/ to the weather pass-through, the rest is the
// page and its /api/.
func (p *Playground) routes() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(webFS, "web")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		page, _ := fs.ReadFile(static, "index.html")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(page)
	})
	mux.Handle("/_weather/", p.weather)
	mux.HandleFunc("GET /api/session", p.handleSession)
	mux.HandleFunc("GET /api/events", p.handleEvents)
	mux.HandleFunc("GET /api/panel", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, p.panel.Latest()) })
	mux.HandleFunc("GET /api/chats", p.handleChats)
	mux.HandleFunc("POST /api/people", p.handleAddPerson)
	mux.HandleFunc("POST /api/groups", p.handleAddGroup)
	mux.HandleFunc("POST /api/kill", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]bool{"killed": p.child.kill()})
	})
	mux.HandleFunc("POST /api/reset", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
		defer cancel()
		if err := p.child.requestReset(ctx); err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	mux.HandleFunc("POST /api/weather", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Down bool }
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<10)).Decode(&req); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		p.weather.SetDown(req.Down)
		writeJSON(w, http.StatusOK, map[string]bool{"down": req.Down})
	})
	mux.HandleFunc("POST /api/demo/reminder", p.handleReminderDemo)
	mux.HandleFunc("GET /cal/", p.proxyFeed)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/bot") || strings.HasPrefix(r.URL.Path, "/_emu/") {
			p.emulator().ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// proxyFeed forwards a calendar feed request to the bot's ops server, as
// a reverse proxy in front of a real bot does: the bot gives feed links
// under the playground's address (RSVPBOT_PUBLIC_URL, botEnv), which stays
// put while the bot's ops port changes with every restart.
func (p *Playground) proxyFeed(w http.ResponseWriter, r *http.Request) {
	ops, err := url.Parse(p.child.State().OpsURL)
	if err != nil || ops.Host == "" {
		http.Error(w, "the bot is not running", http.StatusServiceUnavailable)
		return
	}
	httputil.NewSingleHostReverseProxy(ops).ServeHTTP(w, r)
}

// Session is what the page needs to start.
type Session struct {
	Bot     models.User `json:"bot"`
	People  []Person    `json:"people"`
	Groups  []Group     `json:"groups"`
	Weather string      `json:"weather"`
	DB      string      `json:"db"`
}

func (p *Playground) handleSession(w http.ResponseWriter, r *http.Request) {
	ro := p.roster.snapshot()
	writeJSON(w, http.StatusOK, Session{Bot: p.emulator().Fake.Bot(), People: ro.People, Groups: ro.Groups,
		Weather: p.weather.Source(), DB: p.cfg.DB})
}

// ChatSummary is one row of the page's chat list.
type ChatSummary struct {
	ID       int64  `json:"id"`
	Title    string `json:"title"`
	Group    bool   `json:"group"`
	Person   int64  `json:"person,omitempty"` // a private chat's person
	Preview  string `json:"preview"`
	Messages int    `json:"messages"`
	LastID   int    `json:"last_id"`
}

func (p *Playground) handleChats(w http.ResponseWriter, r *http.Request) {
	ro := p.roster.snapshot()
	e := p.emulator()
	var out []ChatSummary
	add := func(cs ChatSummary) {
		msgs := e.Fake.Messages(cs.ID)
		cs.Messages = len(msgs)
		if n := len(msgs); n > 0 {
			last := msgs[n-1]
			cs.LastID = last.ID
			text := last.Text
			if text == "" && last.Document != nil {
				text = "📎 " + last.Document.FileName
			}
			if last.From != nil && cs.Group {
				text = last.From.FirstName + ": " + text
			}
			cs.Preview = firstLine(text, 60)
		}
		out = append(out, cs)
	}
	for _, g := range ro.Groups {
		add(ChatSummary{ID: g.ID, Title: g.Title, Group: true})
	}
	for _, pe := range ro.People {
		add(ChatSummary{ID: pe.ID, Title: pe.Name + " ↔ bot", Person: pe.ID})
	}
	writeJSON(w, http.StatusOK, out)
}

func firstLine(s string, n int) string {
	s, _, _ = strings.Cut(s, "\n")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func (p *Playground) handleAddPerson(w http.ResponseWriter, r *http.Request) {
	var req struct{ Name, Lang string }
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<12)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	pe, err := p.roster.addPerson(req.Name, req.Lang)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	p.emulator().Fake.AddChat(bottest.PrivateChat(pe.user()))
	p.events.send("roster", "{}")
	writeJSON(w, http.StatusOK, pe)
}

func (p *Playground) handleAddGroup(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Title   string
		Owner   int64
		Members []int64
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<14)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	g, err := p.roster.addGroup(req.Title, req.Owner, req.Members)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	p.roster.seed(p.emulator()) // the bot is added to the new group
	p.events.send("roster", "{}")
	writeJSON(w, http.StatusOK, g)
}

// handleReminderDemo creates an event four minutes ahead as the given
// person in the given chat, then sets its reminder to one minute before:
// a reminder arrives within about three minutes.
func (p *Playground) handleReminderDemo(w http.ResponseWriter, r *http.Request) {
	var req struct{ Chat, User int64 }
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<10)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	pe, ok := p.roster.person(req.User)
	if !ok {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unknown person"})
		return
	}
	chat := bottest.PrivateChat(pe.user())
	for _, g := range p.roster.snapshot().Groups {
		if g.ID == req.Chat {
			chat = bottest.Group(g.ID, g.Title)
		}
	}
	loc := p.chatZone(r.Context(), chat.ID)
	start := time.Now().In(loc).Add(p.cfg.DemoLead).Truncate(time.Minute)
	title := "Reminder demo " + start.Format("15:04")
	e := p.emulator()
	e.Fake.PushMessage(chat, pe.user(), "/event "+title+" | "+start.Format("2006-01-02 15:04")+" | Playground")
	ctx, cancel := context.WithTimeout(r.Context(), 40*time.Second)
	defer cancel()
	id, err := p.waitEvent(ctx, title)
	if err != nil {
		writeJSON(w, http.StatusGatewayTimeout, map[string]string{"error": "the bot did not create the event in time (is it running?)"})
		return
	}
	e.Fake.PushMessage(chat, pe.user(), "/remind "+strconv.FormatInt(id, 10)+" 1m")
	// Reminders are for the people going: the demo presses Going on the
	// card for the visitor, as they would.
	going := "rsvp:" + strconv.FormatInt(id, 10) + ":go"
	card, err := waitCard(ctx, e.Fake, chat.ID, going)
	if err != nil {
		writeJSON(w, http.StatusGatewayTimeout, map[string]string{"error": "the bot did not post the event's card in time (is it running?)"})
		return
	}
	e.Fake.PushCallback(chat, pe.user(), card, going)
	writeJSON(w, http.StatusOK, map[string]any{"event": id, "starts": start.Format(time.RFC3339)})
}

// waitCard waits for a message of the bot in chatID with a button whose
// callback data is data, and returns its id.
func waitCard(ctx context.Context, f *bottest.Server, chatID int64, data string) (int, error) {
	for {
		for _, m := range f.Messages(chatID) {
			if m.From != nil && m.From.IsBot && m.ReplyMarkup != nil {
				for _, row := range m.ReplyMarkup.InlineKeyboard {
					for _, b := range row {
						if b.CallbackData == data {
							return m.ID, nil
						}
					}
				}
			}
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// waitEvent waits for the bot to store an event titled title and returns
// its id (read-only reads of the bot's database).
func (p *Playground) waitEvent(ctx context.Context, title string) (int64, error) {
	for {
		if id := findEvent(ctx, p.cfg.DB, title); id > 0 {
			return id, nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}

func findEvent(ctx context.Context, path, title string) int64 {
	db, err := openReadOnly(ctx, path)
	if err != nil {
		return 0
	}
	defer db.Close()
	var id int64
	_ = db.R.QueryRowContext(ctx, `SELECT id FROM events WHERE title = ? ORDER BY id DESC LIMIT 1`, title).Scan(&id)
	return id
}

// chatZone is the time zone the bot reads a chat's times in: the chat's
// own (/timezone), else RSVPBOT_TIMEZONE, else UTC.
func (p *Playground) chatZone(ctx context.Context, chatID int64) *time.Location {
	tz := lookupEnv(p.cfg.Env, "RSVPBOT_TIMEZONE")
	if db, err := openReadOnly(ctx, p.cfg.DB); err == nil {
		if c, ok, err := store.GetChat(ctx, db.R, chatID); err == nil && ok && c.Timezone != "" {
			tz = c.Timezone
		}
		db.Close()
	}
	return store.ZoneOr(tz, time.UTC)
}

func lookupEnv(env []string, key string) string {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// handleEvents is the page's event stream: "changed" when a chat may
// show something new, "panel" every second, "bot" when the bot process
// changes state, "roster" when people or groups were added.
func (p *Playground) handleEvents(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	ch, unsubscribe := p.events.subscribe()
	defer unsubscribe()
	fmt.Fprint(w, "retry: 1000\n\n")
	fl.Flush()
	keep := time.NewTicker(15 * time.Second)
	defer keep.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-keep.C:
			fmt.Fprint(w, ": keep-alive\n\n")
		case ev, ok := <-ch:
			if !ok {
				return
			}
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.name, ev.data)
		}
		fl.Flush()
	}
}

type event struct{ name, data string }

// broadcaster fans events out to the page's streams; a slow stream loses
// events rather than holding the others up (the next one carries the news).
type broadcaster struct {
	mu     sync.Mutex
	subs   map[chan event]bool
	closed bool
}

func newBroadcaster() *broadcaster { return &broadcaster{subs: map[chan event]bool{}} }

func (b *broadcaster) subscribe() (<-chan event, func()) {
	ch := make(chan event, 32)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		close(ch)
		return ch, func() {}
	}
	b.subs[ch] = true
	return ch, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.subs[ch] {
			delete(b.subs, ch)
			close(ch)
		}
	}
}

func (b *broadcaster) send(name, data string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- event{name, data}:
		default:
		}
	}
}

func (b *broadcaster) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for ch := range b.subs {
		delete(b.subs, ch)
		close(ch)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// openReadOnly opens the bot's database read-only, if it exists (the bot
// owns it; a reset may delete it, so it is opened for each read).
func openReadOnly(ctx context.Context, path string) (*store.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	return store.OpenReadOnly(ctx, path, store.Options{})
}
