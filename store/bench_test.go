package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
)

// BenchmarkUpsertTx is the baseline the intake pipeline is measured
// against: one one-row upsert per transaction through Tx, on the writer
// pool (WAL, synchronous=NORMAL), on this machine. A handled update costs
// several such statements and a few reads in one transaction, plus its
// share of the inbox insert.
func BenchmarkUpsertTx(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.W.Exec(`CREATE TABLE kv (k INTEGER PRIMARY KEY, v INTEGER NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		if err := db.Tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO kv (k, v) VALUES (?, 1) ON CONFLICT (k) DO UPDATE SET v = v + 1`, i%1000)
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
}
