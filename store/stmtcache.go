package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"maps"
	"slices"
	"strings"

	"modernc.org/sqlite"
)

// The statement cache.
//
// modernc.org/sqlite prepares a query's text afresh on every ExecContext and
// QueryContext, and parsing is a quarter of the CPU a typical handler
// transaction costs. Callers pass *sql.Tx and plain query strings (goqite
// style: the SQL stays in plain sight), so instead of threading prepared
// statements through every function, each connection keeps the statements
// it has prepared, keyed by query text, and reuses them. database/sql never
// uses a connection from two goroutines at once, so the cache needs no lock.

// maxCachedStmts bounds each connection's cache; the queries are constants
// in the code, so this is never reached in practice.
const maxCachedStmts = 512

// connector opens modernc connections wrapped in the cache.
type connector struct {
	dsn string
	drv *sqlite.Driver
	// hooks collects on-commit hooks (oncommit.go); nil for readers.
	hooks *commitHooks
}

func (c connector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	inner, ok := conn.(innerConn)
	if !ok {
		return conn, nil // an unexpected driver: no cache, still correct
	}
	return &cachingConn{innerConn: inner, stmts: map[string]*cachedStmt{}, hooks: c.hooks}, nil
}

func (c connector) Driver() driver.Driver { return c.drv }

// innerConn is what modernc's connection implements and database/sql uses.
type innerConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.SessionResetter
	driver.Validator
	driver.Pinger
}

type cachingConn struct {
	innerConn
	stmts map[string]*cachedStmt
	hooks *commitHooks // nil: not the writer
}

// CheckNamedValue lets an on-commit hook through database/sql as the
// marker statement's argument; every other value gets the default
// conversion.
func (c *cachingConn) CheckNamedValue(nv *driver.NamedValue) error {
	switch nv.Value.(type) {
	case commitHook, wakeName:
		return nil
	}
	return driver.ErrSkip
}

type cachedStmt struct {
	stmt driver.Stmt
	busy bool // rows of it are open: a nested use must not reset it
}

// cacheable reports whether query is a single statement (a prepared
// statement holds only the first of several).
func cacheable(query string) bool {
	q := strings.TrimRight(strings.TrimSpace(query), ";")
	return !strings.Contains(q, ";")
}

func (c *cachingConn) lookup(ctx context.Context, query string) *cachedStmt {
	if st, ok := c.stmts[query]; ok {
		if st.busy {
			return nil
		}
		return st
	}
	if len(c.stmts) >= maxCachedStmts || !cacheable(query) {
		return nil
	}
	s, err := c.innerConn.PrepareContext(ctx, query)
	if err != nil {
		return nil // let the uncached path report the error
	}
	st := &cachedStmt{stmt: s}
	c.stmts[query] = st
	return st
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if query == onCommitMarker {
		return c.hooks.execMarker(args)
	}
	if st := c.lookup(ctx, query); st != nil {
		if ex, ok := st.stmt.(driver.StmtExecContext); ok {
			return ex.ExecContext(ctx, args)
		}
	}
	return c.innerConn.ExecContext(ctx, query, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if st := c.lookup(ctx, query); st != nil {
		if qc, ok := st.stmt.(driver.StmtQueryContext); ok {
			rows, err := qc.QueryContext(ctx, args)
			if err != nil {
				return nil, err
			}
			st.busy = true
			return &releasingRows{Rows: rows, st: st}, nil
		}
	}
	return c.innerConn.QueryContext(ctx, query, args)
}

func (c *cachingConn) Close() error {
	for _, st := range c.stmts {
		st.stmt.Close()
	}
	clear(c.stmts)
	return c.innerConn.Close()
}

// releasingRows frees its statement for reuse when closed (modernc resets
// rather than finalizes a reused statement's rows).
type releasingRows struct {
	driver.Rows
	st *cachedStmt
}

func (r *releasingRows) Close() error {
	err := r.Rows.Close()
	r.st.busy = false
	return err
}

// CachedQueries lists the query texts the connections of db have prepared
// and cached (the writer's and the idle readers'), sorted and without
// duplicates: every single-statement query the program ran on them. Tests
// use it to find the queries a path runs, to check their query plans.
// On PostgreSQL it returns none: the cache is SQLite's connections'.
func (db *DB) CachedQueries(ctx context.Context) ([]string, error) {
	if db.pg {
		return nil, nil
	}
	seen := map[string]bool{}
	collect := func(c *sql.Conn) error {
		return c.Raw(func(dc any) error {
			if cc, ok := dc.(*cachingConn); ok {
				for q := range cc.stmts {
					seen[q] = true
				}
			}
			return nil
		})
	}
	// Hold every reader at once, so that each idle one is visited.
	conns := []*sql.Conn{}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for _, pool := range []*sql.DB{db.W, db.R} {
		n := 1
		if pool == db.R {
			n = db.opts.Readers
		}
		for range n {
			c, err := pool.Conn(ctx)
			if err != nil {
				return nil, err
			}
			conns = append(conns, c)
			if err := collect(c); err != nil {
				return nil, err
			}
		}
	}
	return slices.Sorted(maps.Keys(seen)), nil
}
