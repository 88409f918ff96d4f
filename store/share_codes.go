package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ShareCodeLen is the length of an event's share code: 10 base62
// characters, about 59.5 bits from crypto/rand, so codes cannot be guessed
// or enumerated the way sequential event ids can.
const ShareCodeLen = 10

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NewShareCode makes a fresh share code from crypto/rand.
func NewShareCode() (string, error) { return randomBase62(ShareCodeLen) }

// randomBase62 draws n base62 characters from crypto/rand. Each character
// is uniform over base62 (bytes of 248 and above are drawn again, so none
// is favoured). Share codes and calendar feed tokens are made here.
func randomBase62(n int) (string, error) {
	var b strings.Builder
	buf := make([]byte, 2*n)
	for b.Len() < n {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("reading random bytes: %w", err)
		}
		for _, c := range buf {
			if c < 248 && b.Len() < n { // 248 = 4 * 62
				b.WriteByte(base62[c%62])
			}
		}
	}
	return b.String(), nil
}

// ValidShareCode reports whether s has the form of a share code. It does
// not say whether an event has it.
func ValidShareCode(s string) bool { return len(s) == ShareCodeLen && isBase62(s) }

// isBase62 reports whether s holds only base62 characters.
func isBase62(s string) bool {
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(base62, rune(s[i])) {
			return false
		}
	}
	return true
}

// GetEventByShareCode returns the event whose share code is code; ok is
// false if there is none (an unknown, malformed or replaced code).
func GetEventByShareCode(ctx context.Context, q Querier, code string) (e Event, ok bool, err error) {
	if !ValidShareCode(code) {
		return Event{}, false, nil
	}
	e, err = scanEvent(q.QueryRowContext(ctx, `SELECT `+eventColumns+` FROM events WHERE share_code = ? AND share_code <> ''`, code))
	if errors.Is(err, sql.ErrNoRows) {
		return Event{}, false, nil
	}
	if err != nil {
		return Event{}, false, fmt.Errorf("reading event by share code: %w", err)
	}
	return e, true, nil
}

// RotateEventShareCode gives the event a new share code, so links with the
// old one stop working, and bumps the version (cards carry the link). It
// returns the new code; ok is false if the event does not exist.
func RotateEventShareCode(ctx context.Context, q Querier, id int64, now time.Time) (code string, ok bool, err error) {
	for range 3 {
		if code, err = NewShareCode(); err != nil {
			return "", false, err
		}
		res, err := q.ExecContext(ctx, `UPDATE events SET share_code = ?, version = version + 1, updated_at = ? WHERE id = ?`,
			code, Millis(now), id)
		if IsUniqueViolation(err) {
			continue // another event has it: astronomically unlikely, draw again
		}
		if err != nil {
			return "", false, fmt.Errorf("new share code for event %d: %w", id, err)
		}
		n, err := res.RowsAffected()
		return code, n == 1, err
	}
	return "", false, fmt.Errorf("new share code for event %d: no free code after 3 draws", id)
}
