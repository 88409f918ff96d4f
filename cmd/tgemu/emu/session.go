package emu

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"time"

	"github.com/go-telegram/bot/models"
)

// What a client showing the emulator's chats needs (the playground's page):
// the command menu a person would see, the files the bot sent, the answers
// to button presses, and a way to wait for the next change.

// Menu returns the command menu Telegram shows a user in a chat: the list
// of the most specific scope set for it, in the user's language if that
// scope has one, else the scope's list for all languages (Telegram's
// documented order: chat_member, chat_administrators, chat,
// all_chat_administrators, all_group_chats / all_private_chats, default).
func (e *Emulator) Menu(chatID, userID int64, languageCode string) []models.BotCommand {
	type scope map[string]any
	var scopes []scope
	if chatID > 0 {
		scopes = []scope{{"type": "chat", "chat_id": chatID}, {"type": "all_private_chats"}}
	} else {
		admin := e.Fake.IsChatAdmin(chatID, userID)
		scopes = []scope{{"type": "chat_member", "chat_id": chatID, "user_id": userID}}
		if admin {
			scopes = append(scopes, scope{"type": "chat_administrators", "chat_id": chatID})
		}
		scopes = append(scopes, scope{"type": "chat", "chat_id": chatID})
		if admin {
			scopes = append(scopes, scope{"type": "all_chat_administrators"})
		}
		scopes = append(scopes, scope{"type": "all_group_chats"})
	}
	scopes = append(scopes, nil) // default
	for _, sc := range scopes {
		var arg any
		if sc != nil {
			arg = sc
		}
		for _, lang := range []string{languageCode, ""} {
			if cmds, ok := e.Fake.ScopedCommands(arg, lang); ok {
				return cmds
			}
			if languageCode == "" {
				break
			}
		}
	}
	return []models.BotCommand{}
}

// CallbackAnswer is the bot's answerCallbackQuery to one press.
type CallbackAnswer struct {
	Answered  bool   `json:"answered"`
	Text      string `json:"text,omitempty"`
	ShowAlert bool   `json:"show_alert,omitempty"`
	URL       string `json:"url,omitempty"`
}

// WaitCallbackAnswer waits until the bot answers callback query id (or ctx
// ends: Answered is then false).
func (e *Emulator) WaitCallbackAnswer(ctx context.Context, id string) CallbackAnswer {
	var a CallbackAnswer
	_ = e.Fake.Wait(ctx, func() bool {
		for _, c := range e.Fake.CallsTo("answerCallbackQuery") {
			if c.OK() && c.Params["callback_query_id"] == id {
				a = CallbackAnswer{Answered: true, Text: c.Params["text"], ShowAlert: c.Params["show_alert"] == "true",
					URL: c.Params["url"]}
				return true
			}
		}
		return false
	})
	return a
}

func (e *Emulator) sessionRoutes() {
	m := e.mux
	m.HandleFunc("GET /_emu/bot", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, e.Fake.Bot())
	})
	m.HandleFunc("GET /_emu/menu", func(w http.ResponseWriter, r *http.Request) {
		chat, err1 := intParam(r, "chat")
		user, err2 := intParam(r, "user")
		if err := errors.Join(err1, err2); err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, e.Menu(chat, user, r.URL.Query().Get("lang")))
	})
	m.HandleFunc("GET /_emu/file", func(w http.ResponseWriter, r *http.Request) {
		f, ok := e.Fake.File(r.URL.Query().Get("id"))
		if !ok {
			http.Error(w, "no such file_id", http.StatusNotFound)
			return
		}
		ct := f.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		w.Header().Set("Content-Type", ct)
		name := f.Name
		if name == "" {
			name = "file"
		}
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
		_, _ = w.Write(f.Data)
	})
	m.HandleFunc("GET /_emu/callback", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), waitParam(r, 10*time.Second))
		defer cancel()
		writeJSON(w, http.StatusOK, e.WaitCallbackAnswer(ctx, r.URL.Query().Get("id")))
	})
	m.HandleFunc("GET /_emu/wait", func(w http.ResponseWriter, r *http.Request) {
		t := time.NewTimer(waitParam(r, 25*time.Second))
		defer t.Stop()
		changed := false
		select {
		case <-e.Fake.Changed():
			changed = true
		case <-t.C:
		case <-r.Context().Done():
		}
		writeJSON(w, http.StatusOK, map[string]bool{"changed": changed})
	})
	m.HandleFunc("/_emu/chaos", e.handleChaos)
}

// waitParam reads ?wait=10s, at most a minute.
func waitParam(r *http.Request, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(r.URL.Query().Get("wait")); err == nil && d >= 0 {
		return min(d, time.Minute)
	}
	return def
}
