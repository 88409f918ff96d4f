package bot

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
)

// DefaultAPIURL is Telegram's Bot API server.
const DefaultAPIURL = "https://api.telegram.org"

// Client calls the Bot API through go-telegram/bot's methods, and records
// for each call what the ledger needs (HTTP status, raw body, latency) and
// what the sender needs to classify a failure (error_code, retry_after,
// migrate_to_chat_id) — information the library folds into error strings.
//
// Calls are described in the Bot API's own JSON ("wire") form, so a call
// can be stored in the outbox and made later by a process that knows
// nothing of why it was queued.
type Client struct {
	tg     *tg.Bot
	token  string
	apiURL string
	http   *http.Client

	adminsMu sync.Mutex
	admins   map[int64]adminEntry
}

// ClientOptions tune NewClient.
type ClientOptions struct {
	// Timeout bounds one call (default 30 s). getUpdates long polls are
	// given their own longer deadline by the poller.
	Timeout time.Duration
}

// idleConnsPerHost is how many idle connections to Telegram the client
// keeps: more than the sender's workers (16 by default) and the poller.
const idleConnsPerHost = 32

// NewClient makes a client for token against apiURL (DefaultAPIURL if empty).
// It does not call Telegram.
func NewClient(token, apiURL string, opts ClientOptions) (*Client, error) {
	if apiURL == "" {
		apiURL = DefaultAPIURL
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	apiURL = strings.TrimRight(apiURL, "/")
	base := http.DefaultTransport.(*http.Transport).Clone()
	// One host, many concurrent calls (the sender's workers, the long
	// poll, getChatMember): keep their connections, rather than Go's
	// default two idle per host, so that a busy sender does not open a
	// new connection (a TLS handshake) for most calls.
	base.MaxIdleConnsPerHost = idleConnsPerHost
	hc := &http.Client{Transport: &recordingTransport{base: base, token: token}}
	b, err := tg.New(token,
		tg.WithServerURL(apiURL),
		tg.WithSkipGetMe(),
		tg.WithHTTPClient(opts.Timeout, hc),
		tg.WithErrorsHandler(func(error) {}),
		tg.WithDefaultHandler(func(context.Context, *tg.Bot, *models.Update) {}),
	)
	if err != nil {
		return nil, errors.New(Redact(err.Error(), token))
	}
	return &Client{tg: b, token: token, apiURL: apiURL, http: hc, admins: map[int64]adminEntry{}}, nil
}

// Bot exposes the library client for calls that need no outbox (getMe,
// setMyCommands, setWebhook at start).
func (c *Client) Bot() *tg.Bot { return c.tg }

// Token is the bot token (for webhook paths and redaction, never for logs).
func (c *Client) Token() string { return c.token }

// APIURL is the Bot API base URL in use.
func (c *Client) APIURL() string { return c.apiURL }

// HTTP returns the HTTP client whose transport records and redacts; the
// poller uses it for getUpdates, which the library does not export.
func (c *Client) HTTP() *http.Client { return c.http }

// Result is what one call produced, filled as far as it got.
type Result struct {
	MessageID   int    // message_id of a sent or edited message, 0 otherwise
	HTTPStatus  int    // 0 when no response arrived
	ErrorCode   int    // Telegram's error_code, 0 on success
	Description string // Telegram's description on failure
	RetryAfter  int    // seconds, from a 429
	MigrateTo   int64  // migrate_to_chat_id, from a 400 on an upgraded group
	Body        []byte // raw response body (token never appears in it)
	Latency     time.Duration
	// Sent reports whether the request may have reached Telegram: true once
	// the request was written, even if no response came back. A network
	// error with Sent false means Telegram certainly did not act on it.
	Sent bool
}

// Call performs a Bot API method given its parameters in wire JSON.
// The error is the library's (so errors.As with *tg.TooManyRequestsError
// and *tg.MigrateError works) with the token redacted; Result is filled in
// either case.
func (c *Client) Call(ctx context.Context, method string, params json.RawMessage) (Result, error) {
	rec := &callRecord{}
	ctx = context.WithValue(ctx, recordKey{}, rec)
	start := time.Now()
	msgID, err := c.dispatch(ctx, method, params)
	res := Result{
		MessageID:  msgID,
		HTTPStatus: rec.status,
		Body:       rec.body,
		Latency:    time.Since(start),
		Sent:       rec.wrote.Load(),
	}
	if len(rec.body) > 0 {
		var r struct {
			OK          bool   `json:"ok"`
			ErrorCode   int    `json:"error_code"`
			Description string `json:"description"`
			Parameters  struct {
				RetryAfter      int   `json:"retry_after"`
				MigrateToChatID int64 `json:"migrate_to_chat_id"`
			} `json:"parameters"`
		}
		if json.Unmarshal(rec.body, &r) == nil && !r.OK {
			res.ErrorCode, res.Description = r.ErrorCode, r.Description
			res.RetryAfter, res.MigrateTo = r.Parameters.RetryAfter, r.Parameters.MigrateToChatID
		}
	}
	if err != nil {
		err = redactErr(err, c.token)
	}
	return res, err
}

// ErrUnknownMethod is returned for a method the client has no adapter for;
// such an outbox row can never be sent and is dead-lettered.
var ErrUnknownMethod = errors.New("unsupported Bot API method")

func (c *Client) dispatch(ctx context.Context, method string, raw json.RawMessage) (int, error) {
	if sendsRaw(method, raw) {
		return 0, c.callRaw(ctx, method, raw)
	}
	// The library's params have interface-typed fields (chat_id, reply_markup,
	// files) that encoding/json cannot decode into; split those off first.
	w, err := splitWire(raw)
	if err != nil {
		return 0, err
	}
	// reply_markup goes out as the JSON stored, never through the library's
	// structs: models.InlineKeyboardButton would add "copy_text":{"text":""}
	// to every button (a second action and an empty copy text, both against
	// the spec), and would drop any field it does not know. The library
	// marshals a json.RawMessage as it is.
	var markup models.ReplyMarkup
	if w.markup != nil {
		markup = w.markup
	}
	switch method {
	case "sendMessage":
		m, err := callAs(ctx, w.rest, func(p *tg.SendMessageParams) { p.ChatID, p.ReplyMarkup = w.chatID, markup }, c.tg.SendMessage)
		return msgID(m), err
	case "editMessageText":
		m, err := callAs(ctx, w.rest, func(p *tg.EditMessageTextParams) { p.ChatID, p.ReplyMarkup = w.chatID, markup }, c.tg.EditMessageText)
		return msgID(m), err
	case "editMessageReplyMarkup":
		m, err := callAs(ctx, w.rest, func(p *tg.EditMessageReplyMarkupParams) { p.ChatID, p.ReplyMarkup = w.chatID, markup }, c.tg.EditMessageReplyMarkup)
		return msgID(m), err
	case "answerCallbackQuery":
		_, err := callAs(ctx, w.rest, func(*tg.AnswerCallbackQueryParams) {}, c.tg.AnswerCallbackQuery)
		return 0, err
	case "deleteMessage":
		_, err := callAs(ctx, w.rest, func(p *tg.DeleteMessageParams) { p.ChatID = w.chatID }, c.tg.DeleteMessage)
		return 0, err
	case "pinChatMessage":
		_, err := callAs(ctx, w.rest, func(p *tg.PinChatMessageParams) { p.ChatID = w.chatID }, c.tg.PinChatMessage)
		return 0, err
	case "sendVenue":
		m, err := callAs(ctx, w.rest, func(p *tg.SendVenueParams) { p.ChatID, p.ReplyMarkup = w.chatID, markup }, c.tg.SendVenue)
		return msgID(m), err
	case "sendDocument":
		if w.document == nil {
			return 0, fmt.Errorf("%w: sendDocument without document", ErrBadParams)
		}
		m, err := callAs(ctx, w.rest, func(p *tg.SendDocumentParams) {
			p.ChatID, p.ReplyMarkup, p.Document = w.chatID, markup, w.document.inputFile()
		}, c.tg.SendDocument)
		return msgID(m), err
	}
	return 0, fmt.Errorf("%w %q", ErrUnknownMethod, method)
}

// sendsRaw reports whether a call goes out as its stored JSON instead of
// through the library: answerInlineQuery (the library's result and button
// structs cannot be decoded into, and its button sends "web_app":null),
// and edits of inline messages (Telegram answers them with true, not the
// Message the library's methods decode).
func sendsRaw(method string, raw json.RawMessage) bool {
	if method == "answerInlineQuery" {
		return true
	}
	if method != "editMessageText" && method != "editMessageReplyMarkup" {
		return false
	}
	var p struct {
		InlineMessageID string `json:"inline_message_id"`
	}
	return json.Unmarshal(raw, &p) == nil && p.InlineMessageID != ""
}

// callRaw posts raw as the JSON body of method. Its answer is recorded by
// the transport like any call's; a failure is returned as the library's
// error of the same kind, so callers tell them apart the same way.
func (c *Client) callRaw(ctx context.Context, method string, raw json.RawMessage) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.apiURL+"/bot"+c.token+"/"+method, bytes.NewReader(raw))
	if err != nil {
		return redactErr(err, c.token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return redactErr(fmt.Errorf("error do request for method %s, %w", method, err), c.token)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("error read response body for method %s, %w", method, err)
	}
	var r struct {
		OK          bool   `json:"ok"`
		ErrorCode   int    `json:"error_code"`
		Description string `json:"description"`
		Parameters  struct {
			RetryAfter int `json:"retry_after"`
		} `json:"parameters"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("error decode response body for method %s, %w", method, err)
	}
	if r.OK {
		return nil
	}
	switch r.ErrorCode {
	case http.StatusTooManyRequests:
		return &tg.TooManyRequestsError{Message: r.Description, RetryAfter: r.Parameters.RetryAfter}
	case http.StatusForbidden:
		return fmt.Errorf("%w, %s", tg.ErrorForbidden, r.Description)
	case http.StatusBadRequest:
		return fmt.Errorf("%w, %s", tg.ErrorBadRequest, r.Description)
	case http.StatusUnauthorized:
		return fmt.Errorf("%w, %s", tg.ErrorUnauthorized, r.Description)
	case http.StatusNotFound:
		return fmt.Errorf("%w, %s", tg.ErrorNotFound, r.Description)
	}
	return fmt.Errorf("%s: error %d, %s", method, r.ErrorCode, r.Description)
}

// callAs decodes the wire parameters into the library's params type P,
// lets fill set what splitWire took off (chat_id, reply_markup, files),
// and calls the library's method with them.
func callAs[P, R any](ctx context.Context, rest json.RawMessage, fill func(*P), method func(context.Context, *P) (R, error)) (R, error) {
	var p P
	if err := decode(rest, &p); err != nil {
		var zero R
		return zero, err
	}
	fill(&p)
	return method(ctx, &p)
}

type wireParams struct {
	chatID   int64
	markup   json.RawMessage // a JSON object, or nil
	document *WireFile
	rest     json.RawMessage
}

func splitWire(raw json.RawMessage) (wireParams, error) {
	var w wireParams
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return w, fmt.Errorf("%w: %v", ErrBadParams, err)
	}
	if v, ok := m["chat_id"]; ok {
		if err := json.Unmarshal(v, &w.chatID); err != nil {
			return w, fmt.Errorf("%w: chat_id: %v", ErrBadParams, err)
		}
		delete(m, "chat_id")
	}
	if v, ok := m["reply_markup"]; ok {
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(v, &probe); err != nil {
			return w, fmt.Errorf("%w: reply_markup: %v", ErrBadParams, err)
		}
		if probe != nil { // null is no markup
			w.markup = v
		}
		delete(m, "reply_markup")
	}
	if v, ok := m["document"]; ok {
		if err := json.Unmarshal(v, &w.document); err != nil {
			return w, fmt.Errorf("%w: document: %v", ErrBadParams, err)
		}
		delete(m, "document")
	}
	rest, err := json.Marshal(m)
	w.rest = rest
	return w, err
}

// WireFile is how a file to upload is stored in outbox JSON: a file id or
// URL Telegram already knows, or a name and the bytes (base64 in JSON).
type WireFile struct {
	FileID   string `json:"file_id,omitempty"`
	Filename string `json:"filename,omitempty"`
	Data     []byte `json:"data,omitempty"`
}

func (f WireFile) inputFile() models.InputFile {
	if f.FileID != "" {
		return &models.InputFileString{Data: f.FileID}
	}
	return &models.InputFileUpload{Filename: f.Filename, Data: bytes.NewReader(f.Data)}
}

// MarshalJSON keeps Data readable as base64 (the default for []byte, made
// explicit so the format is part of the contract).
func (f WireFile) MarshalJSON() ([]byte, error) {
	type plain struct {
		FileID   string `json:"file_id,omitempty"`
		Filename string `json:"filename,omitempty"`
		Data     string `json:"data,omitempty"`
	}
	return json.Marshal(plain{f.FileID, f.Filename, base64.StdEncoding.EncodeToString(f.Data)})
}

func decode(raw json.RawMessage, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%w: bad parameters: %v", ErrBadParams, err)
	}
	return nil
}

// ErrBadParams means stored parameters could not be decoded; retrying
// cannot help.
var ErrBadParams = errors.New("invalid call parameters")

func msgID(m *models.Message) int {
	if m == nil {
		return 0
	}
	return m.ID
}

// Redact removes the token from s. The token appears in every API URL, so
// any error that quotes a URL passes through here before it is logged.
func Redact(s, token string) string {
	if token == "" {
		return s
	}
	s = strings.ReplaceAll(s, token, "<redacted>")
	// The numeric bot id before the colon is public; the secret is after it.
	if i := strings.IndexByte(token, ':'); i >= 0 && i+1 < len(token) {
		s = strings.ReplaceAll(s, token[i+1:], "<redacted>")
	}
	return s
}

// redactedError keeps the chain (for errors.As/Is) and scrubs the text.
type redactedError struct {
	err   error
	token string
}

func (e *redactedError) Error() string { return Redact(e.err.Error(), e.token) }
func (e *redactedError) Unwrap() error { return e.err }

func redactErr(err error, token string) error {
	if err == nil || !strings.Contains(err.Error(), token) {
		return err
	}
	return &redactedError{err: err, token: token}
}

// recordingTransport captures status and body of each response for the
// ledger, notes whether the request was written (for the ambiguity rule),
// and scrubs the token from transport errors.
type recordingTransport struct {
	base  http.RoundTripper
	token string
}

type recordKey struct{}

type callRecord struct {
	status int
	body   []byte
	// wrote is set by the transport's writer goroutine (the body read to
	// its end) and by RoundTrip, which may run at the same time.
	wrote atomic.Bool
}

func (t *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec, _ := req.Context().Value(recordKey{}).(*callRecord)
	if rec != nil && req.Body != nil {
		req.Body = &wroteBody{ReadCloser: req.Body, rec: rec}
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, redactErr(err, t.token)
	}
	if rec != nil {
		rec.wrote.Store(true)
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		rec.status = resp.StatusCode
		rec.body = body
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if rerr != nil {
			return nil, redactErr(rerr, t.token)
		}
	}
	return resp, nil
}

// wroteBody marks the call as possibly delivered once the transport has
// read the request body to its end (the request is on the wire).
type wroteBody struct {
	io.ReadCloser
	rec *callRecord
}

func (b *wroteBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.rec.wrote.Store(true)
	}
	return n, err
}

// ChatAdmins lists the user ids of a chat's administrators. Results are
// cached for a few minutes: permission checks happen on clicks, and asking
// Telegram on each would spend the rate budget on reads.
func (c *Client) ChatAdmins(ctx context.Context, chatID int64) ([]int64, error) {
	c.adminsMu.Lock()
	if e, ok := c.admins[chatID]; ok && time.Since(e.at) < adminCacheTTL {
		c.adminsMu.Unlock()
		return e.ids, nil
	}
	c.adminsMu.Unlock()
	members, err := c.tg.GetChatAdministrators(ctx, &tg.GetChatAdministratorsParams{ChatID: chatID})
	if err != nil {
		return nil, redactErr(err, c.token)
	}
	var ids []int64
	for _, m := range members {
		switch {
		case m.Owner != nil && m.Owner.User != nil:
			ids = append(ids, m.Owner.User.ID)
		case m.Administrator != nil:
			ids = append(ids, m.Administrator.User.ID)
		}
	}
	c.adminsMu.Lock()
	if len(c.admins) > 10000 {
		clear(c.admins) // bounded: a cache, not a record
	}
	c.admins[chatID] = adminEntry{ids: ids, at: time.Now()}
	c.adminsMu.Unlock()
	return ids, nil
}

const adminCacheTTL = 5 * time.Minute

type adminEntry struct {
	ids []int64
	at  time.Time
}
