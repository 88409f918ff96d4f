package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
)

// PostgreSQL.
//
// RSVPBOT_DB=postgres://… opens the same store on PostgreSQL through pgx v5
// (its database/sql driver, so every caller keeps its *sql.Tx). The SQL of
// the packages is written once, in the dialect both accept; the
// connection wrapper below makes the two differences that are pure
// spelling: SQLite's `?` and `?N` placeholders become `$N`, and SQLite's
// `INDEXED BY name` planner hint is dropped (PostgreSQL's planner picks
// the index itself). Go bools are sent as 0/1, as SQLite stores them.
// Each dialect has its own migrations (migrations/postgres).
//
// Where SQLite serialises writers on one connection with group commit,
// PostgreSQL runs ordinary concurrent transactions on a pool: W and R are
// the same pool, and Tx retries a transaction that failed with a
// serialization failure or a deadlock, as it retries SQLITE_BUSY.

// IsPostgresURL reports whether dsn names a PostgreSQL database rather
// than an SQLite file.
func IsPostgresURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Redact returns dsn with its password replaced by "xxxxx", for messages.
// A path is returned as it is.
func Redact(dsn string) string {
	if !IsPostgresURL(dsn) {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// CheckURL reports what is wrong with a PostgreSQL URL's form (nil if
// nothing), without its password.
func CheckURL(dsn string) error {
	if _, err := pgx.ParseConfig(dsn); err != nil {
		return fmt.Errorf("%s is not a valid PostgreSQL URL (postgres://user:password@host:5432/db?sslmode=disable): %s",
			Redact(dsn), scrub(err.Error(), dsn))
	}
	return nil
}

// URLPassword is the password in a PostgreSQL URL ("" if none), for the
// log's redactor.
func URLPassword(dsn string) string {
	if !IsPostgresURL(dsn) {
		return ""
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return ""
	}
	if p, ok := u.User.Password(); ok {
		return p
	}
	return u.Query().Get("password")
}

// ErrBadURL wraps an error that retrying cannot fix: the URL does not
// parse, the password is refused, the database or role does not exist.
// The bot stops at start with exit 2 on it; any other failure to connect
// (refused, timed out) is worth retrying.
var ErrBadURL = errors.New("the PostgreSQL URL or its credentials are wrong")

// Postgres reports whether db is a PostgreSQL database.
func (db *DB) Postgres() bool { return db.pg }

// defaultPGConns is the pool size on PostgreSQL (Options.Readers
// overrides it when larger).
const defaultPGConns = 16

func openPostgres(ctx context.Context, dsn string, opts Options) (*DB, error) {
	shown := Redact(dsn)
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's message may quote the URL: say only which part is wrong.
		return nil, fmt.Errorf("database %s: %w: %s", shown, ErrBadURL, scrub(err.Error(), dsn))
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	wakers := &commitHooks{}
	c := &pgConnector{inner: stdlib.GetConnector(*cfg), wakers: wakers}
	pool := sql.OpenDB(c)
	n := max(defaultPGConns, opts.Readers)
	pool.SetMaxOpenConns(n)
	pool.SetMaxIdleConns(n)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	key := fnv.New64a()
	fmt.Fprintf(key, "rsvpbot migrations %s/%s/%s", cfg.Host, cfg.Database, cfg.RuntimeParams["search_path"])
	db := &DB{W: pool, R: pool, path: shown, opts: opts, hooks: wakers, pg: true, lockID: int64(key.Sum64() >> 1)}
	if err := db.checkPostgres(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	lctx, stop := context.WithCancel(context.Background())
	db.stopListen = stop
	db.listening.Go(func() { db.listen(lctx, cfg) })
	return db, nil
}

// wakeChannel is the NOTIFY channel of store.Wake across replicas.
const wakeChannel = "rsvpbot_wake"

// listen runs the wakers (SetWaker) that other replicas' transactions
// name with Wake, as their NOTIFYs arrive, until ctx ends. NOTIFY is a
// hint: a connection that drops loses what was sent meanwhile, so after
// every (re)connection every waker runs once, and the workers it wakes
// look at the tables themselves (they poll too).
func (db *DB) listen(ctx context.Context, cfg *pgx.ConnConfig) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err == nil {
			_, err = conn.Exec(ctx, "LISTEN "+wakeChannel)
		}
		if err == nil {
			backoff = 100 * time.Millisecond
			db.hooks.wakeAll()
			for ctx.Err() == nil {
				var n *pgconn.Notification
				n, err = conn.WaitForNotification(ctx)
				if err != nil {
					break
				}
				db.hooks.wakeNamed(n.Payload)
			}
		}
		if conn != nil {
			cctx, cancel := context.WithTimeout(context.Background(), time.Second)
			conn.Close(cctx)
			cancel()
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// scrub removes the URL (and so its password) from a driver's message.
func scrub(msg, dsn string) string {
	if dsn != "" {
		msg = strings.ReplaceAll(msg, dsn, Redact(dsn))
	}
	if u, err := url.Parse(dsn); err == nil {
		if p, ok := u.User.Password(); ok && p != "" {
			msg = strings.ReplaceAll(msg, p, "xxxxx")
		}
	}
	return msg
}

// checkPostgres connects once, so a wrong URL fails at start naming it.
func (db *DB) checkPostgres(ctx context.Context) error {
	if err := db.W.PingContext(ctx); err != nil {
		return db.explainPG(err)
	}
	return nil
}

// explainPG names the database in an error and marks the ones no retry
// can fix with ErrBadURL.
func (db *DB) explainPG(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "28P01", "28000": // invalid_password, invalid_authorization_specification
			return fmt.Errorf("database %s: %w: authentication failed (%s)", db.path, ErrBadURL, pe.Message)
		case "3D000": // invalid_catalog_name
			return fmt.Errorf("database %s: %w: %s", db.path, ErrBadURL, pe.Message)
		}
	}
	return fmt.Errorf("database %s: %w", db.path, err)
}

// pgTx runs fn once in its own transaction on a pooled connection and
// commits it; the hooks fn registered run after the commit.
func (db *DB) pgTx(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	conn, err := db.W.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	// hooksOf takes the hooks registered on the connection and closes it
	// to more (OnCommit outside Tx is ErrNotWriter, as on SQLite's readers).
	hooksOf := func() (hs []func()) {
		_ = conn.Raw(func(dc any) error {
			if c, ok := dc.(*pgConn); ok {
				hs = c.hooks.take()
				c.inTx = false
			}
			return nil
		})
		return hs
	}
	hooksOf() // left by a transaction that did not end through here
	_ = conn.Raw(func(dc any) error {
		if c, ok := dc.(*pgConn); ok {
			c.inTx = true
		}
		return nil
	})
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		hooksOf()
		db.noteWrite(asUnavailable(err))
		return err
	}
	done := false
	defer func() {
		if !done {
			tx.Rollback()
			hooksOf()
		}
	}()
	if f := db.opts.ObserveHold; f != nil {
		start := time.Now()
		defer func() { f(time.Since(start)) }()
	}
	if err := fn(tx); err != nil {
		done = true
		tx.Rollback()
		hooksOf()
		if isPGUnavailable(err) {
			db.noteWrite(err)
		}
		return err
	}
	done = true
	err = db.commit(tx)
	hooks := hooksOf()
	db.noteWrite(err)
	if err != nil {
		return err
	}
	for _, f := range hooks {
		f()
	}
	return nil
}

// asUnavailable returns err (for noteWrite) if it means PostgreSQL could not
// be reached or could not write, else nil.
func asUnavailable(err error) error {
	if isPGUnavailable(err) {
		return err
	}
	return nil
}

// IsUniqueViolation reports whether err is a UNIQUE (or primary key)
// constraint refusing a row, on either backend: two transactions raced to
// insert the same key, and the loser may read the winner's row.
func IsUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// isPGRetry reports whether a PostgreSQL transaction failed only because
// it raced another one (serialization failure, deadlock): run it again.
func isPGRetry(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	return false
}

// isPGUnavailable reports whether err means PostgreSQL could not be
// reached or could not take the write through no fault of the statement:
// the connection failed or was cut, the server is shutting down or out of
// disk or memory. The same transaction may well succeed later.
func isPGUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			strings.HasPrefix(pe.Code, "53"),  // insufficient resources (disk full, memory, connections)
			strings.HasPrefix(pe.Code, "57P"), // admin shutdown, crash shutdown, cannot connect now
			pe.Code == "58030":                // io_error
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) ||
		pgconn.SafeToRetry(err) || pgconn.Timeout(err) || errors.Is(err, sql.ErrConnDone) ||
		strings.Contains(err.Error(), "conn closed") || strings.Contains(err.Error(), "unexpected EOF")
}

