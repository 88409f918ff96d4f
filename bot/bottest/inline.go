package bottest

// Inline mode: users type @bot in a chat (PushInlineQuery), the bot answers
// with answerInlineQuery, a user posts one result (ChooseInlineResult),
// which becomes an inline message the bot edits by inline_message_id and
// whose buttons send callback queries without a message (PushInlineCallback).
//
// What Telegram does and the fake does too:
//   - an inline query can be answered once, within InlineAnswerTimeout of
//     its arrival (on the server's clock); later or twice answers 400
//     "query is too old and response timeout expired or query ID is invalid";
//   - answerInlineQuery is checked against the Bot API 10.1 spec: known
//     parameters only (switch_pm_text and switch_pm_parameter are gone:
//     the button field replaced them), at most 50 results with unique ids
//     of 1-64 bytes, the button's text and its exactly one of web_app or
//     start_parameter (1-64 of A-Z a-z 0-9 _ -), cache_time an integer,
//     next_offset at most 64 bytes. Only article results are implemented:
//     type, id, title and input_message_content (an InputTextMessageContent
//     whose message_text is 1-4096 characters after parsing) are required,
//     unknown fields are refused, reply_markup must be a valid inline
//     keyboard;
//   - a chosen result is posted in the chat the query came from, as a
//     message of the user "via" the bot (Messages shows it, edits
//     included; the bot need not be a member, and gets no update for it);
//     a press on its buttons (PushCallback too) is a callback query with
//     inline_message_id and no message, and the bot cannot edit it by
//     chat_id and message_id ("message can't be edited");
//   - chosen_inline_result is sent only while inline feedback is on
//     (SetInlineFeedback; on by default, as after /setinlinefeedback 100 %)
//     and carries inline_message_id only if the result has an inline
//     keyboard, exactly as the spec says;
//   - editMessageText and editMessageReplyMarkup take inline_message_id
//     instead of chat_id and message_id and answer true, not a Message; an
//     unknown id answers 400 MESSAGE_ID_INVALID. Giving both forms is
//     refused (stricter than Telegram, which ignores one).

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/tgtext"
)

// InlineAnswerTimeout is how long after its arrival an inline query can be
// answered.
const InlineAnswerTimeout = 10 * time.Second

const queryTooOld = "query is too old and response timeout expired or query ID is invalid"

// InlineAnswer is the bot's answer to an inline query, as the fake parsed it.
type InlineAnswer struct {
	QueryID    string
	Results    []InlineResult
	CacheTime  int  // -1 if not given (Telegram's default is 300)
	IsPersonal bool // is_personal
	NextOffset string
	Button     *InlineResultsButton
}

// InlineResult is one article result of an answer.
type InlineResult struct {
	Type        string
	ID          string
	Title       string
	Description string
	// Text and Entities are input_message_content's message_text, parsed
	// as Telegram would post it.
	Text        string
	Entities    []models.MessageEntity
	ReplyMarkup *models.InlineKeyboardMarkup
}

// InlineResultsButton is the button shown above an answer's results.
type InlineResultsButton struct {
	Text           string
	StartParameter string
	WebAppURL      string
}

// InlineMessage is a message a user posted through the bot in inline mode.
type InlineMessage struct {
	ID          string      // inline_message_id
	Chat        models.Chat // where it was posted; the bot need not be a member
	MessageID   int         // its id in that chat (Messages lists it)
	From        models.User // who posted it
	ResultID    string
	Text        string
	Entities    []models.MessageEntity
	ReplyMarkup *models.InlineKeyboardMarkup
	EditDate    int
}

// inlineMsg locates an inline message: its content is the chat message's.
type inlineMsg struct {
	chat     int64
	msgID    int
	resultID string
}

// find returns the chat message, or nil if it was deleted.
func (s *Server) inlineFind(im *inlineMsg) *models.Message {
	cs, ok := s.chats[im.chat]
	if !ok {
		return nil
	}
	return cs.find(im.msgID)
}

// inlineIDOf is the inline_message_id of a chat message, "" if it is none.
func (s *Server) inlineIDOf(chatID int64, msgID int) string {
	for id, im := range s.inlineMsgs {
		if im.chat == chatID && im.msgID == msgID {
			return id
		}
	}
	return ""
}

type inlineQueryState struct {
	from     models.User
	chat     models.Chat
	query    string
	at       time.Time
	answered bool
	answer   InlineAnswer
}

