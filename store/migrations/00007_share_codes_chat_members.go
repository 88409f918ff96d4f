// Package migrations holds the schema changes that SQL alone cannot make;
// the plain SQL ones are the numbered .sql files beside it, which store
// embeds. store registers these with goose next to the SQL files.
package migrations

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/pressly/goose/v3"
)

// ShareCodes is migration 7: every event gets an unguessable share code
// (events.share_code), the only thing a link that opens an event carries,
// and the bot starts remembering who it has seen in which group
// (chat_members), which is how it knows the members of an event's chat.
//
// Existing events are given codes here, from newCode (crypto/rand; SQLite
// has no such source), in the migration's own transaction: after it, every
// event has a code and the unique index holds.
func ShareCodes(newCode func() (string, error)) *goose.Migration {
	up := func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `
-- The code in links that open an event (t.me/<bot>?start=ev_<code>): 10
-- base62 characters from crypto/rand, replaced when the organizer asks for
-- a new link. Anyone holding it may see the event and answer. '' (a row
-- written outside the store) is no code: nothing opens it.
ALTER TABLE events ADD COLUMN share_code TEXT NOT NULL DEFAULT '';

-- People the bot has seen in a group (they wrote there, pressed a button
-- there, or joined), until it sees them leave. Members of an event's chat
-- may see the event: see handlers/visibility.go.
CREATE TABLE chat_members (
    chat_id    INTEGER NOT NULL,               -- rewritten by store.MigrateChat
    user_id    INTEGER NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    PRIMARY KEY (chat_id, user_id)
) WITHOUT ROWID;`); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT id FROM events WHERE share_code = ''`)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range ids {
			code, err := newCode()
			if err != nil {
				return fmt.Errorf("share code for event %d: %w", id, err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE events SET share_code = ? WHERE id = ?`, code, id); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `CREATE UNIQUE INDEX events_share_code ON events(share_code) WHERE share_code <> ''`)
		return err
	}
	down := func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
DROP TABLE chat_members;
DROP INDEX events_share_code;
ALTER TABLE events DROP COLUMN share_code;`)
		return err
	}
	return goose.NewGoMigration(7, &goose.GoFunc{RunTx: up}, &goose.GoFunc{RunTx: down})
}
