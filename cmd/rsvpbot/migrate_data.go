package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pressly/goose/v3"

	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/store"
)

// `rsvpbot migrate-data --to URL` moves a bot from its SQLite file to an
// empty PostgreSQL database (issue 19, "Moving up"): it migrates both to
// the latest schema (store.Open), then copies every table the two have in
// common, the columns they have in common, in one PostgreSQL transaction
// with COPY, and checks the result table by table.
//
// What is copied is decided by the two schemas, not listed here: a table
// or column one migration set adds appears in both dialects' migrations,
// and the copy follows. The rules that are this command's own:
//   - the source is held with the bot's lock (store.LockDatabase), so no
//     bot writes while it is read, and read in one transaction;
//   - the target must be empty: any row in any table other than goose's
//     version tables and the rows the migrations themselves write
//     (migrationRows, which migrates a scratch schema for a moment: the
//     role needs CREATE on the database, as its owner has);
//   - triggers are off during the copy (session_replication_role =
//     replica), because the tables they maintain (the /stats counters, the
//     outbox's hourly rollups) are copied as they are; this needs a
//     superuser, or on PostgreSQL 15+ a role granted SET on that
//     parameter. Foreign keys are triggers too, so the source's are
//     checked instead (foreignKeyCheck);
//   - a target column the source lacks must have a default;
//   - text PostgreSQL cannot hold (NUL, invalid UTF-8) is mended and
//     counted, not refused (toPGText);
//   - identity columns' sequences continue after the highest id copied.

// migrateDataUsage is the subcommand's help text.
const migrateDataUsage = `Usage: rsvpbot migrate-data --to postgres://USER:PASSWORD@HOST:5432/DB

Copies the SQLite database RSVPBOT_DB into the empty PostgreSQL database
--to, so a bot that outgrows one machine keeps everything: users, chats,
events and RSVPs, the outbox and its history, the inbox (and so the
Telegram update offset). Stop the bot first: the copy holds the database's
lock. Both databases are migrated to this rsvpbot's schema first. The
PostgreSQL role must be a superuser, or on PostgreSQL 15+ be granted
SET ON PARAMETER session_replication_role (the copy turns triggers off, so
the /stats counters are copied, not counted twice). Each table's rows are
counted on both sides. Afterwards set RSVPBOT_DB to the URL and start the
bot; the SQLite file is left as it was.

`

