package ops

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/rsvpbot/rsvpbot/bot/tgtext"
	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/store"
)

// Message API limits.
const (
	// DefaultMaxBody is the largest request body the API reads.
	DefaultMaxBody = 64 << 10
	// MaxTextLength is Telegram's limit on a message's text after entity
	// parsing, in UTF-16 code units (an emoji outside the BMP counts twice).
	MaxTextLength = 4096
	// MaxIdempotencyKey is the longest idempotency key accepted, in bytes.
	MaxIdempotencyKey = 255
	// dedupPrefix namespaces API idempotency keys among the outbox's
	// dedup keys.
	dedupPrefix = "api:"
)

// APIConfig tunes NewAPI.
type APIConfig struct {
	DB *store.DB
	// Token is the bearer token every request must carry (RSVPBOT_API_TOKEN).
	Token string
	// Metrics instruments the requests (optional).
	Metrics *Metrics
	// MaxBody bounds request bodies (default DefaultMaxBody).
	MaxBody int64
	Logger  *slog.Logger
}

// API is the message API (see the package doc). It is an http.Handler for
// the /v1/ tree.
type API struct {
	cfg       APIConfig
	tokenHash [sha256.Size]byte
	mux       *http.ServeMux
}

// NewAPI makes the message API; the token must not be empty.
func NewAPI(cfg APIConfig) (*API, error) {
	if cfg.Token == "" {
		return nil, errors.New("ops: the message API needs a token")
	}
	if cfg.DB == nil {
		return nil, errors.New("ops: the message API needs a database")
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &API{cfg: cfg, tokenHash: sha256.Sum256([]byte(cfg.Token)), mux: http.NewServeMux()}
	a.route("POST /v1/messages", a.postMessage)
	a.route("GET /v1/messages/{id}", a.getMessage)
	a.route("GET /v1/outbox/dead", a.listDead)
	a.route("POST /v1/outbox/dead/{id}/requeue", a.requeue)
	a.route("POST /v1/outbox/dead/requeue-all", a.requeueAll)
	return a, nil
}

// route registers h under pattern, instrumented with the pattern as its
// (bounded) route label.
func (a *API) route(pattern string, h func(w http.ResponseWriter, r *http.Request)) {
	a.mux.Handle(pattern, a.instrument(pattern, http.HandlerFunc(h)))
}

func (a *API) instrument(route string, h http.Handler) http.Handler {
	m := a.cfg.Metrics
	if m == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		m.apiRequests.WithLabelValues(route, strconv.Itoa(sw.status)).Inc()
		m.apiLatency.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// ServeHTTP authenticates the request, then routes it. Requests that match
// no route get a JSON 404 or 405, and only once authenticated, so the API's
// shape is not visible without the token.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !a.authorized(r) {
		a.cfg.Logger.Warn("message API: request without a valid bearer token refused",
			"remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path)
		w.Header().Set("WWW-Authenticate", `Bearer realm="rsvpbot"`)
		a.instrument("unauthenticated", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusUnauthorized, "unauthorized", "",
				"a valid token is required: send the header Authorization: Bearer <RSVPBOT_API_TOKEN>")
		})).ServeHTTP(w, r)
		return
	}
	if _, pattern := a.mux.Handler(r); pattern == "" {
		a.instrument("unknown", http.HandlerFunc(a.noRoute)).ServeHTTP(w, r)
		return
	}
	a.mux.ServeHTTP(w, r)
}

// authorized compares the bearer token in constant time: both sides are
// hashed first, so neither the content nor the length of the real token
// shows in the timing.
func (a *API) authorized(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(got[:], a.tokenHash[:]) == 1
}

// noRoute turns the mux's 404 or 405 into the API's JSON error.
func (a *API) noRoute(w http.ResponseWriter, r *http.Request) {
	h, _ := a.mux.Handler(r)
	rec := &headerRecorder{header: http.Header{}, status: http.StatusNotFound}
	h.ServeHTTP(rec, r)
	if rec.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", rec.header.Get("Allow"))
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "",
			fmt.Sprintf("%s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, rec.header.Get("Allow")))
		return
	}
	writeError(w, http.StatusNotFound, "not_found", "", "no such endpoint: "+r.URL.Path)
}

