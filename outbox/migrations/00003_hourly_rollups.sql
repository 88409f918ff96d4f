-- +goose Up
-- Hourly rollups of the ledger and of finished outbox rows, for
-- outbox.ReadQueue's windows (/stats, the CLI): a window reads at most one
-- row per hour (and outcome, or latency bucket) instead of every call and
-- row of the day (issue 18). Triggers keep them in the transaction that
-- writes the rows they count; hour is a Unix millisecond time / 3600000.
-- Retention: outbox.PurgeRollups, with the ledger's cutoff.

-- The dead-letter growth condition (Queue.DeadLastHour, exact): the dead
-- letters finished in the last hour, without reading every dead row.
CREATE INDEX outbox_dead_done ON outbox(done_at) WHERE state = 'dead';

-- Calls made, by the hour of the ledger row's created_at and outcome.
CREATE TABLE ledger_hourly (
    hour      INTEGER NOT NULL,
    outcome   TEXT    NOT NULL,
    n         INTEGER NOT NULL,  -- calls
    retries   INTEGER NOT NULL,  -- calls with attempt > 1
    ambiguous INTEGER NOT NULL,  -- calls that may have delivered without a response
    PRIMARY KEY (hour, outcome)
) WITHOUT ROWID;

-- Rows that reached sent or dead, by the hour of their done_at. A dead
-- letter requeued by an operator leaves its hour's count, as it leaves
-- the dead state.
CREATE TABLE outbox_hourly (
    hour INTEGER PRIMARY KEY,
    sent INTEGER NOT NULL,
    dead INTEGER NOT NULL
) WITHOUT ROWID;

-- Enqueue-to-sent latency of the sent rows, by the hour of their done_at,
-- as a histogram: le_ms is the bucket's upper bound (one of
-- outbox_latency_bounds), n the rows with a latency at most le_ms and
-- above the bound below. Latencies are clamped to [0, 10^10 ms].
CREATE TABLE outbox_latency_hourly (
    hour  INTEGER NOT NULL,
    le_ms INTEGER NOT NULL,
    n     INTEGER NOT NULL,
    PRIMARY KEY (hour, le_ms)
) WITHOUT ROWID;

-- The buckets' upper bounds: 0, then round(10^(k/10)) ms for k = 0..100,
-- ten a decade (each bound about 1.26 times the one below) up to 10^10 ms.
CREATE TABLE outbox_latency_bounds (le_ms INTEGER PRIMARY KEY);
INSERT INTO outbox_latency_bounds (le_ms) VALUES
    (0), (1), (2), (3), (4), (5), (6), (8), (10), (13),
    (16), (20), (25), (32), (40), (50), (63), (79), (100), (126),
    (158), (200), (251), (316), (398), (501), (631), (794), (1000), (1259),
    (1585), (1995), (2512), (3162), (3981), (5012), (6310), (7943), (10000), (12589),
    (15849), (19953), (25119), (31623), (39811), (50119), (63096), (79433), (100000), (125893),
    (158489), (199526), (251189), (316228), (398107), (501187), (630957), (794328), (1000000), (1258925),
    (1584893), (1995262), (2511886), (3162278), (3981072), (5011872), (6309573), (7943282), (10000000), (12589254),
    (15848932), (19952623), (25118864), (31622777), (39810717), (50118723), (63095734), (79432823), (100000000), (125892541),
    (158489319), (199526231), (251188643), (316227766), (398107171), (501187234), (630957344), (794328235), (1000000000), (1258925412),
    (1584893192), (1995262315), (2511886432), (3162277660), (3981071706), (5011872336), (6309573445), (7943282347), (10000000000);

INSERT INTO ledger_hourly (hour, outcome, n, retries, ambiguous)
SELECT created_at / 3600000, outcome, count(*), sum(attempt > 1), sum(ambiguous != 0)
FROM ledger GROUP BY 1, 2;

INSERT INTO outbox_hourly (hour, sent, dead)
SELECT done_at / 3600000, sum(state = 'sent'), sum(state = 'dead')
FROM outbox WHERE state IN ('sent', 'dead') AND done_at IS NOT NULL GROUP BY 1;

