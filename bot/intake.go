package bot

import (
	"bytes"
	"context"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/rsvpbot/rsvpbot/store"
)

// AllowedUpdates are the update kinds the bot asks Telegram for.
// inline_query and chosen_inline_result are inline mode (handlers/inline.go);
// Telegram sends them only if inline mode (and, for the second, inline
// feedback) is switched on with BotFather.
var AllowedUpdates = []string{"message", "callback_query", "my_chat_member", "inline_query", "chosen_inline_result"}

// ErrUnauthorized means Telegram rejected the token: retrying cannot help.
var ErrUnauthorized = errors.New("telegram rejected the bot token (401 Unauthorized); check TELEGRAM_BOT_TOKEN")

// IntakeConfig tunes an Intake.
type IntakeConfig struct {
	// PollTimeout is the long-poll timeout sent to getUpdates (default 25 s).
	PollTimeout time.Duration
	// MinBackoff and MaxBackoff bound the pause after a failed getUpdates
	// (defaults 1 s and 60 s).
	MinBackoff, MaxBackoff time.Duration
	Logger                 *slog.Logger
	Now                    func() time.Time
	// Stored is called with the updates of each committed batch that were
	// new (the dispatcher's Add).
	Stored func(ups []store.InboxUpdate)
	// OnCall, if set, is told about each getUpdates round trip (for
	// readiness: "last successful Telegram call").
	OnCall func(err error)
	// WebhookConnections is the max_connections SetWebhook asks for
	// (default 1: one update at a time, each a quick inbox commit).
	// Several replicas ask for more, so that their intake spreads:
	// Telegram still sends a chat's updates one at a time.
	WebhookConnections int
	// Sleep pauses Poll for d, or until ctx ends (default: a timer). Tests
	// inject it to see the backoff chosen without waiting for it.
	Sleep func(ctx context.Context, d time.Duration)
}

// Intake takes updates from Telegram into the inbox, by long polling or as
// a webhook, committing each before Telegram is told it arrived.
type Intake struct {
	db     *store.DB
	client *Client
	cfg    IntakeConfig
}

// NewIntake makes an intake.
func NewIntake(db *store.DB, client *Client, cfg IntakeConfig) *Intake {
	if cfg.PollTimeout <= 0 {
		cfg.PollTimeout = 25 * time.Second
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 60 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Stored == nil {
		cfg.Stored = func([]store.InboxUpdate) {}
	}
	if cfg.Sleep == nil {
		cfg.Sleep = func(ctx context.Context, d time.Duration) {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-ctx.Done():
			case <-t.C:
			}
		}
	}
	return &Intake{db: db, client: client, cfg: cfg}
}

// Save commits raw updates to the inbox and hands the new ones to Stored.
// Duplicates (an update_id already stored) are ignored.
//
// With several replicas, Poll runs in the polling lease holder's fenced
// context (store.WithFence): a poller that lost the lease stores nothing
// (Telegram sends the batch again to the new holder, as the offset did
// not move) and Poll returns.
func (in *Intake) Save(ctx context.Context, raws []json.RawMessage) ([]store.InboxUpdate, error) {
	now := in.cfg.Now()
	rows := make([]store.InboxUpdate, 0, len(raws))
	for _, raw := range raws {
		var up models.Update
		kind, chat, user := "undecodable", int64(0), int64(0)
		if err := json.Unmarshal(raw, &up); err != nil {
			// An update our models cannot read (a field of an unexpected
			// type) is still stored if its update_id can be read: refusing
			// it would make Telegram send it, and everything after it,
			// again and again. The dispatcher marks it done with the error.
			var id struct {
				UpdateID int64 `json:"update_id"`
			}
			if json.Unmarshal(raw, &id) != nil || id.UpdateID <= 0 {
				return nil, fmt.Errorf("decoding update: %w", err)
			}
			in.cfg.Logger.Warn("update cannot be decoded; storing it as failed", "update_id", id.UpdateID, "err", err)
			up.ID = id.UpdateID
		} else {
			kind, chat, user = describe(&up)
		}
		if up.ID <= 0 {
			return nil, errors.New("update without update_id")
		}
		rows = append(rows, store.InboxUpdate{UpdateID: up.ID, ChatID: chat, UserID: user, Kind: kind,
			Payload: bytes.Clone(raw), ReceivedAt: now})
	}
	var inserted []store.InboxUpdate
	err := in.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		inserted, err = store.InsertUpdates(ctx, tx, rows)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("storing updates: %w", err)
	}
	if len(inserted) > 0 {
		in.cfg.Stored(inserted)
	}
	return inserted, nil
}

