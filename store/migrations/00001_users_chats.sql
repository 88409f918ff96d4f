-- +goose Up
-- Who talks to the bot and where. Rows are upserted on every update so
-- names, language and last_seen stay current.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,          -- Telegram user id
    username      TEXT    NOT NULL DEFAULT '',
    first_name    TEXT    NOT NULL DEFAULT '',
    last_name     TEXT    NOT NULL DEFAULT '',
    language      TEXT    NOT NULL DEFAULT '',  -- last Telegram language_code seen
    chosen_lang   TEXT    NOT NULL DEFAULT '',  -- set with /lang; wins over language
    started       INTEGER NOT NULL DEFAULT 0,   -- 1 once the user has /start-ed the bot privately
    blocked       INTEGER NOT NULL DEFAULT 0,   -- 1 while the user has blocked the bot
    first_seen    INTEGER NOT NULL,
    last_seen     INTEGER NOT NULL
);

CREATE TABLE chats (
    id            INTEGER PRIMARY KEY,          -- Telegram chat id (negative for groups)
    type          TEXT    NOT NULL DEFAULT 'private', -- private, group, supergroup, channel
    title         TEXT    NOT NULL DEFAULT '',
    username      TEXT    NOT NULL DEFAULT '',
    language      TEXT    NOT NULL DEFAULT '',  -- set by the chat's admins; '' = default
    timezone      TEXT    NOT NULL DEFAULT '',  -- IANA name; '' = RSVPBOT_TIMEZONE
    active        INTEGER NOT NULL DEFAULT 1,   -- 0: blocked, kicked, deleted; nothing is sent there
    inactive_reason TEXT  NOT NULL DEFAULT '',
    first_seen    INTEGER NOT NULL,
    last_seen     INTEGER NOT NULL
);

-- +goose Down
DROP TABLE chats;
DROP TABLE users;