// SetInlineFeedback turns chosen_inline_result updates on or off, like
// BotFather's /setinlinefeedback (100 % or disabled). It is on by default.
func (s *Server) SetInlineFeedback(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inlineNoFeedback = !on
}

// PushInlineQuery queues an inline_query: from typed "@bot query" in chat.
// chat_type is "sender" in from's private chat with the bot, else chat's
// type. The returned update's InlineQuery.ID is what the bot must answer.
func (s *Server) PushInlineQuery(chat models.Chat, from models.User, query string) models.Update {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[from.ID] = from
	cs := s.chatWith(chat)
	chatType := string(cs.chat.Type)
	if cs.chat.ID == from.ID {
		chatType = "sender"
	}
	s.inlineSeq++
	id := strconv.FormatInt(from.ID, 10) + strconv.Itoa(5_000_000+s.inlineSeq)
	s.inlineQueries[id] = &inlineQueryState{from: from, chat: cs.chat, query: query, at: s.now()}
	f := from
	return s.enqueue(models.Update{InlineQuery: &models.InlineQuery{ID: id, From: &f, Query: query, ChatType: chatType}})
}

// InlineAnswer returns the answer given to an inline query, if any.
func (s *Server) InlineAnswer(queryID string) (InlineAnswer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.inlineQueries[queryID]
	if !ok || !q.answered {
		return InlineAnswer{}, false
	}
	a := q.answer
	a.Results = slices.Clone(a.Results)
	return a, true
}

// ChooseInlineResult posts result resultID of the answer to queryID in the
// query's chat, as the user who asked, and returns the new message's
// inline_message_id ("" if the result has no inline keyboard: Telegram
// gives an id only then). With inline feedback on, a chosen_inline_result
// update is queued.
func (s *Server) ChooseInlineResult(queryID, resultID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.inlineQueries[queryID]
	if !ok || !q.answered {
		return "", fmt.Errorf("bottest: inline query %q has no answer", queryID)
	}
	i := slices.IndexFunc(q.answer.Results, func(r InlineResult) bool { return r.ID == resultID })
	if i < 0 {
		return "", fmt.Errorf("bottest: the answer to inline query %q has no result %q", queryID, resultID)
	}
	r := q.answer.Results[i]
	cs := s.chatWith(q.chat)
	m := s.newMessage(cs, q.from)
	bot := s.botUser
	m.ViaBot, m.Text, m.Entities, m.ReplyMarkup = &bot, r.Text, slices.Clone(r.Entities), cloneMarkup(r.ReplyMarkup)
	id := ""
	if r.ReplyMarkup != nil {
		s.inlineSeq++
		id = fmt.Sprintf("AgAAA%07dBQ%d", s.inlineSeq, q.from.ID)
		s.inlineMsgs[id] = &inlineMsg{chat: cs.chat.ID, msgID: m.ID, resultID: r.ID}
	}
	if !s.inlineNoFeedback {
		s.enqueue(models.Update{ChosenInlineResult: &models.ChosenInlineResult{ResultID: r.ID, From: q.from,
			InlineMessageID: id, Query: q.query}})
	} else {
		s.notifyChanged()
	}
	return id, nil
}

func cloneMarkup(kb *models.InlineKeyboardMarkup) *models.InlineKeyboardMarkup {
	if kb == nil {
		return nil
	}
	raw, _ := json.Marshal(kb)
	var out models.InlineKeyboardMarkup
	_ = json.Unmarshal(raw, &out)
	return &out
}

// InlineMessage returns what an inline message shows now; false if it
// does not exist or was deleted.
func (s *Server) InlineMessage(id string) (InlineMessage, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	im, ok := s.inlineMsgs[id]
	if !ok {
		return InlineMessage{}, false
	}
	m := s.inlineFind(im)
	if m == nil {
		return InlineMessage{}, false
	}
	c := cloneMessage(m)
	return InlineMessage{ID: id, Chat: c.Chat, MessageID: c.ID, From: *c.From, ResultID: im.resultID, Text: c.Text,
		Entities: c.Entities, ReplyMarkup: c.ReplyMarkup, EditDate: c.EditDate}, true
}

// PushInlineCallback queues a callback_query as if from pressed a button
// carrying data on inline message inlineMessageID: the query carries
// inline_message_id and no message, and can be answered once.
func (s *Server) PushInlineCallback(from models.User, inlineMessageID, data string) models.Update {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pushInlineCallback(from, inlineMessageID, data)
}

