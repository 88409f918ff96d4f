-- +goose Up
-- What became of a private reminder message, as the outbox's fate hook
-- reports it (store.RecordReminderSendFate): '' while it is on its way,
-- then sent, dead or dropped. The scheduler settles sends with a fate, and
-- mentions in the group the people whose message was dropped.
ALTER TABLE reminder_sends ADD COLUMN fate TEXT NOT NULL DEFAULT '';
DROP INDEX reminder_sends_open;
CREATE INDEX reminder_sends_open ON reminder_sends(outbox_id) WHERE settled = 0 AND fate <> '';
CREATE INDEX reminder_sends_message ON reminder_sends(outbox_id) WHERE settled = 0;

-- +goose Down
DROP INDEX reminder_sends_message;
DROP INDEX reminder_sends_open;
CREATE INDEX reminder_sends_open ON reminder_sends(outbox_id) WHERE settled = 0;
ALTER TABLE reminder_sends DROP COLUMN fate;
