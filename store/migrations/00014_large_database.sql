-- +goose Up
-- Hot queries that stay quick as the database grows (issue 18: 100k
-- users, 100k events, 1M RSVPs, 2M ledger rows). See docs/benchmarks.md,
-- "Large database", for the plans; handlers' TestHotQueriesUseIndexes
-- fails when a hot query reads a big table whole again.

-- /stats' "handled in the last 10 minutes": the recent done updates, not
-- every row the inbox keeps.
CREATE INDEX inbox_done ON inbox(done_at) WHERE done_at IS NOT NULL;

-- /stats' active users (seen within the window, not blocking the bot).
CREATE INDEX users_active ON users(last_seen) WHERE blocked = 0;

-- /stats' totals, kept by the triggers below in the transaction that
-- changes the rows, so /stats reads a handful of rows instead of counting
-- every user, chat, event and RSVP. Windows (active users, upcoming
-- events) are counted over their indexes; see store.CountCommunity.
CREATE TABLE community_counts (
    name TEXT PRIMARY KEY,
    n    INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO community_counts (name, n)
SELECT 'users', count(*) FROM users
UNION ALL SELECT 'chats_private_active', count(*) FROM chats WHERE type = 'private' AND active = 1
UNION ALL SELECT 'chats_private_inactive', count(*) FROM chats WHERE type = 'private' AND active = 0
UNION ALL SELECT 'chats_group_active', count(*) FROM chats WHERE type <> 'private' AND active = 1
UNION ALL SELECT 'chats_group_inactive', count(*) FROM chats WHERE type <> 'private' AND active = 0
UNION ALL SELECT 'events_active', count(*) FROM events WHERE status = 'active'
UNION ALL SELECT 'events_cancelled', count(*) FROM events WHERE status = 'cancelled'
UNION ALL SELECT 'rsvps', count(*) FROM rsvps
UNION ALL SELECT 'rsvps_going', count(*) FROM rsvps WHERE status = 'going';

-- +goose StatementBegin
CREATE TRIGGER community_users_insert AFTER INSERT ON users BEGIN
    UPDATE community_counts SET n = n + 1 WHERE name = 'users';
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER community_users_delete AFTER DELETE ON users BEGIN
    UPDATE community_counts SET n = n - 1 WHERE name = 'users';
END;
-- +goose StatementEnd

-- A chat counts under chats_<private|group>_<active|inactive>; an active
-- value other than 0 or 1 under none, as the counts always had it.
-- +goose StatementBegin
CREATE TRIGGER community_chats_insert AFTER INSERT ON chats BEGIN
    UPDATE community_counts SET n = n + 1 WHERE name = 'chats_'
        || CASE WHEN NEW.type = 'private' THEN 'private' ELSE 'group' END || '_'
        || CASE NEW.active WHEN 1 THEN 'active' WHEN 0 THEN 'inactive' END;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER community_chats_delete AFTER DELETE ON chats BEGIN
    UPDATE community_counts SET n = n - 1 WHERE name = 'chats_'
        || CASE WHEN OLD.type = 'private' THEN 'private' ELSE 'group' END || '_'
        || CASE OLD.active WHEN 1 THEN 'active' WHEN 0 THEN 'inactive' END;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER community_chats_update AFTER UPDATE OF type, active ON chats
WHEN OLD.type IS NOT NEW.type OR OLD.active IS NOT NEW.active BEGIN
    UPDATE community_counts SET n = n - 1 WHERE name = 'chats_'
        || CASE WHEN OLD.type = 'private' THEN 'private' ELSE 'group' END || '_'
        || CASE OLD.active WHEN 1 THEN 'active' WHEN 0 THEN 'inactive' END;
    UPDATE community_counts SET n = n + 1 WHERE name = 'chats_'
        || CASE WHEN NEW.type = 'private' THEN 'private' ELSE 'group' END || '_'
        || CASE NEW.active WHEN 1 THEN 'active' WHEN 0 THEN 'inactive' END;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER community_events_insert AFTER INSERT ON events BEGIN
    UPDATE community_counts SET n = n + 1 WHERE name = 'events_' || NEW.status;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER community_events_delete AFTER DELETE ON events BEGIN
    UPDATE community_counts SET n = n - 1 WHERE name = 'events_' || OLD.status;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER community_events_update AFTER UPDATE OF status ON events
WHEN OLD.status IS NOT NEW.status BEGIN
    UPDATE community_counts SET n = n - 1 WHERE name = 'events_' || OLD.status;
    UPDATE community_counts SET n = n + 1 WHERE name = 'events_' || NEW.status;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER community_rsvps_insert AFTER INSERT ON rsvps BEGIN
    UPDATE community_counts SET n = n + 1 WHERE name = 'rsvps' OR (name = 'rsvps_going' AND NEW.status = 'going');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER community_rsvps_delete AFTER DELETE ON rsvps BEGIN
    UPDATE community_counts SET n = n - 1 WHERE name = 'rsvps' OR (name = 'rsvps_going' AND OLD.status = 'going');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER community_rsvps_update AFTER UPDATE OF status ON rsvps
WHEN (OLD.status = 'going') IS NOT (NEW.status = 'going') BEGIN
    UPDATE community_counts SET n = n + CASE WHEN NEW.status = 'going' THEN 1 ELSE -1 END WHERE name = 'rsvps_going';
END;
-- +goose StatementEnd

-- The reminder job's queue of events to look at again: an event created,
-- or its start, offsets or status changed. The job plans from a full pass
-- over the upcoming events once per start (that pass also catches a
-- changed default, RSVPBOT_REMINDERS), then from this queue each tick, so
-- a tick does not read every upcoming event (store.TakeReplans).
CREATE TABLE reminder_replan (
    event_id INTEGER PRIMARY KEY
);
-- +goose StatementBegin
CREATE TRIGGER reminder_replan_insert AFTER INSERT ON events BEGIN
    INSERT OR IGNORE INTO reminder_replan (event_id) VALUES (NEW.id);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER reminder_replan_update AFTER UPDATE OF starts_at, reminder_offsets, status ON events BEGIN
    INSERT OR IGNORE INTO reminder_replan (event_id) VALUES (NEW.id);
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER reminder_replan_update;
DROP TRIGGER reminder_replan_insert;
DROP TABLE reminder_replan;
DROP TRIGGER community_rsvps_update;
DROP TRIGGER community_rsvps_delete;
DROP TRIGGER community_rsvps_insert;
DROP TRIGGER community_events_update;
DROP TRIGGER community_events_delete;
DROP TRIGGER community_events_insert;
DROP TRIGGER community_chats_update;
DROP TRIGGER community_chats_delete;
DROP TRIGGER community_chats_insert;
DROP TRIGGER community_users_delete;
DROP TRIGGER community_users_insert;
DROP TABLE community_counts;
DROP INDEX users_active;
DROP INDEX inbox_done;