// runMigrateData is `rsvpbot migrate-data --to URL`.
func runMigrateData(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer) int {
	start := time.Now()
	fs := flag.NewFlagSet("rsvpbot migrate-data", flag.ContinueOnError)
	fs.SetOutput(stderr)
	to := fs.String("to", "", "URL of the empty PostgreSQL database to copy into")
	fs.Usage = func() {
		fmt.Fprint(stderr, migrateDataUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "rsvpbot migrate-data: unexpected argument %q (usage: rsvpbot migrate-data --to postgres://...)\n", fs.Arg(0))
		return 2
	}
	if msg := checkPostgresURL(*to); msg != "" {
		fmt.Fprintf(stderr, "rsvpbot migrate-data: --to: %s\n", msg)
		return 2
	}
	cfg, code := configOrExit(lookupEnv, false, stderr)
	if cfg == nil {
		return code
	}
	if store.IsPostgresURL(cfg.DB) {
		fmt.Fprintf(stderr, "rsvpbot migrate-data: RSVPBOT_DB: must name the SQLite file to copy from, not %s\n", store.Redact(cfg.DB))
		return 2
	}
	// An operator's tool: it never creates a database at a mistyped path.
	if _, err := os.Stat(cfg.DB); err != nil {
		fmt.Fprintf(stderr, "rsvpbot migrate-data: no database at %s (RSVPBOT_DB): %v\n", cfg.DB, errors.Unwrap(err))
		return 1
	}
	lock, err := store.LockDatabase(cfg.DB)
	if err != nil {
		hint := ""
		if le := (*store.LockedError)(nil); errors.As(err, &le) {
			hint = "stop the bot first, the copy must not change under it: "
		}
		fmt.Fprintf(stderr, "rsvpbot migrate-data: %s%v\n", hint, err)
		return 1
	}
	defer lock.Release()
	ctx, stop := signalContext(ctx)
	defer stop()

	opts := outbox.WithSchema(store.Options{})
	src, err := store.Open(ctx, cfg.DB, opts)
	if err != nil {
		fmt.Fprintf(stderr, "rsvpbot migrate-data: %v\n", err)
		return 1
	}
	defer src.Close()
	dst, err := store.Open(ctx, *to, opts)
	if err != nil {
		if errors.Is(err, store.ErrBadURL) {
			fmt.Fprintf(stderr, "rsvpbot migrate-data: --to: %s\n", store.Scrub(err.Error(), *to))
			return 2
		}
		fmt.Fprintf(stderr, "rsvpbot migrate-data: %s\n", store.Scrub(err.Error(), *to))
		return 1
	}
	defer dst.Close()
	conn, err := pgx.Connect(ctx, *to)
	if err != nil {
		fmt.Fprintf(stderr, "rsvpbot migrate-data: database %s: %s\n", store.Redact(*to), store.Scrub(err.Error(), *to))
		return 1
	}
	defer conn.Close(context.WithoutCancel(ctx))

	m := &dataMove{src: src, dst: dst, conn: conn, url: *to, versionTables: versionTables(opts), progress: stderr, start: start}
	if err := m.run(ctx, stdout); err != nil {
		if ctx.Err() != nil && !m.committed {
			fmt.Fprintf(stderr, "rsvpbot migrate-data: interrupted (%s): nothing was copied (the transaction was rolled back); run it again\n", store.Scrub(err.Error(), *to))
			return 1
		}
		fmt.Fprintf(stderr, "rsvpbot migrate-data: %s\n", store.Scrub(err.Error(), *to))
		return 1
	}
	fmt.Fprintf(stdout, "done: set RSVPBOT_DB=%s and start the bot; %s is left as it was (keep it as a backup)\n", store.Redact(*to), cfg.DB)
	return 0
}

// checkPostgresURL says what is wrong with the --to value, or "".
func checkPostgresURL(s string) string {
	switch {
	case s == "":
		return "missing: give the PostgreSQL database to copy into (postgres://user:password@host:5432/db)"
	case !store.IsPostgresURL(s):
		shown := "the value"
		if u, err := url.Parse(s); err == nil && u.Scheme != "" {
			shown = u.Scheme + "://..."
		}
		return fmt.Sprintf("%s is not a PostgreSQL URL (postgres://user:password@host:5432/db)", shown)
	}
	if _, err := pgx.ParseConfig(s); err != nil {
		msg := store.Scrub(err.Error(), s)
		if i := strings.LastIndex(msg, "`: "); i >= 0 { // pgx quotes the whole URL first
			msg = msg[i+3:]
		}
		return fmt.Sprintf("%s: not a valid PostgreSQL URL: %s", store.Redact(s), msg)
	}
	return ""
}

// versionTables are goose's version tables: the store's and each schema's.
func versionTables(opts store.Options) map[string]bool {
	t := map[string]bool{goose.DefaultTablename: true}
	for _, s := range opts.Schemas {
		t[s.Table] = true
	}
	return t
}

// dataMove is one run of migrate-data.
type dataMove struct {
	src           *store.DB // SQLite, migrated, locked
	dst           *store.DB // PostgreSQL, migrated
	conn          *pgx.Conn // dst again, for COPY
	url           string
	versionTables map[string]bool
	progress      io.Writer
	start         time.Time // when the command started: the total time is from it
	committed     bool      // the copy is in the target
}