// pgConnector opens pgx connections wrapped in pgConn.
type pgConnector struct {
	inner    driver.Connector
	wakers   *commitHooks // the DB's SetWaker registry
	rewrites sync.Map     // query → its PostgreSQL text, shared by the pool
}

func (c *pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &pgConn{Conn: conn.(*stdlib.Conn), hooks: &commitHooks{wakersFrom: c.wakers}, rewrites: &c.rewrites}, nil
}

func (c *pgConnector) Driver() driver.Driver { return c.inner.Driver() }

// pgConn is a pgx connection that speaks the store's SQL (rewrite) and
// carries on-commit hooks (oncommit.go) for the transaction on it.
type pgConn struct {
	*stdlib.Conn
	hooks    *commitHooks
	rewrites *sync.Map
	// inTx: a transaction of DB.Tx runs on the connection, so it takes
	// on-commit hooks (pgTx sets and clears it).
	inTx bool
}

// CheckNamedValue lets on-commit hooks through to ExecContext, sends bools
// as 0/1 like SQLite, and leaves the rest to pgx.
func (c *pgConn) CheckNamedValue(nv *driver.NamedValue) error {
	switch v := nv.Value.(type) {
	case commitHook, wakeName:
		return nil
	case bool:
		nv.Value = pgBool{v}
		return nil
	}
	return c.Conn.CheckNamedValue(nv)
}

