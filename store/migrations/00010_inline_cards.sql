-- +goose Up
-- Copies of event cards posted through inline mode (@bot in any chat).
-- Telegram identifies such a message by an opaque inline_message_id, known
-- from chosen_inline_result (inline feedback on) or from the first press
-- on one of its buttons; it has no chat the bot can see. Every change to
-- the event edits each copy, like event_cards.
CREATE TABLE inline_cards (
    id                INTEGER PRIMARY KEY,
    event_id          INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    inline_message_id TEXT    NOT NULL UNIQUE,
    user_id           INTEGER NOT NULL,            -- who posted it
    lang              TEXT    NOT NULL DEFAULT '', -- the language it is shown in (the poster's)
    version           INTEGER NOT NULL DEFAULT 0,  -- events.version the message shows (or is about to)
    created_at        INTEGER NOT NULL
);
CREATE INDEX inline_cards_event ON inline_cards(event_id);
-- What a user may share, the events they organise, is served by
-- events_creator (00009).

-- +goose Down
DROP TABLE inline_cards;