func (s *Server) pushInlineCallback(from models.User, inlineMessageID, data string) models.Update {
	s.users[from.ID] = from
	instance := "inline"
	if im, ok := s.inlineMsgs[inlineMessageID]; ok {
		instance = strconv.FormatInt(im.chat*31+7, 10)
	}
	s.callbackSeq++
	id := strconv.FormatInt(s.botUser.ID, 10) + strconv.Itoa(1_000_000+s.callbackSeq)
	s.callbacks[id] = false
	// Built as wire JSON: models.CallbackQuery always encodes a "message".
	return s.enqueueField("callback_query", map[string]any{"id": id, "from": from, "inline_message_id": inlineMessageID,
		"chat_instance": instance, "data": data})
}

// answerInlineQuery validates and records an answer.
func (s *Server) answerInlineQuery(c *Call) reply {
	for k := range c.Params {
		switch k {
		case "inline_query_id", "results", "cache_time", "is_personal", "next_offset", "button":
		default:
			return badRequest(fmt.Sprintf("bottest: answerInlineQuery has no parameter %q in Bot API 10.1", k))
		}
	}
	q, known := s.inlineQueries[c.Params["inline_query_id"]]
	if !known || q.answered || s.now().Sub(q.at) > InlineAnswerTimeout {
		return badRequest(queryTooOld)
	}
	a := InlineAnswer{QueryID: c.Params["inline_query_id"], CacheTime: -1, NextOffset: c.Params["next_offset"]}
	if v, ok := c.Params["cache_time"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return badRequest("bottest: cache_time must be a non-negative integer")
		}
		a.CacheTime = n
	}
	if v, ok := c.Params["is_personal"]; ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return badRequest("bottest: is_personal must be a boolean")
		}
		a.IsPersonal = b
	}
	if len(a.NextOffset) > 64 {
		return badRequest("NEXT_OFFSET_INVALID")
	}
	if raw, ok := c.Params["button"]; ok {
		b, err := parseResultsButton(raw)
		if err != nil {
			return badRequest(err.Error())
		}
		a.Button = b
	}
	raw, given := c.Params["results"]
	if !given {
		return badRequest("results are not specified")
	}
	var results []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &results); err != nil {
		return badRequest("can't parse inline query results JSON object")
	}
	if len(results) > 50 {
		return badRequest("RESULTS_TOO_MUCH")
	}
	seen := map[string]bool{}
	for _, r := range results {
		res, err := parseArticle(r)
		if err != nil {
			return badRequest(err.Error())
		}
		if seen[res.ID] {
			return badRequest("RESULT_ID_DUPLICATE")
		}
		seen[res.ID] = true
		a.Results = append(a.Results, res)
	}
	q.answered, q.answer = true, a
	return ok(true)
}

// articleFields are InlineQueryResultArticle's fields in Bot API 10.1.
var articleFields = []string{"type", "id", "title", "input_message_content", "reply_markup", "url", "description",
	"thumbnail_url", "thumbnail_width", "thumbnail_height"}

func jsonString(raw json.RawMessage) (string, bool) {
	var s string
	return s, raw != nil && json.Unmarshal(raw, &s) == nil
}

