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
	emptyCopy := bytes.Contains(params, []byte(`"copy_text":{"text":""}`))
	// UTF-16 units never outnumber UTF-8 bytes: short text needs no parsing.
	long := field != "" && len(text) > limit
	if !emptyCopy && !long {
		return nil, params, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(params, &m); err != nil {
		return nil, nil, fmt.Errorf("%w: %s params: %v", ErrInvalid, method, err)
	}
	if emptyCopy {
		if err := dropEmptyCopyText(m); err != nil {
			return nil, nil, fmt.Errorf("%w: %s reply_markup: %v", ErrInvalid, method, err)
		}
	}
	parts := []string{text}
	if long {
		// Only HTML is parsed; Markdown is counted as sent, which errs
		// on the safe side.
		isHTML := method != "answerCallbackQuery" && strings.EqualFold(p.ParseMode, "HTML")
		if method == "sendMessage" {
			parts, err = tgtext.Split(text, isHTML, limit)
		} else {
			parts[0], err = tgtext.Cut(text, isHTML, limit)
		}
		if err != nil || len(parts) == 0 {
			parts, err = []string{text}, nil // see above: Telegram will say why
		}
	}
	out := make([]json.RawMessage, len(parts))
	for i, part := range parts {
		pm := m
		if long {
			pm = make(map[string]json.RawMessage, len(m))
			for k, v := range m {
				if k == "entities" || k == "caption_entities" {
					continue // offsets into the uncut text; the rsvpbot never sends these
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
		}
		if out[i], err = json.Marshal(pm); err != nil {
			return nil, nil, fmt.Errorf("%w: %s params: %v", ErrInvalid, method, err)
		}
	}
	return out[:len(out)-1], out[len(out)-1], nil
}

// dropEmptyCopyText removes "copy_text":{"text":""} from the buttons of an
// inline keyboard in m["reply_markup"].
func dropEmptyCopyText(m map[string]json.RawMessage) error {
	raw, ok := m["reply_markup"]
	if !ok {
		return nil
	}
	var markup map[string]json.RawMessage
	if err := json.Unmarshal(raw, &markup); err != nil || markup == nil {
		return err
	}
	rows, ok := markup["inline_keyboard"]
	if !ok {
		return nil
	}
	var kb [][]map[string]json.RawMessage
	if err := json.Unmarshal(rows, &kb); err != nil || kb == nil {
		return err
	}
	for _, row := range kb {
		for _, b := range row {
			var ct struct{ Text *string }
			if v, has := b["copy_text"]; has && json.Unmarshal(v, &ct) == nil && ct.Text != nil && *ct.Text == "" {
				delete(b, "copy_text")
			}
		}
	}
	var err error
	if markup["inline_keyboard"], err = json.Marshal(kb); err != nil {
		return err
	}
	m["reply_markup"], err = json.Marshal(markup)
	return err
}
