package bottest

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/bot/tgtext"
)

// method describes one Bot API method the fake implements.
type method struct {
	name  string                     // canonical spelling, used in Call.Method
	sends bool                       // subject to Limits and Faults
	h     func(*Server, *Call) reply // runs under s.mu; nil for getUpdates
}

// lookupMethod resolves a method name case-insensitively, as Telegram does.
func lookupMethod(name string) (method, bool) {
	switch strings.ToLower(name) {
	case "getme":
		return method{"getMe", false, (*Server).getMe}, true
	case "getupdates":
		return method{name: "getUpdates"}, true
	case "setwebhook":
		return method{"setWebhook", false, (*Server).setWebhook}, true
	case "deletewebhook":
		return method{"deleteWebhook", false, (*Server).deleteWebhook}, true
	case "getwebhookinfo":
		return method{"getWebhookInfo", false, (*Server).getWebhookInfo}, true
	case "sendmessage":
		return method{"sendMessage", true, (*Server).sendMessage}, true
	case "senddocument":
		return method{"sendDocument", true, (*Server).sendDocument}, true
	case "sendvenue":
		return method{"sendVenue", true, (*Server).sendVenue}, true
	case "editmessagetext":
		return method{"editMessageText", true, (*Server).editMessageText}, true
	case "editmessagereplymarkup":
		return method{"editMessageReplyMarkup", true, (*Server).editMessageReplyMarkup}, true
	case "deletemessage":
		return method{"deleteMessage", false, (*Server).deleteMessage}, true
	case "pinchatmessage":
		return method{"pinChatMessage", true, (*Server).pinChatMessage}, true
	case "unpinchatmessage":
		return method{"unpinChatMessage", false, (*Server).unpinChatMessage}, true
	case "sendchataction":
		return method{"sendChatAction", false, (*Server).sendChatAction}, true
	case "answercallbackquery":
		return method{"answerCallbackQuery", false, (*Server).answerCallbackQuery}, true
	case "answerinlinequery":
		return method{"answerInlineQuery", false, (*Server).answerInlineQuery}, true
	case "setmycommands":
		return method{"setMyCommands", false, (*Server).setMyCommands}, true
	case "getmycommands":
		return method{"getMyCommands", false, (*Server).getMyCommands}, true
	case "deletemycommands":
		return method{"deleteMyCommands", false, (*Server).deleteMyCommands}, true
	case "getchat":
		return method{"getChat", false, (*Server).getChat}, true
	case "getchatmember":
		return method{"getChatMember", false, (*Server).getChatMember}, true
	case "getchatadministrators":
		return method{"getChatAdministrators", false, (*Server).getChatAdministrators}, true
	}
	return method{}, false
}

// chatState is what the fake knows about one chat.
type chatState struct {
	chat    models.Chat
	lastID  int               // message ids are per chat and shared by users and the bot, as in Telegram
	msgs    []*models.Message // visible messages in id order
	pinned  int               // pinned message id, 0 if none
	members map[int64]models.ChatMemberType
	tags    map[int]bool // sequence tags seen, see SeqTag
	maxTag  int
}

// inferType guesses a chat's type from its id the way Telegram allocates ids.
func inferType(id int64) models.ChatType {
	switch {
	case id > 0:
		return models.ChatTypePrivate
	case id <= -1_000_000_000_000:
		return models.ChatTypeSupergroup
	}
	return models.ChatTypeGroup
}

// chat returns the state of chat id, creating it on first use.
func (s *Server) chat(id int64) *chatState {
	cs, ok := s.chats[id]
	if !ok {
		cs = &chatState{chat: models.Chat{ID: id, Type: inferType(id)}, members: map[int64]models.ChatMemberType{}, tags: map[int]bool{}}
		s.chats[id] = cs
	}
	return cs
}

