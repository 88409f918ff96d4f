package emu

// The control API of inline mode (bot/bottest/inline.go): a user typing
// @bot in a chat, posting one of the bot's results, pressing a button of
// the posted message, and reading what the bot answered and what the
// inline message shows.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/bottest"
)

const inlineHelp = `
Inline mode (@bot in any chat):
POST /_emu/inline/query              {"from":{...}, "chat":{...} (default: from's private chat), "query":"picnic"}
                                     → the update; its inline_query.id is the query id
GET  /_emu/inline/answer?id=QUERY    the bot's answerInlineQuery, parsed (404 until it answered)
POST /_emu/inline/choose             {"query_id":"...", "result_id":"..."} → {"inline_message_id":"..."}
                                     (a chosen_inline_result update follows while feedback is on)
GET  /_emu/inline/message?id=ID      what the inline message shows now
POST /_emu/inline/press              {"from":{...}, "inline_message_id":"...", "data":"rsvp:1:go"} → the update
PUT  /_emu/inline/feedback?on=false  inline feedback (BotFather /setinlinefeedback) on or off; on by default
`

func (e *Emulator) inlineRoutes() {
	m := e.mux
	m.HandleFunc("POST /_emu/inline/query", func(w http.ResponseWriter, r *http.Request) {
		var p struct {
			From  models.User  `json:"from"`
			Chat  *models.Chat `json:"chat"`
			Query string       `json:"query"`
		}
		if !decodeBody(w, r, &p) {
			return
		}
		if p.From.ID <= 0 {
			writeError(w, errors.New(`"from" needs a positive "id"`))
			return
		}
		if p.From.FirstName == "" {
			p.From.FirstName = "User " + strconv.FormatInt(p.From.ID, 10)
		}
		if len([]rune(p.Query)) > 256 {
			writeError(w, errors.New("an inline query is at most 256 characters"))
			return
		}
		chat := bottest.PrivateChat(p.From)
		if p.Chat != nil {
			chat = *p.Chat
			if chat.Type == "" && chat.ID < 0 {
				chat = bottest.Group(chat.ID, chat.Title)
			}
		}
		u := e.Fake.PushInlineQuery(chat, p.From, p.Query)
		writeJSON(w, http.StatusOK, &u)
	})
	m.HandleFunc("GET /_emu/inline/answer", func(w http.ResponseWriter, r *http.Request) {
		a, ok := e.Fake.InlineAnswer(r.URL.Query().Get("id"))
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no answer (yet) to that inline query"})
			return
		}
		results := []map[string]any{}
		for _, res := range a.Results {
			results = append(results, map[string]any{"type": res.Type, "id": res.ID, "title": res.Title,
				"description": res.Description, "text": res.Text, "reply_markup": wireKeyboard(res.ReplyMarkup)})
		}
		writeJSON(w, http.StatusOK, map[string]any{"query_id": a.QueryID, "results": results, "cache_time": a.CacheTime,
			"is_personal": a.IsPersonal, "next_offset": a.NextOffset, "button": a.Button})
	})
	m.HandleFunc("POST /_emu/inline/choose", func(w http.ResponseWriter, r *http.Request) {
		var p struct {
			QueryID  string `json:"query_id"`
			ResultID string `json:"result_id"`
		}
		if !decodeBody(w, r, &p) {
			return
		}
		id, err := e.Fake.ChooseInlineResult(p.QueryID, p.ResultID)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"inline_message_id": id})
	})
	m.HandleFunc("GET /_emu/inline/message", func(w http.ResponseWriter, r *http.Request) {
		msg, ok := e.Fake.InlineMessage(r.URL.Query().Get("id"))
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such inline message"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"inline_message_id": msg.ID, "chat": msg.Chat, "message_id": msg.MessageID,
			"from": msg.From, "result_id": msg.ResultID, "text": msg.Text, "entities": msg.Entities,
			"reply_markup": wireKeyboard(msg.ReplyMarkup), "edit_date": msg.EditDate})
	})
	m.HandleFunc("POST /_emu/inline/press", func(w http.ResponseWriter, r *http.Request) {
		var p struct {
			From            models.User `json:"from"`
			InlineMessageID string      `json:"inline_message_id"`
			Data            string      `json:"data"`
		}
		if !decodeBody(w, r, &p) {
			return
		}
		if p.From.ID <= 0 || p.InlineMessageID == "" || p.Data == "" {
			writeError(w, errors.New(`a press needs "from" with an "id", "inline_message_id" and "data"`))
			return
		}
		if p.From.FirstName == "" {
			p.From.FirstName = "User " + strconv.FormatInt(p.From.ID, 10)
		}
		u := e.Fake.PushInlineCallback(p.From, p.InlineMessageID, p.Data)
		writeJSON(w, http.StatusOK, &u)
	})
	m.HandleFunc("PUT /_emu/inline/feedback", func(w http.ResponseWriter, r *http.Request) {
		on, err := strconv.ParseBool(r.URL.Query().Get("on"))
		if err != nil {
			writeError(w, errors.New("query parameter on must be true or false"))
			return
		}
		e.Fake.SetInlineFeedback(on)
		writeJSON(w, http.StatusOK, map[string]bool{"feedback": on})
	})
}

// wireKeyboard shows a keyboard as the Bot API spells it: models'
// InlineKeyboardButton would print an empty copy_text on every button.
func wireKeyboard(kb *models.InlineKeyboardMarkup) any {
	if kb == nil {
		return nil
	}
	rows := [][]map[string]string{}
	for _, row := range kb.InlineKeyboard {
		out := []map[string]string{}
		for _, b := range row {
			btn := map[string]string{"text": b.Text}
			if b.CallbackData != "" {
				btn["callback_data"] = b.CallbackData
			}
			if b.URL != "" {
				btn["url"] = b.URL
			}
			out = append(out, btn)
		}
		rows = append(rows, out)
	}
	return map[string]any{"inline_keyboard": rows}
}

// decodeBody reads a JSON request body into v, answering 400 if it cannot.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(v); err != nil {
		writeError(w, fmt.Errorf("body: %w", err))
		return false
	}
	return true
}