// Poll long-polls getUpdates until ctx is cancelled. The offset starts
// from the database and only moves past a batch once the batch is
// committed, so a crash at any point loses nothing: Telegram re-sends
// what was not confirmed, and the inbox ignores what it already has.
// It returns ErrUnauthorized if Telegram rejects the token.
//
// A failure (Telegram unreachable, the inbox cannot be written) pauses
// the loop, doubling from MinBackoff to MaxBackoff while failures follow
// each other; any success, a poll or a save, ends the pause at once.
func (in *Intake) Poll(ctx context.Context) error {
	offset, err := store.NextUpdateOffset(ctx, in.db.R)
	if err != nil {
		return fmt.Errorf("reading the update offset: %w", err)
	}
	var backoff time.Duration
	var failing, conflicted bool
	for ctx.Err() == nil {
		if backoff > 0 {
			in.cfg.Sleep(ctx, backoff)
			if ctx.Err() != nil {
				return nil
			}
		}
		raws, err := in.getUpdates(ctx, offset)
		if in.cfg.OnCall != nil && ctx.Err() == nil {
			in.cfg.OnCall(err)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, tg.ErrorUnauthorized) {
				return ErrUnauthorized
			}
			backoff = min(max(backoff*2, in.cfg.MinBackoff), in.cfg.MaxBackoff)
			if errors.Is(err, tg.ErrorConflict) {
				if !conflicted {
					in.cfg.Logger.Error("Telegram refuses getUpdates: another process is polling with this token, or a webhook is set. "+
						"Stop the other instance (or unset RSVPBOT_WEBHOOK_URL there); this bot keeps retrying.", "err", err)
					conflicted = true
				}
			} else {
				in.cfg.Logger.Warn("cannot reach the Telegram API; retrying", "err", err, "retry_in", backoff.String())
			}
			failing = true
			continue
		}
		if failing {
			in.cfg.Logger.Info("Telegram API reachable again")
			failing, conflicted = false, false
		}
		if len(raws) == 0 {
			backoff = 0
			continue
		}
		if _, err := in.Save(ctx, raws); err != nil {
			if errors.Is(err, store.ErrLeaseLost) {
				in.cfg.Logger.Warn("the polling lease went to another replica; this one stops polling")
				return nil
			}
			// Not confirming the batch is the safe answer: the same offset
			// fetches it again.
			backoff = min(max(backoff*2, in.cfg.MinBackoff), in.cfg.MaxBackoff)
			in.cfg.Logger.Error("cannot store updates; fetching them again", "err", err, "retry_in", backoff.String())
			continue
		}
		backoff = 0
		var last struct {
			ID int64 `json:"update_id"`
		}
		_ = json.Unmarshal(raws[len(raws)-1], &last)
		offset = max(offset, last.ID+1)
	}
	return nil
}

// getUpdates is our own call: the library does not export one that leaves
// confirmation to the caller.
func (in *Intake) getUpdates(ctx context.Context, offset int64) ([]json.RawMessage, error) {
	body, _ := json.Marshal(map[string]any{
		"offset":          offset,
		"timeout":         int(in.cfg.PollTimeout.Seconds()),
		"allowed_updates": AllowedUpdates,
	})
	ctx, cancel := context.WithTimeout(ctx, in.cfg.PollTimeout+15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.client.APIURL()+"/bot"+in.client.Token()+"/getUpdates", bytes.NewReader(body))
	if err != nil {
		return nil, redactErr(err, in.client.Token())
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := in.client.HTTP().Do(req)
	if err != nil {
		return nil, redactErr(err, in.client.Token())
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("reading getUpdates response: %w", err)
	}
	var r struct {
		OK          bool              `json:"ok"`
		Result      []json.RawMessage `json:"result"`
		ErrorCode   int               `json:"error_code"`
		Description string            `json:"description"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("getUpdates answered HTTP %d with a body that is not JSON", resp.StatusCode)
	}
	if !r.OK {
		switch r.ErrorCode {
		case http.StatusUnauthorized:
			return nil, fmt.Errorf("%w, %s", tg.ErrorUnauthorized, r.Description)
		case http.StatusConflict:
			return nil, fmt.Errorf("%w, %s", tg.ErrorConflict, r.Description)
		}
		return nil, fmt.Errorf("getUpdates failed: %d %s", r.ErrorCode, r.Description)
	}
	return r.Result, nil
}

// SetWebhook registers url with Telegram, with secret as secret_token and
// the update kinds the bot handles. By default it asks for one connection
// at a time: Telegram then delivers updates in order, as getUpdates does,
// and each costs one inbox commit, which is quick because handling
// happens later (WebhookConnections).
func (in *Intake) SetWebhook(ctx context.Context, url, secret string) error {
	_, err := in.client.Bot().SetWebhook(ctx, &tg.SetWebhookParams{
		URL:            url,
		SecretToken:    secret,
		AllowedUpdates: AllowedUpdates,
		MaxConnections: max(1, in.cfg.WebhookConnections),
	})
	return redactErr(err, in.client.Token())
}

// DeleteWebhook removes any webhook so long polling works (switching back
// from webhook mode). Pending updates are kept for getUpdates.
func (in *Intake) DeleteWebhook(ctx context.Context) error {
	_, err := in.client.Bot().DeleteWebhook(ctx, &tg.DeleteWebhookParams{DropPendingUpdates: false})
	return redactErr(err, in.client.Token())
}

// Webhook serves Telegram's webhook calls. A request without the right
// X-Telegram-Bot-Api-Secret-Token is refused with 403 and nothing of it is
// stored; a malformed body gets 400; 200 is answered only once the update is
// committed, so Telegram re-sends anything the bot did not keep.
func (in *Intake) Webhook(secret string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		got := r.Header.Get("X-Telegram-Bot-Api-Secret-Token")
		if secret == "" || subtle.ConstantTimeCompare([]byte(got), []byte(secret)) != 1 {
			in.cfg.Logger.Warn("webhook call with a wrong or missing secret token refused", "remote", r.RemoteAddr)
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 8<<20))
		if err != nil {
			http.Error(w, "cannot read body", http.StatusBadRequest)
			return
		}
		var probe struct {
			ID int64 `json:"update_id"`
		}
		if err := json.Unmarshal(body, &probe); err != nil || probe.ID <= 0 {
			http.Error(w, "body is not a Telegram update", http.StatusBadRequest)
			return
		}
		if _, err := in.Save(r.Context(), []json.RawMessage{body}); err != nil {
			in.cfg.Logger.Error("cannot store webhook update; Telegram will re-send it", "update_id", probe.ID, "err", err)
			http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
			return
		}
		if in.cfg.OnCall != nil {
			in.cfg.OnCall(nil)
		}
		w.WriteHeader(http.StatusOK)
	})
}