// pgColumn is a column of a target table.
type pgColumn struct {
	name, typ string
	required  bool // NOT NULL without a default
	identity  bool // an identity or serial column: its sequence is set after the copy
}

// tableCopy is the copy of one table.
type tableCopy struct {
	name      string
	cols      []pgColumn // the target's columns the source has too, in the target's order
	srcOnly   []string   // source columns the target lacks: not copied
	migration bool       // the migrations fill it: left as they wrote it
	srcRows   int64
	dstRows   int64
	mended    int64 // text values PostgreSQL cannot hold as they were (toPGText)
	took      time.Duration
}

func (m *dataMove) run(ctx context.Context, stdout io.Writer) error {
	shown := store.Redact(m.url)
	srcTx, err := m.src.R.BeginTx(ctx, nil) // one snapshot of the source
	if err != nil {
		return err
	}
	defer srcTx.Rollback()

	if err := foreignKeyCheck(ctx, srcTx); err != nil {
		return err
	}
	if err := m.canTurnTriggersOff(ctx); err != nil {
		return err
	}
	srcTables, err := m.sqliteTables(ctx, srcTx)
	if err != nil {
		return fmt.Errorf("reading the SQLite schema: %w", err)
	}
	dstTables, refs, err := m.pgTables(ctx, m.conn)
	if err != nil {
		return fmt.Errorf("database %s: reading the schema: %w", shown, err)
	}
	filled, err := m.migrationRows(ctx)
	if err != nil {
		return fmt.Errorf("database %s: %w", shown, err)
	}
	if err := m.checkEmpty(ctx, dstTables, filled); err != nil {
		return err
	}

	// Plan: the tables both have, parents before children.
	var plan []*tableCopy
	var notCopied, noDefault []string
	for _, name := range pgOrder(dstTables, refs) {
		srcCols, ok := srcTables[name]
		if !ok {
			continue
		}
		tc := &tableCopy{name: name, migration: filled[name]}
		for _, c := range dstTables[name] {
			if slices.Contains(srcCols, c.name) {
				tc.cols = append(tc.cols, c)
			} else if c.required && !tc.migration {
				noDefault = append(noDefault, name+"."+c.name)
			}
		}
		for _, c := range srcCols {
			if !slices.ContainsFunc(tc.cols, func(p pgColumn) bool { return p.name == c }) {
				tc.srcOnly = append(tc.srcOnly, c)
			}
		}
		plan = append(plan, tc)
	}
	if len(noDefault) > 0 {
		return fmt.Errorf("database %s: column(s) %s are NOT NULL without a default in PostgreSQL and have no counterpart in SQLite, so their tables' rows cannot be copied; the PostgreSQL schema needs a default for them (a bug of this rsvpbot's migrations); nothing was copied",
			shown, strings.Join(noDefault, ", "))
	}
	for name := range srcTables {
		if _, ok := dstTables[name]; !ok {
			notCopied = append(notCopied, name)
		}
	}
	slices.Sort(notCopied)

	for _, tc := range plan {
		if err := srcTx.QueryRowContext(ctx, `SELECT count(*) FROM `+sqliteIdent(tc.name)).Scan(&tc.srcRows); err != nil {
			return fmt.Errorf("SQLite table %s: %w", tc.name, err)
		}
	}

	copyStart := time.Now()
	tx, err := m.conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := m.triggersOff(ctx, tx); err != nil {
		return err
	}
	for _, tc := range plan {
		if tc.migration || tc.srcRows == 0 {
			continue
		}
		if err := m.copyTable(ctx, srcTx, tx, tc); err != nil {
			return fmt.Errorf("copying table %s: %w", tc.name, err)
		}
	}
	if err := setSequences(ctx, tx, dstTables); err != nil {
		return fmt.Errorf("setting the id sequences: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("database %s: committing the copy: %w", shown, err)
	}
	m.committed = true
	copyTook := time.Since(copyStart)

	// Check: every table's rows, and the update offset the bot resumes at.
	var bad []string
	var copied int64
	for _, tc := range plan {
		if err := m.conn.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{tc.name}.Sanitize()).Scan(&tc.dstRows); err != nil {
			return fmt.Errorf("database %s: counting %s: %w", shown, tc.name, err)
		}
		if tc.dstRows != tc.srcRows && !tc.migration {
			bad = append(bad, tc.name)
		}
		if !tc.migration {
			copied += tc.dstRows
		}
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "table\tSQLite\tPostgreSQL\t")
	byName := slices.Clone(plan)
	slices.SortFunc(byName, func(a, b *tableCopy) int { return strings.Compare(a.name, b.name) })
	for _, tc := range byName {
		note := ""
		switch {
		case tc.migration:
			note = "written by the migrations, not copied"
		case tc.dstRows != tc.srcRows:
			note = "MISMATCH"
		case tc.mended > 0:
			note = fmt.Sprintf("%d text value(s) had a NUL byte or invalid UTF-8, which PostgreSQL text cannot hold: replaced by U+FFFD", tc.mended)
		case len(tc.srcOnly) > 0:
			note = "not copied (no such column in PostgreSQL): " + strings.Join(tc.srcOnly, ", ")
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", tc.name, tc.srcRows, tc.dstRows, note)
	}
	tw.Flush()
	if len(notCopied) > 0 {
		fmt.Fprintf(stdout, "not copied (no such table in PostgreSQL): %s\n", strings.Join(notCopied, ", "))
	}
	if len(bad) > 0 {
		return fmt.Errorf("database %s: the row counts differ in %s; the copy is committed but incomplete: empty the database and run migrate-data again", shown, strings.Join(bad, ", "))
	}
	srcOff, err := store.NextUpdateOffset(ctx, srcTx)
	if err != nil {
		return fmt.Errorf("reading the SQLite update offset: %w", err)
	}
	dstOff, err := store.NextUpdateOffset(ctx, m.dst.R)
	if err != nil {
		return fmt.Errorf("database %s: reading the update offset: %w", shown, err)
	}
	if srcOff != dstOff {
		return fmt.Errorf("database %s: the next Telegram update offset is %d, the SQLite file's %d", shown, dstOff, srcOff)
	}
	fmt.Fprintf(stdout, "copied %d rows into %s in %s (%s rows/s); row counts equal; the bot resumes at update offset %d\n",
		copied, shown, copyTook.Round(time.Millisecond), rate(copied, copyTook), dstOff)
	fmt.Fprintf(stdout, "total time %s (migrations, copy and checks)\n", time.Since(m.start).Round(time.Millisecond))
	return nil
}

// foreignKeyCheck refuses a source with rows whose foreign key points
// nowhere: the copy runs with triggers off, and so with PostgreSQL's
// foreign key checks off too, so this is where they are checked. (The
// store has SQLite enforce them; this guards against a file written
// otherwise.)
func foreignKeyCheck(ctx context.Context, q store.Querier) error {
	rows, err := q.QueryContext(ctx, `SELECT "table", count(*) FROM pragma_foreign_key_check GROUP BY 1 ORDER BY 1`)
	if err != nil {
		return fmt.Errorf("checking the SQLite file's foreign keys: %w", err)
	}
	defer rows.Close()
	var bad []string
	for rows.Next() {
		var table string
		var n int64
		if err := rows.Scan(&table, &n); err != nil {
			return err
		}
		bad = append(bad, fmt.Sprintf("%s (%d rows)", table, n))
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(bad) > 0 {
		return fmt.Errorf("the SQLite file has rows whose foreign key points to no row, which PostgreSQL would refuse: %s (see PRAGMA foreign_key_check); nothing was copied", strings.Join(bad, ", "))
	}
	return nil
}

// triggersOff turns triggers off for the rest of tx, or says why it
// cannot.
func (m *dataMove) triggersOff(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42501" {
		return fmt.Errorf("database %s: the role may not turn triggers off (SET session_replication_role = replica: %s); run migrate-data as a PostgreSQL superuser (or, on PostgreSQL 15 and later, GRANT SET ON PARAMETER session_replication_role TO the role): with triggers on, the /stats counters and the outbox's hourly rollups would be counted twice; nothing was copied",
			store.Redact(m.url), pe.Message)
	}
	return err
}

// canTurnTriggersOff checks at once, in a transaction of its own, what
// the copy will need last.
func (m *dataMove) canTurnTriggersOff(ctx context.Context) error {
	tx, err := m.conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	return m.triggersOff(ctx, tx)
}

// sqliteTables returns the source's tables and their columns, without
// SQLite's own tables and goose's version tables.
func (m *dataMove) sqliteTables(ctx context.Context, q store.Querier) (map[string][]string, error) {
	rows, err := q.QueryContext(ctx, `
SELECT m.name, p.name FROM sqlite_schema AS m, pragma_table_info(m.name) AS p
WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\_%' ESCAPE '\'
ORDER BY m.name, p.cid`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	tables := map[string][]string{}
	for rows.Next() {
		var table, col string
		if err := rows.Scan(&table, &col); err != nil {
			return nil, err
		}
		if !m.versionTables[table] {
			tables[table] = append(tables[table], col)
		}
	}
	return tables, rows.Err()
}

// pgQuerier is what a pgx.Conn and a pgx.Tx have in common here.
type pgQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// pgTables returns the tables of the connection's current schema with
// their columns (without goose's version tables), and for each table the
// tables its foreign keys reference.
func (m *dataMove) pgTables(ctx context.Context, q pgQuerier) (map[string][]pgColumn, map[string][]string, error) {
	rows, err := q.Query(ctx, `
SELECT c.table_name, c.column_name, c.data_type,
       c.is_nullable = 'NO' AND c.column_default IS NULL AND c.is_identity = 'NO' AND c.is_generated = 'NEVER',
       c.is_identity = 'YES' OR coalesce(c.column_default, '') LIKE 'nextval(%'
FROM information_schema.columns c
JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' AND c.is_generated = 'NEVER'
ORDER BY c.table_name, c.ordinal_position`)
	if err != nil {
		return nil, nil, err
	}
	tables := map[string][]pgColumn{}
	for rows.Next() {
		var table string
		var c pgColumn
		if err := rows.Scan(&table, &c.name, &c.typ, &c.required, &c.identity); err != nil {
			rows.Close()
			return nil, nil, err
		}
		if !m.versionTables[table] {
			tables[table] = append(tables[table], c)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	rows, err = q.Query(ctx, `
SELECT DISTINCT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c
WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace`)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	refs := map[string][]string{}
	for rows.Next() {
		var child, parent string
		if err := rows.Scan(&child, &parent); err != nil {
			return nil, nil, err
		}
		refs[unquoteIdent(child)] = append(refs[unquoteIdent(child)], unquoteIdent(parent))
	}
	return tables, refs, rows.Err()
}

// unquoteIdent turns a regclass name as PostgreSQL prints it back into a
// table name (a name needing quotes is printed quoted).
func unquoteIdent(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return strings.ReplaceAll(s[1:len(s)-1], `""`, `"`)
	}
	return s
}

// pgOrder orders the tables so that every table comes after those its
// foreign keys reference (by name otherwise, for a stable output).
func pgOrder(tables map[string][]pgColumn, refs map[string][]string) []string {
	var names, order []string
	for name := range tables {
		names = append(names, name)
	}
	slices.Sort(names)
	placed := map[string]bool{}
	var visit func(name string, depth int)
	visit = func(name string, depth int) {
		if placed[name] || depth > len(names) {
			return
		}
		for _, p := range refs[name] {
			if p != name {
				visit(p, depth+1)
			}
		}
		if _, ok := tables[name]; ok && !placed[name] {
			placed[name] = true
			order = append(order, name)
		}
	}
	for _, name := range names {
		visit(name, 0)
	}
	return order
}

// migrationRows returns the tables a freshly migrated PostgreSQL database
// has rows in (reference data the migrations write, such as the outbox's
// latency buckets): their rows do not make the target "not empty", and
// they are not copied. It finds them by migrating a scratch schema,
// dropped at once, so no list of such tables is kept here.
func (m *dataMove) migrationRows(ctx context.Context) (map[string]bool, error) {
	schema := "rsvpbot_migrate_data_probe_" + strconv.Itoa(os.Getpid())
	if _, err := m.conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		return nil, fmt.Errorf("creating a scratch schema to learn which rows the migrations write: %w", err)
	}
	defer m.conn.Exec(context.WithoutCancel(ctx), `DROP SCHEMA IF EXISTS `+schema+` CASCADE`)
	u, err := url.Parse(m.url)
	if err != nil {
		return nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	probe, err := store.Open(ctx, u.String(), outbox.WithSchema(store.Options{}))
	if err != nil {
		return nil, fmt.Errorf("migrating a scratch schema: %w", err)
	}
	probe.Close()
	rows, err := m.conn.Query(ctx, `SELECT relname FROM pg_class WHERE relnamespace = $1::regnamespace AND relkind = 'r'`, schema)
	if err != nil {
		return nil, err
	}
	all, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	filled := map[string]bool{}
	for _, name := range all {
		if m.versionTables[name] {
			continue
		}
		var any bool
		if err := m.conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+pgx.Identifier{schema, name}.Sanitize()+`)`).Scan(&any); err != nil {
			return nil, err
		}
		if any {
			filled[name] = true
		}
	}
	return filled, nil
}

// checkEmpty refuses a target with rows in any table other than the
// version tables and those only the migrations fill.
func (m *dataMove) checkEmpty(ctx context.Context, tables map[string][]pgColumn, filled map[string]bool) error {
	var full []string
	for name := range tables {
		if filled[name] {
			continue
		}
		var any bool
		if err := m.conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+pgx.Identifier{name}.Sanitize()+`)`).Scan(&any); err != nil {
			return fmt.Errorf("database %s: %w", store.Redact(m.url), err)
		}
		if any {
			full = append(full, name)
		}
	}
	if len(full) == 0 {
		return nil
	}
	slices.Sort(full)
	return fmt.Errorf("database %s is not empty: table(s) %s have rows; migrate-data copies only into an empty database, so nothing was copied: give it a new database (CREATE DATABASE) or empty this one, then run it again",
		store.Redact(m.url), strings.Join(full, ", "))
}

// copyTable copies one table's rows with COPY, reporting progress on a
// big table every few seconds.
func (m *dataMove) copyTable(ctx context.Context, srcTx *sql.Tx, tx pgx.Tx, tc *tableCopy) error {
	names := make([]string, len(tc.cols))
	sel := make([]string, len(tc.cols))
	for i, c := range tc.cols {
		names[i] = c.name
		sel[i] = sqliteIdent(c.name)
	}
	rows, err := srcTx.QueryContext(ctx, `SELECT `+strings.Join(sel, ", ")+` FROM `+sqliteIdent(tc.name))
	if err != nil {
		return err
	}
	defer rows.Close()
	start := time.Now()
	next := start.Add(2 * time.Second)
	vals := make([]any, len(tc.cols))
	ptrs := make([]any, len(tc.cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var n int64
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if !rows.Next() {
			return nil, rows.Err()
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]any, len(vals))
		for i, v := range vals {
			c, err := convert(v, tc.cols[i].typ)
			if err != nil {
				return nil, fmt.Errorf("row %d, column %s: %w", n+1, tc.cols[i].name, err)
			}
			if t, ok := c.(string); ok && !pgText(t) {
				c = toPGText(t)
				tc.mended++
			}
			row[i] = c
		}
		n++
		if now := time.Now(); now.After(next) {
			next = now.Add(2 * time.Second)
			fmt.Fprintf(m.progress, "rsvpbot migrate-data: %s: %d of %d rows (%s rows/s)\n", tc.name, n, tc.srcRows, rate(n, now.Sub(start)))
		}
		return row, nil
	})
	copied, err := tx.CopyFrom(ctx, pgx.Identifier{tc.name}, names, src)
	if err != nil {
		return err
	}
	tc.took = time.Since(start)
	if copied != tc.srcRows {
		return fmt.Errorf("copied %d rows of %d", copied, tc.srcRows)
	}
	if tc.srcRows >= 10000 || tc.took > time.Second {
		fmt.Fprintf(m.progress, "rsvpbot migrate-data: %s: %d rows in %s (%s rows/s)\n", tc.name, copied, tc.took.Round(time.Millisecond), rate(copied, tc.took))
	}
	return nil
}