// parseArticle checks one result; only articles are implemented.
func parseArticle(r map[string]json.RawMessage) (InlineResult, error) {
	typ, _ := jsonString(r["type"])
	if typ != "article" {
		return InlineResult{}, fmt.Errorf("bottest: inline result type %q is not supported (only article)", typ)
	}
	for k := range r {
		if !slices.Contains(articleFields, k) {
			return InlineResult{}, fmt.Errorf("bottest: InlineQueryResultArticle has no field %q", k)
		}
	}
	res := InlineResult{Type: typ}
	var ok bool
	if res.ID, ok = jsonString(r["id"]); !ok || len(res.ID) == 0 || len(res.ID) > 64 {
		return InlineResult{}, errors.New("RESULT_ID_INVALID")
	}
	if res.Title, ok = jsonString(r["title"]); !ok || strings.TrimSpace(res.Title) == "" {
		return InlineResult{}, errors.New("RESULT_TITLE_EMPTY")
	}
	if d, present := r["description"]; present {
		if res.Description, ok = jsonString(d); !ok {
			return InlineResult{}, errors.New("bottest: description must be a string")
		}
	}
	var content struct {
		MessageText        *string         `json:"message_text"`
		ParseMode          string          `json:"parse_mode"`
		Entities           json.RawMessage `json:"entities"`
		LinkPreviewOptions json.RawMessage `json:"link_preview_options"`
	}
	imc, present := r["input_message_content"]
	if !present || json.Unmarshal(imc, &content) != nil {
		return InlineResult{}, errors.New("bottest: input_message_content is required")
	}
	if content.MessageText == nil {
		return InlineResult{}, errors.New("bottest: only InputTextMessageContent (message_text) is supported")
	}
	ents := ""
	if content.Entities != nil {
		ents = string(content.Entities)
	}
	text, entities, err := formatText(*content.MessageText, content.ParseMode, ents)
	if err != nil {
		return InlineResult{}, err
	}
	if strings.TrimSpace(text) == "" {
		return InlineResult{}, errors.New("MESSAGE_EMPTY")
	}
	if tgtext.UTF16Len(text) > tgtext.MaxMessage {
		return InlineResult{}, errors.New("MESSAGE_TOO_LONG")
	}
	res.Text, res.Entities = text, entities
	if rm, present := r["reply_markup"]; present {
		kb, err := parseMarkup(string(rm))
		if err != nil {
			return InlineResult{}, err
		}
		if kb == nil {
			return InlineResult{}, errors.New("bottest: an inline result's reply_markup must be an inline keyboard")
		}
		res.ReplyMarkup = kb
	}
	return res, nil
}

// parseResultsButton checks an InlineQueryResultsButton.
func parseResultsButton(raw string) (*InlineResultsButton, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &fields); err != nil {
		return nil, errors.New("can't parse inline query results button JSON object")
	}
	b := &InlineResultsButton{}
	for k, v := range fields {
		if string(v) == "null" {
			continue // absent
		}
		switch k {
		case "text":
			b.Text, _ = jsonString(v)
		case "start_parameter":
			b.StartParameter, _ = jsonString(v)
			if b.StartParameter == "" {
				return nil, errors.New("bottest: start_parameter must be a non-empty string")
			}
		case "web_app":
			var w struct {
				URL string `json:"url"`
			}
			if json.Unmarshal(v, &w) != nil || w.URL == "" {
				return nil, errors.New("bottest: web_app must be a WebAppInfo with a url")
			}
			b.WebAppURL = w.URL
		default:
			return nil, fmt.Errorf("bottest: InlineQueryResultsButton has no field %q", k)
		}
	}
	if strings.TrimSpace(b.Text) == "" {
		return nil, errors.New("bottest: the results button needs a text")
	}
	if (b.StartParameter == "") == (b.WebAppURL == "") {
		return nil, errors.New("bottest: the results button needs exactly one of web_app and start_parameter")
	}
	if p := b.StartParameter; p != "" && (len(p) > 64 || strings.Trim(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "") {
		return nil, errors.New("START_PARAM_INVALID")
	}
	return b, nil
}

// targetInline resolves inline_message_id for an edit; inline is false
// if the call names a chat message instead.
func (s *Server) targetInline(c *Call) (m *models.Message, rep reply, inline bool) {
	id := c.Params["inline_message_id"]
	if id == "" {
		return nil, reply{}, false
	}
	if c.Params["chat_id"] != "" || c.Params["message_id"] != "" {
		return nil, badRequest("bottest: give either inline_message_id or chat_id and message_id"), true
	}
	im, ok := s.inlineMsgs[id]
	if ok {
		m = s.inlineFind(im)
	}
	if m == nil {
		return nil, badRequest("MESSAGE_ID_INVALID"), true
	}
	return m, reply{}, true
}

// editInline applies an edit to an inline message: its text and keyboard
// (editMessageText), or only its keyboard.
func (s *Server) editInline(m *models.Message, c *Call, withText bool) reply {
	text, entities := m.Text, m.Entities
	var markup *models.InlineKeyboardMarkup
	var err error
	if withText {
		text, entities, markup, err = messageContent(c)
	} else {
		markup, err = parseMarkup(c.Params["reply_markup"])
	}
	if err != nil {
		return badRequest(err.Error())
	}
	if text == m.Text && sameJSON(entities, m.Entities) && sameJSON(markup, m.ReplyMarkup) {
		return badRequest(notModified)
	}
	m.Text, m.Entities, m.ReplyMarkup, m.EditDate = text, entities, markup, s.unixNow()
	return ok(true)
}
