-- +goose Up
-- Events, the RSVPs to them, and every posted copy of an event's card.
-- Times are Unix milliseconds in UTC; timezone is the IANA zone the event
-- is shown in (its chat's zone when it was created).
CREATE TABLE events (
    id               INTEGER PRIMARY KEY,
    chat_id          INTEGER NOT NULL,             -- the chat it was created in; rewritten by store.MigrateChat
    creator_id       INTEGER NOT NULL,             -- the organizer (a user id)
    title            TEXT    NOT NULL,
    description      TEXT    NOT NULL DEFAULT '',
    place            TEXT    NOT NULL DEFAULT '',
    starts_at        INTEGER NOT NULL,
    ends_at          INTEGER,                      -- NULL: starts_at plus the default length
    timezone         TEXT    NOT NULL DEFAULT '',  -- '' = UTC
    capacity         INTEGER NOT NULL DEFAULT 0 CHECK (capacity >= 0), -- places, guests included; 0 = no limit
    rsvp_deadline    INTEGER,                      -- NULL: RSVPs close when the event starts
    status           TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'cancelled')),
    series_id        INTEGER,                      -- the recurring series it belongs to; NULL for a one-off
    reminder_offsets TEXT    NOT NULL DEFAULT '',  -- '' = the bot's default (RSVPBOT_REMINDERS)
    weather_line     TEXT    NOT NULL DEFAULT '',  -- forecast shown on the card; '' = none
    version          INTEGER NOT NULL DEFAULT 1,   -- bumped by every change a card shows
    seq              INTEGER NOT NULL DEFAULT 0,   -- last rsvps.position handed out
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    cancelled_at     INTEGER
);
-- /events: a chat's upcoming events.
CREATE INDEX events_chat_upcoming ON events(chat_id, starts_at) WHERE status = 'active';
-- Reminders and forecasts: active events by start time.
CREATE INDEX events_upcoming ON events(starts_at) WHERE status = 'active';
CREATE INDEX events_series ON events(series_id) WHERE series_id IS NOT NULL;

-- One row per user who answered. position orders people within a status:
-- the waitlist is served in position order, and the going list shows people
-- in the order they joined. A user who changes status gets a new position.
CREATE TABLE rsvps (
    event_id   INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL,
    status     TEXT    NOT NULL CHECK (status IN ('going', 'maybe', 'declined', 'waitlist')),
    guests     INTEGER NOT NULL DEFAULT 0 CHECK (guests >= 0), -- people they bring; count toward capacity
    position   INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (event_id, user_id)
);
-- Counts, the going list and the waitlist in order.
CREATE INDEX rsvps_event_status ON rsvps(event_id, status, position);
-- /myevents.
CREATE INDEX rsvps_user ON rsvps(user_id, status);

-- Every posted copy of a card (the event's chat, private chats opened by
-- the deep link, other groups), so a change edits all of them. message_id
-- is NULL until the outbox's on-sent hook records it.
CREATE TABLE event_cards (
    id         INTEGER PRIMARY KEY,
    event_id   INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    chat_id    INTEGER NOT NULL,                   -- rewritten by store.MigrateChat
    message_id INTEGER,
    lang       TEXT    NOT NULL DEFAULT '',        -- language the card is shown in, unless the chat chose one
    version    INTEGER NOT NULL DEFAULT 0,         -- events.version the message shows (or is about to)
    created_at INTEGER NOT NULL
);
CREATE INDEX event_cards_event ON event_cards(event_id);
CREATE UNIQUE INDEX event_cards_message ON event_cards(chat_id, message_id) WHERE message_id IS NOT NULL;

-- +goose Down
DROP TABLE event_cards;
DROP TABLE rsvps;
DROP TABLE events;