// pgBool is a Go bool argument: 0/1 where the parameter is a number (the
// store's flag columns, as on SQLite), true/false where it is a boolean
// (goose's is_applied, PostgreSQL's own catalogs). pgx picks by the
// parameter's type.
type pgBool struct{ v bool }

func (b pgBool) BoolValue() (pgtype.Bool, error) { return pgtype.Bool{Bool: b.v, Valid: true}, nil }

func (b pgBool) Int64Value() (pgtype.Int8, error) {
	var n int64
	if b.v {
		n = 1
	}
	return pgtype.Int8{Int64: n, Valid: true}, nil
}

func (c *pgConn) Prepare(query string) (driver.Stmt, error) {
	return c.Conn.Prepare(c.rewritePG(query))
}

func (c *pgConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(ctx, c.rewritePG(query))
}

func (c *pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if query == onCommitMarker {
		if !c.inTx {
			return nil, ErrNotWriter
		}
		if len(args) == 1 {
			if name, ok := args[0].Value.(wakeName); ok {
				// Other replicas' workers hear it too, when this
				// transaction commits (listen).
				if _, err := c.Conn.ExecContext(ctx, `SELECT pg_notify($1, $2)`,
					[]driver.NamedValue{{Ordinal: 1, Value: wakeChannel}, {Ordinal: 2, Value: string(name)}}); err != nil {
					return nil, err
				}
			}
		}
		return c.hooks.execMarker(args)
	}
	return c.Conn.ExecContext(ctx, c.rewritePG(query), args)
}

func (c *pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.QueryContext(ctx, c.rewritePG(query), args)
}

func (c *pgConn) ResetSession(ctx context.Context) error {
	c.hooks.take()
	c.inTx = false
	return c.Conn.ResetSession(ctx)
}

// rewritePG turns the store's SQL into PostgreSQL's (rewritePGText),
// remembering the result: the queries are constants.
func (c *pgConn) rewritePG(q string) string {
	if v, ok := c.rewrites.Load(q); ok {
		return v.(string)
	}
	out := rewritePGText(q)
	c.rewrites.Store(q, out)
	return out
}

// rewritePGText: `?` and `?N` become `$N` and `INDEXED BY name` goes,
// outside string literals, quoted identifiers and comments.
func rewritePGText(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	for i := 0; i < len(q); i++ {
		ch := q[i]
		switch {
		case ch == '\'' || ch == '"':
			j := i + 1
			for j < len(q) {
				if q[j] == ch {
					if j+1 < len(q) && q[j+1] == ch {
						j += 2
						continue
					}
					break
				}
				j++
			}
			end := min(j+1, len(q))
			b.WriteString(q[i:end])
			i = end - 1
		case ch == '-' && i+1 < len(q) && q[i+1] == '-':
			j := strings.IndexByte(q[i:], '\n')
			if j < 0 {
				j = len(q) - i
			}
			b.WriteString(q[i : i+j])
			i += j - 1
		case ch == '/' && i+1 < len(q) && q[i+1] == '*':
			j := strings.Index(q[i+2:], "*/")
			end := len(q)
			if j >= 0 {
				end = i + 2 + j + 2
			}
			b.WriteString(q[i:end])
			i = end - 1
		case ch == '?':
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			if j > i+1 {
				b.WriteByte('$')
				b.WriteString(q[i+1 : j])
			} else {
				n++
				fmt.Fprintf(&b, "$%d", n)
			}
			i = j - 1
		case (ch == 'I' || ch == 'i') && wordAt(q, i, "INDEXED") && (i == 0 || !identChar(q[i-1])):
			// INDEXED BY name
			j := i + len("INDEXED")
			j = skipSpace(q, j)
			if !wordAt(q, j, "BY") {
				b.WriteByte(ch)
				continue
			}
			j = skipSpace(q, j+2)
			for j < len(q) && identChar(q[j]) {
				j++
			}
			i = j - 1
		default:
			b.WriteByte(ch)
		}
	}
	return b.String()
}

func wordAt(q string, i int, w string) bool {
	return len(q)-i >= len(w) && strings.EqualFold(q[i:i+len(w)], w) && (i+len(w) == len(q) || !identChar(q[i+len(w)]))
}

func skipSpace(q string, i int) int {
	for i < len(q) && (q[i] == ' ' || q[i] == '\n' || q[i] == '\t' || q[i] == '\r') {
		i++
	}
	return i
}

func identChar(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