// chatWith registers what a test said about a chat, keeping earlier details
// the new description leaves empty.
func (s *Server) chatWith(c models.Chat) *chatState {
	cs := s.chat(c.ID)
	if c.Type != "" {
		cs.chat.Type = c.Type
	}
	keep := func(dst *string, src string) {
		if src != "" {
			*dst = src
		}
	}
	keep(&cs.chat.Title, c.Title)
	keep(&cs.chat.Username, c.Username)
	keep(&cs.chat.FirstName, c.FirstName)
	keep(&cs.chat.LastName, c.LastName)
	return cs
}

func (s *Server) unixNow() int { return int(s.now().Unix()) }

// newMessage appends a message to a chat and returns it for filling in.
func (s *Server) newMessage(cs *chatState, from models.User) *models.Message {
	cs.lastID++
	m := &models.Message{ID: cs.lastID, From: &from, Date: s.unixNow(), Chat: cs.chat}
	cs.msgs = append(cs.msgs, m)
	return m
}

func (cs *chatState) find(id int) *models.Message {
	for _, m := range cs.msgs {
		if m.ID == id {
			return m
		}
	}
	return nil
}

// targetChat resolves the chat_id parameter.
func (s *Server) targetChat(c *Call) (*chatState, reply) {
	raw := c.Params["chat_id"]
	if raw == "" {
		return nil, badRequest("chat_id is empty")
	}
	if c.ChatID == 0 {
		return nil, badRequest("chat not found") // @usernames are not supported
	}
	return s.chat(c.ChatID), reply{}
}

// targetMessage resolves chat_id and message_id; notFound is Telegram's
// method-specific wording, e.g. "message to edit not found".
func (s *Server) targetMessage(c *Call, notFound string) (*chatState, *models.Message, reply) {
	if c.Params["inline_message_id"] != "" {
		return nil, nil, badRequest("bottest: this method takes no inline_message_id")
	}
	cs, rep := s.targetChat(c)
	if cs == nil {
		return nil, nil, rep
	}
	id, err := strconv.Atoi(c.Params["message_id"])
	if err != nil {
		return nil, nil, badRequest("message identifier is not specified")
	}
	m := cs.find(id)
	if m == nil {
		return nil, nil, badRequest(notFound)
	}
	return cs, m, reply{}
}

func sentReply(m *models.Message) reply {
	rep := ok(m)
	rep.messageID = m.ID
	return rep
}

func (s *Server) getMe(*Call) reply {
	u := s.botUser
	return ok(&u)
}

func (s *Server) sendMessage(c *Call) reply {
	cs, rep := s.targetChat(c)
	if cs == nil {
		return rep
	}
	text, entities, markup, err := messageContent(c)
	if err != nil {
		return badRequest(err.Error())
	}
	m := s.newMessage(cs, s.botUser)
	m.Text, m.Entities, m.ReplyMarkup = text, entities, markup
	s.noteSent(cs, text)
	return sentReply(m)
}

func (s *Server) sendDocument(c *Call) reply {
	cs, rep := s.targetChat(c)
	if cs == nil {
		return rep
	}
	var doc models.Document
	if f, uploaded := c.Files["document"]; uploaded {
		doc = s.storeFile(f)
	} else if ref := c.Params["document"]; ref != "" {
		if f, known := s.files[ref]; known {
			doc = models.Document{FileID: ref, FileUniqueID: "u" + ref, FileName: f.Name, MimeType: f.ContentType, FileSize: int64(len(f.Data))}
		} else if u, err := url.Parse(ref); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
			doc = s.storeFile(File{Name: path.Base(u.Path)}) // the fake does not download
		} else {
			return badRequest("wrong file identifier/HTTP URL specified")
		}
	} else {
		return badRequest("there is no document in the request")
	}
	caption, entities, err := formatText(c.Params["caption"], c.Params["parse_mode"], c.Params["caption_entities"])
	if err != nil {
		return badRequest(err.Error())
	}
	if tgtext.UTF16Len(caption) > tgtext.MaxCaption {
		return badRequest("message caption is too long")
	}
	markup, err := parseMarkup(c.Params["reply_markup"])
	if err != nil {
		return badRequest(err.Error())
	}
	m := s.newMessage(cs, s.botUser)
	m.Document, m.Caption, m.CaptionEntities, m.ReplyMarkup = &doc, caption, entities, markup
	s.noteSent(cs, caption)
	return sentReply(m)
}

