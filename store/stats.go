package store

import (
	"context"
	"fmt"
	"time"
)

// Community is what /stats says about the people and events the bot
// serves.
type Community struct {
	Users, UsersActive            int64 // active: seen in the window and not blocking the bot
	PrivateActive, PrivateBlocked int64
	GroupsActive, GroupsInactive  int64
	EventsUpcoming, EventsPast    int64 // active events, by start against now
	EventsCancelled               int64
	RSVPs, RSVPsGoing             int64
}

// CountCommunity counts users, chats, events and RSVPs as of now; a user
// is active if seen within activeWindow. Pass a read transaction for
// figures that agree with each other.
func CountCommunity(ctx context.Context, q Querier, now time.Time, activeWindow time.Duration) (Community, error) {
	var c Community
	nowMs := Millis(now)
	err := q.QueryRowContext(ctx, `
SELECT COUNT(*), COALESCE(SUM(last_seen >= ? AND blocked = 0), 0) FROM users`,
		Millis(now.Add(-activeWindow))).Scan(&c.Users, &c.UsersActive)
	if err != nil {
		return c, fmt.Errorf("users: %w", err)
	}
	err = q.QueryRowContext(ctx, `
SELECT COALESCE(SUM(type = 'private' AND active = 1), 0), COALESCE(SUM(type = 'private' AND active = 0), 0),
       COALESCE(SUM(type <> 'private' AND active = 1), 0), COALESCE(SUM(type <> 'private' AND active = 0), 0)
FROM chats`).Scan(&c.PrivateActive, &c.PrivateBlocked, &c.GroupsActive, &c.GroupsInactive)
	if err != nil {
		return c, fmt.Errorf("chats: %w", err)
	}
	err = q.QueryRowContext(ctx, `
SELECT COALESCE(SUM(status = 'active' AND starts_at >= ?), 0), COALESCE(SUM(status = 'active' AND starts_at < ?), 0),
       COALESCE(SUM(status = 'cancelled'), 0)
FROM events`, nowMs, nowMs).Scan(&c.EventsUpcoming, &c.EventsPast, &c.EventsCancelled)
	if err != nil {
		return c, fmt.Errorf("events: %w", err)
	}
	err = q.QueryRowContext(ctx, `
SELECT COUNT(*), COALESCE(SUM(status = 'going'), 0) FROM rsvps`).Scan(&c.RSVPs, &c.RSVPsGoing)
	if err != nil {
		return c, fmt.Errorf("rsvps: %w", err)
	}
	return c, nil
}
