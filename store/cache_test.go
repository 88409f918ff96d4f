package store

import (
	"context"
	"database/sql"
	"testing"
)

// Every reader connection has the bounded page cache, the writer SQLite's
// default (db.go, readerCacheKiB).
func TestReaderCacheBounded(t *testing.T) {
	db := openSQLiteTest(t)
	ctx := context.Background()
	// Hold all readers at once so each connection of the pool is asked.
	var conns []*sql.Conn
	for range db.opts.Readers {
		c, err := db.R.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for i, c := range conns {
		var n int
		if err := c.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != -readerCacheKiB {
			t.Errorf("reader %d: cache_size %d, want %d", i, n, -readerCacheKiB)
		}
		c.Close()
	}
	var n int
	if err := db.W.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != -2000 {
		t.Errorf("writer: cache_size %d, want SQLite's default -2000", n)
	}
}
