package seed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rsvpbot/rsvpbot/outbox"
	"github.com/rsvpbot/rsvpbot/store"
)

// version names the shape of what Run writes; bump it when that changes,
// so that cached files of the old shape are not used.
const version = 1

// Open opens (creating and migrating) the database at path as rsvpbot
// does, with the outbox's schema.
func Open(ctx context.Context, path string) (*store.DB, error) {
	return store.Open(ctx, path, outbox.WithSchema(store.Options{}))
}

// SchemaHash is a short hash of db's schema (every table and index), so
// that a file seeded by a binary with other migrations is told apart.
func SchemaHash(ctx context.Context, db *store.DB) (string, error) {
	rows, err := db.R.QueryContext(ctx, `SELECT coalesce(sql, '') FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name`)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	h := sha256.New()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return "", err
		}
		io.WriteString(h, s+"\n")
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

// Checkpoint moves the WAL into the main file and empties it, so that the
// file alone is the whole database (to copy or cache it once closed).
func Checkpoint(ctx context.Context, db *store.DB) error {
	_, err := db.W.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	return err
}

// Cached returns the path of a database seeded with cfg in dir, seeding it
// first if no file for cfg and this binary's schema is there. The file is
// written under a temporary name and renamed, so a half-seeded file is
// never used; it is the caller's to copy before changing it.
func Cached(ctx context.Context, dir string, cfg Config) (string, error) {
	tmp, err := os.CreateTemp(dir, "rsvpbot-seed-*.tmp")
	if err != nil {
		return "", err
	}
	tmp.Close()
	tmpPath := tmp.Name()
	defer func() {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(tmpPath + suffix)
		}
	}()
	db, err := Open(ctx, tmpPath)
	if err != nil {
		return "", err
	}
	defer func() {
		if db != nil {
			db.Close()
		}
	}()
	hash, err := SchemaHash(ctx, db)
	if err != nil {
		return "", err
	}
	name := fmt.Sprintf("rsvpbot-seed-v%d-%s-s%s-r%d-t%d.db", version, hash,
		strings.ReplaceAll(fmt.Sprint(cfg.Scale), ".", "_"), cfg.Seed, cfg.Now.Unix())
	path := filepath.Join(dir, name)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if _, err := Run(ctx, db, cfg); err != nil {
		return "", err
	}
	if err := Checkpoint(ctx, db); err != nil {
		return "", err
	}
	err = db.Close()
	db = nil
	if err != nil {
		return "", err
	}
	if err := os.Rename(tmpPath, path); err != nil {
		return "", err
	}
	return path, nil
}

// Copy copies the closed, checkpointed database file src to dst.
func Copy(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	// Flushed now, so that the copy's half a gigabyte of dirty pages is
	// not written out by the first checkpoint's fsync, inside whatever a
	// benchmark is timing then.
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// ScaleEnv names the environment variable that sets the scale of the
// large database in benchmarks (default 1; e.g. 0.05 for a quick look).
const ScaleEnv = "RSVPBOT_BENCH_SCALE"

// BenchScale reads ScaleEnv.
func BenchScale() (float64, error) {
	s := os.Getenv(ScaleEnv)
	if s == "" {
		return 1, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%s=%q: want a scale, e.g. 1 or 0.05", ScaleEnv, s)
	}
	return v, nil
}

// BenchConfig is what benchmarks seed: one instant and seed for all of
// them, so that they share the cached files.
func BenchConfig(scale float64) Config {
	return Config{Scale: scale, Seed: 1, Now: time.Date(2026, 6, 1, 12, 0, 30, 0, time.UTC)}
}

// BenchCopy copies the cached database seeded with BenchConfig(scale)
// (seeding it in os.TempDir first if needed) into dir, for a benchmark to
// change as it likes.
func BenchCopy(ctx context.Context, scale float64, dir string) (string, error) {
	src, err := Cached(ctx, os.TempDir(), BenchConfig(scale))
	if err != nil {
		return "", err
	}
	dst := filepath.Join(dir, "bench.db")
	return dst, Copy(src, dst)
}
