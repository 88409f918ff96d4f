-- +goose Up
-- When the card's forecast (events.weather_line) was last looked up. The
-- forecast job refreshes lines older than its interval; an edit of the
-- place or the time resets it to 0 so the new forecast comes at once.
ALTER TABLE events ADD COLUMN weather_checked_at INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE events DROP COLUMN weather_checked_at;