INSERT INTO outbox_latency_hourly (hour, le_ms, n)
SELECT done_at / 3600000,
       (SELECT min(le_ms) FROM outbox_latency_bounds
        WHERE le_ms >= min(max(coalesce(sent_at, done_at) - created_at, 0), 10000000000)),
       count(*)
FROM outbox WHERE state = 'sent' AND done_at IS NOT NULL GROUP BY 1, 2;

-- +goose StatementBegin
CREATE TRIGGER ledger_hourly_insert AFTER INSERT ON ledger BEGIN
    INSERT INTO ledger_hourly (hour, outcome, n, retries, ambiguous)
    VALUES (NEW.created_at / 3600000, NEW.outcome, 1, NEW.attempt > 1, NEW.ambiguous != 0)
    ON CONFLICT (hour, outcome) DO UPDATE SET
        n = n + 1, retries = retries + excluded.retries, ambiguous = ambiguous + excluded.ambiguous;
END;
-- +goose StatementEnd

-- A row counts when it becomes sent or dead with a done_at (record.go's
-- finish sets state, sent_at and done_at in one UPDATE), or is inserted
-- so (the seed, imports).
-- +goose StatementBegin
CREATE TRIGGER outbox_hourly_insert AFTER INSERT ON outbox
WHEN NEW.state IN ('sent', 'dead') AND NEW.done_at IS NOT NULL BEGIN
    INSERT INTO outbox_hourly (hour, sent, dead)
    VALUES (NEW.done_at / 3600000, NEW.state = 'sent', NEW.state = 'dead')
    ON CONFLICT (hour) DO UPDATE SET sent = sent + excluded.sent, dead = dead + excluded.dead;
    INSERT INTO outbox_latency_hourly (hour, le_ms, n)
    SELECT NEW.done_at / 3600000, (SELECT min(le_ms) FROM outbox_latency_bounds
        WHERE le_ms >= min(max(coalesce(NEW.sent_at, NEW.done_at) - NEW.created_at, 0), 10000000000)), 1
    WHERE NEW.state = 'sent'
    ON CONFLICT (hour, le_ms) DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER outbox_hourly_finish AFTER UPDATE OF state ON outbox
WHEN NEW.state IN ('sent', 'dead') AND NEW.done_at IS NOT NULL AND OLD.state IS NOT NEW.state BEGIN
    INSERT INTO outbox_hourly (hour, sent, dead)
    VALUES (NEW.done_at / 3600000, NEW.state = 'sent', NEW.state = 'dead')
    ON CONFLICT (hour) DO UPDATE SET sent = sent + excluded.sent, dead = dead + excluded.dead;
    INSERT INTO outbox_latency_hourly (hour, le_ms, n)
    SELECT NEW.done_at / 3600000, (SELECT min(le_ms) FROM outbox_latency_bounds
        WHERE le_ms >= min(max(coalesce(NEW.sent_at, NEW.done_at) - NEW.created_at, 0), 10000000000)), 1
    WHERE NEW.state = 'sent'
    ON CONFLICT (hour, le_ms) DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd
-- A dead letter requeued (outbox.Requeue) leaves the count of its hour.
-- +goose StatementBegin
CREATE TRIGGER outbox_hourly_undead AFTER UPDATE OF state ON outbox
WHEN OLD.state = 'dead' AND NEW.state IS NOT 'dead' AND OLD.done_at IS NOT NULL BEGIN
    UPDATE outbox_hourly SET dead = dead - 1 WHERE hour = OLD.done_at / 3600000;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER outbox_hourly_undead;
DROP TRIGGER outbox_hourly_finish;
DROP TRIGGER outbox_hourly_insert;
DROP TRIGGER ledger_hourly_insert;
DROP TABLE outbox_latency_bounds;
DROP TABLE outbox_latency_hourly;
DROP TABLE outbox_hourly;
DROP TABLE ledger_hourly;
DROP INDEX outbox_dead_done;
