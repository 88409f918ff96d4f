-- +goose Up
-- /stats' two sliding windows without reading a window's rows (issue 18):
-- the users not blocking the bot by the UTC day they were last seen, and
-- the active events by the UTC day they start, kept by triggers in the
-- transaction that changes the rows. A window is then the sum of its
-- whole days here plus a count over its one partial day (store.CountCommunity).
-- A user has one last_seen, so summing days counts each user once.
CREATE TABLE users_seen_days (
    day INTEGER PRIMARY KEY,   -- last_seen / 86400000
    n   INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO users_seen_days (day, n)
SELECT last_seen / 86400000, count(*) FROM users WHERE blocked = 0 GROUP BY 1;

CREATE TABLE events_start_days (
    day INTEGER PRIMARY KEY,   -- starts_at / 86400000
    n   INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO events_start_days (day, n)
SELECT starts_at / 86400000, count(*) FROM events WHERE status = 'active' GROUP BY 1;

-- +goose StatementBegin
CREATE TRIGGER users_seen_days_insert AFTER INSERT ON users WHEN NEW.blocked = 0 BEGIN
    INSERT INTO users_seen_days (day, n) VALUES (NEW.last_seen / 86400000, 1)
    ON CONFLICT(day) DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER users_seen_days_delete AFTER DELETE ON users WHEN OLD.blocked = 0 BEGIN
    UPDATE users_seen_days SET n = n - 1 WHERE day = OLD.last_seen / 86400000;
END;
-- +goose StatementEnd
-- last_seen moves at most once a minute a user: the day changes rarely.
-- +goose StatementBegin
CREATE TRIGGER users_seen_days_update AFTER UPDATE OF last_seen, blocked ON users
WHEN (OLD.blocked = 0) IS NOT (NEW.blocked = 0) OR OLD.last_seen / 86400000 IS NOT NEW.last_seen / 86400000 BEGIN
    UPDATE users_seen_days SET n = n - 1 WHERE OLD.blocked = 0 AND day = OLD.last_seen / 86400000;
    INSERT INTO users_seen_days (day, n) SELECT NEW.last_seen / 86400000, 1 WHERE NEW.blocked = 0
    ON CONFLICT(day) DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER events_start_days_insert AFTER INSERT ON events WHEN NEW.status = 'active' BEGIN
    INSERT INTO events_start_days (day, n) VALUES (NEW.starts_at / 86400000, 1)
    ON CONFLICT(day) DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER events_start_days_delete AFTER DELETE ON events WHEN OLD.status = 'active' BEGIN
    UPDATE events_start_days SET n = n - 1 WHERE day = OLD.starts_at / 86400000;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER events_start_days_update AFTER UPDATE OF starts_at, status ON events
WHEN (OLD.status = 'active') IS NOT (NEW.status = 'active') OR OLD.starts_at / 86400000 IS NOT NEW.starts_at / 86400000 BEGIN
    UPDATE events_start_days SET n = n - 1 WHERE OLD.status = 'active' AND day = OLD.starts_at / 86400000;
    INSERT INTO events_start_days (day, n) SELECT NEW.starts_at / 86400000, 1 WHERE NEW.status = 'active'
    ON CONFLICT(day) DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER events_start_days_update;
DROP TRIGGER events_start_days_delete;
DROP TRIGGER events_start_days_insert;
DROP TRIGGER users_seen_days_update;
DROP TRIGGER users_seen_days_delete;
DROP TRIGGER users_seen_days_insert;
DROP TABLE events_start_days;
DROP TABLE users_seen_days;
