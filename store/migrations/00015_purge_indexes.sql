-- +goose Up
-- Retention purges run in small batches (store/purge.go); each batch finds
-- its rows through one of these indexes instead of scanning the table.
--
-- Handled updates by receive time (PurgeInbox).
CREATE INDEX inbox_handled ON inbox(received_at) WHERE done_at IS NOT NULL;
-- The reminder rows of past events (PurgeReminders): each row's own time
-- is never after its event ends, so "older than the cutoff" narrows the
-- batch to candidates, and the event's end decides.
CREATE INDEX reminders_due_all ON reminders(due_at);
CREATE INDEX reminder_sends_created ON reminder_sends(created_at);
CREATE INDEX reminder_plans_starts ON reminder_plans(starts_at);
CREATE INDEX reminder_mutes_created ON reminder_mutes(created_at);

-- +goose Down
DROP INDEX reminder_mutes_created;
DROP INDEX reminder_plans_starts;
DROP INDEX reminder_sends_created;
DROP INDEX reminders_due_all;
DROP INDEX inbox_handled;