// sendVenue checks the parameters as the Bot API spec gives them
// (chat_id, latitude and longitude as Float, title and address as String,
// all required) and posts a venue message: as Telegram does, the message
// carries the venue and, for backward compatibility, its location.
func (s *Server) sendVenue(c *Call) reply {
	cs, rep := s.targetChat(c)
	if cs == nil {
		return rep
	}
	coord := func(name string, limit float64) (float64, error) {
		raw := c.Params[name]
		if raw == "" {
			return 0, fmt.Errorf("%s is empty", name) // required by the spec
		}
		v, err := strconv.ParseFloat(raw, 64)
		if err != nil || v < -limit || v > limit {
			return 0, fmt.Errorf("wrong %s specified", name)
		}
		return v, nil
	}
	lat, err := coord("latitude", 90)
	if err != nil {
		return badRequest(err.Error())
	}
	lon, err := coord("longitude", 180)
	if err != nil {
		return badRequest(err.Error())
	}
	title, address := c.Params["title"], c.Params["address"]
	if strings.TrimSpace(title) == "" {
		return badRequest("venue title is empty")
	}
	if strings.TrimSpace(address) == "" {
		return badRequest("venue address is empty")
	}
	markup, err := parseMarkup(c.Params["reply_markup"])
	if err != nil {
		return badRequest(err.Error())
	}
	loc := models.Location{Latitude: lat, Longitude: lon}
	m := s.newMessage(cs, s.botUser)
	m.Venue = &models.Venue{Location: loc, Title: title, Address: address,
		FoursquareID: c.Params["foursquare_id"], FoursquareType: c.Params["foursquare_type"],
		GooglePlaceID: c.Params["google_place_id"], GooglePlaceType: c.Params["google_place_type"]}
	m.Location, m.ReplyMarkup = &loc, markup
	s.noteSent(cs, title)
	return sentReply(m)
}

func (s *Server) storeFile(f File) models.Document {
	s.fileSeq++
	id := fmt.Sprintf("BQACAgIAAxkBAAI%06d", s.fileSeq)
	s.files[id] = f
	return models.Document{FileID: id, FileUniqueID: "u" + id, FileName: f.Name, MimeType: f.ContentType, FileSize: int64(len(f.Data))}
}

// messageContent reads the text and keyboard of a sendMessage or
// editMessageText call as Telegram does: text formatted per parse_mode, not
// blank, within the limit; reply_markup checked as markup.
func messageContent(c *Call) (string, []models.MessageEntity, *models.InlineKeyboardMarkup, error) {
	text, entities, err := formatText(c.Params["text"], c.Params["parse_mode"], c.Params["entities"])
	if err != nil {
		return "", nil, nil, err
	}
	if strings.TrimSpace(text) == "" {
		return "", nil, nil, errors.New("message text is empty")
	}
	if tgtext.UTF16Len(text) > tgtext.MaxMessage {
		return "", nil, nil, errors.New("message is too long")
	}
	markup, err := parseMarkup(c.Params["reply_markup"])
	if err != nil {
		return "", nil, nil, err
	}
	return text, entities, markup, nil
}

// messageToEdit is the message an edit targets, which must be the bot's
// own; otherwise m is nil and rep is Telegram's refusal.
func (s *Server) messageToEdit(c *Call) (m *models.Message, rep reply) {
	_, m, rep = s.targetMessage(c, "message to edit not found")
	if m == nil {
		return nil, rep
	}
	if m.From == nil || m.From.ID != s.botUser.ID {
		return nil, badRequest("message can't be edited")
	}
	return m, reply{}
}

