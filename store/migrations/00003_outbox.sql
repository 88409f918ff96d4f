-- +goose Up
-- The outbox's tables moved to package outbox, which alone queries them
-- (outbox/migrations, version table goose_outbox). This number stays so
-- that databases of every age keep one history; a database that got the
-- tables from here keeps them, and outbox's first migration finds them.
SELECT 1;

-- +goose Down
SELECT 1;