// convert turns a value as SQLite stores it into one COPY can send to a
// PostgreSQL column of type typ (information_schema's data_type): SQLite
// keeps flags as 0/1 integers, and may store any type in any column.
func convert(v any, typ string) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch typ {
	case "bigint", "integer", "smallint":
		switch x := v.(type) {
		case int64:
			return x, nil
		case float64:
			if x == float64(int64(x)) {
				return int64(x), nil
			}
		case string:
			return strconv.ParseInt(x, 10, 64)
		case []byte:
			return strconv.ParseInt(string(x), 10, 64)
		case bool:
			if x {
				return int64(1), nil
			}
			return int64(0), nil
		}
	case "boolean":
		switch x := v.(type) {
		case int64:
			return x != 0, nil
		case bool:
			return x, nil
		case string:
			return strconv.ParseBool(x)
		}
	case "double precision", "real", "numeric":
		switch x := v.(type) {
		case float64:
			return x, nil
		case int64:
			return float64(x), nil
		case string:
			return strconv.ParseFloat(x, 64)
		}
	case "bytea":
		switch x := v.(type) {
		case []byte:
			return x, nil
		case string:
			return []byte(x), nil
		}
	default: // text, character varying, json, jsonb, ...
		switch x := v.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		case int64:
			return strconv.FormatInt(x, 10), nil
		case float64:
			return strconv.FormatFloat(x, 'g', -1, 64), nil
		}
	}
	return nil, fmt.Errorf("cannot store %T %.80v in a PostgreSQL %s column", v, v, typ)
}