const notModified = "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message"

func (s *Server) editMessageText(c *Call) reply {
	if im, rep, inline := s.targetInline(c); inline { // inline.go
		if im == nil {
			return rep
		}
		return s.editInline(im, c, true)
	}
	m, rep := s.messageToEdit(c)
	if m == nil {
		return rep
	}
	if m.Text == "" {
		return badRequest("there is no text in the message to edit")
	}
	// Telegram drops the inline keyboard when an edit carries none.
	text, entities, markup, err := messageContent(c)
	if err != nil {
		return badRequest(err.Error())
	}
	if text == m.Text && sameJSON(entities, m.Entities) && sameJSON(markup, m.ReplyMarkup) {
		return badRequest(notModified)
	}
	m.Text, m.Entities, m.ReplyMarkup, m.EditDate = text, entities, markup, s.unixNow()
	return sentReply(m)
}

func (s *Server) editMessageReplyMarkup(c *Call) reply {
	if im, rep, inline := s.targetInline(c); inline { // inline.go
		if im == nil {
			return rep
		}
		return s.editInline(im, c, false)
	}
	m, rep := s.messageToEdit(c)
	if m == nil {
		return rep
	}
	markup, err := parseMarkup(c.Params["reply_markup"])
	if err != nil {
		return badRequest(err.Error())
	}
	if sameJSON(markup, m.ReplyMarkup) {
		return badRequest(notModified)
	}
	m.ReplyMarkup, m.EditDate = markup, s.unixNow()
	return sentReply(m)
}

func (s *Server) deleteMessage(c *Call) reply {
	cs, m, rep := s.targetMessage(c, "message to delete not found")
	if m == nil {
		return rep
	}
	cs.msgs = slices.DeleteFunc(cs.msgs, func(x *models.Message) bool { return x == m })
	if cs.pinned == m.ID {
		cs.pinned = 0
	}
	return ok(true)
}

func (s *Server) pinChatMessage(c *Call) reply {
	cs, m, rep := s.targetMessage(c, "message to pin not found")
	if m == nil {
		return rep
	}
	cs.pinned = m.ID
	return ok(true)
}

func (s *Server) unpinChatMessage(c *Call) reply {
	cs, rep := s.targetChat(c)
	if cs == nil {
		return rep
	}
	if id := c.Params["message_id"]; id == "" || id == strconv.Itoa(cs.pinned) {
		cs.pinned = 0
	}
	return ok(true)
}

func (s *Server) sendChatAction(c *Call) reply {
	if cs, rep := s.targetChat(c); cs == nil {
		return rep
	}
	return ok(true)
}

func (s *Server) answerCallbackQuery(c *Call) reply {
	id := c.Params["callback_query_id"]
	if answered, known := s.callbacks[id]; !known || answered {
		return badRequest("query is too old and response timeout expired or query ID is invalid")
	}
	s.callbacks[id] = true
	return ok(true)
}

// commandsKey identifies a command list by scope and language; scopes are
// compared in a canonical JSON form so field order does not matter.
func commandsKey(scope, lang string) string {
	var fields map[string]any
	if json.Unmarshal([]byte(scope), &fields) != nil || fields["type"] == "default" {
		return "default|" + lang
	}
	canon, _ := json.Marshal(fields) // map keys are sorted
	return string(canon) + "|" + lang
}

func (s *Server) setMyCommands(c *Call) reply {
	var cmds []models.BotCommand
	if err := json.Unmarshal([]byte(c.Params["commands"]), &cmds); err != nil {
		return badRequest("can't parse commands JSON object")
	}
	if len(cmds) > 100 {
		return badRequest("too many commands specified")
	}
	for _, cmd := range cmds {
		if len(cmd.Command) == 0 || len(cmd.Command) > 32 || strings.TrimLeft(cmd.Command, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
			return badRequest("BOT_COMMAND_INVALID")
		}
		if n := tgtext.UTF16Len(cmd.Description); n == 0 || n > 256 {
			return badRequest("command description is empty or too long")
		}
	}
	key := commandsKey(c.Params["scope"], c.Params["language_code"])
	if len(cmds) == 0 {
		delete(s.commands, key)
	} else {
		s.commands[key] = cmds
	}
	return ok(true)
}

