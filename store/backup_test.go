package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func addUsers(t *testing.T, db *DB, from, n int) {
	t.Helper()
	err := db.Tx(context.Background(), func(tx *sql.Tx) error {
		for i := from; i < from+n; i++ {
			if _, err := tx.Exec(`INSERT INTO users(id, first_name, first_seen, last_seen) VALUES (?, ?, 1, 1)`, i, fmt.Sprint("U", i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func countUsers(t *testing.T, path string) int {
	t.Helper()
	db, err := OpenReadOnly(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.R.QueryRow(`SELECT count(*) FROM users`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// noPartials fails if a temporary file of a backup is left in dir.
func noPartials(t *testing.T, dir string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".partial") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

// A backup taken while another handle keeps writing holds everything
// committed before it began and nothing half-written, is a sound
// database at the source's schema version, and opens as a working
// database. (How long writes stall meanwhile is measured by
// BenchmarkBackupStall, not asserted.)
func TestBackupWhileWriting(t *testing.T) {
	ctx := context.Background()
	db := openSQLiteTest(t)
	addUsers(t, db, 1, 2000)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var written int
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 10_000; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := db.Tx(ctx, func(tx *sql.Tx) error {
				_, err := tx.Exec(`INSERT INTO users(id, first_seen, last_seen) VALUES (?, 1, 1)`, i)
				return err
			}); err != nil {
				t.Error(err)
				return
			}
			written++
		}
	}()

	dir := t.TempDir()
	dst := filepath.Join(dir, "copy.db")
	res, err := Backup(ctx, db.Path(), dst, Options{})
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	cur, _, _ := db.SchemaVersion(ctx)
	fi, _ := os.Stat(dst)
	if res.Path != dst || res.Size != fi.Size() || res.SchemaVersion != cur || res.Took <= 0 {
		t.Fatalf("result %+v; file size %d, schema %d", res, fi.Size(), cur)
	}
	if n := countUsers(t, dst); n < 2000 || n > 2000+written {
		t.Fatalf("copy holds %d users; 2000 before the backup, %d written during it", n, written)
	}
	noPartials(t, dir)

	// The copy is a database a bot can open, migrate (nothing to do) and write.
	cp, err := Open(ctx, dst, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	addUsers(t, cp, 1_000_000, 1)
}

func TestBackupRefusals(t *testing.T) {
	ctx := context.Background()
	db := openSQLiteTest(t)
	dir := t.TempDir()

	// An existing file is never overwritten.
	exists := filepath.Join(dir, "exists.db")
	if err := os.WriteFile(exists, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Backup(ctx, db.Path(), exists, Options{})
	if !errors.Is(err, ErrBackupExists) || !strings.Contains(err.Error(), exists) {
		t.Fatalf("existing file: %v", err)
	}
	if b, _ := os.ReadFile(exists); string(b) != "keep me" {
		t.Fatalf("existing file changed: %q", b)
	}

	// A missing database is not created.
	missing := filepath.Join(dir, "missing.db")
	if _, err := Backup(ctx, missing, filepath.Join(dir, "a.db"), Options{}); err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("missing database: %v", err)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Fatal("a database was created at the missing path")
	}

	// A directory that does not exist is named.
	nodir := filepath.Join(dir, "nope", "b.db")
	if _, err := Backup(ctx, db.Path(), nodir, Options{}); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "nope")) {
		t.Fatalf("missing directory: %v", err)
	}

	// The database itself.
	if _, err := Backup(ctx, db.Path(), db.Path(), Options{}); err == nil {
		t.Fatal("backup over the database itself was accepted")
	}

	// A SQLite file that is no rsvpbot database.
	other := filepath.Join(dir, "other.sqlite")
	odb, err := sql.Open("sqlite", other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := odb.Exec(`CREATE TABLE t(x)`); err != nil {
		t.Fatal(err)
	}
	odb.Close()
	if _, err := Backup(ctx, other, filepath.Join(dir, "c.db"), Options{}); err == nil || !strings.Contains(err.Error(), "not an rsvpbot database") {
		t.Fatalf("foreign database: %v", err)
	}

	// Not a database at all.
	junk := filepath.Join(dir, "junk.db")
	os.WriteFile(junk, []byte(strings.Repeat("junk", 1000)), 0o600)
	if _, err := Backup(ctx, junk, filepath.Join(dir, "d.db"), Options{}); err == nil || !strings.Contains(err.Error(), junk) {
		t.Fatalf("junk file: %v", err)
	}

	// A cancelled backup leaves nothing.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Backup(cctx, db.Path(), filepath.Join(dir, "e.db"), Options{}); err == nil {
		t.Fatal("cancelled backup succeeded")
	}
	for _, name := range []string{"a.db", "c.db", "d.db", "e.db"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("%s written by a failed backup", name)
		}
	}
	noPartials(t, dir)
}

// BackupToDir names files by time and keeps the newest ones, touching no
// other file in the directory.
func TestBackupToDirKeepsTheNewest(t *testing.T) {
	ctx := context.Background()
	db := openSQLiteTest(t)
	dir := t.TempDir()
	other := filepath.Join(dir, "rsvpbot-mine.db")
	os.WriteFile(other, []byte("not ours"), 0o600)

	at := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	var all []string
	for i := range 5 {
		addUsers(t, db, i*10, 1)
		res, removed, err := BackupToDir(ctx, db.Path(), dir, at.Add(time.Duration(i)*time.Hour), 3, Options{})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, res.Path)
		if want := filepath.Join(dir, fmt.Sprintf("rsvpbot-20261207T0%d0000Z.db", 3+i)); res.Path != want {
			t.Fatalf("backup at %s, want %s", res.Path, want)
		}
		if i >= 3 && (len(removed) != 1 || removed[0] != all[i-3]) {
			t.Fatalf("backup %d removed %v, want %s", i, removed, all[i-3])
		}
	}
	got, err := BackupsIn(dir)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != strings.Join(all[2:], ",") {
		t.Fatalf("kept %v, want %v", got, all[2:])
	}
	if n := countUsers(t, got[2]); n != 5 {
		t.Fatalf("newest backup has %d users, want 5", n)
	}
	if _, err := os.Stat(other); err != nil {
		t.Fatal("a file not written by BackupToDir was removed")
	}

	// A second backup in the same second is refused, and removes nothing.
	if _, _, err := BackupToDir(ctx, db.Path(), dir, at.Add(4*time.Hour), 1, Options{}); !errors.Is(err, ErrBackupExists) {
		t.Fatalf("same name: %v", err)
	}
	if got, _ := BackupsIn(dir); len(got) != 3 {
		t.Fatalf("a failed backup removed files: %v", got)
	}
}
