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
//
// The totals are kept in community_counts by triggers (migration 00014),
// so /stats reads a few rows rather than every user, event and RSVP; the
// windows (active users, upcoming events) are the sum of their whole UTC
// days, kept by day in users_seen_days and events_start_days (migration
// 00016), plus a count over their one partial day through the indexes
// (users_active, events_upcoming): a window's cost no longer grows with
// the users or events in it.
func CountCommunity(ctx context.Context, q Querier, now time.Time, activeWindow time.Duration) (Community, error) {
	var c Community
	// On PostgreSQL a counter is several shard rows (see
	// migrations/postgres/00016_schema.sql); on SQLite one row. The sum
	// reads both.
	rows, err := q.QueryContext(ctx, `SELECT name, CAST(sum(n) AS BIGINT) FROM community_counts GROUP BY name`)
	if err != nil {
		return c, fmt.Errorf("counts: %w", err)
	}
	counts := map[string]int64{}
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			rows.Close()
			return c, fmt.Errorf("counts: %w", err)
		}
		counts[name] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return c, fmt.Errorf("counts: %w", err)
	}
	c.Users, c.RSVPs, c.RSVPsGoing = counts["users"], counts["rsvps"], counts["rsvps_going"]
	c.PrivateActive, c.PrivateBlocked = counts["chats_private_active"], counts["chats_private_inactive"]
	c.GroupsActive, c.GroupsInactive = counts["chats_group_active"], counts["chats_group_inactive"]
	c.EventsCancelled = counts["events_cancelled"]
	// The two sliding windows: their whole days from the day tables
	// (migration 00016), their first, partial day from the rows.
	err = q.QueryRowContext(ctx, `
SELECT CAST((SELECT coalesce(sum(n), 0) FROM users_seen_days WHERE day > CAST(?1 AS BIGINT) / 86400000)
     + (SELECT count(*) FROM users WHERE blocked = 0 AND last_seen >= CAST(?1 AS BIGINT) AND last_seen < (CAST(?1 AS BIGINT) / 86400000 + 1) * 86400000) AS BIGINT)`,
		Millis(now.Add(-activeWindow))).Scan(&c.UsersActive)
	if err != nil {
		return c, fmt.Errorf("users: %w", err)
	}
	err = q.QueryRowContext(ctx, `
SELECT CAST((SELECT coalesce(sum(n), 0) FROM events_start_days WHERE day > CAST(?1 AS BIGINT) / 86400000)
     + (SELECT count(*) FROM events WHERE status = 'active' AND starts_at >= CAST(?1 AS BIGINT) AND starts_at < (CAST(?1 AS BIGINT) / 86400000 + 1) * 86400000) AS BIGINT)`,
		Millis(now)).Scan(&c.EventsUpcoming)
	if err != nil {
		return c, fmt.Errorf("events: %w", err)
	}
	c.EventsPast = counts["events_active"] - c.EventsUpcoming
	return c, nil
}
