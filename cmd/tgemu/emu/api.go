package emu

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
)

// controlHelp is what GET /_emu/ answers: the control API in one screen.
const controlHelp = `tgemu control API (JSON unless noted)

GET  /_emu/summary[?format=text]    calls by method, 429s given, duplicates, order violations
POST /_emu/push                      push an update as a user, body:
       {"from":{"id":42,"first_name":"Ann","language_code":"en"},
        "chat":{"id":-4001,"type":"group","title":"Hikers"},   (default: the private chat of from)
        "kind":"message", "text":"/start"}                     (kind: message, callback, my_chat_member)
       callback: "message_id":7, "data":"rsvp:1:yes"; my_chat_member: "old_status":"member", "new_status":"kicked"
GET  /_emu/messages?chat=ID          what a chat shows now (users' and the bot's messages)
GET  /_emu/calls?since=SEQ[&method=M][&chat=ID]   recorded calls after SEQ (files omitted)
POST /_emu/block?user=ID             the user's private chat answers 403 until unblock or they write
POST /_emu/unblock?user=ID
POST /_emu/admin?chat=ID&user=ID     make a user an administrator of a group (for getChatAdministrators)
POST /_emu/migrate?from=ID&to=ID     upgrade a group to a supergroup now
PUT  /_emu/limits                    {"GlobalPerSecond":30,"PrivatePerSecond":1,"GroupPerMinute":20,"Burst":3}
PUT  /_emu/faults                    {"error_rate":0.05,"phantom_rate":0.01,"drop_rate":0.01,"latency_min":"5ms","latency_max":"50ms"}
POST /_emu/reset                     forget recorded calls and counters (chats and pending updates stay)
GET  /_emu/bot                       the bot's user (id, username) as getMe answers
GET  /_emu/menu?chat=ID&user=ID&lang=ru   the command menu that user sees in that chat (setMyCommands scopes)
GET  /_emu/file?id=FILE_ID           download a file the bot sent (sendDocument)
GET  /_emu/callback?id=QUERY_ID[&wait=10s]  the bot's answerCallbackQuery to a press, waiting for it
GET  /_emu/wait[?wait=25s]           returns {"changed":true} at the next call, push or delivery
GET  /_emu/chaos                     the chaos switches; POST {"storm":true} 429 to every send for 20s,
       {"errors":true} 20 % 5xx, {"slow":true} 0.7-2.5 s latency, {"away":true} no answers for 30s

The Bot API itself is served at /bot<token>/<method>.
`