type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header         { return h.header }
func (h *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (h *headerRecorder) WriteHeader(code int)        { h.status = code }

// apiError is the JSON error body.
type apiError struct {
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// requestError is a client error on its way to writeError.
type requestError struct {
	status int
	apiError
}

func (e *requestError) Error() string { return e.Message }

func badField(field, code, format string, args ...any) *requestError {
	return &requestError{http.StatusBadRequest, apiError{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}}
}

func writeError(w http.ResponseWriter, status int, code, field, msg string) {
	writeJSON(w, status, struct {
		Error apiError `json:"error"`
	}{apiError{Code: code, Field: field, Message: msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"cannot encode the response"}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// internalError logs err and answers 500 without details. A client that
// went away mid-request rolled its own transaction back: that is no error
// of the bot's.
func (a *API) internalError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		a.cfg.Logger.Info("message API: client went away; nothing was written", "method", r.Method, "path", r.URL.Path)
	} else {
		a.cfg.Logger.Error("message API: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeError(w, http.StatusInternalServerError, "internal", "", "the request could not be completed; see the bot's log")
}

// messageRequest is the body of POST /v1/messages. Pointers tell a missing
// field from an empty one.
type messageRequest struct {
	ChatID         *int64  `json:"chat_id"`
	Text           *string `json:"text"`
	ParseMode      string  `json:"parse_mode"`
	Priority       string  `json:"priority"`
	IdempotencyKey string  `json:"idempotency_key"`
}

// sendParams is the sendMessage call queued, in wire JSON. It is marshalled
// the same way every time, so a replayed request can be compared with the
// stored row byte for byte.
type sendParams struct {
	ChatID    int64  `json:"chat_id"`
	Text      string `json:"text"`
	ParseMode string `json:"parse_mode,omitempty"`
}

var priorities = map[string]outbox.Lane{
	"":            outbox.Bulk,
	"bulk":        outbox.Bulk,
	"edit":        outbox.Edit,
	"interactive": outbox.Interactive,
}

// errKeyReused aborts the transaction of a request that reuses an
// idempotency key with a different message.
var errKeyReused = errors.New("idempotency key reused with a different request")

func (a *API) postMessage(w http.ResponseWriter, r *http.Request) {
	req, rerr := a.decodeMessage(w, r)
	if rerr != nil {
		writeError(w, rerr.status, rerr.Code, rerr.Field, rerr.Message)
		return
	}
	text := strings.TrimSpace(*req.Text)
	params, err := json.Marshal(sendParams{ChatID: *req.ChatID, Text: text, ParseMode: req.ParseMode})
	if err != nil {
		a.internalError(w, r, err)
		return
	}
	msg := outbox.Message{ChatID: *req.ChatID, Method: "sendMessage", Params: json.RawMessage(params),
		Lane: priorities[req.Priority]}
	if req.IdempotencyKey != "" {
		msg.DedupKey = dedupPrefix + req.IdempotencyKey
	}

	var id int64
	var state string
	var replayed bool
	ctx := r.Context()
	enqueue := func(tx *sql.Tx) error {
		replayed = false
		if msg.DedupKey != "" {
			row, atts, found, err := outbox.Lookup(ctx, tx, msg.DedupKey)
			if err != nil {
				return err
			}
			if found {
				if row.Method != msg.Method || row.Params != string(params) || row.Lane != msg.Lane {
					return errKeyReused
				}
				id, state, replayed = row.ID, publicState(row, atts), true
				return nil
			}
		}
		chat, known, err := store.GetChat(ctx, tx, msg.ChatID)
		if err != nil {
			return err
		}
		if !known {
			return badField("chat_id", "unknown_chat",
				"chat %d is unknown to the bot: a user must have written to it, or the bot been added to the group", msg.ChatID)
		}
		if !chat.Active {
			reason := chat.InactiveReason
			if reason == "" {
				reason = "the bot may not write there"
			}
			return badField("chat_id", "chat_inactive", "chat %d is inactive: %s", msg.ChatID, reason)
		}
		id, err = outbox.Enqueue(ctx, tx, msg)
		state = string(outbox.StatePending)
		return err
	}
	err = a.cfg.DB.Tx(ctx, enqueue)
	if msg.DedupKey != "" && store.IsUniqueViolation(err) {
		// Two requests with one key at once (on two replicas, or two
		// connections of PostgreSQL): the other committed first; this
		// one now finds its row and answers as a replay.
		err = a.cfg.DB.Tx(ctx, enqueue)
	}
	switch {
	case errors.As(err, &rerr):
		writeError(w, rerr.status, rerr.Code, rerr.Field, rerr.Message)
		return
	case errors.Is(err, errKeyReused):
		writeError(w, http.StatusUnprocessableEntity, "idempotency_key_reused", "idempotency_key",
			"this idempotency key was used for a different message (chat, text, parse mode or priority); use a new key")
		return
	case err != nil:
		a.internalError(w, r, err)
		return
	}
	if m := a.cfg.Metrics; m != nil {
		if replayed {
			m.apiMessages.WithLabelValues("replayed").Inc()
		} else {
			m.apiMessages.WithLabelValues("enqueued").Inc()
		}
	}
	w.Header().Set("Location", "/v1/messages/"+strconv.FormatInt(id, 10))
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeJSON(w, http.StatusAccepted, struct {
		ID    int64  `json:"id"`
		State string `json:"state"`
	}{id, state})
}

// decodeMessage reads and validates the body of POST /v1/messages.
func (a *API) decodeMessage(w http.ResponseWriter, r *http.Request) (messageRequest, *requestError) {
	var req messageRequest
	if ct := r.Header.Get("Content-Type"); ct != "" {
		// No Content-Type is read as JSON; a different one is a mistake
		// worth naming (curl -d sends a form type unless told otherwise).
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return req, &requestError{http.StatusUnsupportedMediaType, apiError{Code: "unsupported_media_type",
				Message: fmt.Sprintf("the body must be JSON, but Content-Type is %q: send Content-Type: application/json "+
					"(curl: -H 'Content-Type: application/json' or --json; curl -d alone sends a form type)", ct)}}
		}
	}
	tooLarge := &requestError{http.StatusRequestEntityTooLarge, apiError{Code: "body_too_large",
		Message: fmt.Sprintf("the body is larger than %d bytes", a.cfg.MaxBody)}}
	if r.ContentLength > a.cfg.MaxBody {
		return req, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.cfg.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return req, tooLarge
		}
		return req, badField("", "invalid_body", "cannot read the body: %v", err)
	}
	if rerr := decodeStrict(body, &req); rerr != nil {
		return req, rerr
	}

	switch {
	case req.ChatID == nil:
		return req, badField("chat_id", "missing_field", "chat_id is required")
	case *req.ChatID == 0:
		return req, badField("chat_id", "invalid_field", "chat_id must be a chat's id, not 0")
	case req.Text == nil:
		return req, badField("text", "missing_field", "text is required")
	}
	text := strings.TrimSpace(*req.Text)
	if text == "" {
		return req, badField("text", "invalid_field", "text is empty (once leading and trailing spaces are trimmed)")
	}
	switch req.ParseMode {
	case "", "HTML", "MarkdownV2":
	default:
		return req, badField("parse_mode", "invalid_field", `parse_mode must be "HTML", "MarkdownV2" or empty, not %q`, req.ParseMode)
	}
	// What Telegram would refuse is refused now, with its reason, rather
	// than queued to become a dead letter. HTML is parsed as Telegram
	// parses it; MarkdownV2 is counted as sent, which errs on the safe side.
	shown := text
	if req.ParseMode == "HTML" {
		plain, _, err := tgtext.ParseHTML(text)
		if err != nil {
			return req, badField("text", "invalid_html", "text is not valid Telegram HTML, Telegram would refuse it: %v. "+
				"Write a literal <, > or & as &lt; &gt; &amp;; the tags Telegram knows are b, strong, i, em, u, ins, s, strike, del, "+
				`tg-spoiler, span class="tg-spoiler", a href, tg-emoji, code, pre and blockquote`, err)
		}
		if strings.TrimSpace(plain) == "" {
			return req, badField("text", "invalid_field", "text is empty once its HTML tags are removed")
		}
		shown = plain
	}
	if n := tgtext.UTF16Len(shown); n > MaxTextLength {
		return req, badField("text", "invalid_field", "text is %d characters long (UTF-16 units, markup not counted); Telegram allows at most %d", n, MaxTextLength)
	}
	if _, ok := priorities[req.Priority]; !ok {
		return req, badField("priority", "invalid_field", `priority must be "interactive", "edit" or "bulk", not %q`, req.Priority)
	}
	header := r.Header.Get("Idempotency-Key")
	switch {
	case header != "" && req.IdempotencyKey != "" && header != req.IdempotencyKey:
		return req, badField("idempotency_key", "invalid_field", "the Idempotency-Key header and idempotency_key differ; send one")
	case req.IdempotencyKey == "":
		req.IdempotencyKey = header
	}
	if k := req.IdempotencyKey; k != "" {
		if len(k) > MaxIdempotencyKey {
			return req, badField("idempotency_key", "invalid_field", "idempotency_key is longer than %d bytes", MaxIdempotencyKey)
		}
		if strings.IndexFunc(k, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
			return req, badField("idempotency_key", "invalid_field", "idempotency_key must be printable text")
		}
	}
	return req, nil
}

// decodeStrict decodes one JSON object into v, refusing unknown fields and
// trailing data, with errors that name the field at fault.
func decodeStrict(body []byte, v any) *requestError {
	if len(bytes.TrimSpace(body)) == 0 {
		return badField("", "invalid_json", "the body is empty; send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if dec.Decode(&struct{}{}) != io.EOF {
			return badField("", "invalid_json", "the body holds data after the JSON object")
		}
		return nil
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return badField("", "invalid_json", "the body is not valid JSON (at byte %d): %v", syn.Offset, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badField("", "invalid_json", "the body is not valid JSON: it ends too early")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return badField("", "invalid_json", "the body must be a JSON object")
		}
		return badField(typ.Field, "invalid_field", "%s must be %s, not a JSON %s", typ.Field, kindOf(typ.Type.Kind().String()), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return badField(name, "unknown_field", "unknown field %q (known: chat_id, text, parse_mode, priority, idempotency_key)", name)
	}
	return badField("", "invalid_json", "the body is not valid JSON: %v", err)
}

func kindOf(goKind string) string {
	switch {
	case strings.HasPrefix(goKind, "int"), strings.HasPrefix(goKind, "uint"):
		return "an integer"
	case goKind == "string":
		return "a string"
	}
	return "a " + goKind
}

// messageView is a message as GET /v1/messages/{id} shows it.
type messageView struct {
	ID                int64      `json:"id"`
	ChatID            int64      `json:"chat_id"`
	Method            string     `json:"method"`
	Priority          string     `json:"priority"`
	State             string     `json:"state"`
	Attempts          int        `json:"attempts"`
	LastError         string     `json:"last_error"`
	TelegramMessageID int        `json:"telegram_message_id"`
	Ambiguous         bool       `json:"ambiguous,omitempty"` // an attempt may have been delivered unanswered
	CreatedAt         time.Time  `json:"created_at"`
	NextAttemptAt     *time.Time `json:"next_attempt_at,omitempty"` // while pending or failed
	SentAt            *time.Time `json:"sent_at,omitempty"`
	DoneAt            *time.Time `json:"done_at,omitempty"` // when it reached its final state
}

func viewOf(row outbox.Row, atts []outbox.Attempt) messageView {
	v := messageView{ID: row.ID, ChatID: row.ChatID, Method: row.Method, Priority: row.Lane.String(),
		State: publicState(row, atts), Attempts: row.Attempts, LastError: row.LastError,
		TelegramMessageID: row.TgMessageID, CreatedAt: row.CreatedAt}
	for _, at := range atts {
		v.Ambiguous = v.Ambiguous || at.Ambiguous
	}
	opt := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		return &t
	}
	if v.State == string(outbox.StatePending) || v.State == stateFailed {
		v.NextAttemptAt = opt(row.NextAttemptAt)
	}
	v.SentAt, v.DoneAt = opt(row.SentAt), opt(row.DoneAt)
	return v
}

// stateFailed is the API's name for a pending row whose last attempt
// failed for a reason that is retried.
const stateFailed = "failed"

// publicState is the outbox state, except that a pending row whose last
// attempt failed for a reason that is retried is "failed".
func publicState(row outbox.Row, atts []outbox.Attempt) string {
	if row.AwaitingRetry(atts) {
		return stateFailed
	}
	return string(row.State)
}

func pathID(r *http.Request) (int64, *requestError) {
	id, err := strconv.ParseInt(strings.TrimPrefix(r.PathValue("id"), "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, badField("id", "invalid_field", "%q is not a message id (a positive integer)", r.PathValue("id"))
	}
	return id, nil
}

func (a *API) getMessage(w http.ResponseWriter, r *http.Request) {
	id, rerr := pathID(r)
	if rerr != nil {
		writeError(w, rerr.status, rerr.Code, rerr.Field, rerr.Message)
		return
	}
	row, atts, err := outbox.Get(r.Context(), a.cfg.DB.R, id)
	switch {
	case errors.Is(err, outbox.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "id", fmt.Sprintf("no message %d", id))
		return
	case err != nil:
		a.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewOf(row, atts))
}

func (a *API) listDead(w http.ResponseWriter, r *http.Request) {
	limit := 100
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "invalid_field", "limit", "limit must be a number from 1 to 1000")
			return
		}
		limit = n
	}
	rows, err := outbox.ListDead(r.Context(), a.cfg.DB.R, limit+1)
	if err != nil {
		a.internalError(w, r, err)
		return
	}
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	out := make([]messageView, len(rows))
	for i, row := range rows {
		out[i] = viewOf(row, nil)
	}
	writeJSON(w, http.StatusOK, struct {
		DeadLetters []messageView `json:"dead_letters"`
		More        bool          `json:"more"` // more dead letters than limit
	}{out, more})
}

func (a *API) requeue(w http.ResponseWriter, r *http.Request) {
	id, rerr := pathID(r)
	if rerr != nil {
		writeError(w, rerr.status, rerr.Code, rerr.Field, rerr.Message)
		return
	}
	err := a.cfg.DB.Tx(r.Context(), func(tx *sql.Tx) error { return outbox.Requeue(r.Context(), tx, id) })
	switch {
	case errors.Is(err, outbox.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "id", fmt.Sprintf("no message %d", id))
		return
	case errors.Is(err, outbox.ErrNotDead):
		state := "not dead"
		if row, _, err := outbox.Get(r.Context(), a.cfg.DB.R, id); err == nil {
			state = string(row.State)
		}
		writeError(w, http.StatusConflict, "not_dead", "id", fmt.Sprintf("message %d is %s, not a dead letter", id, state))
		return
	case err != nil:
		a.internalError(w, r, err)
		return
	}
	a.cfg.Logger.Info("message API: dead letter requeued", "id", id)
	writeJSON(w, http.StatusOK, struct {
		ID    int64  `json:"id"`
		State string `json:"state"`
	}{id, string(outbox.StatePending)})
}

func (a *API) requeueAll(w http.ResponseWriter, r *http.Request) {
	var n int64
	err := a.cfg.DB.Tx(r.Context(), func(tx *sql.Tx) (err error) {
		n, err = outbox.RequeueAllDead(r.Context(), tx)
		return err
	})
	if err != nil {
		a.internalError(w, r, err)
		return
	}
	a.cfg.Logger.Info("message API: all dead letters requeued", "count", n)
	writeJSON(w, http.StatusOK, struct {
		Requeued int64 `json:"requeued"`
	}{n})
}