// pgText reports whether PostgreSQL can store s in a text column as it
// is: valid UTF-8 without NUL bytes. SQLite stores any bytes as TEXT.
func pgText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// toPGText replaces what PostgreSQL text cannot hold (a NUL byte, a byte
// sequence that is not UTF-8) with U+FFFD, so one such value (a title
// with "\u0000" in it, as Telegram can send) does not stop the move.
func toPGText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// setSequences moves every identity (or serial) column's sequence past
// the highest id copied, so that the ids PostgreSQL picks next are new.
func setSequences(ctx context.Context, tx pgx.Tx, tables map[string][]pgColumn) error {
	for table, cols := range tables {
		for _, c := range cols {
			if !c.identity {
				continue
			}
			t, col := pgx.Identifier{table}.Sanitize(), pgx.Identifier{c.name}.Sanitize()
			if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence($1, $2), max(`+col+`)) FROM `+t+` HAVING max(`+col+`) IS NOT NULL`, t, c.name); err != nil {
				return fmt.Errorf("%s.%s: %w", table, c.name, err)
			}
		}
	}
	return nil
}

// sqliteIdent quotes an SQLite identifier.
func sqliteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// rate is n per d, for humans.
func rate(n int64, d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return strconv.FormatInt(int64(float64(n)/d.Seconds()), 10)
}