func (e *Emulator) routes() {
	m := e.mux
	m.HandleFunc("/", e.serveAPI)
	m.HandleFunc("GET /_emu/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, controlHelp+inlineHelp)
	})
	m.HandleFunc("GET /_emu/summary", func(w http.ResponseWriter, r *http.Request) {
		s := e.Summary()
		if r.URL.Query().Get("format") == "text" || strings.Contains(r.Header.Get("Accept"), "text/plain") {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			io.WriteString(w, s.String())
			return
		}
		writeJSON(w, http.StatusOK, s)
	})
	m.HandleFunc("POST /_emu/push", e.handlePush)
	e.sessionRoutes()
	e.inlineRoutes() // inline.go
	m.HandleFunc("GET /_emu/messages", func(w http.ResponseWriter, r *http.Request) {
		chat, err := intParam(r, "chat")
		if err != nil {
			writeError(w, err)
			return
		}
		msgs := e.Fake.Messages(chat)
		if msgs == nil {
			msgs = []models.Message{}
		}
		writeJSON(w, http.StatusOK, msgs)
	})
	m.HandleFunc("GET /_emu/calls", e.handleCalls)
	m.HandleFunc("POST /_emu/block", e.userAction(e.Fake.BlockUser))
	m.HandleFunc("POST /_emu/unblock", e.userAction(e.Fake.UnblockUser))
	m.HandleFunc("POST /_emu/admin", func(w http.ResponseWriter, r *http.Request) {
		chat, err1 := intParam(r, "chat")
		user, err2 := intParam(r, "user")
		if err := errors.Join(err1, err2); err != nil {
			writeError(w, err)
			return
		}
		e.Fake.SetChatMember(models.Chat{ID: chat}, models.User{ID: user, FirstName: "User " + strconv.FormatInt(user, 10)},
			models.ChatMemberTypeAdministrator)
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	m.HandleFunc("POST /_emu/migrate", func(w http.ResponseWriter, r *http.Request) {
		from, err1 := intParam(r, "from")
		to, err2 := intParam(r, "to")
		if err := errors.Join(err1, err2); err != nil {
			writeError(w, err)
			return
		}
		if from >= 0 || to > -1_000_000_000_000 {
			writeError(w, errors.New("from must be a group id (negative), to a supergroup id (at most -1000000000000)"))
			return
		}
		e.Migrate(from, to)
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	m.HandleFunc("PUT /_emu/limits", func(w http.ResponseWriter, r *http.Request) {
		var l bottest.Limits
		if err := json.NewDecoder(r.Body).Decode(&l); err != nil {
			writeError(w, fmt.Errorf("body: %w", err))
			return
		}
		e.Fake.SetLimits(l)
		writeJSON(w, http.StatusOK, l)
	})
	m.HandleFunc("PUT /_emu/faults", func(w http.ResponseWriter, r *http.Request) {
		var f FaultsJSON
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
			writeError(w, fmt.Errorf("body: %w", err))
			return
		}
		e.Fake.SetFaults(f.faults())
		writeJSON(w, http.StatusOK, f)
	})
	m.HandleFunc("POST /_emu/reset", func(w http.ResponseWriter, r *http.Request) {
		e.Fake.ResetCalls()
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
}

// PushRequest is the body of POST /_emu/push.
type PushRequest struct {
	Kind      string       `json:"kind"` // message (default), callback, my_chat_member
	From      models.User  `json:"from"`
	Chat      *models.Chat `json:"chat"` // default: the private chat of From
	Text      string       `json:"text"`
	MessageID int          `json:"message_id"` // callback: the message whose button was pressed
	Data      string       `json:"data"`       // callback data
	OldStatus string       `json:"old_status"` // my_chat_member
	NewStatus string       `json:"new_status"`
}

func (e *Emulator) handlePush(w http.ResponseWriter, r *http.Request) {
	var p PushRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&p); err != nil {
		writeError(w, fmt.Errorf("body: %w", err))
		return
	}
	if p.From.ID <= 0 {
		writeError(w, errors.New(`"from" needs a positive "id"`))
		return
	}
	if p.From.FirstName == "" {
		p.From.FirstName = "User " + strconv.FormatInt(p.From.ID, 10)
	}
	chat := bottest.PrivateChat(p.From)
	if p.Chat != nil {
		chat = *p.Chat
		if chat.Type == "" && chat.ID < 0 {
			chat = bottest.Group(chat.ID, chat.Title)
		}
	}
	var u models.Update
	switch p.Kind {
	case "", "message":
		if p.Text == "" {
			writeError(w, errors.New(`a message needs "text"`))
			return
		}
		u = e.Fake.PushMessage(chat, p.From, p.Text)
	case "callback":
		if p.MessageID <= 0 || p.Data == "" {
			writeError(w, errors.New(`a callback needs "message_id" and "data"`))
			return
		}
		u = e.Fake.PushCallback(chat, p.From, p.MessageID, p.Data)
	case "my_chat_member":
		oldS, ok1 := memberStatus(p.OldStatus)
		newS, ok2 := memberStatus(p.NewStatus)
		if !ok1 || !ok2 {
			writeError(w, errors.New(`my_chat_member needs "old_status" and "new_status": member, administrator, left or kicked`))
			return
		}
		u = e.Fake.PushMyChatMember(chat, p.From, oldS, newS)
	default:
		writeError(w, fmt.Errorf("unknown kind %q (message, callback, my_chat_member)", p.Kind))
		return
	}
	writeJSON(w, http.StatusOK, &u)
}

func memberStatus(s string) (models.ChatMemberType, bool) {
	switch s {
	case "member":
		return models.ChatMemberTypeMember, true
	case "administrator":
		return models.ChatMemberTypeAdministrator, true
	case "left":
		return models.ChatMemberTypeLeft, true
	case "kicked", "banned":
		return models.ChatMemberTypeBanned, true
	}
	return "", false
}

// callJSON is a recorded call without its uploaded files.
type callJSON struct {
	Seq         int               `json:"seq"`
	Time        string            `json:"time"`
	Method      string            `json:"method"`
	ChatID      int64             `json:"chat_id,omitempty"`
	Params      map[string]string `json:"params"`
	Status      int               `json:"status"`
	Description string            `json:"description,omitempty"`
	RetryAfter  int               `json:"retry_after,omitempty"`
	Injected    string            `json:"injected,omitempty"`
	MessageID   int               `json:"message_id,omitempty"`
}

func (e *Emulator) handleCalls(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	since, _ := strconv.Atoi(q.Get("since"))
	method := q.Get("method")
	chat, _ := strconv.ParseInt(q.Get("chat"), 10, 64)
	out := []callJSON{}
	for _, c := range e.Fake.Calls() {
		if c.Seq <= since || (method != "" && !strings.EqualFold(method, c.Method)) || (chat != 0 && c.ChatID != chat) {
			continue
		}
		out = append(out, callJSON{Seq: c.Seq, Time: c.Time.Format("2006-01-02T15:04:05.000Z07:00"), Method: c.Method,
			ChatID: c.ChatID, Params: c.Params, Status: c.Status, Description: c.Description, RetryAfter: c.RetryAfter,
			Injected: c.Injected, MessageID: c.MessageID})
	}
	writeJSON(w, http.StatusOK, out)
}

func (e *Emulator) userAction(f func(int64)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := intParam(r, "user")
		if err != nil {
			writeError(w, err)
			return
		}
		f(id)
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	}
}

func intParam(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id == 0 {
		return 0, fmt.Errorf("query parameter %s=%q is not a chat or user id", name, v)
	}
	return id, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, err error) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
}
