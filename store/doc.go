// Package store owns the SQLite database: opening it, migrating it, and the
// one transaction helper every writer goes through.
//
// # Two pools, one writer
//
// SQLite allows one writer at a time. Rather than let many connections
// queue on the file lock (and fail with SQLITE_BUSY under load), DB keeps a
// writer pool of exactly one connection whose transactions start with
// BEGIN IMMEDIATE (_txlock=immediate), so a write transaction takes the lock
// up front instead of upgrading a read lock half-way and deadlocking. Readers
// use a separate pool of query-only connections; WAL lets them read while the
// writer writes.
//
// Because the writer is a single connection, a write transaction must never
// wait on the network: callers do their I/O first and then call Tx with the
// results. Everything a handler changes — state rows, outbox rows, the inbox
// row marked done — commits in one Tx, which is what makes "handled exactly
// once" and "every reply persisted" the same guarantee.
//
// # Durability: synchronous=NORMAL
//
// In WAL mode synchronous=NORMAL fsyncs the WAL at checkpoints, not at every
// commit. A process crash (SIGKILL, panic, OOM) loses nothing that committed:
// the WAL is in the OS page cache and is replayed on the next open. A power
// cut or kernel crash can lose the last transactions committed before it
// (never corrupt the file). For a chat bot that trade is right: FULL costs an
// fsync per update (~10x fewer writes per second on ordinary disks), and the
// updates lost to a power cut are re-delivered by Telegram anyway, because
// the getUpdates offset is derived from the same database and rolls back
// with it, and a reply whose "sent" mark is lost is sent again (a duplicate,
// as under the outbox's ambiguity rule), never lost. Code that needs FULL (a different
// deployment, a test of the trade-off) sets Options.Synchronous.
//
// Checkpoints, the fsyncs, run in the background rather than inside a
// COMMIT (groupcommit.go, "Checkpoints off the commit path"), so no
// transaction waits for the disk's sync.
//
// # Backups
//
// Backup copies a database with VACUUM INTO on a connection of its own,
// beside a running bot and without its lock: one read snapshot, so the
// writer never waits for it (updates only share the CPU and the disk
// with it; docs/benchmarks.md, "Backups"). The copy is checked
// (quick_check, schema version) under a temporary name and then linked
// to its name, never over an existing file. BackupToDir names copies by
// time and keeps the newest N (the scheduled backups of package app).
//
// # Times
//
// Every timestamp column holds Unix milliseconds (INTEGER) in UTC: compact,
// sortable, and free of SQLite's text date parsing.
//
// The store never reads the wall clock: writers pass the instant their
// transaction stamps its rows with (one per transaction, taken once), and
// what the store times itself (WriteState) reads Options.Now, which DB.Now
// also gives callers without a clock of their own.
//
// # Housekeeping
//
// Retention purges never hold the writer for long: DB.PurgeBatched
// (purge.go) deletes in short transactions through Tx, each selecting its
// rows through an index, sized to a few milliseconds, checkpointing the
// write-ahead log from a reader and pausing between them, so updates go
// on while a million rows go. New databases use incremental auto_vacuum,
// and after a purge the freed pages are given back to the file system in
// steps of the same kind (ReclaimFreePages): the file shrinks back. A
// database created before that is switched once by `rsvpbot migrate`
// (EnableIncrementalVacuum: a VACUUM, so only while no bot holds it).
//
// # PostgreSQL
//
// The same store runs on PostgreSQL (postgres.go). Its schema is
// migrations/postgres/00016_schema.sql, the SQLite history 00001..00016 in
// one file (TestPostgresSchemaMatchesSQLite holds them equal), and each
// later change is a file in both directories under one number. The SQL
// is written once, in what both accept: IS DISTINCT FROM rather than
// SQLite's IS NOT, flags compared with 0, CAST for a parameter PostgreSQL
// cannot type, a table's key rather than rowid. The SQLite-only
// mechanics (checkpoints, incremental vacuum, Backup, the statement
// cache) do nothing there, or refuse (ErrPostgresBackup).
//
// Transactions there run at once, so what SQLite's single writer gave
// for free is taken explicitly: a decision on an event's places holds the
// event's row (lockEvent), and the /stats counters kept by triggers are
// sharded rows summed on read, so that the triggers on every update do
// not queue all transactions on one row (see the migration).
//
// # Rules
//
// The event rules are pure functions in files named after them, tested
// alone: rsvp_transitions.go (what an answer becomes: NextRSVP, RSVPsOpen,
// FreesPlaces) and waitlist.go (who moves up: Promotions). ApplyRSVP and
// PromoteWaitlist hold the event (lockEvent), read inside the write
// transaction, ask them, and write the outcome.
package store