func (s *Server) getMyCommands(c *Call) reply {
	cmds := s.commands[commandsKey(c.Params["scope"], c.Params["language_code"])]
	return ok(append([]models.BotCommand{}, cmds...))
}

func (s *Server) deleteMyCommands(c *Call) reply {
	delete(s.commands, commandsKey(c.Params["scope"], c.Params["language_code"]))
	return ok(true)
}

func (s *Server) getChat(c *Call) reply {
	cs, rep := s.targetChat(c)
	if cs == nil {
		return rep
	}
	ch := cs.chat
	info := &models.ChatFullInfo{ID: ch.ID, Type: ch.Type, Title: ch.Title, Username: ch.Username,
		FirstName: ch.FirstName, LastName: ch.LastName}
	if p := cs.find(cs.pinned); p != nil {
		info.PinnedMessage = p
	}
	return ok(info)
}

// memberStatus is a user's status in a chat: what SetChatMember or pushes
// said, else "member" for the bot and the private chat's user, else "left".
func (s *Server) memberStatus(cs *chatState, userID int64) models.ChatMemberType {
	if st, ok := cs.members[userID]; ok {
		return st
	}
	if userID == s.botUser.ID || (cs.chat.Type == models.ChatTypePrivate && userID == cs.chat.ID) {
		return models.ChatMemberTypeMember
	}
	return models.ChatMemberTypeLeft
}

func (s *Server) userByID(id int64) models.User {
	if id == s.botUser.ID {
		return s.botUser
	}
	if u, ok := s.users[id]; ok {
		return u
	}
	return models.User{ID: id, FirstName: "User " + strconv.FormatInt(id, 10)}
}

// member builds the ChatMember variant for a status; unknown statuses
// panic because only a test can supply one.
func member(u models.User, st models.ChatMemberType) models.ChatMember {
	cm := models.ChatMember{Type: st}
	switch st {
	case models.ChatMemberTypeOwner:
		cm.Owner = &models.ChatMemberOwner{User: &u}
	case models.ChatMemberTypeAdministrator:
		cm.Administrator = &models.ChatMemberAdministrator{User: u, CanManageChat: true, CanDeleteMessages: true,
			CanRestrictMembers: true, CanInviteUsers: true, CanPinMessages: true}
	case models.ChatMemberTypeMember:
		cm.Member = &models.ChatMemberMember{User: &u}
	case models.ChatMemberTypeRestricted:
		cm.Restricted = &models.ChatMemberRestricted{User: &u, IsMember: true}
	case models.ChatMemberTypeLeft:
		cm.Left = &models.ChatMemberLeft{User: &u}
	case models.ChatMemberTypeBanned:
		cm.Banned = &models.ChatMemberBanned{User: &u}
	default:
		panic(fmt.Sprintf("bottest: unknown chat member status %q", st))
	}
	return cm
}

func (s *Server) getChatMember(c *Call) reply {
	cs, rep := s.targetChat(c)
	if cs == nil {
		return rep
	}
	uid, err := strconv.ParseInt(c.Params["user_id"], 10, 64)
	if err != nil || uid == 0 {
		return badRequest("invalid user_id specified")
	}
	cm := member(s.userByID(uid), s.memberStatus(cs, uid))
	return ok(&cm)
}

func (s *Server) getChatAdministrators(c *Call) reply {
	cs, rep := s.targetChat(c)
	if cs == nil {
		return rep
	}
	if cs.chat.Type == models.ChatTypePrivate {
		return badRequest("there are no administrators in the private chat")
	}
	admins := []models.ChatMember{}
	for _, uid := range slices.Sorted(maps.Keys(cs.members)) {
		if st := cs.members[uid]; st == models.ChatMemberTypeOwner || st == models.ChatMemberTypeAdministrator {
			admins = append(admins, member(s.userByID(uid), st))
		}
	}
	return ok(admins)
}

