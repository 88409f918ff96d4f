package handlers

import (
	"context"
	"database/sql"
	"strconv"
	"strings"

	"github.com/rsvpbot/rsvpbot/store"
)

// OnSent is the outbox's on-sent hook: it runs in the transaction that
// marks a row sent. "card:<event_cards.id>" records the message id of a
// posted event card. Unknown references are ignored.
func (a *App) OnSent(ctx context.Context, tx *sql.Tx, ref string, chatID int64, messageID int) error {
	kind, rest, _ := strings.Cut(ref, ":")
	switch kind {
	case "card":
		id, err := strconv.ParseInt(rest, 10, 64)
		if err != nil || messageID == 0 {
			return nil
		}
		return store.SetEventCardMessage(ctx, tx, id, chatID, messageID)
	}
	return nil
}
