-- +goose Up
-- The on-sent hook became the fate hook (Config.OnFate hears sent, dead
-- and dropped rows): its reference column is named for what it is.
ALTER TABLE outbox RENAME COLUMN on_sent TO ref;

-- +goose Down
ALTER TABLE outbox RENAME COLUMN ref TO on_sent;
