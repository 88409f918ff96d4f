package outbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/rsvpbot/rsvpbot/bot/tgtext"
)

// fitLimits makes a call conform before it is stored, so that no row is
// refused by Telegram for what it says (a 400 is final: the row would be a
// dead letter, and enough of them page an operator).
//
//   - Text over Telegram's limits (tgtext: 4,096 UTF-16 units as shown for
//     messages, 1,024 for captions, 200 for callback answers): a
//     sendMessage is split into several messages (lead holds the earlier
//     parts, params the last; the keyboard stays on the last, the reply
//     reference on the first); anything else — an edit, a caption, a
//     callback answer — is cut and ends in "…".
//   - Inline keyboards: go-telegram/bot's InlineKeyboardButton marshals
//     "copy_text":{"text":""} onto every button. An empty copy text is never
//     valid (1-256 characters), so it is removed: the stored JSON is what
//     Telegram should get, and bot.Client sends it as it is.
//
// Text whose HTML Telegram could not parse is left as it is: no cut makes
// it valid, and Telegram's answer says what is wrong.
func fitLimits(method string, params json.RawMessage) (lead []json.RawMessage, _ json.RawMessage, err error) {
	var p struct {
		Text      *string `json:"text"`
		Caption   *string `json:"caption"`
		ParseMode string  `json:"parse_mode"`
	}
	if err := json.Unmarshal(params, &p); err != nil {
		return nil, nil, fmt.Errorf("%w: %s params: %v", ErrInvalid, method, err)
	}
	field, limit := "", 0
	var text string
	switch {
	case method == "answerCallbackQuery" && p.Text != nil:
		field, limit, text = "text", tgtext.MaxCallbackAnswer, *p.Text
	case (method == "sendMessage" || method == "editMessageText") && p.Text != nil:
		field, limit, text = "text", tgtext.MaxMessage, *p.Text
	case p.Caption != nil:
		field, limit, text = "caption", tgtext.MaxCaption, *p.Caption
	}
	params = dropEmptyCopyText(params)
	// UTF-16 units never outnumber UTF-8 bytes: short text needs no parsing.
	if field == "" || len(text) <= limit {
		return nil, params, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(params, &m); err != nil {
		return nil, nil, fmt.Errorf("%w: %s params: %v", ErrInvalid, method, err)
	}
	// Only HTML is parsed; Markdown is counted as sent, which errs on the
	// safe side.
	isHTML := method != "answerCallbackQuery" && strings.EqualFold(p.ParseMode, "HTML")
	parts := []string{text}
	if method == "sendMessage" {
		parts, err = tgtext.Split(text, isHTML, limit)
	} else {
		parts[0], err = tgtext.Cut(text, isHTML, limit)
	}
	if err != nil || len(parts) == 0 {
		return nil, params, nil // see above: Telegram will say why
	}
	if len(parts) == 1 && parts[0] == text {
		return nil, params, nil // fits once parsed
	}
	out := make([]json.RawMessage, len(parts))
	for i, part := range parts {
		pm := make(map[string]json.RawMessage, len(m))
		for k, v := range m {
			if k == "entities" || k == "caption_entities" {
				continue // offsets into the uncut text; rsvpbot never sends these
			}
			if i < len(parts)-1 && k == "reply_markup" {
				continue // the keyboard goes under the last part
			}
			if i > 0 && (k == "reply_parameters" || k == "reply_to_message_id") {
				continue // the first part is the reply
			}
			pm[k] = v
		}
		pm[field], _ = json.Marshal(part)
		if out[i], err = json.Marshal(pm); err != nil {
			return nil, nil, fmt.Errorf("%w: %s params: %v", ErrInvalid, method, err)
		}
	}
	return out[:len(out)-1], out[len(out)-1], nil
}

// Empty copy texts as go-telegram/bot encodes them. In valid JSON these
// bytes can only be an object key and its value (a quote inside a string is
// escaped), and only buttons have copy_text.
var (
	emptyCopyAfter  = []byte(`,"copy_text":{"text":""}`)
	emptyCopyBefore = []byte(`"copy_text":{"text":""},`)
)

// dropEmptyCopyText removes "copy_text":{"text":""} from every button,
// leaving the rest of the JSON as it was.
func dropEmptyCopyText(params json.RawMessage) json.RawMessage {
	params = bytes.ReplaceAll(params, emptyCopyAfter, nil)
	return bytes.ReplaceAll(params, emptyCopyBefore, nil)
}