// formatText turns text as sent into text as stored: HTML is parsed into
// plain text plus entities like Telegram does (and rejected like Telegram
// when malformed); explicit entities are taken as given; Markdown is kept
// verbatim because the fake does not implement its escaping rules.
func formatText(text, parseMode, entitiesJSON string) (string, []models.MessageEntity, error) {
	switch strings.ToLower(parseMode) {
	case "html":
		return tgtext.ParseHTML(text)
	case "markdown", "markdownv2":
		return text, nil, nil
	case "":
		if entitiesJSON == "" {
			return text, nil, nil
		}
		var ents []models.MessageEntity
		if err := json.Unmarshal([]byte(entitiesJSON), &ents); err != nil {
			return "", nil, errors.New("can't parse entities JSON object")
		}
		return text, ents, nil
	}
	return "", nil, fmt.Errorf("unsupported parse_mode %q", parseMode)
}

// parseMarkup validates reply_markup and returns the inline keyboard the
// message will carry; other keyboards are valid but not part of a message.
func parseMarkup(raw string) (*models.InlineKeyboardMarkup, error) {
	if raw == "" {
		return nil, nil
	}
	var probe struct {
		InlineKeyboard [][]map[string]json.RawMessage `json:"inline_keyboard"`
	}
	if err := json.Unmarshal([]byte(raw), &probe); err != nil {
		return nil, errors.New("can't parse reply keyboard markup JSON object")
	}
	if probe.InlineKeyboard == nil {
		return nil, nil
	}
	for _, row := range probe.InlineKeyboard {
		for _, b := range row {
			if err := checkButton(b); err != nil {
				return nil, err
			}
		}
	}
	var kb models.InlineKeyboardMarkup
	if err := json.Unmarshal([]byte(raw), &kb); err != nil {
		return nil, errors.New("can't parse reply keyboard markup JSON object")
	}
	return &kb, nil
}

// buttonActions are InlineKeyboardButton's fields that say what a button
// does; the Bot API wants exactly one of them ("Exactly one of the fields
// other than text, icon_custom_emoji_id, and style must be used").
var buttonActions = []string{"url", "callback_data", "web_app", "login_url", "switch_inline_query",
	"switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text", "callback_game", "pay"}

// checkButton reads the spec strictly where Telegram is lenient today: a
// button with two actions is refused (real Telegram lets callback_data win),
// and so is a copy_text whose text is not 1-256 characters.
func checkButton(b map[string]json.RawMessage) error {
	if _, hasText := b["text"]; !hasText {
		return errors.New("can't parse inline keyboard button: Text is not specified")
	}
	var actions []string
	for _, f := range buttonActions {
		if _, ok := b[f]; ok {
			actions = append(actions, f)
		}
	}
	switch {
	case len(actions) == 0:
		return errors.New("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
	case len(actions) > 1:
		return fmt.Errorf("can't parse inline keyboard button: exactly one of the optional fields must be used, found %s", strings.Join(actions, ", "))
	}
	var data string
	if raw, ok := b["callback_data"]; ok && (json.Unmarshal(raw, &data) != nil || len(data) == 0 || len(data) > 64) {
		return errors.New("BUTTON_DATA_INVALID")
	}
	if raw, ok := b["copy_text"]; ok {
		var ct struct {
			Text *string `json:"text"`
		}
		if json.Unmarshal(raw, &ct) != nil || ct.Text == nil {
			return errors.New("can't parse inline keyboard button: copy_text must be an object with a text field")
		}
		if n := tgtext.UTF16Len(*ct.Text); n < 1 || n > 256 {
			return errors.New("can't parse inline keyboard button: copy_text text must be 1-256 characters")
		}
	}
	return nil
}

func sameJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}
