package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// User is a Telegram user the bot has seen.
type User struct {
	ID         int64
	Username   string
	FirstName  string
	LastName   string
	Language   string // last Telegram language_code seen
	ChosenLang string // set with /lang; wins over Language
	Started    bool   // has /start-ed the bot privately, so private messages reach them
	Blocked    bool
	FirstSeen  time.Time
	LastSeen   time.Time
}

// DisplayName is how the bot names a user in cards and lists.
func (u User) DisplayName() string {
	name := u.FirstName
	if u.LastName != "" {
		name += " " + u.LastName
	}
	if name == "" && u.Username != "" {
		name = "@" + u.Username
	}
	if name == "" {
		name = "?"
	}
	return name
}

// UpsertUser records a user seen in an update: names and language are
// refreshed, first_seen is kept. An empty language does not erase the
// stored one (Telegram omits language_code at times).
func UpsertUser(ctx context.Context, q Querier, u User, now time.Time) error {
	_, err := q.ExecContext(ctx, `
INSERT INTO users (id, username, first_name, last_name, language, first_seen, last_seen)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(id) DO UPDATE SET
    username   = excluded.username,
    first_name = excluded.first_name,
    last_name  = excluded.last_name,
    language   = CASE WHEN excluded.language <> '' THEN excluded.language ELSE users.language END,
    last_seen  = excluded.last_seen
-- Every update touches its user: write only what changed, and last_seen at
-- most once a minute, so a busy chat does not rewrite the page each time.
WHERE users.username IS DISTINCT FROM excluded.username OR users.first_name IS DISTINCT FROM excluded.first_name
   OR users.last_name IS DISTINCT FROM excluded.last_name
   OR (excluded.language <> '' AND users.language IS DISTINCT FROM excluded.language)
   OR excluded.last_seen - users.last_seen >= 60000`,
		u.ID, u.Username, u.FirstName, u.LastName, u.Language, Millis(now), Millis(now))
	return err
}

// GetUser returns the user with id; ok is false if the bot never saw them.
func GetUser(ctx context.Context, q Querier, id int64) (u User, ok bool, err error) {
	var first, last int64
	err = q.QueryRowContext(ctx, `
SELECT id, username, first_name, last_name, language, chosen_lang, started, blocked, first_seen, last_seen
FROM users WHERE id = ?`, id).Scan(&u.ID, &u.Username, &u.FirstName, &u.LastName, &u.Language,
		&u.ChosenLang, &u.Started, &u.Blocked, &first, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, false, nil
	}
	if err != nil {
		return User{}, false, err
	}
	u.FirstSeen, u.LastSeen = FromMillis(first), FromMillis(last)
	return u, true, nil
}

// SetUserChosenLang stores the language picked with /lang.
func SetUserChosenLang(ctx context.Context, q Querier, id int64, lang string) error {
	_, err := q.ExecContext(ctx, `UPDATE users SET chosen_lang = ? WHERE id = ?`, lang, id)
	return err
}

// SetUserStarted records that the user has (or no longer has) a private chat
// with the bot that it may write to. Writing to the bot unblocks it.
func SetUserStarted(ctx context.Context, q Querier, id int64, started bool) error {
	_, err := q.ExecContext(ctx, `UPDATE users SET started = ?1, blocked = CASE WHEN ?1 <> 0 THEN 0 ELSE blocked END
WHERE id = ?2 AND (started IS DISTINCT FROM ?1 OR (?1 <> 0 AND blocked <> 0))`, started, id)
	return err
}

// SetUserBlocked records that the user blocked (or unblocked) the bot.
func SetUserBlocked(ctx context.Context, q Querier, id int64, blocked bool) error {
	_, err := q.ExecContext(ctx, `UPDATE users SET blocked = ? WHERE id = ?`, blocked, id)
	return err
}
